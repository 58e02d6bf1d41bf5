"""Where the fused engine stops paying: forward+backward time of backend="fused" against the
reference loop and torch.nn.LSTM, over hidden size and batch. Sets fused.AUTO_MAX_STEP_WORK.

    python benchmarks/fused_crossover.py
"""

from __future__ import annotations

import statistics
import time

import torch

import lstmkit


def median_time(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def train_step(module, x):
    def run():
        out, _ = module(x)
        out.sum().backward()
    return run


def main(steps=100):
    torch.set_num_threads(2)
    print("cell      H    B   B*G*R   fused vs reference   fused vs torch.nn.LSTM   (ratio > 1: fused faster)")
    for cell in ("forget", "peephole", "vanilla"):
        for hidden in (8, 16, 32, 64):
            for batch in (1, 4, 16, 64):
                x = torch.randn(steps, batch, hidden)
                fast = median_time(train_step(lstmkit.LSTM(hidden, hidden, cell=cell, backend="fused"), x))
                slow = median_time(train_step(lstmkit.LSTM(hidden, hidden, cell=cell, backend="reference"), x), 3)
                anchor = median_time(train_step(torch.nn.LSTM(hidden, hidden), x))
                spec = lstmkit.LSTM(hidden, hidden, cell=cell).cells[0]
                work = batch * spec.preactivation_size() * spec.recurrent_size
                print(f"{cell:9s} {hidden:3d} {batch:4d} {work:8d}   {slow / fast:8.2f}x   {anchor / fast:8.2f}x", flush=True)


if __name__ == "__main__":
    main()
