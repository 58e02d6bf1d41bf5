"""A one-line text progress bar that works in a terminal and in a CI log alike."""

from __future__ import annotations

import sys
from typing import TextIO


def bar(done: int, total: int, width: int = 24) -> str:
    filled = round(width * done / max(total, 1))
    return "[" + "#" * filled + "." * (width - filled) + "]"


def line(done: int, total: int, text: str, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(f"{bar(done, total)} {done:>{len(str(total))}}/{total} {text}\n")
    stream.flush()
