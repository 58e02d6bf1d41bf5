"""``lstmkit music chorales``: train a next-frame model of Bach's chorales (piano rolls) and report
the negative log-likelihood per frame on the fixed train/valid/test split."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..data.music import GRIDS, load_chorales
from ..models.encoders import KINDS
from ..models.music import PianoRollModel, frequency_nll

#: --quick: a few pieces, a tiny network, one epoch (seconds; for tests and a first look).
QUICK = {"pieces": (12, 4, 4), "hidden_size": 16, "epochs": 2}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("music", help="polyphonic music: next-frame models of Bach's chorales",
                       description="Polyphonic music models on piano rolls.")
    tasks = p.add_subparsers(dest="music_task", metavar="TASK", required=True)
    c = tasks.add_parser("chorales", help="train on Bach's 371 chorales, report NLL per frame",
                         description="Train a next-frame model (88 independent Bernoullis per frame) on the "
                                     "train split of Bach's chorales, stop early on the valid split, and print "
                                     "the negative log-likelihood per frame (nats) of every split beside a "
                                     "key-frequency baseline.")
    c.add_argument("--model", choices=KINDS, default="lstm", help="the encoder (default %(default)s)")
    c.add_argument("--hidden-size", type=int, default=128, help="units per layer (default %(default)s)")
    c.add_argument("--layers", type=int, default=1, help="layers (default %(default)s)")
    c.add_argument("--heads", type=int, default=4, help="attention heads of hybrid/transformer (default %(default)s)")
    c.add_argument("--dropout", type=float, default=0.0, help="dropout between layers and before the head "
                                                              "(default %(default)s)")
    c.add_argument("--epochs", type=int, default=100, help="epochs at most (default %(default)s)")
    c.add_argument("--patience", type=int, default=10, help="early stopping patience in epochs (default %(default)s)")
    c.add_argument("--batch-size", type=int, default=16, help="pieces per batch (default %(default)s)")
    c.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate (default %(default)s)")
    c.add_argument("--grid", choices=tuple(GRIDS), default="quarter",
                   help="frames per quarter or per eighth note; quarter is the JSB Chorales benchmark's "
                        "sampling (default %(default)s)")
    c.add_argument("--seed", type=int, default=0, help="seed (default %(default)s)")
    c.add_argument("--save", type=Path, metavar="PATH", help="save the trained model (safetensors)")
    c.add_argument("--quick", action="store_true", help="a tiny run: 12/4/4 pieces, 16 units, 2 epochs")
    c.add_argument("--quiet", action="store_true", help="no progress lines")
    c.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.save is not None and not args.save.parent.is_dir():
        raise ValueError(f"--save: directory {str(args.save.parent)!r} does not exist")
    splits = {name: load_chorales(name, grid=args.grid) for name in ("train", "valid", "test")}
    hidden, epochs = args.hidden_size, args.epochs
    if args.quick:
        splits = {name: pieces[:n] for (name, pieces), n in zip(splits.items(), QUICK["pieces"])}
        hidden, epochs = QUICK["hidden_size"], QUICK["epochs"]
    counts = ", ".join(f"{name} {len(p)} ({sum(map(len, p))} frames)" for name, p in splits.items())
    print(f"Bach chorales on the {args.grid}-note grid: {counts}")
    model = PianoRollModel(args.model, hidden, args.layers, dropout=args.dropout, heads=args.heads, epochs=epochs,
                           batch_size=args.batch_size, lr=args.lr, patience=args.patience, seed=args.seed,
                           progress=not args.quiet)
    started = time.perf_counter()
    model.fit(splits["train"], splits["valid"])
    seconds = time.perf_counter() - started
    rows = [("key frequencies", 88, [frequency_nll(splits["train"], p) for p in splits.values()], "-", "-"),
            (args.model, model.n_parameters, [model.nll(p) for p in splits.values()],
             f"{len(model.history_)} (best {model.best_epoch_ + 1})", f"{seconds:.1f}")]
    print("\nnegative log-likelihood per frame (nats, summed over the 88 keys):")
    print(f"{'model':<16} {'parameters':>10} {'train':>8} {'valid':>8} {'test':>8}  {'epochs':<14} {'seconds':>8}")
    for name, params, nlls, done, secs in rows:
        print(f"{name:<16} {params:>10,} " + " ".join(f"{v:>8.3f}" for v in nlls) + f"  {done:<14} {secs:>8}")
    if args.save is not None:
        model.save(args.save)
        print(f"\nmodel saved to {args.save} (PianoRollModel.load)")
    return 0
