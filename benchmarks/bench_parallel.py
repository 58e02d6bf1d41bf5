"""K small networks trained at once (lstmkit.ParallelLSTM, one fused kernel call per layer and
direction) against K separate calls: torch.nn.LSTM, lstmkit's fused engine and its reference loop.
These are the 1997 experiments' sizes, where one network alone cannot keep a CPU busy.

Forward+backward of all K networks, each on its own sequence (B=1), float32, 2 threads, interleaved
in one process, median of the repeats. Prints milliseconds per network and torch's time / ours.

    python benchmarks/bench_parallel.py [--networks 16] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import lstmkit

#: (label, input size, cells, cell options, steps): the 1997 adding problem's network (2 blocks of 2
#: cells, gates fed by the hidden layer) at T=100 and T=1000, and issue 3's tiny shape.
SHAPES = [("1997 adding net, T=100", 2, 4, {"cell": "vanilla", "block_size": 2, "recurrent_gates": True}, 100),
          ("1997 adding net, T=1000", 2, 4, {"cell": "vanilla", "block_size": 2, "recurrent_gates": True}, 1000),
          ("forget (1, 8, 1, 1000)", 1, 8, {"cell": "forget"}, 1000),
          ("peephole (1, 8, 1, 1000)", 1, 8, {"cell": "peephole"}, 1000)]


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    k = args.networks
    print(f"{k} networks, forward+backward, ms per network (median of {args.repeats}); x torch = torch's time / this one's")
    for label, i, h, opts, steps in SHAPES:
        torch.manual_seed(0)
        x = torch.randn(k, steps, 1, i)
        par = lstmkit.ParallelLSTM(k, i, h, backend="fused", **opts)
        alone = [lstmkit.LSTM(i, h, backend="fused", **opts) for _ in range(k)]
        ref = [lstmkit.LSTM(i, h, backend="reference", **opts) for _ in range(k)]
        anchor = [torch.nn.LSTM(i, h) for _ in range(k)]

        def parallel():
            par(x)[0].sum().backward()

        def loop(nets):
            def run():
                for n, net in enumerate(nets):
                    net(x[n])[0].sum().backward()
            return run

        runs = {"torch.nn.LSTM x K": loop(anchor), "ParallelLSTM fused": parallel,
                "lstmkit fused x K": loop(alone), "lstmkit reference x K": loop(ref)}
        times = {name: [] for name in runs}
        for r in range(args.repeats + 1):
            for name, fn in runs.items():
                if name == "lstmkit reference x K" and r > 2:
                    continue                              # slow, and no anchor: 2 timed rounds do
                seconds = _seconds(fn)
                if r:
                    times[name].append(seconds)
        med = {name: statistics.median(v) for name, v in times.items()}
        print(f"\n{label}")
        for name, sec in med.items():
            print(f"  {name:24s} {sec / k * 1e3:8.3f} ms   {med['torch.nn.LSTM x K'] / sec:6.2f}x torch")


if __name__ == "__main__":
    main()
