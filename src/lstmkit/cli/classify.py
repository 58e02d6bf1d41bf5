"""``lstmkit classify``: train a sequence or text classifier on a bundled dataset or a CSV of texts,
report its held-out (or cross-validated) accuracy, save it."""

from __future__ import annotations

import argparse
import csv
import io
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..data.sequences import load_japanese_vowels, load_movie_reviews
from ..data.tokenize import read_text
from ..models.classifier import DATASET_SETTINGS, EnsembleClassifier, SequenceClassifier
from ..models.encoders import KINDS, count_parameters
from ..models.pooling import POOLINGS
from ..models.validation import cross_val_score, stratified_split, take
from ._flags import add_regulariser_flags
from .progress import line

DATASETS = ("japanese-vowels", "movie-reviews")
#: Per dataset: the classifier's settings where the general defaults do not suit it.
DATASET_DEFAULTS = DATASET_SETTINGS
#: --quick: a tiny network, two epochs, at most QUICK_ITEMS items (a stratified subsample).
QUICK = {"hidden_size": 8, "embedding_size": 16, "epochs": 2, "patience": None, "heads": 2}
QUICK_ITEMS = 600


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classify", help="train a sequence/text classifier and report its accuracy",
                       description="Train a SequenceClassifier on a bundled dataset (japanese-vowels: speakers from "
                                   "12-channel vowel recordings, its own train/test split; movie-reviews: sentence "
                                   "polarity) or on a CSV of texts and labels; report the test accuracy (or the "
                                   "--cv cross-validated accuracy) and save the model.")
    p.add_argument("data", help=f"a dataset ({', '.join(DATASETS)}) or a CSV file of texts and labels")
    p.add_argument("--text-column", help="the CSV's text column (default: text)")
    p.add_argument("--label-column", help="the CSV's label column (default: label)")
    p.add_argument("--cv", type=int, metavar="K", help="K-fold stratified cross-validation on the training data "
                                                       "instead of one held-out test (japanese-vowels: its train split)")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="held-out test share of a dataset without a test split (default %(default)s)")
    p.add_argument("--model", choices=KINDS, default="lstm", help="the encoder (default %(default)s)")
    p.add_argument("--pooling", choices=tuple(POOLINGS), help="how the steps become one vector (default: the "
                                                              "classifier's, last)")
    p.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=None,
                   help="read the sequences both ways (default: yes)")
    p.add_argument("--hidden-size", type=int, help="units per direction (default 64; movie-reviews 128)")
    p.add_argument("--layers", type=int, help="encoder layers (default 1)")
    p.add_argument("--epochs", type=int, help="training epochs at most (early stopping on a validation split)")
    p.add_argument("--lr", type=float, help="AdamW's learning rate")
    p.add_argument("--dropout", type=float, help="dropout on the embeddings and before the head (default 0.2; movie-reviews 0.5)")
    add_regulariser_flags(p)
    p.add_argument("--patience", type=int, help="epochs without a lower validation loss before stopping (default 10; movie-reviews 2)")
    p.add_argument("--batch-size", type=int, help="items per batch")
    p.add_argument("--ensemble", type=int, default=1, metavar="N",
                   help="train N networks (seeds SEED … SEED+N-1) and average their probabilities (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed (default %(default)s)")
    p.add_argument("--save", type=Path, metavar="PATH", help="where to save the model (default: "
                                                             "NAME.classifier.safetensors)")
    p.add_argument("--quick", action="store_true", help=f"a tiny budget (a small network, 2 epochs, at most "
                                                        f"{QUICK_ITEMS} items): checks the pipeline, not the accuracy")
    p.add_argument("--progress", action="store_true", help="show the trainer's progress")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.save is not None and not args.save.parent.is_dir():
        raise ValueError(f"--save: directory {str(args.save.parent)!r} does not exist")
    if args.cv is not None and args.cv < 2:
        raise ValueError(f"--cv must be at least 2 folds, got {args.cv}")
    if not 0 < args.test_fraction < 1:
        raise ValueError(f"--test-fraction must be between 0 and 1, got {args.test_fraction}")
    name, X, y, test = read_data(args)
    if args.quick:
        X, y = _subsample(X, y, args.seed)
        if test is not None:
            test = _subsample(*test, args.seed)
    if args.ensemble < 1:
        raise ValueError(f"--ensemble must be at least 1 network, got {args.ensemble}")
    params = _params(args, name)
    model: Any = SequenceClassifier(**params) if args.ensemble == 1 else EnsembleClassifier(args.ensemble, **params)
    started = time.perf_counter()
    if args.cv is not None:
        print(f"{name}: {len(y)} items, {len(set(y.tolist()))} classes; {args.cv}-fold cross-validation")
        report = lambda k, s: line(k + 1, args.cv, f"fold accuracy {s:.2%}")       # noqa: E731
        scores = cross_val_score(model, X, y, folds=args.cv, seed=args.seed, report=report)
        accuracy = f"{scores.mean():.2%} ± {scores.std(ddof=1):.2%} ({args.cv}-fold CV)"
        model.fit(X, y)
    else:
        if test is None:
            train, held = stratified_split(y, args.test_fraction, args.seed)
            test = (take(X, held), y[held])
            X, y = take(X, train), y[train]
        print(f"{name}: {len(y)} training items, {len(test[1])} test items, {len(set(y.tolist()))} classes")
        model.fit(X, y)
        accuracy = f"{model.score(*test):.2%} (test)"
    seconds = time.perf_counter() - started
    epochs = len(model.history_)
    print()
    members = model.members_ if isinstance(model, EnsembleClassifier) else [model]
    described = _describe(members[0]) + (f", {len(members)} seeds averaged" if len(members) > 1 else "")
    print(_table([("model", "parameters", "accuracy", "time"),
                  (described, f"{sum(count_parameters(m) for m in members):,}", accuracy, f"{seconds:.1f} s")]))
    print(f"final fit: {epochs} epoch(s)")
    save = args.save or Path(f"{Path(name).stem}.classifier.safetensors")
    model.save(save)
    print(f"model saved to {save} ({type(model).__name__}.load)")
    return 0


