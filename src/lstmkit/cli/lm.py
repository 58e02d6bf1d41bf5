"""``lstmkit lm`` (train a character language model on Shakespeare or any UTF-8 text, report
nats and bits per character, sample, save) and ``lstmkit generate`` (sample from a saved one)."""

from __future__ import annotations

import argparse
import inspect
import math
from pathlib import Path
from typing import Any

import torch

from ..data.corpora import load_shakespeare, split_text
from ..data.tokenize import read_text
from ..models.encoders import KINDS
from ._flags import add_regulariser_flags
from ..models.language_model import LanguageModel

#: ``--quick``: a model and a run small enough for a test or a first look (explicit options win).
QUICK = {"hidden_size": 64, "num_layers": 1, "bptt": 32, "batch_size": 8, "eval_every": 20, "eval_tokens": 2_000}
QUICK_STEPS, QUICK_CHARS = 40, 50_000
#: The estimator's fields each option sets (argparse dest -> LanguageModel parameter).
OPTIONS = {"model": "model", "hidden_size": "hidden_size", "layers": "num_layers", "bptt": "bptt",
           "batch_size": "batch_size", "lr": "lr", "dropout": "dropout", "level": "level", "seed": "seed",
           "eval_every": "eval_every", "val_fraction": "val_fraction", "embedding_dropout": "embedding_dropout",
           "recurrent_dropout": "recurrent_dropout", "weight_drop": "weight_drop", "zoneout": "zoneout",
           "ar": "ar", "tar": "tar"}
DEFAULTS = {k: v.default for k, v in inspect.signature(LanguageModel.__init__).parameters.items()}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lm", help="train a character language model (Shakespeare or a text file)",
                       description="Train a character-level language model on the bundled works of Shakespeare "
                                   "or on any UTF-8 text file for a time budget, report the validation loss in "
                                   "nats and bits per character, print a sample and save the model.")
    p.add_argument("data", help="'shakespeare' (bundled, 5.1M characters) or a UTF-8 text file")
    p.add_argument("--model", choices=KINDS, help="the encoder (default lstm)")
    p.add_argument("--hidden-size", type=int, help="units per layer (default %d)" % DEFAULTS["hidden_size"])
    p.add_argument("--layers", type=int, help="layers (default %d)" % DEFAULTS["num_layers"])
    p.add_argument("--bptt", type=int, help="steps per truncated-BPTT chunk or window (default %d)" % DEFAULTS["bptt"])
    p.add_argument("--batch-size", type=int, help="parallel streams (default %d)" % DEFAULTS["batch_size"])
    p.add_argument("--lr", type=float, help="Adam's learning rate (default %g)" % DEFAULTS["lr"])
    p.add_argument("--dropout", type=float, help="dropout (default %g)" % DEFAULTS["dropout"])
    add_regulariser_flags(p)
    p.add_argument("--ar", type=float, help="activation regularisation: this x mean squared output (default 0)")
    p.add_argument("--tar", type=float, help="temporal activation regularisation: this x mean squared change of "
                                             "the output per step (default 0)")
    p.add_argument("--level", choices=("char", "word"), help="tokens: characters (default) or words")
    p.add_argument("--minutes", type=float, default=10.0, help="training time budget (default %(default)s)")
    p.add_argument("--steps", type=int, help="stop after this many updates instead (or first)")
    p.add_argument("--eval-every", type=int, help="updates between validations (default %d)" % DEFAULTS["eval_every"])
    p.add_argument("--val-fraction", type=float, help="held-out end of the text (default %g)" % DEFAULTS["val_fraction"])
    p.add_argument("--seed", type=int, help="seed (default %d)" % DEFAULTS["seed"])
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--save", type=Path, metavar="PATH", help="where to save the model (default NAME.lm.safetensors); "
                                                            "the best model so far is kept there during training")
    p.add_argument("--prompt", help="the sample's prompt (default: the first line of the validation text)")
    p.add_argument("--sample-chars", type=int, default=300, help="length of the sample (default %(default)s)")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (default %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help=f"a tiny model for {QUICK_STEPS} steps on the first {QUICK_CHARS:,} characters (a smoke test)")
    p.add_argument("--no-progress", action="store_true", help="do not print progress")
    p.set_defaults(run=run)

    g = sub.add_parser("generate", help="sample text from a language model saved by lstmkit lm",
                       description="Feed a prompt to a saved LanguageModel and sample the characters that follow.")
    g.add_argument("checkpoint", type=Path, help="a file written by lstmkit lm (or LanguageModel.save)")
    g.add_argument("--prompt", default="\n", help="the text to continue (default: a newline)")
    g.add_argument("--chars", type=int, default=300, help="tokens to sample (default %(default)s)")
    g.add_argument("--temperature", type=float, default=0.8, help="softmax temperature, 0 = greedy (default %(default)s)")
    g.add_argument("--top-k", type=int, default=0, help="sample among the k most likely only; 0 = all (default %(default)s)")
    g.add_argument("--seed", type=int, help="seed (default: a fresh random one)")
    g.set_defaults(run=run_generate)


