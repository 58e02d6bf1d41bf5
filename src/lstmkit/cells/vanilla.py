"""The original LSTM (Hochreiter & Schmidhuber 1997, §4 and Appendix A.1): memory-cell blocks with
an input gate and an output gate, a constant error carousel and no forget gate.

For block j of C blocks, each of its S cells v (H = C·S cells in all):
    in_j  = σ(net_in_j),   out_j = σ(net_out_j)
    s_v'  = s_v + in_j · g(net_c_v)          the CEC: self-weight fixed at 1.0      (A.1)
    y_v'  = out_j · h(s_v')
with the paper's squashing g(x) = 4σ(x) − 2 in [−2, 2] and h(x) = 2σ(x) − 1 in [−1, 1].

Options:
  block_size       S, cells per block sharing one input and one output gate (H % S == 0).
  recurrent_gates  feed the gate activations back as well as the cell outputs: the paper's fully
                   connected hidden layer. The recurrent state h is then [y (O), in (C), out (C)];
                   the layer's output is y alone.
  truncated        the paper's truncated gradient: errors reaching the net inputs of the gates and
                   cells do not flow back through the recurrent connections; error flows back in
                   time only through the cell state s. Weights still get gradient from every step.
  cell_input_bias  with bias=True, whether the cell inputs are biased as well as the gates
                   (False: the paper's "bias on gates only", Exp. 1).

Pre-activation order: [input gates (C) | cell inputs (H) | output gates (C)], G = H + 2C.
Parameters: weight_ih (G, I), weight_hh (G, R), bias_ih (G,), or (2C,) [input gates | output gates]
when the cell inputs are unbiased, and weight_hr (P, H). One bias vector, not torch's two, so that
weight counts equal the paper's.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from .._checks import check_int
from .base import Cell, Params, State


def squash_g(x: Tensor) -> Tensor:
    """The paper's cell-input squashing, 4σ(x) − 2, range [−2, 2] (computed as 2·tanh(x/2), the same
    function in fewer operations)."""
    return torch.tanh(x * 0.5) * 2.0


def squash_h(x: Tensor) -> Tensor:
    """The paper's cell-output squashing, 2σ(x) − 1, range [−1, 1] (computed as tanh(x/2))."""
    return torch.tanh(x * 0.5)


class VanillaCell(Cell):
    name = "vanilla"
    summary = "Hochreiter & Schmidhuber 1997: input and output gates, constant error carousel, no forget gate"
    has_forget_gate = False
    gate_names = ("input", "cell", "output")
    options = {"block_size": 1, "recurrent_gates": False, "truncated": False, "cell_input_bias": True}

    def _check_options(self) -> None:
        s = check_int("block_size", self.config["block_size"], minimum=1)
        if self.hidden_size % s:
            raise ValueError(
                f"block_size must divide hidden_size ({self.hidden_size}) into whole blocks, got {s}"
            )
        self.block_size = s
        self.num_blocks = self.hidden_size // s
        self.truncated = self.config["truncated"]

    @property
    def state_sizes(self) -> tuple[int, int]:
        extra = 2 * self.num_blocks if self.config["recurrent_gates"] else 0
        return self.output_size + extra, self.hidden_size

    def preactivation_size(self) -> int:
        return self.hidden_size + 2 * self.num_blocks

    def bias_shapes(self) -> dict[str, tuple[int, ...]]:
        full = self.config["cell_input_bias"]
        return {"bias_ih": (self.preactivation_size() if full else 2 * self.num_blocks,)}

    def project_input(self, p: Params, x: Tensor) -> Tensor:
        bias = p.get("bias_ih")
        if bias is not None and not self.config["cell_input_bias"]:
            c = self.num_blocks                               # gates-only bias -> full layout
            bias = torch.cat([bias[:c], bias.new_zeros(self.hidden_size), bias[c:]])
        return F.linear(x, p["weight_ih"], bias)

    def _per_cell(self, gate: Tensor) -> Tensor:
        """A block's gate for each of its cells: (B, C) -> (B, H)."""
        return gate if self.block_size == 1 else gate.repeat_interleave(self.block_size, dim=1)

    def step(self, p: Params, xw: Tensor, state: State) -> tuple[Tensor, State, dict[str, Tensor]]:
        h, s = state
        h_in = h.detach() if self.truncated else h            # the paper's truncation
        z = torch.addmm(xw, h_in, p["weight_hh"].t())                  # (B, G)
        c = self.num_blocks
        z_in, z_c, z_out = z.split([c, self.hidden_size, c], dim=1)
        y_in, y_out = torch.sigmoid(z_in), torch.sigmoid(z_out)          # (B, C) each
        g = squash_g(z_c)                                                 # (B, H)
        s = s + self._per_cell(y_in) * g                                  # CEC
        y = self.project(p, self._per_cell(y_out) * squash_h(s))
        h = torch.cat([y, y_in, y_out], dim=1) if self.config["recurrent_gates"] else y
        return y, (h, s), {"input": y_in, "cell": g, "output": y_out}
