"""``lstmkit seq2seq TASK``: train a sequence-to-sequence model with attention on a generated string
task (dates to ISO, English numbers to digits or back), report its exact-match accuracy on held-out
targets with greedy and beam decoding, show a few translations, save it and plot its attention."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ..data.strings import TASKS, make_split
from ..models.encoders import KINDS, count_parameters
from ..models.seq2seq import Seq2Seq, plot_attentions
from ..models.seq2seq_attention import ATTENTIONS

#: --quick: a run of seconds that still goes through every stage.
QUICK = {"train_size": 300, "val_size": 50, "test_size": 50, "epochs": 2, "hidden_size": 16, "embedding_size": 16}
EXAMPLES = 6


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("seq2seq", help="sequence to sequence with attention on generated string tasks",
                       description="Train an encoder and an attentive LSTM decoder on a generated task, measure the "
                                   "exact-match accuracy on targets never seen in training (greedy and beam search), "
                                   "print example translations, save the model and plot its attention.")
    p.add_argument("task", choices=list(TASKS), help="dates: human dates -> ISO; numbers: English words -> digits; "
                                                      "numbers-reverse: digits -> words")
    p.add_argument("--model", choices=KINDS, default="lstm", help="the encoder (default %(default)s)")
    p.add_argument("--attention", choices=list(ATTENTIONS), default="additive", help="default %(default)s")
    p.add_argument("--hidden-size", type=int, default=64, help="encoder units per direction (default %(default)s)")
    p.add_argument("--embedding-size", type=int, default=32, help="character embedding size (default %(default)s)")
    p.add_argument("--layers", type=int, default=1, help="encoder layers (default %(default)s)")
    p.add_argument("--train-size", type=int, default=20000, help="training pairs (default %(default)s)")
    p.add_argument("--val-size", type=int, default=1000, help="validation pairs, for early stopping (default %(default)s)")
    p.add_argument("--test-size", type=int, default=1000, help="test pairs (default %(default)s)")
    p.add_argument("--epochs", type=int, default=30, help="epochs at most (default %(default)s)")
    p.add_argument("--patience", type=int, default=4, help="epochs without a better validation loss before "
                                                           "stopping (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="default %(default)s")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate (default %(default)s)")
    p.add_argument("--teacher-forcing", type=float, default=1.0, help="probability of feeding the true previous "
                                                                     "character in training (default %(default)s)")
    p.add_argument("--beam-size", type=int, default=5, help="beam width compared with greedy (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and the model (default %(default)s)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's); 1 is fastest for small models "
                                               "on a busy machine")
    p.add_argument("--plot", type=Path, metavar="PNG", help="plot the attention of a few test examples")
    p.add_argument("--save", type=Path, metavar="PATH", help="where to save the model (default TASK.seq2seq.safetensors)")
    p.add_argument("--quick", action="store_true", help="a tiny run of seconds (a smoke test)")
    p.add_argument("--no-progress", action="store_true", help="do not show the trainer's progress")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for flag in ("plot", "save"):
        path = getattr(args, flag)
        if path is not None and not path.parent.is_dir():
            raise ValueError(f"--{flag}: directory {str(path.parent)!r} does not exist")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    sizes = {k: getattr(args, k) for k in QUICK}
    for name in ("train_size", "test_size"):
        if sizes[name] < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {sizes[name]}")
    if args.quick:
        sizes.update(QUICK)
    split = make_split(args.task, sizes["train_size"], sizes["val_size"], sizes["test_size"], seed=args.seed)
    model = Seq2Seq(args.model, attention=args.attention, hidden_size=sizes["hidden_size"], num_layers=args.layers,
                    embedding_size=sizes["embedding_size"], teacher_forcing=args.teacher_forcing,
                    epochs=sizes["epochs"], batch_size=args.batch_size, lr=args.lr, patience=args.patience,
                    seed=args.seed, progress=not args.no_progress,
                    # a test source may hold a character no training source has ('z' is only in
                    # "zero", whose target "0" is a test target): read it as unknown, count it wrong
                    unknown="unk")
    print(f"{args.task}: {len(split.train)} training, {len(split.val)} validation, {len(split.test)} test pairs "
          "(no test target in training)")
    print(f"model: {args.model} encoder ({sizes['hidden_size']} units, bidirectional), LSTM decoder, "
          f"{args.attention} attention")
    started = time.perf_counter()
    model.fit(split.train, val=split.val or None)
    trained = time.perf_counter() - started
    sources, targets = [s for s, _ in split.test], [t for _, t in split.test]
    rows = []
    for beam in dict.fromkeys((1, args.beam_size)):
        t0 = time.perf_counter()
        outputs = model.predict(sources, beam_size=beam)
        accuracy = sum(o == t for o, t in zip(outputs, targets)) / len(targets)
        rows.append(("greedy" if beam == 1 else f"beam {beam}", accuracy, time.perf_counter() - t0))
        if beam == 1:
            greedy_outputs = outputs
    print(f"\n{'decoding':<10} {'exact match':>12} {'seconds':>8}")
    for name, accuracy, seconds in rows:
        print(f"{name:<10} {accuracy:>11.2%} {seconds:>8.1f}")
    print(f"parameters {count_parameters(model):,}; training {trained:.1f} s, {len(model.history_)} epochs")
    print("\nexamples (test, greedy):")
    for source, output, target in list(zip(sources, greedy_outputs, targets))[:EXAMPLES]:
        print(f"  {source!r:<34} -> {output!r:<14} {'ok' if output == target else f'(want {target!r})'}")
    save = args.save or Path(f"{args.task}.seq2seq.safetensors")
    model.save(save)
    print(f"\nmodel saved to {save} (Seq2Seq.load)")
    if args.plot is not None:
        examples = [(source, *model.attention(source, end=True)) for source in sources[:3]]
        plot_attentions(examples, args.plot, title=f"{args.task}: {args.attention} attention ({args.model} encoder)")
        print(f"attention plot saved to {args.plot}")
    return 0
