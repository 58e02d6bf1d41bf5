"""Peephole LSTM (Gers & Schmidhuber 2000, "Recurrent nets that time and count"): the gates look at
the cell state through diagonal weights; the input and forget gates see c_{t-1}, the output gate
sees the new c_t.

    i = σ(z_i + w_ci ⊙ c),  f = σ(z_f + w_cf ⊙ c),  g = tanh(z_g)
    c' = f ⊙ c + i ⊙ g,     o = σ(z_o + w_co ⊙ c'),  h' = o ⊙ tanh(c')

Parameters: those of the forget cell plus weight_ci, weight_cf, weight_co (H,).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Params, State
from .forget import ForgetCell


class PeepholeCell(ForgetCell):
    name = "peephole"
    summary = "Gers & Schmidhuber 2000: gates see the cell state through diagonal peepholes"

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = super().parameter_shapes()
        for gate in ("i", "f", "o"):
            shapes[f"weight_c{gate}"] = (self.hidden_size,)
        return shapes

    def step(self, p: Params, xw: Tensor, state: State) -> tuple[Tensor, State, dict[str, Tensor]]:
        h, c = state
        z = torch.addmm(xw, h, p["weight_hh"].t())                     # (B, 4H)
        zi, zf, zg, zo = z.chunk(4, dim=1)                    # 4 x (B, H)
        i = torch.sigmoid(zi + p["weight_ci"] * c)
        f = torch.sigmoid(zf + p["weight_cf"] * c)
        g = torch.tanh(zg)
        c = f * c + i * g
        o = torch.sigmoid(zo + p["weight_co"] * c)
        y = self.project(p, o * torch.tanh(c))
        return y, (y, c), {"input": i, "forget": f, "cell": g, "output": o}
