"""Faithful mode's learning algorithm: the numba RTRL kernel against the same on-line training done
with torch autograd, in one process.

Both train the paper's adding-problem network (93 weights, T = 100) on-line, one SGD update per
sequence with the truncated gradient: the kernel for K trials at once, autograd through the same
network built as an ``lstmkit.LSTM`` (``vanilla`` cell, ``truncated=True``) plus its output unit,
one trial, float64. Prints microseconds per training sequence per trial and the ratio.

    python benchmarks/bench_paper.py [--sequences 300] [--trials 4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lstmkit.paper.faithful import Training, train
from lstmkit.paper.rules import Criterion, Window
from lstmkit.paper.settings import ADDING_NET
from lstmkit.tasks.adding import AddingTask


def autograd_us(sequences: int) -> float:
    net, task = ADDING_NET, AddingTask(100)
    Wh, Wo = net.initial_weights(np.random.default_rng(0))
    lstm, out = net.to_torch(Wh, Wo)
    params = list(lstm.parameters()) + list(out.parameters())
    data = task.train(sequences, np.random.default_rng(1))
    x, lengths, target = data.to_torch(torch.float64)
    start = time.perf_counter()
    for i in range(sequences):
        n = int(lengths[i])
        o, _ = lstm(x[i:i + 1, :n].transpose(0, 1))                   # (n, 1, H)
        y = torch.sigmoid(out(o[-1]))
        loss = 0.5 * ((target[i, 0] - y) ** 2).sum()
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= 0.5 * p.grad
    return (time.perf_counter() - start) / sequences * 1e6


def kernel_us(sequences: int, trials: int) -> float:
    training = Training(lr=0.5, max_sequences=sequences, stop=Window(2000, 0.01, 0), criterion=Criterion("abs", 0.04))
    train(ADDING_NET, training, lambda k: AddingTask(100), list(range(trials)))     # compile, warm up
    start = time.perf_counter()
    train(ADDING_NET, training, lambda k: AddingTask(100), list(range(trials)))
    return (time.perf_counter() - start) / (sequences * trials) * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sequences", type=int, default=300, help="training sequences for the autograd path")
    p.add_argument("--trials", type=int, default=4, help="trials the kernel trains at once")
    args = p.parse_args()
    slow = autograd_us(args.sequences)
    fast = kernel_us(max(20 * args.sequences, 4000), args.trials)
    print(f"adding problem, T = 100, 93 weights, {torch.get_num_threads()} threads")
    print(f"autograd (lstmkit.LSTM, truncated, one trial): {slow:9.1f} µs per sequence")
    print(f"RTRL kernel ({args.trials} trials at once):          {fast:9.1f} µs per sequence per trial "
          "(data generation and the 2560-sequence tests included)")
    print(f"ratio: {slow / fast:.0f}x")


if __name__ == "__main__":
    main()
