"""``lstmkit cells``: the registered cells and their options."""

from __future__ import annotations

import argparse

from ..cells import REGISTRY


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cells", help="list the registered LSTM cells and their options")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for name, cls in REGISTRY.items():
        opts = ", ".join(f"{k}={v!r}" for k, v in cls.options.items()) or "none"
        print(f"{name:10s} {cls.summary}\n{'':10s} options: {opts}")
    return 0
