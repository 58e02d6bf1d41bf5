"""cell="forget" against torch.nn.LSTM with the same weights: outputs, final states and every
gradient agree, on every engine that runs the forget cell."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import lstmkit
from conftest import tolerances
from lstmkit import engines
from lstmkit.cells import make_cell

I, H, B, T = 3, 5, 4, 6
#: every backend that runs the forget cell, so a new engine is held to torch the day it is added
BACKENDS = ["auto"] + [n for n, e in engines.ENGINES.items() if e.supports(make_cell("forget", 1, 2))]


def _pair(num_layers, bidirectional, batch_first, proj_size, dtype, backend):
    ref = torch.nn.LSTM(I, H, num_layers, batch_first=batch_first, bidirectional=bidirectional,
                        proj_size=proj_size, dtype=dtype)
    return ref, lstmkit.LSTM.from_torch(ref, backend=backend)


def _inputs(ref, batch_first, with_state, dtype):
    x = torch.randn((B, T, I) if batch_first else (T, B, I), dtype=dtype, requires_grad=True)
    if not with_state:
        return x, None
    d = 2 if ref.bidirectional else 1
    h0 = torch.randn(ref.num_layers * d, B, ref.proj_size or H, dtype=dtype, requires_grad=True)
    c0 = torch.randn(ref.num_layers * d, B, H, dtype=dtype, requires_grad=True)
    return x, (h0, c0)


def _grads(module, loss, extra):
    named = dict(module.named_parameters())
    return torch.autograd.grad(loss, [named[k] for k in sorted(named)] + extra)


def _loss(out, h, c):
    # weights make every output element and final state matter differently
    w = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
    return (w * out).sum() + (h ** 2).sum() + (c * 0.5).sum()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,proj_size,with_state",
                         list(itertools.product([1, 2, 3], [False, True], [False, True], [0, 2], [False, True])))
def test_forget_matches_torch(num_layers, bidirectional, batch_first, proj_size, with_state, dtype, backend):
    ref, ours = _pair(num_layers, bidirectional, batch_first, proj_size, dtype, backend)
    x, hx = _inputs(ref, batch_first, with_state, dtype)
    extra = [x] + (list(hx) if hx else [])
    results = []
    for module in (ref, ours):
        out, (h, c) = module(x, hx)
        results.append((out, h, c, _grads(module, _loss(out, h, c), extra)))
    (o1, h1, c1, g1), (o2, h2, c2, g2) = results
    tol = tolerances(dtype)
    torch.testing.assert_close(o2, o1, **tol)
    torch.testing.assert_close(h2, h1, **tol)
    torch.testing.assert_close(c2, c1, **tol)
    for a, b in zip(g2, g1, strict=True):
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("num_layers,bidirectional,proj_size", [(1, False, 0), (2, True, 0), (3, True, 2), (2, False, 3)])
def test_lengths_match_torch_packed(num_layers, bidirectional, proj_size, dtype, backend):
    """Padded input + lengths gives what torch gives on the same batch packed."""
    ref, ours = _pair(num_layers, bidirectional, True, proj_size, dtype, backend)
    lengths = torch.tensor([4, 6, 1, 3])
    x, hx = _inputs(ref, True, True, dtype)
    extra = [x, *hx]
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_ref, (h_ref, c_ref) = ref(packed, hx)
    out_ref, _ = pad_packed_sequence(out_ref, batch_first=True, total_length=T)
    out, (h, c) = ours(x, hx, lengths=lengths)
    tol = tolerances(dtype)
    torch.testing.assert_close(out, out_ref, **tol)
    torch.testing.assert_close(h, h_ref, **tol)
    torch.testing.assert_close(c, c_ref, **tol)
    g_ref = _grads(ref, _loss(out_ref, h_ref, c_ref), extra)
    g = _grads(ours, _loss(out, h, c), extra)
    for a, b in zip(g, g_ref, strict=True):
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_sequence_in_packed_sequence_out(backend, enforce_sorted):
    ref, ours = _pair(2, True, False, 0, torch.float64, backend)
    lengths = torch.tensor([6, 4, 3, 1]) if enforce_sorted else torch.tensor([3, 6, 1, 4])
    x = torch.randn(T, B, I, dtype=torch.float64)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
    out_ref, (h_ref, c_ref) = ref(packed)
    out, (h, c) = ours(packed)
    assert isinstance(out, PackedSequence)
    torch.testing.assert_close(out.data, out_ref.data, **tolerances(torch.float64))
    assert torch.equal(out.batch_sizes, out_ref.batch_sizes)
    for mine, theirs in ((out.sorted_indices, out_ref.sorted_indices), (out.unsorted_indices, out_ref.unsorted_indices)):
        assert (mine is None and theirs is None) or torch.equal(mine, theirs)
    torch.testing.assert_close(h, h_ref, **tolerances(torch.float64))
    torch.testing.assert_close(c, c_ref, **tolerances(torch.float64))


@pytest.mark.parametrize("cell", lstmkit.cells())
def test_packed_sequence_equals_lengths(cell):
    """For every cell, a PackedSequence and padded input + lengths are the same computation."""
    m = lstmkit.LSTM(I, H, 2, bidirectional=True, cell=cell, dtype=torch.float64)
    lengths = torch.tensor([3, 6, 1, 4])
    x = torch.randn(T, B, I, dtype=torch.float64)
    out_p, (h_p, c_p) = m(pack_padded_sequence(x, lengths, enforce_sorted=False))
    out_l, (h_l, c_l) = m(x, lengths=lengths)
    torch.testing.assert_close(pad_packed_sequence(out_p, total_length=T)[0], out_l)
    torch.testing.assert_close(h_p, h_l)
    torch.testing.assert_close(c_p, c_l)


@pytest.mark.parametrize("backend", BACKENDS)
def test_unbatched_input_matches_torch(backend):
    ref, ours = _pair(2, True, False, 0, torch.float64, backend)
    x = torch.randn(T, I, dtype=torch.float64)
    h0 = torch.randn(4, H, dtype=torch.float64)
    c0 = torch.randn(4, H, dtype=torch.float64)
    (o1, (h1, c1)), (o2, (h2, c2)) = ours(x, (h0, c0)), ref(x, (h0, c0))
    for a, b in ((o1, o2), (h1, h2), (c1, c2)):
        torch.testing.assert_close(a, b)


def test_lstmcell_forget_matches_torch_lstmcell():
    ref = torch.nn.LSTMCell(I, H, dtype=torch.float64)
    ours = lstmkit.LSTMCell(I, H, dtype=torch.float64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(B, I, dtype=torch.float64)
    state = (torch.randn(B, H, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64))
    for a, b in zip(ours(x, state), ref(x, state)):
        torch.testing.assert_close(a, b)
    for a, b in zip(ours(x[0]), ref(x[0])):                 # unbatched, zero state
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("proj_size", [0, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_state_dict_round_trip_is_bit_exact(bidirectional, proj_size):
    ref = torch.nn.LSTM(I, H, 2, bidirectional=bidirectional, proj_size=proj_size)
    back = lstmkit.LSTM.from_torch(ref).to_torch()
    assert list(back.state_dict()) == list(ref.state_dict())
    for key, value in ref.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    x = torch.randn(T, B, I)
    assert torch.equal(back(x)[0], ref(x)[0])
    ours = lstmkit.LSTM(I, H, 2, bidirectional=bidirectional, proj_size=proj_size)
    assert list(ours.state_dict()) == list(ref.state_dict())   # same names, same order


def test_from_torch_keeps_configuration():
    ref = torch.nn.LSTM(I, H, 3, bias=False, batch_first=True, dropout=0.25, bidirectional=True,
                        proj_size=2, dtype=torch.float64).eval()
    ours = lstmkit.LSTM.from_torch(ref)
    for attr in ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                 "bidirectional", "proj_size"):
        assert getattr(ours, attr) == getattr(ref, attr), attr
    assert ours.weight_ih_l0.dtype == torch.float64 and not ours.training
