"""What every cell is: its sizes, its options, its parameters and the math of one time step.

A cell here is a *specification*, not an ``nn.Module``: it holds sizes and options and knows the
shapes of its parameters, how to initialise them and how to take one step with them. Parameters
live in the layer (``lstmkit.LSTM`` / ``lstmkit.LSTMCell``), which names them as torch does
(``weight_ih`` -> ``weight_ih_l0``, ``weight_ih_l0_reverse``), so that one engine can run any cell
and state dicts look like torch's.

Shapes: B batch, I input_size, H hidden_size (number of memory cells), O output_size
(proj_size or H), G the cell's number of pre-activations (4H for the forget cell).
"""

from __future__ import annotations

import functools
import math
from typing import Any, ClassVar

import torch
from torch import Tensor

from .._checks import check_bool, check_int

State = tuple[Tensor, Tensor]
Params = dict[str, Tensor]


class Cell:
    """Base class of a cell specification. Subclasses set ``name`` and ``options`` and implement
    ``preactivation_size``, ``step`` and, when they have extra parameters, ``parameter_shapes``."""

    name: ClassVar[str]
    #: One line: who proposed it and what it changes.
    summary: ClassVar[str] = ""
    #: Options this cell takes beyond the common ones, with their defaults.
    options: ClassVar[dict[str, Any]] = {}
    #: Whether the cell has a forget gate (so that ``forget_bias`` means something).
    has_forget_gate: ClassVar[bool] = True
    #: Names of the gate values ``step`` returns, in order.
    gate_names: ClassVar[tuple[str, ...]] = ("input", "forget", "cell", "output")

    def __init__(self, input_size: int, hidden_size: int, *, proj_size: int = 0, bias: bool = True,
                 **options: Any) -> None:
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.proj_size = check_int("proj_size", proj_size, minimum=0)
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"proj_size must be smaller than hidden_size ({self.hidden_size}), got {self.proj_size}"
            )
        self.bias = check_bool("bias", bias)
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise ValueError(f"cell {self.name!r} has no option {unknown[0]!r}; its options are: {known}")
        merged = {**self.options, **options}
        for key, default in self.options.items():
            if isinstance(default, bool):
                merged[key] = check_bool(key, merged[key])
        self.config = merged
        self._check_options()

    # --- sizes -----------------------------------------------------------------------------------
    @property
    def output_size(self) -> int:
        """Features of the output ``y_t`` (what the next layer sees)."""
        return self.proj_size or self.hidden_size

    @property
    def state_sizes(self) -> tuple[int, int]:
        """Features of ``(h, c)``: the recurrent state fed back into the next step, and the cell."""
        return self.output_size, self.hidden_size

    def preactivation_size(self) -> int:
        raise NotImplementedError

    @property
    def recurrent_size(self) -> int:
        return self.state_sizes[0]

    # --- parameters ------------------------------------------------------------------------------
    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of this cell's parameters, by torch's base names (no ``_l0`` suffix)."""
        g = self.preactivation_size()
        shapes: dict[str, tuple[int, ...]] = {
            "weight_ih": (g, self.input_size),
            "weight_hh": (g, self.recurrent_size),
        }
        if self.bias:
            shapes.update(self.bias_shapes())
        if self.proj_size:
            shapes["weight_hr"] = (self.proj_size, self.hidden_size)
        return shapes

    @functools.cached_property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.parameter_shapes())

    def bias_shapes(self) -> dict[str, tuple[int, ...]]:
        """The biases, present when bias=True: torch's two vectors by default."""
        g = self.preactivation_size()
        return {"bias_ih": (g,), "bias_hh": (g,)}

    def init_parameters(self, params: Params, forget_bias: float | None) -> None:
        """torch's LSTM initialisation, U(-1/sqrt(H), 1/sqrt(H)) for every parameter, then the
        forget-gate bias when one is asked for. Call under ``torch.no_grad()``."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in params.values():
            p.uniform_(-bound, bound)
        if forget_bias is not None and self.bias:
            self.set_forget_bias(params, forget_bias)

    def set_forget_bias(self, params: Params, value: float) -> None:
        """Make the forget gate's total bias equal ``value`` (gate order i, f, g, o)."""
        h = self.hidden_size
        params["bias_ih"][h:2 * h] = value
        params["bias_hh"][h:2 * h] = 0.0

    # --- math --------------------------------------------------------------------------------------
    def project_input(self, p: Params, x: Tensor) -> Tensor:
        """The input's share of the pre-activations, for all steps at once: (..., I) -> (..., G).
        Biases are folded in here, so ``step`` only adds the recurrent share."""
        bias = p["bias_ih"] + p["bias_hh"] if self.bias else None
        return torch.nn.functional.linear(x, p["weight_ih"], bias)

    def step(self, p: Params, xw: Tensor, state: State) -> tuple[Tensor, State, dict[str, Tensor]]:
        """One time step. xw: (B, G) from ``project_input``; state (h, c): (B, R), (B, H).
        Returns y: (B, O), the new state, and the gate values by name."""
        raise NotImplementedError

    def project(self, p: Params, y: Tensor) -> Tensor:
        """LSTMP's recurrent projection (Sak et al. 2014): (B, H) -> (B, O)."""
        return y @ p["weight_hr"].t() if self.proj_size else y

    def init_state(self, batch: int, *, dtype: torch.dtype, device: torch.device) -> State:
        h, c = self.state_sizes
        return (torch.zeros(batch, h, dtype=dtype, device=device),
                torch.zeros(batch, c, dtype=dtype, device=device))

    # --- hooks -------------------------------------------------------------------------------------
    def _check_options(self) -> None:
        """Validate ``self.config``; raise ValueError/TypeError naming the option."""

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.config.items())
        return (f"{type(self).__name__}({self.input_size}, {self.hidden_size}, "
                f"proj_size={self.proj_size}, bias={self.bias}{opts})")
