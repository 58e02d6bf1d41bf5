"""The layer for every cell: padding, directions, dropout, determinism, unbatched input."""

from __future__ import annotations

import pytest
import torch

import lstmkit
from conftest import CASES
from lstmkit import engines
from lstmkit.cells import make_cell

I, H, T = 3, 6, 5
F64 = torch.float64


def _backends(cell, options):
    spec = make_cell(cell, I, H, **options)
    return [name for name, engine in engines.ENGINES.items() if engine.supports(spec)]


@pytest.mark.parametrize("cell,options", CASES)
def test_padded_batch_equals_each_sequence_alone(cell, options):
    lengths = [5, 2, 4, 1]
    for backend in _backends(cell, options):
        m = lstmkit.LSTM(I, H, 2, batch_first=True, bidirectional=True, proj_size=2, cell=cell,
                         backend=backend, dtype=F64, **options)
        x = torch.randn(len(lengths), T, I, dtype=F64)
        out, (hn, cn) = m(x, lengths=lengths)
        for b, n in enumerate(lengths):
            alone, (h1, c1) = m(x[b:b + 1, :n])
            torch.testing.assert_close(out[b:b + 1, :n], alone)
            assert torch.count_nonzero(out[b, n:]) == 0                  # padding stays zero
            torch.testing.assert_close(hn[:, b:b + 1], h1)              # state at the last real step,
            torch.testing.assert_close(cn[:, b:b + 1], c1)              # both directions


@pytest.mark.parametrize("cell,options", CASES)
def test_padding_never_changes_outputs_or_gradients(cell, options):
    lengths = torch.tensor([5, 2, 3])
    for backend in _backends(cell, options):
        m = lstmkit.LSTM(I, H, 2, bidirectional=True, cell=cell, backend=backend, dtype=F64, **options)
        x = torch.randn(T, 3, I, dtype=F64)
        noisy = x.clone()
        pad = torch.arange(T)[:, None] >= lengths[None, :]
        noisy[pad] = torch.randn(int(pad.sum()), I, dtype=F64) * 100
        noisy[4, 1] = float("nan")                                       # even NaN in padding is ignored
        results = []
        for inp in (x, noisy):
            inp = inp.requires_grad_()
            out, (hn, cn) = m(inp, lengths=lengths)
            loss = out.sum() + hn.pow(2).sum() + cn.sum()
            grads = torch.autograd.grad(loss, [inp, *m.parameters()])
            results.append((out, hn, cn, grads))
        (o1, h1, c1, g1), (o2, h2, c2, g2) = results
        torch.testing.assert_close(o2, o1)
        torch.testing.assert_close(h2, h1)
        torch.testing.assert_close(c2, c1)
        assert torch.count_nonzero(g2[0][pad]) == 0                     # no gradient into padding
        for a, b in zip(g2, g1):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("cell", lstmkit.cells())
def test_reverse_direction_starts_at_each_sequence_end(cell):
    """The reverse direction's output at step 0 has read the sequence from its own last step."""
    m = lstmkit.LSTM(I, H, bidirectional=True, cell=cell, dtype=F64)
    x = torch.randn(T, 1, I, dtype=F64)
    out, _ = m(x[:3], lengths=[3])
    flipped = lstmkit.LSTM(I, H, cell=cell, dtype=F64)
    flipped.load_state_dict({k.replace("_reverse", ""): v for k, v in m.state_dict().items() if "_reverse" in k})
    back, _ = flipped(x[:3].flip(0))
    torch.testing.assert_close(out[:, :, H:], back.flip(0))


@pytest.mark.parametrize("cell", lstmkit.cells())
def test_unbatched_equals_batch_of_one(cell):
    m = lstmkit.LSTM(I, H, 2, cell=cell, dtype=F64)
    x = torch.randn(T, I, dtype=F64)
    out, (h, c) = m(x)
    out1, (h1, c1) = m(x[:, None])
    torch.testing.assert_close(out, out1[:, 0])
    torch.testing.assert_close(h, h1[:, 0])
    torch.testing.assert_close(c, c1[:, 0])


def test_dropout_acts_between_layers_in_training_only():
    m = lstmkit.LSTM(I, H, 2, dropout=0.5, dtype=F64)
    x = torch.randn(T, 2, I, dtype=F64)
    torch.manual_seed(3)
    a = m(x)[0]
    torch.manual_seed(3)
    b = m(x)[0]
    c = m(x)[0]
    torch.testing.assert_close(a, b)                    # same seed, same masks
    assert not torch.allclose(a, c)                     # new masks, new output
    m.eval()
    torch.testing.assert_close(m(x)[0], m(x)[0])
    ref = torch.nn.LSTM(I, H, 2, dtype=F64)
    ref.load_state_dict(m.state_dict())
    torch.testing.assert_close(m(x)[0], ref(x)[0])      # eval: no dropout at all


