"""The fused engine's two ways to do the per-step product (OpenBLAS and numba loops) and its float32
squashing functions, each against an independent oracle."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
import torch

import lstmkit
from lstmkit.engines import _blas, fused
from lstmkit.engines._math import sig, tanh

from conftest import CASES, tolerances


@pytest.fixture(params=["blas", "loops"])
def product(request, monkeypatch):
    """Run the fused engine with every per-step product on OpenBLAS, or every one on loops."""
    if request.param == "blas" and not _blas.AVAILABLE:
        pytest.skip("no OpenBLAS found in numpy's wheel")
    monkeypatch.setattr(fused, "BLAS_MIN_STEP_WORK", 0 if request.param == "blas" else 10 ** 18)
    monkeypatch.setattr(fused, "BLAS_MIN_BATCH", 0)
    return request.param


@pytest.fixture(params=["one-chunk", "chunks"])
def split(request, monkeypatch):
    """Run each direction's batch whole, or split into one chunk per thread (2 threads)."""
    if request.param == "chunks":
        monkeypatch.setattr(fused, "PARALLEL_MIN_STEP_WORK", 0)
        before = torch.get_num_threads()
        torch.set_num_threads(2)
        yield request.param
        torch.set_num_threads(before)
    else:
        monkeypatch.setattr(fused, "PARALLEL_MIN_STEP_WORK", 10 ** 18)
        yield request.param


def _run(m, x, lengths):
    xx = x.clone().requires_grad_()
    out, (h, c) = m(xx, lengths=lengths)
    w = torch.linspace(-1, 1, out.numel(), dtype=x.dtype).view_as(out)
    loss = (out * w).sum() + h.pow(2).sum() + (c * 0.5).sum()
    return [out, h, c, *torch.autograd.grad(loss, [xx, *m.parameters()])]


def _pair(cell, options, dtype):
    proj = 0 if options.get("recurrent_gates") else 3
    ref = lstmkit.LSTM(3, 6, 2, bidirectional=True, proj_size=proj, cell=cell, backend="reference",
                       dtype=dtype, **options)
    fast = lstmkit.LSTM(3, 6, 2, bidirectional=True, proj_size=proj, cell=cell, backend="fused",
                        dtype=dtype, **options)
    fast.load_state_dict(ref.state_dict())
    return ref, fast


LENGTHS = torch.tensor([9, 4, 1, 9, 6])                 # padded rows between real ones


@pytest.mark.parametrize("cell,options", CASES)
def test_fused_matches_reference_with_either_product(cell, options, product, split):
    """float64: outputs, states and every gradient; 2 layers, both directions, a projection where
    the cell takes one, padded sequences in a batch of 5."""
    ref, fast = _pair(cell, options, torch.float64)
    x = torch.randn(9, 5, 3, dtype=torch.float64)
    for got, want in zip(_run(fast, x, LENGTHS), _run(ref, x, LENGTHS), strict=True):
        torch.testing.assert_close(got, want, **tolerances(torch.float64))


@pytest.mark.parametrize("cell,options", CASES)
def test_fused_float32_is_as_accurate_as_the_reference(cell, options, product, split):
    """float32 against the float64 truth: within 1e-5 of each tensor's scale, or at most twice the
    reference engine's own float32 error (layer norm's backward amplifies rounding)."""
    ref, fast = _pair(cell, options, torch.float32)
    x = torch.randn(9, 5, 3)
    truth = _run(ref.double(), x.double(), LENGTHS)
    ref.float()
    ref_err = [(a.double() - t).abs().max() for a, t in zip(_run(ref, x, LENGTHS), truth)]
    for got, want, bound in zip(_run(fast, x, LENGTHS), truth, ref_err, strict=True):
        assert (got.double() - want).abs().max() <= 2 * bound + 1e-5 * want.abs().max()


def test_float32_tanh_and_sigmoid_are_within_a_few_ulps_of_the_exact_ones():
    @numba.njit
    def both(x, t, s):
        for k in range(x.shape[0]):
            t[k] = tanh(x[k])
            s[k] = sig(x[k])

    x = np.concatenate([np.linspace(-30, 30, 600_001), [0.0, 1e-30, -1e-30, 7.9, 8.0, 1e4, -1e4]]).astype(np.float32)
    t, s = np.empty_like(x), np.empty_like(x)
    both(x, t, s)
    exact_t = np.array([math.tanh(v) for v in x.astype(np.float64)])
    exact_s = np.array([0.5 * (1 + math.tanh(v / 2)) for v in x.astype(np.float64)])
    assert np.abs(t - exact_t).max() < 5e-7
    assert np.abs(s - exact_s).max() < 5e-7
    assert np.all(np.abs(t) <= 1) and np.all((s >= 0) & (s <= 1))
    assert np.array_equal(np.sign(t), np.sign(x))               # odd, and exact at 0


