"""``lstmkit reproduce``: the 1997 paper's experiments, trained and tested, beside its figures."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..paper import EXPERIMENTS, get
from ..paper.experiments import SettingResult
from .progress import bar


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="reproduce the 1997 paper's experiments",
                       description="Train the 1997 paper's networks on its tasks (many trials at once), test "
                                   "them, and print the results beside the paper's.")
    p.add_argument("experiment", nargs="?", help=f"one of: {', '.join(EXPERIMENTS)}, or all")
    p.add_argument("--list", action="store_true", help="list the experiments and what each tests")
    p.add_argument("--T", type=int, help="sequence length (the paper's setting if it has one)")
    p.add_argument("--trials", type=int, help="trials per setting (default: the paper's count)")
    p.add_argument("--quick", action="store_true", help="the settings with T <= 100, at most 3 trials")
    p.add_argument("--seed", type=int, default=0, help="seed of the first trial (default %(default)s)")
    p.add_argument("--max-sequences", type=int, help="cap on training sequences per trial")
    p.add_argument("--json", type=Path, metavar="PATH", help="write every figure and the configuration to PATH")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        for e in EXPERIMENTS.values():
            print(f"{e.name:16s} Exp. {e.number}, {e.title}: {e.tests}")
            print(f"{'':16s} settings: {', '.join(s.label for s in e.settings)}")
        return 0
    if args.experiment is None:
        raise ValueError("name an experiment (or all); --list shows them")
    if args.json is not None and not args.json.parent.is_dir():
        raise ValueError(f"--json: directory {str(args.json.parent)!r} does not exist")
    names = list(EXPERIMENTS) if args.experiment == "all" else [get(args.experiment).name]
    if args.T is not None and args.experiment == "all":
        raise ValueError("--T needs one experiment, not all")
    start = time.perf_counter()
    results: list[SettingResult] = []
    for name in names:
        results += get(name).reproduce(args.trials, T=args.T, quick=args.quick, seed=args.seed,
                                       max_sequences=args.max_sequences, progress=_progress)
    print()
    print(format_table(results))
    print(f"\ntotal wall time {time.perf_counter() - start:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps([r.to_dict() for r in results], indent=1) + "\n")
        print(f"results written to {args.json}")
    return 0


def _progress(p: dict) -> None:
    each = " ".join("done" if e is None else f"{e:.4f}" for e in p["errors"])
    print(f"{bar(p['solved'], p['trials'])} {p['experiment']} {p['setting']}: {p['sequences']} sequences, "
          f"{p['solved']}/{p['trials']} solved; running error per trial: {each}", flush=True)


def _num(v: float | None, fmt: str = "{:,.0f}") -> str:
    return "—" if v is None else fmt.format(v)


def format_table(results: list[SettingResult]) -> str:
    head = (f"{'experiment':22s} | {'paper: % solved':>15s} {'sequences':>11s} {'wrong':>6s} | "
            f"{'ours: % solved':>14s} {'sequences mean ± sd':>22s} {'median':>9s} {'wrong':>6s} | {'time':>7s}")
    lines = [head, "-" * len(head)]
    for r in results:
        seqs = r.sequences()
        ours = "—" if seqs is None else f"{seqs[0]:,.0f} ± {seqs[1]:,.0f}"
        lines.append(f"{r.experiment + ' ' + r.setting:22s} | {_num(r.paper.success):>15s} {_num(r.paper.sequences):>11s} "
                     f"{_num(r.paper.wrong):>6s} | {r.success:>3.0f} ({len(r.solved)}/{len(r.trials)}){'':>5s} "
                     f"{ours:>22s} {_num(None if seqs is None else seqs[2]):>9s} {_num(r.wrong(), '{:.1f}'):>6s} | "
                     f"{r.seconds:>6.0f}s")
    return "\n".join(lines)