def read_corpus(data: str) -> tuple[str, str]:
    """(name, text) of the bundled corpus or of a UTF-8 file."""
    if data == "shakespeare":
        return "shakespeare", load_shakespeare()
    path = Path(data)
    if not path.exists():
        raise ValueError(f"data: {data!r} is neither 'shakespeare' nor an existing text file")
    return path.stem, read_text(path)


def build(args: argparse.Namespace) -> LanguageModel:
    params: dict[str, Any] = dict(QUICK) if args.quick else {}
    params.update({OPTIONS[k]: getattr(args, k) for k in OPTIONS if getattr(args, k) is not None})
    return LanguageModel(progress=not args.no_progress, **params)


def run(args: argparse.Namespace) -> int:
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    if args.minutes <= 0:
        raise ValueError(f"--minutes must be > 0, got {args.minutes}")
    name, text = read_corpus(args.data)
    if not text:
        raise ValueError(f"data: {args.data!r} is empty (0 characters)")
    if args.quick:
        text = text[:QUICK_CHARS]
    save = args.save or Path(f"{name}.lm.safetensors")
    if not save.parent.is_dir():
        raise ValueError(f"--save: directory {str(save.parent)!r} does not exist")
    lm = build(args)
    train, val = split_text(text, lm.val_fraction)
    if len(val) < 2:
        raise ValueError(f"data: {args.data!r} ({len(text)} characters) is too short to hold out a validation part; "
                         "use a longer text or a larger --val-fraction")
    steps = args.steps if args.steps is not None else QUICK_STEPS if args.quick else None
    print(f"{name}: {len(train):,} training and {len(val):,} validation characters; {lm.model} "
          f"{lm.hidden_size} x {lm.num_layers}, bptt {lm.bptt}, batch {lm.batch_size}, budget {args.minutes:g} min"
          + (f" or {steps} steps" if steps else ""))
    lm.fit(train, val, minutes=args.minutes, steps=steps, checkpoint=save)
    nats = lm.evaluate(val)
    prompt = args.prompt if args.prompt is not None else val.split("\n", 1)[0] + "\n"
    sample = lm.generate(prompt, args.sample_chars, temperature=args.temperature, seed=lm.seed)
    unit = "char" if lm.level == "char" else "word"
    rows = [(f"validation nats/{unit}", f"{nats:.4f}"), (f"validation bits/{unit}", f"{nats / math.log(2):.4f}"),
            ("parameters", f"{lm.n_parameters:,}"), ("minutes", f"{lm.seconds_ / 60:.2f}"),
            ("steps", f"{lm.steps_:,}"), (f"{unit}s trained on", f"{lm.tokens_seen_:,}"),
            ("stopped by", lm.stopped_by_)]
    width = max(len(k) for k, _ in rows)
    print()
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(f"\nsample (temperature {args.temperature:g}):\n{sample}")
    print(f"\nmodel saved to {save} (lstmkit generate {save} --prompt ...)")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    lm = LanguageModel.load(args.checkpoint)
    print(lm.generate(args.prompt, args.chars, temperature=args.temperature, top_k=args.top_k or None, seed=args.seed))
    return 0
