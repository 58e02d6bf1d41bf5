"""Coupled input-forget gate LSTM (CIFG; Greff et al. 2017, "LSTM: A Search Space Odyssey"):
the cell forgets exactly as much as it writes, f = 1 - i, which saves a quarter of the weights.

    i, g, o = σ(z_i), tanh(z_g), σ(z_o)         (gate order i, g, o)
    c' = (1 - i) ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')

Parameters: weight_ih (3H, I), weight_hh (3H, O), bias_ih (3H,), bias_hh (3H,), weight_hr (P, H).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Cell, Params, State


class CIFGCell(Cell):
    name = "cifg"
    summary = "coupled input and forget gate, f = 1 - i (Greff et al. 2017)"
    gate_names = ("input", "forget", "cell", "output")

    def preactivation_size(self) -> int:
        return 3 * self.hidden_size

    def set_forget_bias(self, params: Params, value: float) -> None:
        # f = 1 - σ(z_i) = σ(-z_i): a forget bias of b is an input-gate bias of -b.
        h = self.hidden_size
        params["bias_ih"][:h] = -value
        params["bias_hh"][:h] = 0.0

    def step(self, p: Params, xw: Tensor, state: State) -> tuple[Tensor, State, dict[str, Tensor]]:
        h, c = state
        z = torch.addmm(xw, h, p["weight_hh"].t())                     # (B, 3H)
        zi, zg, zo = z.chunk(3, dim=1)                        # 3 x (B, H)
        i, g, o = torch.sigmoid(zi), torch.tanh(zg), torch.sigmoid(zo)
        f = 1.0 - i
        c = f * c + i * g
        y = self.project(p, o * torch.tanh(c))
        return y, (y, c), {"input": i, "forget": f, "cell": g, "output": o}
