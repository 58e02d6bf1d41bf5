"""The 1997 cell: the paper's squashing functions, its weight counts, and its truncated gradient
checked against the paper's own formulas (Appendix A.1), written out by hand here."""

from __future__ import annotations

import math

import pytest
import torch

import lstmkit
from lstmkit.cells.vanilla import squash_g, squash_h


# --- g and h ------------------------------------------------------------------------------------
@pytest.mark.parametrize("x,g,h", [
    (0.0, 0.0, 0.0),
    (math.log(3), 1.0, 0.5),        # σ(ln 3) = 3/4: g = 4·3/4 − 2, h = 2·3/4 − 1
    (-math.log(3), -1.0, -0.5),
    (50.0, 2.0, 1.0),
    (-50.0, -2.0, -1.0),
])
def test_squashing_values(x, g, h):
    t = torch.tensor(x, dtype=torch.float64)
    assert squash_g(t).item() == pytest.approx(g, abs=1e-12)
    assert squash_h(t).item() == pytest.approx(h, abs=1e-12)


def test_squashing_ranges_and_slopes():
    x = torch.linspace(-30, 30, 2001, dtype=torch.float64, requires_grad=True)
    g, h = squash_g(x), squash_h(x)
    assert g.min() >= -2 and g.max() <= 2 and h.min() >= -1 and h.max() <= 1
    torch.testing.assert_close(h, torch.tanh(x / 2))            # 2σ(x) − 1 = tanh(x/2)
    (dg,) = torch.autograd.grad(g.sum(), x)
    (dh,) = torch.autograd.grad(h.sum(), x)
    assert dg[1000].item() == pytest.approx(1.0)                # 4 σ'(0) = 4 · 1/4
    assert dh[1000].item() == pytest.approx(0.5)                # 2 σ'(0)


# --- the paper's weight counts (Table 10; paper1997.md "weight-count cross-check") ------------------
def _paper_net_weights(inputs, blocks, size, outputs, *, hidden_bias, cell_input_bias, output_bias):
    lstm = lstmkit.LSTM(inputs, blocks * size, cell="vanilla", block_size=size, recurrent_gates=True,
                        bias=hidden_bias, cell_input_bias=cell_input_bias)
    head = torch.nn.Linear(blocks * size, outputs, bias=output_bias)      # outputs see cells only
    return sum(p.numel() for p in [*lstm.parameters(), *head.parameters()])


@pytest.mark.parametrize("task,inputs,blocks,size,outputs,bias,published", [
    ("exp1 4x1, gates biased", 7, 4, 1, 7, "gates", 264),
    ("exp1 3x2, gates biased", 7, 3, 2, 7, "gates", 276),
    ("exp2c p=50, no bias", 54, 2, 1, 2, "none", 364),
    ("exp2c p=1000, no bias", 1004, 2, 1, 2, "none", 6064),
    ("exp3a, hidden biased", 1, 3, 1, 1, "hidden", 102),
    ("exp4/5, non-input biased", 2, 2, 2, 1, "all", 93),
    ("exp6a, non-input biased", 8, 2, 2, 4, "all", 156),
    ("exp6b, non-input biased", 8, 3, 2, 8, "all", 308),
])
def test_paper_weight_counts(task, inputs, blocks, size, outputs, bias, published):
    count = _paper_net_weights(inputs, blocks, size, outputs, hidden_bias=bias != "none",
                               cell_input_bias=bias in ("hidden", "all"), output_bias=bias == "all")
    assert count == published, task


# --- the truncated gradient against Appendix A.1 ---------------------------------------------------
def _sig_prime(z):
    s = torch.sigmoid(z)
    return s * (1 - s)


