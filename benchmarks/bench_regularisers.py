"""Recurrent regularisation's cost: the fused engine with recurrent_dropout (or weight_drop, or
both, or zoneout) on, forward+backward in training, against torch.nn.LSTM without any dropout,
interleaved in one process (median of the repeats). Issue 10's bar: >= 0.8x torch at I=32, H=128,
B=32, T=100.

    python benchmarks/bench_regularisers.py [--repeats 15] [--threads 2] [--cells forget,peephole,...]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import lstmkit


def fwd_bwd(model: torch.nn.Module, x: torch.Tensor) -> float:
    started = time.perf_counter()
    out, _ = model(x)
    out.sum().backward()
    return time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cells", default="forget")
    p.add_argument("--shape", default="32,128,32,100", help="I,H,B,T")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    I, H, B, T = (int(v) for v in args.shape.split(","))
    torch.manual_seed(0)
    x = torch.randn(T, B, I)
    candidates: dict[str, torch.nn.Module] = {"torch.nn.LSTM (no dropout)": torch.nn.LSTM(I, H)}
    for cell in args.cells.split(","):
        for label, opts in (("none", {}), ("recurrent_dropout=0.25", {"recurrent_dropout": 0.25}),
                            ("weight_drop=0.25", {"weight_drop": 0.25}),
                            ("recurrent_dropout+weight_drop", {"recurrent_dropout": 0.25, "weight_drop": 0.25}),
                            ("zoneout=0.25", {"zoneout": 0.25}), ("zoneout=(0.5, 0.05)", {"zoneout": (0.5, 0.05)})):
            candidates[f"{cell}/fused {label}"] = lstmkit.LSTM(I, H, cell=cell, backend="fused", **opts)
    times: dict[str, list[float]] = {k: [] for k in candidates}
    for name, m in candidates.items():                       # warm-up: numba compiles, caches fill
        m.train()
        for _ in range(2):
            fwd_bwd(m, x)
    for _ in range(args.repeats):                            # interleaved: drifts hit every candidate alike
        for name, m in candidates.items():
            m.zero_grad(set_to_none=True)
            times[name].append(fwd_bwd(m, x))
    anchor = statistics.median(times["torch.nn.LSTM (no dropout)"])
    print(f"forward+backward, training mode, I={I} H={H} B={B} T={T}, float32, {args.threads} threads, "
          f"median of {args.repeats}")
    print(f"{'candidate':<48}{'ms':>9}{'speed vs torch':>16}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<48}{1000 * med:>9.2f}{anchor / med:>15.2f}x")


if __name__ == "__main__":
    main()
