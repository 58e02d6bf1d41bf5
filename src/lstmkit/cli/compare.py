"""``lstmkit compare TASK``: LSTM, GRU, hybrid and transformer on one task at a matched parameter
budget, one table."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..models.encoders import KINDS


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..models.compare import TASKS
    p = sub.add_parser("compare", help="LSTM vs GRU vs hybrid vs transformer on one task, same parameter budget",
                       description="Train each model kind on TASK at about the same parameter count and print one "
                                   "table of the task's metric, parameters, steps and time.")
    p.add_argument("task", help=f"one of: {', '.join(TASKS)}; or all (every task, each at its own budget, one table)")
    p.add_argument("--models", default=",".join(KINDS), help="comma-separated model kinds (default %(default)s)")
    p.add_argument("--budget", type=int, help="parameters per model (default: the task's; not with all)")
    p.add_argument("--minutes", type=float, default=5.0, help="training time per model on the long-lag tasks "
                                                              "(default %(default)s; the dataset tasks stop by "
                                                              "their own rules)")
    p.add_argument("--T", type=int, dest="T", help="adding: the sequence length (default 1000)")
    p.add_argument("--steps", type=int, help="long-lag tasks: stop each model after this many updates (or at "
                                             "--minutes, whichever comes first); the same steps give the same "
                                             "results on any machine, minutes do not")
    p.add_argument("--seed", type=int, default=0, help="seed (default %(default)s)")
    p.add_argument("--quick", action="store_true", help="a tiny run (seconds) to check the set-up")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write every result to this JSON file")
    p.add_argument("--save-dir", type=Path, metavar="DIR", help="save every trained model there as "
                                                                "TASK-MODEL.safetensors (created if missing)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..models.compare import compare, compare_all, format_runs
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    options: dict[str, int] = {} if args.T is None else {"T": args.T}
    if args.steps is not None:
        if args.steps < 1:
            raise ValueError(f"--steps must be at least 1, got {args.steps}")
        options["steps"] = args.steps
    progress = lambda line: print(line, file=sys.stderr, flush=True)        # noqa: E731
    if args.save_dir is not None:
        args.save_dir.mkdir(parents=True, exist_ok=True)
    if args.task == "all":
        if args.budget is not None:
            raise ValueError("--budget applies to one task; with all, each task runs at its own budget")
        runs = compare_all(models, minutes=args.minutes, quick=args.quick, seed=args.seed, progress=progress,
                           save_dir=args.save_dir, **options)
    else:
        runs = compare(args.task, models, budget=args.budget, minutes=args.minutes, quick=args.quick,
                       seed=args.seed, progress=progress, save_dir=args.save_dir, **options)
    print(format_runs(runs))
    if args.json is not None:
        args.json.write_text(json.dumps([r.to_dict() for r in runs], indent=2) + "\n")
        print(f"results written to {args.json}")
    if args.save_dir is not None:
        print(f"models saved in {args.save_dir} (TASK-MODEL.safetensors: LastStep.load, SequenceClassifier.load, "
              "PianoRollModel.load)")
    return 0
