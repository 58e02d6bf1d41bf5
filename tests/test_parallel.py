"""lstmkit.ParallelLSTM: K networks in one call compute what each network computes alone."""

from __future__ import annotations

import pytest
import torch

import lstmkit
from lstmkit.parallel import ParallelLSTM

from conftest import CASES, tolerances

K, I, H, T, B = 3, 2, 6, 7, 2


def _alone(par, x, hx, lengths):
    """The oracle: each network's own forward on its own slice, with the reference engine."""
    outs, hs, cs = [], [], []
    for k, net in enumerate(par.networks):
        saved, net.backend = net.backend, "reference"
        try:
            o, (h, c) = net(x[k], None if hx is None else (hx[0][k], hx[1][k]),
                            None if lengths is None else lengths[k])
        finally:
            net.backend = saved
        outs.append(o)
        hs.append(h)
        cs.append(c)
    return torch.stack(outs), (torch.stack(hs), torch.stack(cs))


def _outputs_and_grads(fn, par, x, hx):
    leaves = [x.clone().requires_grad_()] + ([t.clone().requires_grad_() for t in hx] if hx else [])
    out, (h, c) = fn(leaves[0], tuple(leaves[1:]) if hx else None)
    w = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    loss = (out * w).sum() + h.pow(2).sum() + c.sum()
    return [out, h, c, *torch.autograd.grad(loss, [*leaves, *par.parameters()])]


@pytest.mark.parametrize("cell,options", CASES)
@pytest.mark.parametrize("layout", ["1layer", "2layers-bidirectional-proj"])
def test_each_network_computes_what_it_computes_alone(cell, options, layout):
    two = layout != "1layer"
    proj = 2 if two and not options.get("recurrent_gates") else 0
    par = ParallelLSTM(K, I, H, num_layers=2 if two else 1, bidirectional=two, proj_size=proj, cell=cell,
                       dtype=torch.float64, backend="fused", **options)
    for net in par.networks:                     # networks differ from each other
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p) * 0.1)
    x = torch.randn(K, T, B, I, dtype=torch.float64)
    lengths = torch.tensor([[7, 3], [2, 7], [5, 5]])
    r, h = par.networks[0].cells[0].state_sizes
    rows = par.networks[0].num_layers * par.networks[0].num_directions
    hx = (torch.randn(K, rows, B, r, dtype=torch.float64), torch.randn(K, rows, B, h, dtype=torch.float64))
    got = _outputs_and_grads(lambda xx, s: par(xx, s, lengths), par, x, hx)
    want = _outputs_and_grads(lambda xx, s: _alone(par, xx, s, lengths), par, x, hx)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, **tolerances(torch.float64))


def test_fused_and_loop_backends_agree_in_float32_and_without_lengths():
    torch.manual_seed(1)
    par = ParallelLSTM(4, I, H, cell="vanilla", recurrent_gates=True, backend="fused")
    loop = ParallelLSTM.from_networks(par.networks, backend="loop")
    x = torch.randn(4, T, B, I)
    for a, b in zip(par(x)[0], loop(x)[0]):
        torch.testing.assert_close(a, b, **tolerances(torch.float32))


def test_gradcheck_through_the_fused_kernel():
    par = ParallelLSTM(2, I, 3, cell="peephole", dtype=torch.float64, backend="fused")
    x = torch.randn(2, 4, 2, I, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: par(x, lengths=[4, 2])[0], (x,))


def test_batch_first_and_lengths_shared_by_all_networks():
    par = ParallelLSTM(2, I, H, batch_first=True, cell="cifg", dtype=torch.float64)
    x = torch.randn(2, B, T, I, dtype=torch.float64)
    out, (h, c) = par(x, lengths=[7, 4])
    assert out.shape == (2, B, T, H) and h.shape == (2, 1, B, H)
    for k in range(2):
        o, (hh, cc) = par.networks[k](x[k], lengths=[7, 4])
        torch.testing.assert_close(out[k], o)
        torch.testing.assert_close(h[k], hh)
    assert out[:, 1, 4:].abs().max() == 0                       # padding stays zero


def test_same_seed_same_networks_and_each_initialised_like_a_new_lstm():
    torch.manual_seed(3)
    a = ParallelLSTM(2, I, H, cell="forget")
    torch.manual_seed(3)
    first, second = lstmkit.LSTM(I, H), lstmkit.LSTM(I, H)
    for net, alone in zip(a.networks, (first, second)):
        for p, q in zip(net.parameters(), alone.parameters(), strict=True):
            assert torch.equal(p, q)


def test_auto_falls_back_to_the_loop_off_the_cpu_or_in_other_dtypes():
    par = ParallelLSTM(2, I, H, cell="vanilla", dtype=torch.bfloat16)
    out, _ = par(torch.randn(2, T, B, I, dtype=torch.bfloat16))
    assert out.dtype == torch.bfloat16 and out.shape == (2, T, B, H)


@pytest.mark.parametrize("bad,match", [
    (lambda: ParallelLSTM(0, I, H), r"num_networks must be .*>= 1"),
    (lambda: ParallelLSTM(2, I, H, backend="cuda"), r"backend must be one of 'auto', 'fused', 'loop', got 'cuda'"),
    (lambda: ParallelLSTM.from_networks([]), r"at least one"),
    (lambda: ParallelLSTM.from_networks([lstmkit.LSTM(I, H), torch.nn.LSTM(I, H)]), r"networks\[1\] must be an lstmkit.LSTM"),
    (lambda: ParallelLSTM.from_networks([lstmkit.LSTM(I, H), lstmkit.LSTM(I, H + 1)]), r"networks\[1\] differs"),
    (lambda: ParallelLSTM.from_networks(lstmkit.LSTM(I, H)), r"must be a list"),
])
def test_bad_construction_is_named(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        bad()


@pytest.mark.parametrize("call,match", [
    (lambda p: p(torch.randn(T, B, I)), r"input must be 4-D \(networks, time, batch, features\), got 3-D"),
    (lambda p: p(torch.randn(3, T, B, I)), r"one slice per network: expected 2 in its first dimension, got shape \(3, 7, 2, 2\)"),
    (lambda p: p(torch.randn(2, T, B, I + 1)), r"input_size=2 features"),
    (lambda p: p(torch.randn(2, T, B, I, dtype=torch.float64)), r"dtype"),
    (lambda p: p(torch.randn(2, T, B, I), lengths=torch.tensor([[7, 8], [1, 1]])), r"lengths must be <= the number of time steps \(7\), got 8"),
    (lambda p: p(torch.randn(2, T, B, I), lengths=torch.ones(3, B, dtype=torch.int64)), r"lengths must be \(networks, batch\) = \(2, 2\)"),
    (lambda p: p(torch.randn(2, T, B, I), (torch.zeros(2, 1, B, H), torch.zeros(2, 1, B, H + 1))), r"expected c_0 of shape \(2, 1, 2, 6\), got \(2, 1, 2, 7\)"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(ParallelLSTM(2, I, H, cell="peephole"))
