"""``lstmkit bench``: time every cell and engine against torch.nn.LSTM and print the table."""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from .. import bench
from ..engines import _blas
from ..cells import cells
from .progress import line


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="time every cell and engine against torch.nn.LSTM",
                       description="Time every cell on every engine that runs it, torch.nn.LSTM and a "
                                   "torch.compile step loop, forward and forward+backward, interleaved "
                                   "in one process. The full run takes about 6 minutes on 2 cores.")
    p.add_argument("--quick", action="store_true", help="tiny shapes, a smoke test of a few seconds")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds; the median is shown (default %(default)s)")
    p.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default %(default)s)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default %(default)s)")
    p.add_argument("--no-compile", action="store_true", help="leave out the torch.compile step loop (slow to compile)")
    p.add_argument("--cells", nargs="+", metavar="CELL", help=f"cells to time (default: all of {', '.join(cells())})")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the rows as JSON to PATH")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.json is not None and not args.json.parent.is_dir():
        raise ValueError(f"--json: directory {str(args.json.parent)!r} does not exist")
    shapes = bench.QUICK_SHAPES if args.quick else bench.DEFAULT_SHAPES
    rows = bench.run_benchmark(shapes, cells=args.cells, repeats=args.repeats, warmup=args.warmup,
                               threads=args.threads, include_compile=not args.no_compile,
                               progress=lambda p: line(p["done"], p["total"], f"{p['shape'].label()}  {p['seconds']:.1f}s"))
    print(f"\n{bench.cpu_model()}, torch {torch.__version__}, {args.threads} threads, {time.strftime('%Y-%m-%d')}")
    print(f"float32 matmul peak {rows[0]['matmul_peak_gflops']:.0f} GFLOP/s "
          f"({bench.MATMUL_SIZE}x{bench.MATMUL_SIZE}, {args.threads} threads, this run); "
          f"the fused engine's per-step products from batch 8 on: {_blas.library()}\n")
    print(bench.format_table(rows))
    if args.json is not None:
        meta = {"cpu": bench.cpu_model(), "torch": torch.__version__, "python": platform.python_version(),
                "threads": args.threads, "repeats": args.repeats, "warmup": args.warmup,
                "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
        print(f"\nrows written to {args.json}")
    return 0