@pytest.mark.parametrize("recurrent_gates", [False, True])
def test_truncated_gradient_matches_paper_formulas(recurrent_gates):
    """Two steps, error only at the end (as in the paper's long-lag tasks). The paper's RTRL-style
    truncated gradient, written out from A.1, must equal autograd with truncated=True."""
    I, C, S, B = 2, 2, 2, 3
    H = C * S
    torch.manual_seed(1)
    m = lstmkit.LSTM(I, H, cell="vanilla", block_size=S, recurrent_gates=recurrent_gates, truncated=True,
                     dtype=torch.float64)
    R = m.cells[0].state_sizes[0]
    x = torch.randn(2, B, I, dtype=torch.float64)
    h0 = torch.randn(1, B, R, dtype=torch.float64, requires_grad=True)
    s0 = torch.randn(1, B, H, dtype=torch.float64, requires_grad=True)
    r = torch.randn(B, H, dtype=torch.float64)                     # dE/dy at the last step
    out, (hn, sn) = m(x, (h0, s0))
    (r * out[1]).sum().backward()

    # ---- forward, by hand; rows of W: [input gates C | cell inputs H | output gates C]
    W = torch.cat([m.weight_ih_l0, m.weight_hh_l0], dim=1).detach()
    b = m.bias_ih_l0.detach()
    rep = lambda v: v.repeat_interleave(S, dim=1)                  # block value -> its cells
    per_block = lambda v: v.reshape(B, C, S).sum(-1)               # cells -> their block
    src, s, h = [], s0[0].detach(), h0[0].detach()
    zs = []
    for t in range(2):
        src.append(torch.cat([x[t], h], dim=1))                    # y^m(t-1): inputs and hidden layer
        z = src[t] @ W.t() + b
        z_in, z_c, z_out = z.split([C, H, C], dim=1)
        zs.append((z_in, z_c, z_out))
        s = s + rep(torch.sigmoid(z_in)) * squash_g(z_c)
        y = rep(torch.sigmoid(z_out)) * squash_h(s)
        h = torch.cat([y, torch.sigmoid(z_in), torch.sigmoid(z_out)], 1) if recurrent_gates else y
    torch.testing.assert_close(out[1], y)
    torch.testing.assert_close(sn[0], s)

    # ---- backward, the paper's way: e_s = y^out h'(s) Σ_k w_k e_k, constant back through the CEC
    z_in2, z_c2, z_out2 = zs[1]
    e_s = r * rep(torch.sigmoid(z_out2)) * 2 * _sig_prime(s)                 # h'(x) = 2σ'(x)
    e_out = _sig_prime(z_out2) * per_block(r * squash_h(s))                  # output gates, step 2 only
    grad_in = sum(((_sig_prime(z_in) * per_block(e_s * squash_g(z_c))).t() @ m_t)
                  for (z_in, z_c, _), m_t in zip(zs, src))                   # ∂s/∂w_in accumulated
    grad_c = sum(((e_s * rep(torch.sigmoid(z_in)) * 4 * _sig_prime(z_c)).t() @ m_t)
                 for (z_in, z_c, _), m_t in zip(zs, src))                    # g'(x) = 4σ'(x)
    grad_out = e_out.t() @ src[1]
    expected_W = torch.cat([grad_in, grad_c, grad_out], dim=0)               # (G, I + R)
    bias_rows = lambda g_rows: g_rows.sum(0)
    expected_b = torch.cat([
        bias_rows(sum(_sig_prime(z_in) * per_block(e_s * squash_g(z_c)) for z_in, z_c, _ in zs)),
        bias_rows(sum(e_s * rep(torch.sigmoid(z_in)) * 4 * _sig_prime(z_c) for z_in, z_c, _ in zs)),
        bias_rows(e_out),
    ])

    torch.testing.assert_close(m.weight_ih_l0.grad, expected_W[:, :I])
    torch.testing.assert_close(m.weight_hh_l0.grad, expected_W[:, I:])
    torch.testing.assert_close(m.bias_ih_l0.grad, expected_b)
    assert h0.grad is None or torch.count_nonzero(h0.grad) == 0   # nothing flows back through the gates
    torch.testing.assert_close(s0.grad[0], e_s)                # the CEC carries e_s back unchanged
    assert torch.count_nonzero(m.weight_hh_l0.grad) > 0        # recurrent weights still learn


def test_truncation_changes_the_gradient_and_only_the_gradient():
    torch.manual_seed(2)
    full = lstmkit.LSTM(2, 4, cell="vanilla", block_size=2, recurrent_gates=True, dtype=torch.float64)
    trunc = lstmkit.LSTM(2, 4, cell="vanilla", block_size=2, recurrent_gates=True, truncated=True,
                         dtype=torch.float64)
    trunc.load_state_dict(full.state_dict())
    x = torch.randn(5, 3, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, 3, 8, dtype=torch.float64, requires_grad=True)
    grads = []
    for m in (full, trunc):
        out, _ = m(x, (h0, torch.zeros(1, 3, 4, dtype=torch.float64)))
        grads.append((out, torch.autograd.grad(out[-1].sum(), (h0, m.weight_hh_l0), materialize_grads=True)))
    torch.testing.assert_close(grads[0][0], grads[1][0])                    # same forward
    assert grads[0][1][0].abs().sum() > 0 and grads[1][1][0].abs().sum() == 0
    assert not torch.allclose(grads[0][1][1], grads[1][1][1])               # a different gradient
    # and finite differences see the full gradient, not the truncated one
    f = lambda x: trunc(x)[0][-1]
    assert torch.autograd.gradcheck(lambda x: full(x)[0][-1], (x,))
    assert not torch.autograd.gradcheck(f, (x,), raise_exception=False)
