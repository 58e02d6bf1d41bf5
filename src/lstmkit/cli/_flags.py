"""Flags several commands share."""

from __future__ import annotations

import argparse


def add_regulariser_flags(p: argparse.ArgumentParser) -> None:
    """--embedding-dropout, --recurrent-dropout and --weight-drop (each default 0: off)."""
    p.add_argument("--embedding-dropout", type=float, help="drop whole token types of a batch in training (default 0)")
    p.add_argument("--recurrent-dropout", type=float, help="variational dropout of the LSTM state fed back (default 0)")
    p.add_argument("--weight-drop", type=float, help="DropConnect on the LSTM's hidden-to-hidden weights (default 0)")
