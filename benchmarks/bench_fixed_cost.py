"""What a forward+backward call of one tiny network costs, split into a fixed cost per call and a
cost per step: time `m(x)[0].sum().backward()` at T=1 and T=1000 (H=8, B=1, float32, 2 threads)
for the fused engine and torch.nn.LSTM, medians, interleaved. Shows the limit on the speed-up of a
single tiny network over torch.nn.LSTM (benchmarks/README.md).

    python benchmarks/bench_fixed_cost.py
"""

from __future__ import annotations

import statistics
import time

import torch

import lstmkit


def _median_ms(fn, calls: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _train_step(module, x):
    def run():
        module(x)[0].sum().backward()
    return run


def main() -> None:
    torch.set_num_threads(2)
    x1, x1000 = torch.randn(1, 1, 1), torch.randn(1000, 1, 1)
    print("forward+backward, H=8, B=1: fixed cost = time at T=1; per step = (T=1000 - T=1) / 999")
    for cell in lstmkit.cells():
        ours = lstmkit.LSTM(1, 8, cell=cell, backend="fused")
        torch_lstm = torch.nn.LSTM(1, 8)
        fixed, long = _median_ms(_train_step(ours, x1), 200), _median_ms(_train_step(ours, x1000), 60)
        t_fixed, t_long = _median_ms(_train_step(torch_lstm, x1), 200), _median_ms(_train_step(torch_lstm, x1000), 60)
        step, t_step = (long - fixed) / 999 * 1e3, (t_long - t_fixed) / 999 * 1e3
        print(f"{cell:10s} fused: fixed {fixed:.3f} ms, {step:.2f} us/step | torch: fixed {t_fixed:.3f} ms, "
              f"{t_step:.2f} us/step | T=1000: {t_long / long:.2f}x torch, {t_long / (long - fixed):.2f}x "
              f"without our fixed cost", flush=True)


if __name__ == "__main__":
    main()
