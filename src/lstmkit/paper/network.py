"""The paper's networks (Table 10) as weight matrices with a connectivity mask.

A network has I inputs, C blocks of S memory cells (H = C·S cells), and O logistic output units.
Its G = H + 2C hidden units are ordered as lstmkit's ``vanilla`` cell orders them, [input gates
(C) | cells (H) | output gates (C)]. Each hidden unit sees NS = I + G + 1 sources,
[x(t) (I) | cell outputs (H) | input gates (C) | output gates (C) | 1] (the inputs of the same
step: the paper's three-stage order; the rest from the step before), and each output unit
NO = H + I + 1: [cell outputs (H) | x(t) (I) | 1], in the same step. ``Wh`` (G, NS) and ``Wo``
(O, NO) hold the weights and ``masks()`` says which exist, so the mask's sum is the network's
weight count, which the tests compare with the paper's.

Connectivity "F" (Exps. 1, 2c, 3–6): gates and cells see the inputs, all cells and all gates;
outputs see the cells only. "B" (Exp. 2a/2b): each layer sees all layers below it, nothing
recurrent: the cell and its input gate see the inputs, the outputs see the inputs and the cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..layer import LSTM

#: g and h of the paper: "paper" g(x) = 4σ(x) − 2, h(x) = 2σ(x) − 1 (A.1); "2a" g = σ, h = identity
#: (Exp. 2a/2b); "caption": Table 10's caption read literally, g(x) = 2σ(x) − 1, h(x) = 4σ(x) − 2
#: (contradicting the text and A.1; kept to test that reading). The kernel's codes for them.
SQUASH = {"paper": (0, 0), "2a": (1, 1), "caption": (2, 2)}
#: The output units' activation f_k (A.1 leaves it open): "logistic" (Section 5's "logistic sigmoids
#: throughout", the default) or "linear" (y = net; the reading under which Exp. 4's ST3 is reached,
#: see docs/reproduction.md).
OUTPUTS = ("logistic", "linear")


@dataclass(frozen=True)
class Network:
    """One trial's topology and initialisation, as Table 10 states it."""

    inputs: int
    outputs: int
    blocks: int
    block_size: int
    init: float                                   # every weight uniform in [−init, init] first
    input_gate_bias: tuple[float, ...] | None = None     # per block; None: random like every weight
    output_gate_bias: tuple[float, ...] | None = None
    hidden_bias: bool = True                      # gates (and cells) have biases
    cell_bias: bool = True                        # False: "bias on gates only" (Exp. 1)
    output_bias: bool = True
    recurrent: bool = True                        # "F": hidden units see all cells and gates
    outputs_see_inputs: bool = False              # "B": outputs see the inputs too
    output_gates: bool = True                     # False: no output gate (Exp. 2a/2b; fixed at 1)
    squash: str = "paper"
    output: str = "logistic"                      # the output units' f_k: "logistic" or "linear" (y = net)

    def __post_init__(self) -> None:
        if self.squash not in SQUASH:
            raise ValueError(f"squash must be one of {', '.join(SQUASH)}, got {self.squash!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {self.output!r}")
        for name in ("input_gate_bias", "output_gate_bias"):
            value = getattr(self, name)
            if value is not None and (len(value) != self.blocks or not self.hidden_bias):
                raise ValueError(f"{name} needs one value per block ({self.blocks}) and hidden_bias=True, got {value}")

    @property
    def cells(self) -> int:
        return self.blocks * self.block_size

    @property
    def hidden(self) -> int:
        """G, the hidden units: cells and both gates of every block."""
        return self.cells + 2 * self.blocks

    def masks(self) -> tuple[np.ndarray, np.ndarray]:
        """Mh (G, NS) and Mo (O, NO), float64: 1 where a weight exists."""
        I, C, H, G = self.inputs, self.blocks, self.cells, self.hidden
        Mh = np.zeros((G, I + G + 1))
        Mh[:, :I] = 1.0
        if self.recurrent:
            Mh[:, I:I + H + C] = 1.0                                   # cells and input gates
            if self.output_gates:
                Mh[:, I + H + C:I + G] = 1.0
        if self.hidden_bias:
            Mh[:, -1] = 1.0
            if not self.cell_bias:
                Mh[C:C + H, -1] = 0.0
        if not self.output_gates:
            Mh[C + H:, :] = 0.0
        Mo = np.zeros((self.outputs, H + I + 1))
        Mo[:, :H] = 1.0
        if self.outputs_see_inputs:
            Mo[:, H:H + I] = 1.0
        if self.output_bias:
            Mo[:, -1] = 1.0
        return Mh, Mo

    def weights(self) -> int:
        """The number of weights, as the paper counts them (biases included)."""
        Mh, Mo = self.masks()
        return int(Mh.sum() + Mo.sum())

    def initial_weights(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Wh (G, NS), Wo (O, NO): uniform in [−init, init] where a weight exists, then the stated
        input- and output-gate biases block by block."""
        Mh, Mo = self.masks()
        Wh = rng.uniform(-self.init, self.init, Mh.shape) * Mh
        Wo = rng.uniform(-self.init, self.init, Mo.shape) * Mo
        C, H = self.blocks, self.cells
        if self.input_gate_bias is not None:
            Wh[:C, -1] = self.input_gate_bias
        if self.output_gate_bias is not None:
            Wh[C + H:, -1] = self.output_gate_bias
        return Wh, Wo

    def to_torch(self, Wh: np.ndarray, Wo: np.ndarray, truncated: bool = True) -> tuple[LSTM, torch.nn.Linear]:
        """The same network as an ``lstmkit.LSTM`` (``vanilla`` cell, ``recurrent_gates``,
        ``truncated`` as asked) and a ``torch.nn.Linear`` for the output units (apply ``torch.sigmoid``
        unless ``output`` is "linear"), float64, with these weights: connectivity "F" only."""
        if not (self.recurrent and self.output_gates and not self.outputs_see_inputs and self.squash == "paper"):
            raise ValueError("to_torch needs connectivity 'F' (recurrent, output gates, outputs see the cells only)")
        I, C, H, G = self.inputs, self.blocks, self.cells, self.hidden
        options = {"cell_input_bias": self.cell_bias} if self.hidden_bias else {}
        lstm = LSTM(I, H, bias=self.hidden_bias, cell="vanilla", block_size=self.block_size, recurrent_gates=True,
                    truncated=truncated, dtype=torch.float64, **options)
        out = torch.nn.Linear(H, self.outputs, bias=self.output_bias, dtype=torch.float64)
        with torch.no_grad():
            lstm.weight_ih_l0.copy_(torch.from_numpy(Wh[:, :I]))
            lstm.weight_hh_l0.copy_(torch.from_numpy(Wh[:, I:I + G]))
            if self.hidden_bias:
                b = torch.from_numpy(Wh[:, -1])
                lstm.bias_ih_l0.copy_(b if self.cell_bias else torch.cat([b[:C], b[C + H:]]))
            out.weight.copy_(torch.from_numpy(Wo[:, :H]))
            if self.output_bias:
                out.bias.copy_(torch.from_numpy(Wo[:, -1]))
        return lstm, out


__all__ = ["OUTPUTS", "SQUASH", "Network"]
