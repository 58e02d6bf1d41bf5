"""The ``lstmkit`` command: parses, calls the library, prints. One file per command group."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import (bench, classify, compare, demo, explain, export, forecast, info, lm, music, plot, reproduce, seq2seq,
               serve, tune)

COMMANDS = (demo, info, bench, reproduce, forecast, classify, lm, seq2seq, music, compare, tune, explain, export,
            serve, plot)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lstmkit", description="Long Short-Term Memory, from the 1997 paper to practice.")
    parser.add_argument("--version", action="version", version=f"lstmkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except (ValueError, TypeError) as err:      # the library's errors are messages for the user
        print(f"lstmkit {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
