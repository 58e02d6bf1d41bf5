"""``lstmkit.LSTMCell``: one time step of any registered cell, a drop-in for ``torch.nn.LSTMCell``."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ._checks import check_bool, check_dtype
from ._inputs import check_input, check_state
from ._params import DEFAULT, add_parameters, gather, init_parameters, resolve_forget_bias
from .cells import make_cell


class LSTMCell(nn.Module):
    """One step of an LSTM cell, for streaming: ``h, c = cell(x_t, (h, c))``.

    Takes ``torch.nn.LSTMCell``'s arguments plus ``cell=``, ``proj_size=``, ``forget_bias=``,
    ``check_finite=`` and the cell's own options (see ``lstmkit.LSTM``). Parameters are named as
    torch's (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``) plus the cell's own.

    Shapes: input (B, I) or (I,); hx (h, c) of (B, R) and (B, H), zeros when omitted; returns
    (h', c') of the same shapes. The step's output y is ``h'[..., :O]`` (all of h' except for the
    vanilla cell with recurrent_gates, whose h' also carries the gate activations).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: torch.dtype | None = None, *, cell: str = "forget", proj_size: int = 0,
                 forget_bias: Any = DEFAULT, check_finite: bool = False, **cell_options: Any) -> None:
        super().__init__()
        check_dtype("dtype", dtype)
        self.spec = make_cell(cell, input_size, hidden_size, proj_size=proj_size, bias=bias, **cell_options)
        self.input_size, self.hidden_size, self.proj_size = input_size, hidden_size, proj_size
        self.cell, self.cell_options = cell, dict(cell_options)
        self.check_finite = check_bool("check_finite", check_finite)
        self.forget_bias = resolve_forget_bias(cell, forget_bias, bias)
        add_parameters(self, self.spec, "", {"device": device, "dtype": dtype})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_parameters(self, self.spec, "", self.forget_bias)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, cell={self.cell!r}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        return s + "".join(f", {k}={v!r}" for k, v in self.cell_options.items())

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        weight = self.weight_ih
        x = check_input(input, input_size=self.input_size, weight=weight, dims=(1, 2),
                        layout="(batch, features)", finite=self.check_finite)
        batched = x.dim() == 2
        x = x if batched else x.unsqueeze(0)              # (I,) -> (1, I)
        r, h = self.spec.state_sizes
        if hx is None:
            state = self.spec.init_state(x.shape[0], dtype=x.dtype, device=x.device)
        else:
            shapes = ((x.shape[0], r), (x.shape[0], h)) if batched else ((r,), (h,))
            state = check_state(hx, shapes=shapes, weight=weight, finite=self.check_finite)
            state = state if batched else (state[0].unsqueeze(0), state[1].unsqueeze(0))
        p = gather(self, self.spec, "")
        _, (h1, c1), _ = self.spec.step(p, self.spec.project_input(p, x), state)
        return (h1, c1) if batched else (h1.squeeze(0), c1.squeeze(0))
