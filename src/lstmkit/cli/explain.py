"""``lstmkit explain``: a browsable HTML report of what an LSTM's gates and cells do.

    lstmkit explain --task adding [--T 20 --steps 2000 --save model.safetensors]   train, then explain
    lstmkit explain CHECKPOINT --input FILE       a saved model on the sequences in FILE (.npy, .csv, .txt)
    lstmkit explain CHECKPOINT --text "..."       a saved text classifier on a text (repeatable)

CHECKPOINT is a model saved by ``lstmkit explain --save``, ``lstmkit compare --save-dir`` or
``SequenceClassifier.save`` (``lstmkit classify --save``). The report is a folder (``--out``) with
``index.html``; it opens offline in any browser.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="trace the gates and cell states of a model and write an HTML report",
                       description="Trace every gate, cell input, cell state and hidden state of a model's LSTM "
                                   "layers, find the units worth a look, attribute the predictions to the inputs "
                                   "(integrated gradients) and write a self-contained HTML report.")
    p.add_argument("checkpoint", nargs="?", type=Path, help="a saved model (see --help); or use --task")
    p.add_argument("--task", help="train the small network of a paper task first, then explain it: adding")
    p.add_argument("--input", type=Path, metavar="FILE",
                   help="sequences to explain: .npy of (B, T, F) or (T, F); .csv, one row per step, numeric "
                        "columns as features; .txt, one text per line (text classifiers)")
    p.add_argument("--text", action="append", metavar="TEXT", help="a text to explain (text classifiers; repeatable)")
    p.add_argument("--out", type=Path, default=Path("explain-report"), help="report folder (default %(default)s)")
    p.add_argument("--T", type=int, dest="T", help="adding: the minimal sequence length (default 20, or the "
                                                   "checkpoint's)")
    p.add_argument("--hidden", type=int, default=8, help="--task: memory cells (default %(default)s)")
    p.add_argument("--steps", type=int, default=2000, help="--task: training updates (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="--task: seed (default %(default)s)")
    p.add_argument("--sequences", type=int, default=8, help="sequences in the report (default %(default)s)")
    p.add_argument("--save", type=Path, metavar="PATH", help="--task: also save the trained model there")
    p.add_argument("--no-attribution", action="store_true", help="skip integrated gradients")
    p.add_argument("--screenshot", type=Path, metavar="PNG", help="also save a screenshot of the report "
                                                                  "(needs chromium and playwright)")
    p.set_defaults(run=run)


def _read_numeric(path: Path) -> list[np.ndarray]:
    if not path.exists():
        raise ValueError(f"--input {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            a = np.load(path, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"--input {str(path)!r} is not a plain numeric .npy array: {e}") from e
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3 or not np.issubdtype(a.dtype, np.number):
            raise ValueError(f"--input {str(path)!r} must hold a numeric (B, T, F) or (T, F) array, "
                             f"got {a.dtype} of shape {a.shape}")
        return [np.asarray(s, dtype=np.float64) for s in a]
    if suffix == ".csv":
        import pandas as pd
        frame = pd.read_csv(path).select_dtypes("number")
        if frame.empty:
            raise ValueError(f"--input {str(path)!r} has no numeric columns (one row per step, one column per feature)")
        return [frame.to_numpy(np.float64)]
    raise ValueError(f"--input must be a .npy, .csv or .txt file, got {str(path)!r}")


def _check_finite(items: list[np.ndarray], path: Path) -> None:
    for i, a in enumerate(items):
        if not np.isfinite(a).all():
            t = int(np.argwhere(~np.isfinite(a))[0][0])
            raise ValueError(f"--input {str(path)!r}: sequence {i} has NaN or inf at step {t}")


def _pad(items: list[np.ndarray]) -> tuple[Any, Any]:
    import torch
    lengths = torch.tensor([len(a) for a in items])
    x = np.zeros((len(items), int(lengths.max()), items[0].shape[1]), dtype=np.float32)
    for i, a in enumerate(items):
        x[i, : len(a)] = a
    return torch.from_numpy(x), lengths


def _explain_last_step(args: argparse.Namespace, model: Any, meta: dict[str, Any]):
    import torch
    from ..explain.pipeline import explain_model
    from ..explain.tasks import explain_inputs
    task = meta["compare"].get("task")
    summary = {"checkpoint": str(args.checkpoint), "task": task}
    marked, targets, names = None, None, None
    if args.input is not None:
        items = _read_numeric(args.input)
        _check_finite(items, args.input)
        if items[0].shape[1] != model.sizes["inputs"]:
            raise ValueError(f"--input has {items[0].shape[1]} features per step, the model takes "
                             f"{model.sizes['inputs']}")
        x, lengths = _pad(items)
    elif task == "adding":
        T = args.T or int(meta.get("explain", {}).get("T", 20))
        x, lengths, y, marked = explain_inputs(T, args.sequences, seed=args.seed + 7)
        targets, names = y.tolist(), ["value", "marker"]
        summary["sequences"] = f"fresh adding sequences, minimal length T = {T}"
    else:
        raise ValueError(f"this model was trained on {task!r}: pass the sequences to explain with --input FILE")
    with torch.no_grad():
        out = model(x, lengths)
    predictions = out[:, 0].tolist() if out.shape[1] == 1 else out.argmax(1).tolist()
    return explain_model(model, x, lengths, args.out, title=f"Inside an LSTM trained on {task}", summary=summary,
                         targets=targets, predictions=predictions, input_names=names, marked=marked,
                         attribute=not args.no_attribution, max_sequences=args.sequences)


def _explain_classifier(args: argparse.Namespace):
    import torch
    from ..explain.pipeline import explain_model
    from ..models import SequenceClassifier
    clf = SequenceClassifier.load(args.checkpoint)
    if clf.model not in ("lstm", "hybrid"):
        raise ValueError(f"this classifier's encoder is {clf.model!r}, which has no LSTM to trace "
                         "(explain needs model='lstm' or 'hybrid')")
    tokens = None
    if clf.input_kind_ == "text":
        texts = list(args.text or [])
        if args.input is not None:
            if args.input.suffix.lower() != ".txt":
                raise ValueError(f"this is a text classifier: --input must be a .txt file (one text per line), "
                                 f"got {str(args.input)!r}")
            texts += [line for line in args.input.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not texts:
            raise ValueError("this is a text classifier: pass --text TEXT or --input FILE.txt")
        items = clf._inputs(texts, "--text")
        x, lengths = clf._batch(items, "--text")
        tokens = [[clf.vocabulary_.itos[i] for i in row[:n]] for row, n in zip(x, lengths)]
    else:
        if args.input is None:
            raise ValueError("this classifier reads numeric sequences: pass them with --input FILE (.npy or .csv)")
        items = _read_numeric(args.input)
        _check_finite(items, args.input)
        items = clf._inputs(items, "--input")
        x, lengths = clf._batch(items, "--input")
    x, lengths = torch.from_numpy(x), torch.from_numpy(lengths)
    proba = clf.predict_proba(items)
    predictions = [f"{clf.classes_[i]} ({proba[k, i]:.0%})" for k, i in enumerate(proba.argmax(1))]
    summary = {"checkpoint": str(args.checkpoint), "classes": ", ".join(map(str, clf.classes_.tolist())),
               "encoder": f"{clf.model}, {clf.num_layers} layer(s) of {clf.hidden_size}, "
                          f"{'bidirectional' if clf.bidirectional else 'forward'}, pooling {clf.pooling}"}
    return explain_model(clf, x, lengths, args.out, title="Inside a sequence classifier", summary=summary,
                         predictions=predictions, tokens=tokens, attribute=not args.no_attribution,
                         max_sequences=args.sequences)


def run(args: argparse.Namespace) -> int:
    if (args.checkpoint is None) == (args.task is None):
        raise ValueError("give either a CHECKPOINT to explain or --task TASK to train and explain, not both")
    import importlib.util
    for module, why in (("matplotlib", "the plots"), ("captum", "the attributions")):
        if importlib.util.find_spec(module) is None and not (module == "captum" and args.no_attribution):
            raise ValueError(f"{why} need {module}: pip install 'lstmkit[explain]'"
                             + (" (or pass --no-attribution)" if module == "captum" else ""))
    for name in ("hidden", "steps", "sequences"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.task is not None:
        from ..explain.pipeline import explain_task
        from .progress import line

        def progress(step: int, loss: float) -> None:
            if step % 500 == 0 or step == args.steps:
                line(step, args.steps, f"training {args.task}: loss {loss:.5f}", sys.stderr)
        result = explain_task(args.task, args.out, T=args.T or 20, hidden=args.hidden, steps=args.steps,
                              seed=args.seed, sequences=args.sequences, save=args.save, progress=progress)
        if args.save is not None:
            print(f"model saved to {args.save}")
    else:
        from ..train.checkpoint import load
        if not args.checkpoint.exists():
            raise ValueError(f"checkpoint {str(args.checkpoint)!r} does not exist")
        meta = load(args.checkpoint).meta
        if "compare" in meta:
            from ..models.compare import LastStep
            model = LastStep.load(args.checkpoint)
            if model.sizes["kind"] not in ("lstm", "hybrid"):
                raise ValueError(f"this model is a {model.sizes['kind']!r}, which has no LSTM to trace")
            result = _explain_last_step(args, model, meta)
        elif "classifier" in meta:
            result = _explain_classifier(args)
        else:
            raise ValueError(f"{str(args.checkpoint)!r} is not a model lstmkit explain knows (saved by "
                             "lstmkit explain --save, lstmkit compare --save-dir or SequenceClassifier.save)")
    for h in result.highlights[:4]:
        print(f"unit {h['unit']:>3}  {h['why']}")
    print(f"report written to {result.index}")
    if args.screenshot is not None:
        from ..explain.report import screenshot
        unit = result.highlights[0]["unit"] if result.highlights else None
        print(f"screenshot saved to {screenshot(result.index, args.screenshot, unit=unit)}")
    return 0
