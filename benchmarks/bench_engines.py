"""Every engine against torch.nn.LSTM, in one process, at issue 3's shapes.

    python benchmarks/bench_engines.py [--quick] [--repeats 5] [--cells vanilla forget ...]

For each shape (I, H, B, T, layers, bidirectional), each round times every candidate once, in turn
(so drift hits all alike), forward only (no_grad) and forward+backward; the median of the rounds
after a warm-up is reported. Columns:
  ms        median wall time
  x torch   torch.nn.LSTM's time / the candidate's (> 1: faster than torch)
  GFLOP/s   effective: 8·H·(I+H) flops per step, sample, layer and direction forward, 3x that for
            forward+backward (I is the layer's input size)
  %peak     of the best float32 torch.matmul (2048², same threads) measured in this run
  MiB       what backward keeps: the bytes of tensors saved for backward during the forward pass
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import lstmkit
from lstmkit import engines
from lstmkit.cells import make_cell

SHAPES = [(1, 8, 1, 1000, 1, False), (8, 32, 256, 100, 1, False), (32, 128, 32, 100, 1, False),
          (128, 256, 64, 100, 1, False), (256, 512, 64, 50, 1, False),
          (128, 256, 64, 100, 2, False), (128, 256, 64, 100, 1, True)]
QUICK_SHAPES = [(1, 8, 1, 100, 1, False), (8, 16, 8, 20, 2, True)]


def matmul_peak(repeats=5):
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    best = min(_time(lambda: a @ b) for _ in range(repeats))
    return 2 * 2048 ** 3 / best / 1e9


def _time(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def candidates(shape, cells):
    """name -> module, for torch.nn.LSTM and every (cell, engine) that can run."""
    i, h, _, _, layers, bidir = shape
    out = {"torch.nn.LSTM": torch.nn.LSTM(i, h, layers, bidirectional=bidir)}
    for cell in cells:
        spec = make_cell(cell, i, h)
        names = (["auto"] if cell == "forget" else []) + [n for n, e in engines.ENGINES.items() if e.supports(spec)]
        for backend in names:
            out[f"{cell}/{backend}"] = lstmkit.LSTM(i, h, layers, bidirectional=bidir, cell=cell, backend=backend)
    return out


def saved_mib(module, x):
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(x)[0].sum()
    return total / 2 ** 20


def bench_shape(shape, cells, repeats, peak):
    i, h, b, t, layers, bidir = shape
    x = torch.randn(t, b, i)
    mods = candidates(shape, cells)

    def forward(m):
        with torch.no_grad():
            m(x)

    def train(m):
        m.zero_grad(set_to_none=True)
        m(x)[0].sum().backward()

    times = {(name, mode): [] for name in mods for mode in ("fwd", "fwd+bwd")}
    for m in mods.values():                                   # warm-up, compiles the fused kernels
        forward(m)
        train(m)
    for _ in range(repeats):
        for name, m in mods.items():
            times[(name, "fwd")].append(_time(lambda: forward(m)))
            times[(name, "fwd+bwd")].append(_time(lambda: train(m)))
    d = 2 if bidir else 1
    flops = sum(8 * h * ((i if k == 0 else d * h) + h) for k in range(layers)) * d * b * t
    rows = []
    for name, m in mods.items():
        row = {"shape": shape, "name": name, "MiB": saved_mib(m, x)}
        for mode, factor in (("fwd", 1), ("fwd+bwd", 3)):
            sec = statistics.median(times[(name, mode)])
            anchor = statistics.median(times[("torch.nn.LSTM", mode)])
            row[mode] = (sec * 1e3, anchor / sec, factor * flops / sec / 1e9)
        row["peak"] = peak
        rows.append(row)
    return rows


def format_rows(rows):
    lines = [f"{'candidate':22s} {'fwd ms':>8s} {'x torch':>7s} {'GFLOP/s':>7s} {'%peak':>5s} "
             f"{'f+b ms':>8s} {'x torch':>7s} {'GFLOP/s':>7s} {'%peak':>5s} {'MiB':>7s}"]
    for r in rows:
        cols = []
        for mode in ("fwd", "fwd+bwd"):
            ms, ratio, gflops = r[mode]
            cols.append(f"{ms:8.2f} {ratio:7.2f} {gflops:7.1f} {100 * gflops / r['peak']:5.1f}")
        lines.append(f"{r['name']:22s} {' '.join(cols)} {r['MiB']:7.2f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for a smoke test")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cells", nargs="+", default=lstmkit.cells(), choices=lstmkit.cells())
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    peak = matmul_peak()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32 matmul peak {peak:.0f} GFLOP/s")
    for shape in QUICK_SHAPES if args.quick else SHAPES:
        i, h, b, t, layers, bidir = shape
        print(f"\n(I={i}, H={h}, B={b}, T={t}, layers={layers}{', bidirectional' if bidir else ''})", flush=True)
        print(format_rows(bench_shape(shape, args.cells, args.repeats, peak)), flush=True)


if __name__ == "__main__":
    main()