def test_every_engine_draws_the_same_dropout():
    x = torch.randn(T, 2, I, dtype=F64)
    outs = []
    for backend in ("reference", "native", "auto"):
        torch.manual_seed(0)
        m = lstmkit.LSTM(I, H, 3, dropout=0.3, dtype=F64, backend=backend)
        torch.manual_seed(4)
        outs.append(m(x)[0])
    for out in outs[1:]:
        torch.testing.assert_close(out, outs[0])


@pytest.mark.parametrize("cell,options", CASES)
def test_same_seed_same_model_and_result(cell, options):
    runs = []
    for _ in range(2):
        torch.manual_seed(7)
        m = lstmkit.LSTM(I, H, 2, cell=cell, dropout=0.2, **options)
        x = torch.randn(T, 2, I)
        out, _ = m(x)
        out.sum().backward()
        runs.append((out, [p.grad for p in m.parameters()]))
    assert torch.equal(runs[0][0], runs[1][0])
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_cells_lists_every_registered_cell():
    assert lstmkit.cells() == ["vanilla", "forget", "peephole", "cifg", "layernorm"]


@pytest.mark.parametrize("cell", lstmkit.cells())
def test_float32_and_float64(cell):
    for dtype in (torch.float32, torch.float64):
        m = lstmkit.LSTM(I, H, cell=cell, dtype=dtype)
        out, (h, c) = m(torch.randn(T, 2, I, dtype=dtype))
        assert out.dtype == h.dtype == c.dtype == dtype
        m2 = lstmkit.LSTM(I, H, cell=cell).to(dtype)
        assert m2(torch.randn(T, 2, I, dtype=dtype))[0].dtype == dtype


@pytest.mark.parametrize("cell,options", CASES)
def test_every_engine_is_as_accurate_as_the_reference_in_float32(cell, options):
    """Outputs, states and all gradients in float32, measured against the same network in float64:
    every engine's error is within 1e-5 of the tensor's scale, or at most four times the reference
    engine's where torch's own float32 result is further off than that (layer norm's backward
    amplifies rounding, by amounts that differ between machines: on one, fused layer norm's worst
    gradient was 3x the reference's, 1.5e-3 on a scale of 38). A wrong gradient is off by the
    scale itself, far outside either bound."""
    torch.manual_seed(5)
    ref = lstmkit.LSTM(I, H, 2, bidirectional=True, proj_size=2, cell=cell, backend="reference", **options)
    x = torch.randn(T, 3, I)

    def run(backend, dtype):
        m = lstmkit.LSTM(I, H, 2, bidirectional=True, proj_size=2, cell=cell, backend=backend, dtype=dtype, **options)
        m.load_state_dict(ref.state_dict())
        xx = x.to(dtype).requires_grad_()
        out, (h, c) = m(xx, lengths=[5, 3, 4])
        loss = (out * torch.linspace(-1, 1, out.numel(), dtype=dtype).view_as(out)).sum() + h.pow(2).sum() + c.sum()
        return [t.double() for t in (out, h, c, *torch.autograd.grad(loss, [xx, *m.parameters()]))]

    truth = run("reference", F64)
    ref_err = [(a - t).abs().max() for a, t in zip(run("reference", torch.float32), truth)]
    for backend in _backends(cell, options):
        for got, want, bound in zip(run(backend, torch.float32), truth, ref_err, strict=True):
            assert (got - want).abs().max() <= 4 * bound + 1e-5 * want.abs().max(), backend


def test_fused_engine_names_what_it_cannot_run():
    m = lstmkit.LSTM(I, H, cell="peephole", backend="fused", dtype=torch.bfloat16)
    with pytest.raises(TypeError, match=r"backend 'fused' runs float32 and float64, got torch.bfloat16"):
        m(torch.randn(T, 2, I, dtype=torch.bfloat16))
    m = lstmkit.LSTM(I, H, cell="layernorm", backend="fused", device="meta")
    with pytest.raises(ValueError, match=r"backend 'fused' runs on the CPU, got input on meta"):
        m(torch.randn(T, 2, I, device="meta"))


def test_parametrized_weights_are_used():
    """torch.nn.utils.parametrize (weight norm, weight drop...) replaces a weight by attribute."""
    m = lstmkit.LSTM(I, H, cell="peephole", dtype=F64)
    x = torch.randn(T, 2, I, dtype=F64)
    before = m(x)[0]

    class Zero(torch.nn.Module):
        def forward(self, w):
            return torch.zeros_like(w)

    torch.nn.utils.parametrize.register_parametrization(m, "weight_hh_l0", Zero())
    after = m(x)[0]
    assert not torch.allclose(before, after)
    expected = lstmkit.LSTM(I, H, cell="peephole", dtype=F64)
    expected.load_state_dict({k.replace("parametrizations.weight_hh_l0.original", "weight_hh_l0"): v
                              for k, v in m.state_dict().items()})
    with torch.no_grad():
        expected.weight_hh_l0.zero_()
    torch.testing.assert_close(after, expected(x)[0])
