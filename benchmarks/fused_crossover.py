"""Where the fused engine pays: forward and forward+backward time of backend="fused" against the
reference loop and torch.nn.LSTM, over hidden size and batch, interleaved in one process (median of
5 rounds after one warm-up round). Sets fused.AUTO_MAX_FORGET_WORK, where backend="auto" stops
running the forget cell fused and hands it to torch's own kernel.

    python benchmarks/fused_crossover.py [--steps 100] [--cells forget peephole vanilla]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import lstmkit


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _forward(module, x):
    def run():
        with torch.no_grad():
            module(x)
    return run


def _train_step(module, x):
    def run():
        module.zero_grad(set_to_none=True)
        module(x)[0].sum().backward()
    return run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cells", nargs="+", default=["forget", "peephole", "vanilla"])
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    print("ratios: other engine's median time / the fused engine's (> 1: fused is faster)")
    print("cell      H    B   B*G*R   fwd: vs torch   f+b: vs reference  vs torch")
    for cell in args.cells:
        for hidden in (8, 16, 32, 64, 128, 256):
            for batch in (1, 4, 16, 64):
                x = torch.randn(args.steps, batch, hidden)
                mods = {"fused": lstmkit.LSTM(hidden, hidden, cell=cell, backend="fused"),
                        "reference": lstmkit.LSTM(hidden, hidden, cell=cell, backend="reference"),
                        "torch": torch.nn.LSTM(hidden, hidden)}
                times = {name: ([], []) for name in mods}
                for r in range(args.repeats + 1):
                    for name, m in mods.items():
                        fwd = _seconds(_forward(m, x))
                        both = _seconds(_train_step(m, x))
                        if r:
                            times[name][0].append(fwd)
                            times[name][1].append(both)
                med = {name: (statistics.median(a), statistics.median(b)) for name, (a, b) in times.items()}
                spec = mods["fused"].cells[0]
                work = batch * spec.preactivation_size() * spec.recurrent_size
                f = med["fused"]
                print(f"{cell:9s} {hidden:3d} {batch:4d} {work:8d}   {med['torch'][0] / f[0]:8.2f}x   "
                      f"{med['reference'][1] / f[1]:8.2f}x   {med['torch'][1] / f[1]:8.2f}x", flush=True)


if __name__ == "__main__":
    main()
