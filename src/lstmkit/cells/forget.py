"""The forget-gate LSTM (Gers, Schmidhuber & Cummins 2000), exactly the cell of ``torch.nn.LSTM``.

    i, f, g, o = σ(W_ii x + W_hi h + b_i), σ(...), tanh(...), σ(...)    (gate order of torch)
    c' = f ⊙ c + i ⊙ g
    h' = o ⊙ tanh(c')            then h' = W_hr h' with proj_size (LSTMP)

Parameters: weight_ih (4H, I), weight_hh (4H, O), bias_ih (4H,), bias_hh (4H,), weight_hr (P, H).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Cell, Params, State


class ForgetCell(Cell):
    name = "forget"
    summary = "Gers et al. 2000: the forget-gate cell of torch.nn.LSTM"

    def preactivation_size(self) -> int:
        return 4 * self.hidden_size

    def step(self, p: Params, xw: Tensor, state: State) -> tuple[Tensor, State, dict[str, Tensor]]:
        h, c = state
        z = torch.addmm(xw, h, p["weight_hh"].t())                     # (B, 4H)
        zi, zf, zg, zo = z.chunk(4, dim=1)                    # 4 x (B, H)
        i, f, g, o = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg), torch.sigmoid(zo)
        c = f * c + i * g
        y = self.project(p, o * torch.tanh(c))
        return y, (y, c), {"input": i, "forget": f, "cell": g, "output": o}
