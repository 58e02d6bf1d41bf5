"""Every cell on every engine against torch.nn.LSTM (and a torch.compile step loop), in one process.

    python benchmarks/bench_engines.py [--quick] [--repeats N] [--warmup N] [--threads N]
                                       [--no-compile] [--cells CELL ...] [--json out.json]

The same run as ``lstmkit bench`` with the same flags: it parses them, calls
``lstmkit.bench.run_benchmark`` and prints the CPU model, torch version, threads, the float32 matmul
peak of the run and the table (columns explained in ``lstmkit.bench.format_table`` and in
benchmarks/README.md). From Python: ``lstmkit.bench.run_benchmark(lstmkit.bench.DEFAULT_SHAPES)``.
"""

from __future__ import annotations

import sys

from lstmkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
