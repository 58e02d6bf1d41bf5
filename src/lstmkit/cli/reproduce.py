"""``lstmkit reproduce``: the 1997 paper's experiments, trained and tested, beside its figures."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..paper import EXPERIMENTS, get
from ..paper.experiments import MODELS, MODES, SettingResult
from ..paper.faithful import GRADIENTS
from ..paper.network import OUTPUTS
from .progress import bar


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="reproduce the 1997 paper's experiments",
                       description="Train the 1997 paper's networks on its tasks (many trials at once), test "
                                   "them, and print the results beside the paper's.")
    p.add_argument("experiment", nargs="?", help=f"one of: {', '.join(EXPERIMENTS)}, or all")
    p.add_argument("--list", action="store_true", help="list the experiments, their settings and what each tests")
    p.add_argument("--setting", action="append", metavar="LABEL",
                   help="only this setting (repeatable; labels as --list prints them)")
    p.add_argument("--T", type=int, help="sequence length (adding, multiplication: the paper's setting if it has one)")
    p.add_argument("--trials", type=int, help="trials per setting (default: the paper's count; --quick: at most 2)")
    p.add_argument("--quick", action="store_true", help="the settings with T <= 100, at most 2 trials each, a budget of 1.5x the paper's mean")
    p.add_argument("--mode", choices=MODES, default="faithful",
                   help="faithful: the paper's network and learning algorithm (default); modern: BPTT, Adam, "
                        "mini-batches, clipping")
    p.add_argument("--gradient", choices=tuple(GRADIENTS), default="truncated",
                   help="faithful mode's gradient: truncated (Appendix A.1, the paper's; default), full "
                        "(untruncated, by backpropagation through time, one update per sequence) or "
                        "cell-inputs (truncated at the cell inputs only; the gates' errors flow back)")
    p.add_argument("--output", choices=OUTPUTS,
                   help="faithful mode's output units: logistic (Section 5's 'logistic sigmoids throughout'; every "
                        "setting's default) or linear (y = net; the reading under which the adding problem meets "
                        "its stopping rule, see docs/reproduction.md)")
    p.add_argument("--no-output-bias", dest="output_bias", action="store_const", const=False, default=None,
                   help="faithful mode: take the output units' bias weights away (Table 10 gives them one in "
                        "Exp. 4-6; without it the adding problem is solved at every T, see docs/reproduction.md)")
    p.add_argument("--model", choices=MODELS, default="lstm", help="modern mode's model (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first trial (default %(default)s)")
    p.add_argument("--max-sequences", type=int, help="budget of training sequences per trial")
    p.add_argument("--json", type=Path, metavar="PATH", help="write every figure and the configuration to PATH")
    p.add_argument("--plot", type=Path, metavar="PNG", help="draw every trial's learning curve to PNG")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        print(describe())
        return 0
    if args.experiment is None:
        raise ValueError("name an experiment (or all); --list shows them")
    for flag in ("json", "plot"):
        path = getattr(args, flag)
        if path is not None and not path.parent.is_dir():
            raise ValueError(f"--{flag}: directory {str(path.parent)!r} does not exist")
    if args.model != "lstm" and args.mode != "modern":
        raise ValueError(f"--model {args.model} needs --mode modern (faithful mode trains the paper's own network)")
    if args.gradient != "truncated" and args.mode != "faithful":
        raise ValueError(f"--gradient {args.gradient} is for --mode faithful (modern mode always uses the full gradient)")
    if args.output is not None and args.mode != "faithful":
        raise ValueError(f"--output {args.output} is for --mode faithful (modern mode has its own output layer)")
    if args.output_bias is not None and args.mode != "faithful":
        raise ValueError("--no-output-bias is for --mode faithful (modern mode has its own output layer)")
    names = list(EXPERIMENTS) if args.experiment == "all" else [get(args.experiment).name]
    if args.experiment == "all" and (args.T is not None or args.setting):
        raise ValueError("--T and --setting need one experiment, not all")
    for name in names:                                          # every bad argument before any work
        get(name).choose(settings=args.setting, T=args.T, quick=args.quick)
    start = time.perf_counter()
    results: list[SettingResult] = []
    for name in names:
        results += get(name).reproduce(args.trials, settings=args.setting, T=args.T, quick=args.quick, seed=args.seed,
                                       max_sequences=args.max_sequences, mode=args.mode, model=args.model,
                                       gradient=args.gradient, output=args.output, output_bias=args.output_bias,
                                       progress=_progress)
    print()
    print(format_table(results))
    print(f"\ntotal wall time {time.perf_counter() - start:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps([r.to_dict() for r in results], indent=1) + "\n")
        print(f"results written to {args.json}")
    if args.plot is not None:
        from ..paper.plot import plot_curves
        plot_curves(results, args.plot)
        print(f"learning curves drawn to {args.plot}")
    return 0


def describe() -> str:
    lines = []
    for e in EXPERIMENTS.values():
        lines.append(f"{e.name:15s} Exp. {e.number}, {e.title}: {e.tests}")
        for s in e.settings:
            quick = " (quick)" if s.quick else ""
            lines.append(f"{'':15s}   {s.label:18s} {s.network.weights():>6d} weights, {s.paper.trials} trials, "
                         f"α = {s.training.lr:g}{quick}")
    return "\n".join(lines)


def _progress(p: dict) -> None:
    each = " ".join("done" if e is None else f"{e:.4f}" for e in p["errors"])
    print(f"{bar(p['solved'], p['trials'])} {p['experiment']} {p['setting']} ({p.get('mode', 'faithful')}): "
          f"{max(p['sequences']):,} sequences, {p['solved']}/{p['trials']} solved, {p['seconds']:.0f} s; "
          f"running error per trial: {each}", flush=True)


def _num(v: float | None, fmt: str = "{:,.0f}") -> str:
    return "—" if v is None else fmt.format(v)


def format_table(results: list[SettingResult]) -> str:
    """One row per setting: the paper's figures, then ours, then the wall time; the other
    published figures (ST1, MSE, ...) in the last column as paper / ours."""
    width = max([44] + [len(f"{r.experiment} {r.setting}" + _tag(r)) for r in results])
    head = (f"{'experiment':{width}s} | {'paper: % solved':>15s} {'sequences':>11s} {'wrong':>6s} | "
            f"{'ours: % solved':>15s} {'sequences mean ± sd':>22s} {'median':>9s} {'wrong':>6s} | {'time':>6s} | other")
    lines = [head, "-" * len(head)]
    for r in results:
        seqs = r.sequences()
        ours = "—" if seqs is None else f"{seqs[0]:,.0f} ± {seqs[1]:,.0f}"
        solved = f"{r.success:.0f} ({len(r.solved)}/{len(r.trials)})"
        name = f"{r.experiment} {r.setting}" + _tag(r)
        lines.append(f"{name:{width}s} | {_num(r.paper.success):>15s} {_num(r.paper.sequences):>11s} "
                     f"{_num(r.paper.wrong, '{:.1f}'):>6s} | {solved:>15s} {ours:>22s} "
                     f"{_num(None if seqs is None else seqs[2]):>9s} {_num(r.wrong(), '{:.1f}'):>6s} | "
                     f"{r.seconds:>5.0f}s | {_other(r)}")
    return "\n".join(lines)


def _tag(r: SettingResult) -> str:
    """A row's mark: [lstm]/[gru]/[transformer] for modern mode; [full]/[cell-inputs] for another gradient,
    [linear output] for linear output units, [no output bias] where the setting's output bias was taken away."""
    if r.mode != "faithful":
        return f" [{r.config.get('model', r.mode)}]"
    gradient = r.config.get("training", {}).get("gradient", "truncated")
    tags = [gradient] if gradient != "truncated" else []
    network = r.config.get("network", {})
    if network.get("output", "logistic") != "logistic":
        tags.append(f"{network['output']} output")
    if not network.get("output_bias", True) and r.config.get("output_bias_removed"):
        tags.append("no output bias")
    return f" [{', '.join(tags)}]" if tags else ""


def _other(r: SettingResult) -> str:
    parts = []
    for name, value in r.paper.extra:
        if name == "ST1":
            ours = r.stage("ST1")
        elif name == "test MSE":
            ours = r.mean_of("test_mse")
        else:
            ours = r.mean_of("test_mean_abs")
        fmt = "{:,.0f}" if value >= 100 else "{:.4f}"
        parts.append(f"{name} {fmt.format(value)} / {_num(ours, fmt)}")
    return "; ".join(parts)
