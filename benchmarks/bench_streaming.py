"""Streaming inference: the per-call time of one step, lstmkit.LSTMCell vs torch.nn.LSTMCell.

    python benchmarks/bench_streaming.py [--hidden 128] [--calls 2000] [--rounds 7]

One process, interleaved rounds (each round times every candidate once, in turn), median per call,
no_grad, batch 1, 2 threads. The ratio is lstmkit's time / torch's: the issue's target is <= 2.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import lstmkit


def per_call(step, calls):
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    x = torch.randn(1, args.hidden)
    candidates = {"torch.nn.LSTMCell": torch.nn.LSTMCell(args.hidden, args.hidden)}
    candidates.update({cell: lstmkit.LSTMCell(args.hidden, args.hidden, cell=cell) for cell in lstmkit.cells()})
    steps = {}
    with torch.no_grad():
        for name, module in candidates.items():
            state = module(x)
            steps[name] = (lambda m=module, s=state: m(x, s))
            per_call(steps[name], 100)                                   # warm-up
        times = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, step in steps.items():
                times[name].append(per_call(step, args.calls))
    base = statistics.median(times["torch.nn.LSTMCell"])
    print(f"one step per call, H={args.hidden}, B=1, median of {args.rounds} rounds of {args.calls} calls")
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"{name:18s} {t * 1e6:7.1f} us   {t / base:5.2f}x torch.nn.LSTMCell")


if __name__ == "__main__":
    main()
