"""Text corpora that ship with lstmkit (``data/files``; sources and licences in its SOURCES.md).

``load_shakespeare()``: the 42 modern-spelling works of Shakespeare as one string (5,057,280
characters, read from an xz file with the standard library's ``lzma``; nothing is downloaded).
``split_text(text, val_fraction)``: (train, validation) for language modelling, the validation
part being the text's end, cut at a line boundary.
"""

from __future__ import annotations

import lzma
from importlib import resources

from .._checks import check_float

SHAKESPEARE = "shakespeare.txt.xz"


def load_shakespeare() -> str:
    """Shakespeare's 42 works in modern spelling (the ``*_gut.txt`` texts of the ``shakespeare``
    0.6 package), in sorted file-name order, one blank line between works."""
    raw = resources.files(__package__).joinpath("files", SHAKESPEARE).read_bytes()
    return lzma.decompress(raw).decode("utf-8")


def split_text(text: str, val_fraction: float = 0.05) -> tuple[str, str]:
    """(train, val): ``val`` is the last ``val_fraction`` of ``text``, starting at the beginning
    of a line (the first line that starts at or after the cut; if the tail holds no line start,
    the last line start before the cut). ``train + val == text``. ``val_fraction = 0`` gives
    ``(text, "")``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    check_float("val_fraction", val_fraction, low=0.0, high=0.9)
    if val_fraction == 0:
        return text, ""
    if len(text) < 2:
        raise ValueError(f"text has {len(text)} character(s): too short to hold out val_fraction = {val_fraction} "
                         "of it; pass a longer text or val_fraction=0")
    cut = len(text) - max(1, round(len(text) * val_fraction))
    after = text.find("\n", cut - 1)           # the newline ending the line the cut falls in (or at)
    if 0 <= after < len(text) - 1:
        start = after + 1
    else:
        before = text.rfind("\n", 0, cut)
        start = before + 1 if before >= 0 else cut
    if start <= 0:                             # one single line: cut inside it rather than hold out everything
        start = cut
    return text[:start], text[start:]


__all__ = ["load_shakespeare", "split_text"]
