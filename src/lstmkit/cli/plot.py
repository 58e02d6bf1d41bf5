"""``lstmkit plot-curves RUN_DIR``: the training and validation loss of every epoch of a run, so
that overfitting (the validation loss turning up while the training loss goes on down) shows."""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot-curves", help="plot a run's training and validation loss per epoch",
                       description="Read RUN_DIR/metrics.csv (what lstmkit.train writes to its checkpoint_dir, "
                                   "one row per epoch) or that CSV itself, and draw the training and validation "
                                   "loss per epoch, the best validation epoch marked.")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder (with metrics.csv) or a metrics CSV file")
    p.add_argument("--out", type=Path, help="the image (.png or .svg; default RUN_DIR/curves.png)")
    p.add_argument("--linear", action="store_true", help="a linear loss axis (default: logarithmic)")
    p.set_defaults(run=run)


def read_curves(path: Path) -> tuple[list[float], list[float], list[float]]:
    """(epochs, training losses, validation losses (NaN where none)) from a metrics CSV."""
    if not path.is_file():
        raise ValueError(f"{str(path)!r} does not exist: give a run folder with metrics.csv, or the CSV")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or "train_loss" not in rows[0]:
        raise ValueError(f"{str(path)!r} is not a metrics CSV of lstmkit.train (it needs the columns epoch, "
                         f"train_loss, val_loss)")

    def number(row: dict[str, str], key: str, line: int) -> float:
        text = (row.get(key) or "").strip()
        if not text:
            return math.nan
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{str(path)!r} line {line}: {key} must be a number, got {text!r}") from None

    epochs = [number(r, "epoch", i + 2) for i, r in enumerate(rows)]
    return epochs, [number(r, "train_loss", i + 2) for i, r in enumerate(rows)], \
        [number(r, "val_loss", i + 2) for i, r in enumerate(rows)]


def run(args: argparse.Namespace) -> int:
    from ..explain.plots import plot_learning_curve
    csv_path = args.run_dir / "metrics.csv" if args.run_dir.is_dir() else args.run_dir
    epochs, train, val = read_curves(csv_path)
    out = args.out or csv_path.parent / "curves.png"
    has_val = any(not math.isnan(v) for v in val)
    positive = all(v > 0 for v in train + [v for v in val if not math.isnan(v)])
    plot_learning_curve(epochs, train, out, val_steps=epochs if has_val else None, val_losses=val if has_val else None,
                        logy=positive and not args.linear, title=f"{csv_path.parent.name}: loss per epoch",
                        xlabel="epoch")
    print(f"{len(epochs)} epochs; last training loss {train[-1]:.4g}" +
          (f", best validation loss {min(v for v in val if not math.isnan(v)):.4g} at epoch "
           f"{epochs[min((v, i) for i, v in enumerate(val) if not math.isnan(v))[1]]:g}" if has_val else ""))
    print(f"curves written to {out}")
    return 0
