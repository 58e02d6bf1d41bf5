"""``lstmkit.ParallelLSTM``: K independent LSTMs (own weights, own data) run in lock-step.

Training many seeds of a small network at once is how the 1997 experiments are reproduced: each
network alone is far too small to keep a CPU busy, and a Python loop over K networks pays K times
the per-call overhead. With ``backend="fused"`` (the default on the CPU) every layer and direction
of all K networks runs in one kernel call, forward and backward.

The K networks are ordinary ``lstmkit.LSTM`` modules (``.networks[k]``), so each can be saved,
loaded, inspected or run alone; ``ParallelLSTM`` only runs them together. Network k computes exactly
what ``networks[k]`` computes on ``input[k]`` (tested against that, engine by engine).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ._checks import check_finite, check_int, check_like, check_tensor
from ._inputs import check_lengths, check_state
from ._params import DEFAULT
from .engines import fused
from .engines.reference import reverse_padded
from .layer import LSTM

#: backend values: "fused" runs all K networks in one kernel call per layer and direction; the
#: others run each network alone, in a loop, on that engine; "auto" is "fused" where it can run.
BACKENDS = ("auto", "fused", "loop")


class ParallelLSTM(nn.Module):
    """``num_networks`` independent ``lstmkit.LSTM`` networks of one configuration.

    Args:
        num_networks: K, how many networks.
        backend: ``"auto"`` (the fused kernel for CPU float32/float64 input, else ``"loop"``),
            ``"fused"`` (all K networks in one kernel call per layer and direction) or ``"loop"``
            (each network's own forward, one after another: the oracle).
        Every other argument is ``lstmkit.LSTM``'s and configures every network alike; each
        network is initialised as a new ``lstmkit.LSTM`` would be, one after another, so
        ``torch.manual_seed`` fixes all of them.

    Shapes (time-major; ``batch_first=True`` swaps T and B), D = 2 if bidirectional:
        input (K, T, B, I); lengths (K, B) or (B,) for all networks alike, ints in 1..T
        hx optional (h_0 (K, L*D, B, R), c_0 (K, L*D, B, H))
        output (K, T, B, D*O); h_n (K, L*D, B, R), c_n (K, L*D, B, H)
    """

    def __init__(self, num_networks: int, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: torch.dtype | None = None, *, cell: str = "forget", backend: str = "auto",
                 forget_bias: Any = DEFAULT, check_finite: bool = False, **cell_options: Any) -> None:
        super().__init__()
        k = check_int("num_networks", num_networks, minimum=1)
        nets = [LSTM(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                     proj_size, device, dtype, cell=cell, backend="auto", forget_bias=forget_bias,
                     check_finite=check_finite, **cell_options) for _ in range(k)]
        self._setup(nets, backend)

    @classmethod
    def from_networks(cls, networks: Any, backend: str = "auto") -> "ParallelLSTM":
        """Run existing ``lstmkit.LSTM`` modules together (the modules themselves, not copies).
        They must share one configuration (sizes, layers, cell and its options)."""
        if isinstance(networks, LSTM) or not hasattr(networks, "__iter__"):
            raise TypeError(f"networks must be a list of lstmkit.LSTM modules, got {type(networks).__name__}")
        nets = list(networks)
        if not nets:
            raise ValueError("networks must hold at least one lstmkit.LSTM, got none")
        for i, net in enumerate(nets):
            if not isinstance(net, LSTM):
                raise TypeError(f"networks[{i}] must be an lstmkit.LSTM, got {type(net).__name__}")
            if _config(net) != _config(nets[0]):
                raise ValueError(f"networks[{i}] differs from networks[0] in its configuration: "
                                 f"{_config(net)} vs {_config(nets[0])}")
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self._setup(nets, backend)
        return self

    def _setup(self, nets: list[LSTM], backend: Any) -> None:
        if not isinstance(backend, str) or backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
        if backend == "fused" and not fused.supports(nets[0].cells[0]):
            raise ValueError(f"backend 'fused' cannot run cell {nets[0].cell!r}; use backend='loop'")
        self.networks = nn.ModuleList(nets)
        self.backend = backend

    @property
    def num_networks(self) -> int:
        return len(self.networks)

    def extra_repr(self) -> str:
        return f"num_networks={self.num_networks}, backend={self.backend!r}"

    # --- forward -------------------------------------------------------------------------------
    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None,
                lengths: Any = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        net = self.networks[0]
        x = self._check_input(input)
        if net.batch_first:
            x = x.transpose(1, 2)                                   # (K, B, T, I) -> (K, T, B, I)
        K, T, B = x.shape[:3]
        steps = self._check_lengths(lengths, B, T)
        states = self._check_state(hx, B)
        if self._use_fused(x):
            out, (h, c) = self._run_fused(x, states, steps)
        else:
            outs, hs, cs = [], [], []
            for k, network in enumerate(self.networks):
                o, (h, c) = network(x[k].transpose(0, 1) if net.batch_first else x[k],
                                    None if states is None else (states[0][k], states[1][k]),
                                    None if steps is None else steps[k])
                outs.append(o.transpose(0, 1) if net.batch_first else o)
                hs.append(h)
                cs.append(c)
            out, h, c = torch.stack(outs), torch.stack(hs), torch.stack(cs)
        return (out.transpose(1, 2) if net.batch_first else out), (h, c)

    def _use_fused(self, x: Tensor) -> bool:
        if self.backend == "fused":
            if x.device.type != "cpu":
                raise ValueError(f"backend 'fused' runs on the CPU, got input on {x.device}; use backend='loop'")
            if x.dtype not in (torch.float32, torch.float64):
                raise TypeError(f"backend 'fused' runs float32 and float64, got {x.dtype}; use backend='loop'")
            return True
        return (self.backend == "auto" and fused.supports(self.networks[0].cells[0])
                and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64))

    def _run_fused(self, x: Tensor, states: tuple[Tensor, Tensor] | None,
                   steps: Tensor | None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        net = self.networks[0]
        K, T, B = x.shape[:3]
        if steps is not None:                                       # padding never counts
            real = torch.arange(T)[None, :, None] < steps[:, None, :]            # (K, T, B)
            x = x.masked_fill(~real[..., None].to(x.device), 0.0)
        lengths = steps if steps is not None else torch.full((K, B), T, dtype=torch.int64)
        flat = lengths.reshape(K * B)
        d = net.num_directions
        r, hsize = net.cells[0].state_sizes
        hs, cs = [], []
        for layer, spec in enumerate(net.cells):
            if layer > 0 and net.dropout > 0 and self.training:
                x = F.dropout(x, net.dropout, training=True)
            outs = []
            for direction, suffix in enumerate(net._suffixes(layer)):
                p = {name: torch.stack([getattr(n, f"{name}{suffix}") for n in self.networks])
                     for name in spec.parameter_names}
                row = layer * d + direction
                if states is None:
                    h0, c0 = x.new_zeros(K, B, r), x.new_zeros(K, B, hsize)
                else:
                    h0, c0 = states[0][:, row], states[1][:, row]
                xd = _per_network(reverse_padded, x, flat) if direction == 1 else x
                xw = torch.func.vmap(spec.project_input)(p, xd)     # (K, T, B, G): one batched product
                y, h_n, c_n = fused.run_networks(spec, p, xw, h0, c0, lengths)
                outs.append(_per_network(reverse_padded, y, flat) if direction == 1 else y)
                hs.append(h_n)
                cs.append(c_n)
            x = torch.cat(outs, dim=-1)
        return x, (torch.stack(hs, 1), torch.stack(cs, 1))

    # --- checks --------------------------------------------------------------------------------
    def _check_input(self, input: Any) -> Tensor:
        net = self.networks[0]
        x = check_tensor("input", input)
        layout = "(networks, batch, time, features)" if net.batch_first else "(networks, time, batch, features)"
        if x.dim() != 4:
            raise ValueError(f"input must be 4-D {layout}, got {x.dim()}-D of shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"input must be a floating-point tensor, got dtype {x.dtype}")
        if x.shape[0] != self.num_networks:
            raise ValueError(f"input must have one slice per network: expected {self.num_networks} "
                             f"in its first dimension, got shape {tuple(x.shape)}")
        if x.shape[-1] != net.input_size:
            raise ValueError(f"input must have input_size={net.input_size} features in its last dimension, "
                             f"got shape {tuple(x.shape)} ({x.shape[-1]} features)")
        if x.numel() == 0:
            raise ValueError(f"input must not be empty, got shape {tuple(x.shape)}")
        check_like("input", x, net.weight_ih_l0, "the networks' weights")
        if net.check_finite:
            check_finite("input", x)
        return x

    def _check_lengths(self, lengths: Any, batch: int, steps: int) -> Tensor | None:
        if lengths is None:
            return None
        if isinstance(lengths, (list, tuple)):
            lengths = torch.tensor(lengths) if lengths else torch.zeros(0, dtype=torch.int64)
        if isinstance(lengths, Tensor) and lengths.dim() == 2:
            if lengths.shape[0] != self.num_networks:
                raise ValueError(f"lengths must be (networks, batch) = ({self.num_networks}, {batch}) "
                                 f"or (batch,) = ({batch},), got shape {tuple(lengths.shape)}")
            rows = [check_lengths(row, batch=batch, steps=steps) for row in lengths]
            out = torch.stack(rows)
        else:
            out = check_lengths(lengths, batch=batch, steps=steps).expand(self.num_networks, batch)
        return None if bool((out == steps).all()) else out.contiguous()

    def _check_state(self, hx: Any, batch: int) -> tuple[Tensor, Tensor] | None:
        if hx is None:
            return None
        net = self.networks[0]
        count = net.num_layers * net.num_directions
        r, h = net.cells[0].state_sizes
        shapes = ((self.num_networks, count, batch, r), (self.num_networks, count, batch, h))
        return check_state(hx, shapes=shapes, weight=net.weight_ih_l0, finite=net.check_finite)


def _per_network(fn: Any, x: Tensor, flat_lengths: Tensor) -> Tensor:
    """Apply a time-major (T, B', F) function to (K, T, B, F) with the K networks side by side."""
    K, T, B, F_ = x.shape
    out = fn(x.permute(1, 0, 2, 3).reshape(T, K * B, F_), flat_lengths)
    return out.reshape(T, K, B, F_).permute(1, 0, 2, 3)


def _config(net: LSTM) -> tuple:
    return (net.input_size, net.hidden_size, net.num_layers, net.bias, net.batch_first, net.dropout,
            net.bidirectional, net.proj_size, net.cell, tuple(sorted(net.cell_options.items())),
            net.weight_ih_l0.dtype, net.weight_ih_l0.device)


__all__ = ["BACKENDS", "ParallelLSTM"]
