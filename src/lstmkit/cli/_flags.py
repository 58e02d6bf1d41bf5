"""Flags several commands share."""

from __future__ import annotations

import argparse


def add_regulariser_flags(p: argparse.ArgumentParser) -> None:
    """--embedding-dropout, --recurrent-dropout, --weight-drop and --zoneout (each default 0: off)."""
    p.add_argument("--embedding-dropout", type=float, help="drop whole token types of a batch in training (default 0)")
    p.add_argument("--recurrent-dropout", type=float, help="variational dropout of the LSTM state fed back (default 0)")
    p.add_argument("--weight-drop", type=float, help="DropConnect on the LSTM's hidden-to-hidden weights (default 0)")
    p.add_argument("--zoneout", type=zoneout_value, metavar="P or P_CELL,P_HIDDEN",
                   help="zoneout of the LSTM state: each unit keeps its previous value with this probability "
                        "at every step; two values zone cell and hidden state apart, e.g. 0.5,0.05 (default 0)")


def zoneout_value(text: str) -> float | tuple[float, float]:
    """``--zoneout``'s value: one probability, or two separated by a comma (cell, hidden)."""
    parts = text.split(",")
    try:
        values = [float(v) for v in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability or two separated by a comma (P_CELL,P_HIDDEN), "
                                         f"got {text!r}") from None
    if len(values) > 2:
        raise argparse.ArgumentTypeError(f"expected at most two probabilities (P_CELL,P_HIDDEN), got {text!r}")
    return values[0] if len(values) == 1 else (values[0], values[1])
