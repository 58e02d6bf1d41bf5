"""Bundled classification datasets: labelled variable-length sequences and labelled sentences.

``load_japanese_vowels(split)``: 640 utterances of two Japanese vowels by nine male speakers, each
a (T, 12) sequence of linear-prediction cepstrum coefficients with T from 7 to 29; the label is
the speaker ("1" … "9"). 270 train (30 per speaker), 370 test (24 to 88 per speaker).

``load_movie_reviews()``: 10,568 movie-review sentences labelled "positive" or "negative" by the
sign of the mean of at least 20 human sentiment ratings (-4 … +4); the 37 sentences rated exactly
0 are dropped.

The sequences come in the UEA/UCR ``.ts`` text format, read by ``read_ts`` (stdlib only): header
lines start with ``@`` (``@data`` ends the header), comments with ``#``; each case is one line of
dimensions separated by ``:``, each a comma-separated list of values (``?`` = missing, read as
NaN), with the class label last.
"""

from __future__ import annotations

import csv
import gzip
import io
from importlib import resources

import numpy as np

SPLITS = ("train", "test")


def _bytes(name: str) -> bytes:
    raw = resources.files(__package__).joinpath("files", name).read_bytes()
    return gzip.decompress(raw) if name.endswith(".gz") else raw


def read_ts(text: str, *, where: str = "the .ts text") -> tuple[list[np.ndarray], np.ndarray]:
    """Parse ``.ts`` text into (list of (T_i, D) float32 arrays, array of str labels)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    sequences: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            if in_data:
                raise ValueError(f"{where}, line {number}: a header line {line[:30]!r} after @data")
            in_data = line.lower().startswith("@data")
            continue
        if not in_data:
            raise ValueError(f"{where}, line {number}: data before the @data line")
        *dims, label = line.split(":")
        if not dims:
            raise ValueError(f"{where}, line {number}: expected dimensions separated by ':' and a label, got "
                             f"{line[:40]!r}")
        try:
            columns = [[float("nan") if v.strip() == "?" else float(v) for v in d.split(",")] for d in dims]
        except ValueError as err:
            raise ValueError(f"{where}, line {number}: a value is not a number ({err})") from None
        if len({len(c) for c in columns}) != 1:
            raise ValueError(f"{where}, line {number}: its dimensions have different lengths "
                             f"{[len(c) for c in columns]}")
        if sequences and len(columns) != sequences[0].shape[1]:
            raise ValueError(f"{where}, line {number}: {len(columns)} dimensions, but the first case has "
                             f"{sequences[0].shape[1]}")
        sequences.append(np.array(columns, dtype=np.float32).T)        # (D, T) -> (T, D)
        labels.append(label.strip())
    if not sequences:
        raise ValueError(f"{where} holds no cases (no lines after @data)")
    return sequences, np.array(labels)


def load_japanese_vowels(split: str = "train") -> tuple[list[np.ndarray], np.ndarray]:
    """The ``split`` ("train": 270 cases, "test": 370) of JapaneseVowels (Kudo, Toyama & Shimbo
    1999; UCI): a list of (T_i, 12) float32 arrays, T_i in 7..29, and the speakers "1" … "9"."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    name = f"japanese_vowels_{split}.ts.gz"
    return read_ts(_bytes(name).decode("ascii"), where=name)


def load_movie_reviews() -> tuple[list[str], np.ndarray]:
    """Movie-review sentences (Pang & Lee's Rotten Tomatoes snippets, with the mean human ratings
    of Hutto & Gilbert 2014): 10,568 texts and their labels "positive" / "negative" (by the sign
    of the mean rating; the 37 sentences rated 0 are left out)."""
    rows = csv.reader(io.StringIO(_bytes("movie_review_snippets.csv.gz").decode("utf-8")))
    header = next(rows)
    if header != ["id", "sentiment", "text"]:
        raise ValueError(f"movie_review_snippets.csv.gz: expected columns id, sentiment, text; got {header}")
    texts, labels = [], []
    for _id, score, text in rows:
        value = float(score)
        if value != 0:
            texts.append(text)
            labels.append("positive" if value > 0 else "negative")
    return texts, np.array(labels)


__all__ = ["SPLITS", "load_japanese_vowels", "load_movie_reviews", "read_ts"]