def test_float64_squashing_is_libms():
    @numba.njit
    def both(x, t, s):
        for k in range(x.shape[0]):
            t[k] = tanh(x[k])
            s[k] = sig(x[k])

    x = np.linspace(-40, 40, 10_001)
    t, s = np.empty_like(x), np.empty_like(x)
    both(x, t, s)
    np.testing.assert_allclose(t, [math.tanh(v) for v in x], rtol=2e-16, atol=0)
    np.testing.assert_allclose(s, [1 / (1 + math.exp(-v)) for v in x], rtol=2e-16, atol=0)


def test_without_openblas_the_loops_give_the_same_result(tmp_path):
    """LSTMKIT_NO_BLAS=1 (as if numpy's wheel had no OpenBLAS): same outputs and gradients."""
    script = tmp_path / "run.py"
    script.write_text(
        "import sys, torch, lstmkit\n"
        "from lstmkit.engines import _blas, fused\n"
        "assert not _blas.AVAILABLE, 'OpenBLAS still loaded'\n"
        "fused.BLAS_MIN_STEP_WORK = 0\n"
        "torch.manual_seed(0)\n"
        "m = lstmkit.LSTM(3, 8, cell='peephole', proj_size=4, backend='fused', dtype=torch.float64)\n"
        "x = torch.randn(6, 4, 3, dtype=torch.float64)\n"
        "out, _ = m(x)\n"
        "out.sum().backward()\n"
        "torch.save([out.detach(), *[p.grad for p in m.parameters()]], sys.argv[1])\n")
    out_file = tmp_path / "out.pt"
    env = dict(os.environ, LSTMKIT_NO_BLAS="1")
    subprocess.run([sys.executable, str(script), str(out_file)], check=True, env=env, timeout=600)
    got = torch.load(out_file)
    torch.manual_seed(0)
    m = lstmkit.LSTM(3, 8, cell="peephole", proj_size=4, backend="reference", dtype=torch.float64)
    x = torch.randn(6, 4, 3, dtype=torch.float64)
    out, _ = m(x)
    out.sum().backward()
    for a, b in zip(got, [out.detach(), *[p.grad for p in m.parameters()]], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_blas_runs_on_one_thread(monkeypatch):
    """A second OpenBLAS thread spins between steps on the core the rest needs (see _use_blas)."""
    if not _blas.AVAILABLE:
        pytest.skip("no OpenBLAS found in numpy's wheel")
    seen = []
    monkeypatch.setattr(_blas, "set_threads", seen.append)
    monkeypatch.setattr(fused, "BLAS_MIN_STEP_WORK", 0)
    monkeypatch.setattr(fused, "BLAS_MIN_BATCH", 0)
    lstmkit.LSTM(2, 4, cell="cifg", backend="fused")(torch.randn(3, 2, 2))
    assert seen == [1]


def test_a_batch_splits_into_one_chunk_per_thread_once_a_step_is_big_enough():
    from lstmkit.cells import make_cell
    spec = make_cell("forget", 8, 64)                   # 256 x 64 multiply-adds per sequence and step
    big = fused.PARALLEL_MIN_STEP_WORK // (256 * 64)
    assert fused.chunks(spec, 1, threads=2) == 1
    assert fused.chunks(spec, big, threads=2) == 2
    assert fused.chunks(spec, big, threads=1) == 1
    assert fused.chunks(spec, big - 1, threads=2) == 1


@pytest.mark.parametrize("cell,options", CASES)
@pytest.mark.parametrize("steps", [5, 6])
def test_inference_without_grad_keeps_two_states_and_gives_the_same_result(cell, options, steps, split):
    """Under no_grad the kernel keeps two states in turn instead of all T + 1: same outputs and
    final states for an odd and an even number of steps, with padding."""
    ref, fast = _pair(cell, options, torch.float64)
    x = torch.randn(steps, 5, 3, dtype=torch.float64)
    lengths = torch.tensor([steps, 4, 1, steps, 2])
    with torch.no_grad():
        got, want = fast(x, lengths=lengths), ref(x, lengths=lengths)
    for a, b in zip([got[0], *got[1]], [want[0], *want[1]]):
        torch.testing.assert_close(a, b, **tolerances(torch.float64))


@pytest.mark.parametrize("cell", ["forget", "layernorm"])
def test_same_input_same_bits_when_chunks_and_networks_run_on_threads(cell, split, product):
    """Chunks and networks never share an accumulator, so two runs agree to the bit."""
    m = lstmkit.LSTM(3, 6, bidirectional=True, proj_size=2, cell=cell, backend="fused")
    x = torch.randn(9, 5, 3)
    first = _run(m, x, LENGTHS)
    second = _run(m, x, LENGTHS)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


def test_the_engine_leaves_torchs_thread_count_alone():
    """numba's OpenMP pool, started by the first kernel call, sets the process's OpenMP thread
    count to all the cores; torch's must stay what the user set (here 1), or every later torch op
    (a GRU, a matmul) runs oversubscribed. A fresh process: the pool starts once per process."""
    code = ("import torch, lstmkit; torch.set_num_threads(1); "
            "lstm = lstmkit.LSTM(2, 8, batch_first=True, backend='fused'); "
            "out, _ = lstm(torch.randn(64, 20, 2, requires_grad=True)); a = torch.get_num_threads(); "
            "out.sum().backward(); print(a, torch.get_num_threads())")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]
