"""Layer-normalised LSTM (Ba, Kiros & Hinton 2016, "Layer Normalization", eq. 20-22).

    z  = LN(W_ih x; γ_ih) + LN(W_hh h; γ_hh) + b          (normalised over all 4H pre-activations)
    i, f, g, o = σ(z_i), σ(z_f), tanh(z_g), σ(z_o)
    c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(LN(c'; γ_c, β_c))

The paper gives each LN its own shift β as well as a bias b; those shifts only add to b, so here the
input and recurrent norms have gains alone and ``bias_ih`` is the one shift of the pre-activations.
Parameters: weight_ih (4H, I), weight_hh (4H, O), weight_ln_ih (4H,), weight_ln_hh (4H,),
weight_ln_c (H,), and with bias=True: bias_ih (4H,), bias_ln_c (H,); weight_hr (P, H) with proj_size.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from .base import Cell, Params, State

EPS = 1e-5


class LayerNormCell(Cell):
    name = "layernorm"
    summary = "Ba, Kiros & Hinton 2016: layer norm on the pre-activations and the cell state"

    def preactivation_size(self) -> int:
        return 4 * self.hidden_size

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        g = self.preactivation_size()
        return {**super().parameter_shapes(),
                "weight_ln_ih": (g,), "weight_ln_hh": (g,), "weight_ln_c": (self.hidden_size,)}

    def bias_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"bias_ih": (self.preactivation_size(),), "bias_ln_c": (self.hidden_size,)}

    def init_parameters(self, params: Params, forget_bias: float | None) -> None:
        super().init_parameters(params, forget_bias=None)
        for name, p in params.items():
            if name.startswith("weight_ln"):
                p.fill_(1.0)
            elif name.startswith("bias"):
                p.zero_()
        if forget_bias is not None and self.bias:
            self.set_forget_bias(params, forget_bias)

    def set_forget_bias(self, params: Params, value: float) -> None:
        h = self.hidden_size
        params["bias_ih"][h:2 * h] = value

    def project_input(self, p: Params, x: Tensor) -> Tensor:
        # the bias is layer norm's own shift: LN(x W^T)·γ + b in one op
        return F.layer_norm(F.linear(x, p["weight_ih"]), (self.preactivation_size(),), p["weight_ln_ih"],
                            p.get("bias_ih"), eps=EPS)

    def step(self, p: Params, xw: Tensor, state: State) -> tuple[Tensor, State, dict[str, Tensor]]:
        h, c = state
        hw = F.layer_norm(F.linear(h, p["weight_hh"]), (self.preactivation_size(),), p["weight_ln_hh"], eps=EPS)
        z = xw + hw
        i, f, _, o = torch.sigmoid(z).chunk(4, dim=1)         # one op for the three gates (and
        g = torch.tanh(z[:, 2 * self.hidden_size:3 * self.hidden_size])   # a σ of z_g left unused)
        c = torch.addcmul(f * c, i, g)
        cn = F.layer_norm(c, (self.hidden_size,), p["weight_ln_c"], p.get("bias_ln_c"), eps=EPS)
        y = self.project(p, o * torch.tanh(cn))
        return y, (y, c), {"input": i, "forget": f, "cell": g, "output": o}
