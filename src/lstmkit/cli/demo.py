"""``lstmkit demo``: train a small LSTM on the latch task and print its progress and result."""

from __future__ import annotations

import argparse

from ..cells import cells
from ..demo import DemoConfig, run_demo
from .progress import line


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = DemoConfig()
    p = sub.add_parser("demo", help="train a small LSTM to remember a bit across a long lag")
    p.add_argument("--cell", default=d.cell, choices=cells(), help=f"cell to train (default {d.cell})")
    p.add_argument("--hidden-size", type=int, default=d.hidden_size)
    p.add_argument("--length", type=int, default=d.length, help="time lag in steps (default %(default)s)")
    p.add_argument("--steps", type=int, default=d.steps, help="training batches at most (default %(default)s)")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--seed", type=int, default=d.seed)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = DemoConfig(cell=args.cell, hidden_size=args.hidden_size, length=args.length, steps=args.steps,
                     lr=args.lr, seed=args.seed)
    print(f"lstmkit demo: a {cfg.cell!r} LSTM ({cfg.hidden_size} cells) learns to remember the sign of "
          f"the first input across {cfg.length} noisy steps")
    result = run_demo(cfg, progress=lambda p: line(
        p["step"], cfg.steps, f"loss {p['loss']:.4f}  held-out accuracy {p['accuracy']:6.1%}  {p['seconds']:.1f}s"))
    verdict = "solved" if result.solved else "not solved"
    print(f"{verdict}: {result.accuracy:.1%} of {cfg.eval_size} held-out sequences right after "
          f"{result.steps} batches of {cfg.batch_size} ({result.seconds:.1f}s; chance is 50%)")
    return 0 if result.solved else 1