def _params(args: argparse.Namespace, name: str) -> dict[str, Any]:
    params: dict[str, Any] = {"model": args.model, "seed": args.seed, "progress": args.progress}
    params.update(DATASET_DEFAULTS.get(name, {}))
    given = {key: value for key, value in (("pooling", args.pooling), ("bidirectional", args.bidirectional),
                                           ("hidden_size", args.hidden_size), ("num_layers", args.layers),
                                           ("epochs", args.epochs), ("lr", args.lr), ("batch_size", args.batch_size),
                                           ("dropout", args.dropout), ("embedding_dropout", args.embedding_dropout),
                                           ("recurrent_dropout", args.recurrent_dropout), ("weight_drop", args.weight_drop),
                                           ("zoneout", args.zoneout), ("patience", args.patience))
             if value is not None}
    if args.quick:
        params.update(QUICK)
    params.update(given)                    # flags win over the dataset's and --quick's settings
    return params


def _describe(model: SequenceClassifier) -> str:
    both = " bi" if model.bidirectional and model.model != "transformer" else " "
    return f"{model.model}{both}{model.hidden_size}x{model.num_layers}, {model.pooling}"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _subsample(X: Any, y: np.ndarray, seed: int) -> tuple[Any, np.ndarray]:
    if len(y) <= QUICK_ITEMS:
        return X, y
    _, keep = stratified_split(y, QUICK_ITEMS / len(y), seed)
    return take(X, keep), y[keep]


def read_data(args: argparse.Namespace) -> tuple[str, Any, np.ndarray, tuple[Any, np.ndarray] | None]:
    """(name, X, y, test or None): a bundled dataset's training data (and its test split, unless
    --cv), or a CSV's texts and labels."""
    if args.data == "japanese-vowels":
        X, y = load_japanese_vowels("train")
        return args.data, X, y, None if args.cv is not None else load_japanese_vowels("test")
    if args.data == "movie-reviews":
        X, y = load_movie_reviews()
        return args.data, X, y, None
    path = Path(args.data)
    if path.suffix.lower() != ".csv" and not path.exists():
        raise ValueError(f"{args.data!r} is neither a dataset ({', '.join(DATASETS)}) nor a CSV file")
    X, y = read_csv(path, args.text_column or "text", args.label_column or "label")
    return path.stem, X, y, None


def read_csv(path: Path, text_column: str, label_column: str) -> tuple[list[str], np.ndarray]:
    """The texts and labels of a UTF-8 CSV with a header row; every row needs both cells."""
    rows = list(csv.reader(io.StringIO(read_text(path), newline="")))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ValueError(f"{str(path)!r} is empty: expected a header row naming the columns, then one row per text")
    header = [c.strip() for c in rows[0]]
    for flag, column in (("--text-column", text_column), ("--label-column", label_column)):
        if column not in header:
            raise ValueError(f"{flag} {column!r} is not a column of {str(path)!r}; its columns are {header}")
    t, lab = header.index(text_column), header.index(label_column)
    body = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(cell.strip() for cell in r)]
    if not body:
        raise ValueError(f"{str(path)!r} has a header but no rows")
    short = [n for n, r in body if len(r) <= max(t, lab) or not r[t].strip() or not r[lab].strip()]
    if short:
        raise ValueError(f"{str(path)!r}: {len(short)} row(s) lack a {text_column!r} or {label_column!r} value "
                         f"(line(s) {', '.join(map(str, short[:10]))}{' ...' if len(short) > 10 else ''}); "
                         "fill or drop them")
    return [r[t] for _, r in body], np.array([r[lab].strip() for _, r in body])


__all__ = ["DATASETS", "DATASET_DEFAULTS", "add_parser", "read_csv", "read_data", "run"]
