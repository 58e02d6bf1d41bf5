"""Each cell's step against an oracle that does not share its code: torch.nn.LSTM where the cell
reduces to it, otherwise the paper's equations written out here."""

from __future__ import annotations

import pytest
import torch

import lstmkit
from conftest import CASES

I, H, B, T = 3, 4, 2, 5
F64 = torch.float64


def _torch_lstm_from(m):
    ref = torch.nn.LSTM(I, H, dtype=F64)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(ref, name).copy_(getattr(m, name))
    return ref


def test_peephole_with_zero_peepholes_is_torch_lstm():
    m = lstmkit.LSTM(I, H, cell="peephole", dtype=F64)
    with torch.no_grad():
        for g in "ifo":
            getattr(m, f"weight_c{g}_l0").zero_()
    x = torch.randn(T, B, I, dtype=F64)
    torch.testing.assert_close(m(x)[0], _torch_lstm_from(m)(x)[0])


def test_cifg_is_torch_lstm_with_forget_rows_negated():
    """σ(−z) = 1 − σ(z): a torch LSTM whose forget rows are minus its input rows is a CIFG."""
    m = lstmkit.LSTM(I, H, cell="cifg", dtype=F64)
    ref = torch.nn.LSTM(I, H, dtype=F64)
    with torch.no_grad():
        for kind in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            i, g, o = getattr(m, kind).chunk(3, 0)
            getattr(ref, kind).copy_(torch.cat([i, -i, g, o]))
    x = torch.randn(T, B, I, dtype=F64)
    for a, b in zip(m(x)[1], ref(x)[1]):
        torch.testing.assert_close(a, b)


def test_peephole_step_by_hand():
    m = lstmkit.LSTMCell(I, H, cell="peephole", dtype=F64)
    p = {k: v.detach() for k, v in m.named_parameters()}
    x, h, c = torch.randn(B, I, dtype=F64), torch.randn(B, H, dtype=F64), torch.randn(B, H, dtype=F64)
    z = x @ p["weight_ih"].t() + p["bias_ih"] + h @ p["weight_hh"].t() + p["bias_hh"]
    i = torch.sigmoid(z[:, :H] + p["weight_ci"] * c)           # input and forget gates see c_{t-1}
    f = torch.sigmoid(z[:, H:2 * H] + p["weight_cf"] * c)
    c_new = f * c + i * torch.tanh(z[:, 2 * H:3 * H])
    o = torch.sigmoid(z[:, 3 * H:] + p["weight_co"] * c_new)   # the output gate sees c_t
    h_new, c_out = m(x, (h, c))
    torch.testing.assert_close(c_out, c_new)
    torch.testing.assert_close(h_new, o * torch.tanh(c_new))


def _norm(v, gain, shift=0.0, eps=1e-5):
    mean = v.mean(-1, keepdim=True)
    var = ((v - mean) ** 2).mean(-1, keepdim=True)                # biased variance, as in Ba et al.
    return (v - mean) / torch.sqrt(var + eps) * gain + shift


def test_layernorm_step_by_hand():
    m = lstmkit.LSTMCell(I, H, cell="layernorm", dtype=F64)
    with torch.no_grad():                                         # move gains/shifts off their init
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    p = {k: v.detach() for k, v in m.named_parameters()}
    x, h, c = torch.randn(B, I, dtype=F64), torch.randn(B, H, dtype=F64), torch.randn(B, H, dtype=F64)
    z = (_norm(x @ p["weight_ih"].t(), p["weight_ln_ih"]) + _norm(h @ p["weight_hh"].t(), p["weight_ln_hh"])
         + p["bias_ih"])
    i, f, g, o = torch.sigmoid(z[:, :H]), torch.sigmoid(z[:, H:2 * H]), torch.tanh(z[:, 2 * H:3 * H]), torch.sigmoid(z[:, 3 * H:])
    c_new = f * c + i * g
    h_new = o * torch.tanh(_norm(c_new, p["weight_ln_c"], p["bias_ln_c"]))
    out = m(x, (h, c))
    torch.testing.assert_close(out[1], c_new)
    torch.testing.assert_close(out[0], h_new)


def test_vanilla_step_by_hand_blocks_share_gates():
    m = lstmkit.LSTMCell(I, 4, cell="vanilla", block_size=2, dtype=F64)
    p = {k: v.detach() for k, v in m.named_parameters()}
    x, h, s = torch.randn(B, I, dtype=F64), torch.randn(B, 4, dtype=F64), torch.randn(B, 4, dtype=F64)
    z = x @ p["weight_ih"].t() + h @ p["weight_hh"].t() + p["bias_ih"]       # [in 2 | cells 4 | out 2]
    y_in, y_out = torch.sigmoid(z[:, :2]), torch.sigmoid(z[:, 6:])
    cells = z[:, 2:6]
    s_new = torch.stack([s[:, v] + y_in[:, v // 2] * (4 * torch.sigmoid(cells[:, v]) - 2) for v in range(4)], 1)
    y = torch.stack([y_out[:, v // 2] * (2 * torch.sigmoid(s_new[:, v]) - 1) for v in range(4)], 1)
    h_new, s_out = m(x, (h, s))
    torch.testing.assert_close(s_out, s_new)
    torch.testing.assert_close(h_new, y)


@pytest.mark.parametrize("cell,options", CASES)
def test_lstmcell_steps_equal_the_layer(cell, options):
    """Stepping LSTMCell by hand over a sequence gives the layer's output and final state."""
    layer = lstmkit.LSTM(I, 6, cell=cell, proj_size=2, dtype=F64, **options)
    step = lstmkit.LSTMCell(I, 6, cell=cell, proj_size=2, dtype=F64, **options)
    step.load_state_dict({k.removesuffix("_l0"): v for k, v in layer.state_dict().items()})
    x = torch.randn(T, B, I, dtype=F64)
    out, (hn, cn) = layer(x)
    state = None
    for t in range(T):
        state = step(x[t], state)
        torch.testing.assert_close(state[0][:, :2], out[t])
    torch.testing.assert_close(state[0], hn[0])
    torch.testing.assert_close(state[1], cn[0])


@pytest.mark.parametrize("cell", lstmkit.cells())
def test_forget_bias_initialisation(cell):
    m = lstmkit.LSTMCell(I, H, cell=cell, forget_bias=None)          # torch's uniform init
    bound = 1 / H ** 0.5
    assert all(p.abs().max() <= bound for n, p in m.named_parameters() if not n.startswith("weight_ln"))
    if not m.spec.has_forget_gate:
        return
    # at zero input and zero state the forget gate's pre-activation is its total bias
    step = lstmkit.LSTMCell(I, H, cell=cell, forget_bias=2.5)
    spec, params = step.spec, {k: v.detach() for k, v in step.named_parameters()}
    zero_x = torch.zeros(1, I)
    _, _, gates = spec.step(params, spec.project_input(params, zero_x), spec.init_state(1, dtype=torch.float32, device="cpu"))
    torch.testing.assert_close(gates["forget"], torch.sigmoid(torch.full((1, H), 2.5)))
