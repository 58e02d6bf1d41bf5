"""``lstmkit tune TASK --trials 20``: an Optuna search of a task's hyperparameters, pruning on the
validation loss, and the best configuration."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..models.tune import TUNABLE
    p = sub.add_parser("tune", help="search a task's hyperparameters with Optuna (pruning on validation loss)",
                       description="Sample configurations with Optuna's TPE sampler, train each, prune trials whose "
                                   "validation loss lags the median, and print every trial and the best "
                                   "configuration. Tasks: " + "; ".join(f"{k}: {v.what}" for k, v in
                                                                         sorted(TUNABLE.items())))
    p.add_argument("task", help=f"one of: {', '.join(sorted(TUNABLE))}")
    p.add_argument("--trials", type=int, default=20, help="trials (default %(default)s)")
    p.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed (default %(default)s)")
    p.add_argument("--quick", action="store_true", help="a few epochs per trial, to check the set-up")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the trials and the best configuration")
    p.add_argument("--storage", default="sqlite:///lstmkit-tune.db",
                   help="where the study is kept: any database URL Optuna supports (default %(default)s, a file here; "
                        "'memory' keeps nothing)")
    p.add_argument("--study", help="the study's name in the storage (default: the task, TASK-quick with --quick)")
    p.add_argument("--resume", action="store_true", help="continue the stored study of that name until --trials "
                                                         "trials have finished")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..models.tune import tune
    progress = lambda line: print(line, file=sys.stderr, flush=True)        # noqa: E731
    storage = None if args.storage == "memory" else args.storage
    result = tune(args.task, args.trials, seed=args.seed, quick=args.quick, timeout=args.timeout, progress=progress,
                  storage=storage, study_name=args.study, resume=args.resume)
    print(result)
    if storage is not None:
        print(f"study kept in {storage} (continue it with --resume)")
    if args.json is not None:
        args.json.write_text(json.dumps({"task": result.task, "best_params": result.best_params,
                                         "best_value": result.best_value, "importances": result.importances,
                                         "trials": result.trials}, indent=2) + "\n")
        print(f"trials written to {args.json}")
    return 0
