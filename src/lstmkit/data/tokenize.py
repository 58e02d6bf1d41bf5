"""Text to ids and back: a ``Vocabulary`` of characters or words, built from training text.

Ids 0 and 1 are reserved: ``PAD`` (padding of variable-length batches) and ``UNK`` (any token not
seen when the vocabulary was built, or rarer than ``min_count``). ``encode`` maps unknown tokens to
``UNK`` by default (``unknown="error"`` raises instead, naming the tokens), so a model trained on
one corpus can read any text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

PAD, UNK = 0, 1
SPECIALS = ("<pad>", "<unk>")
LEVELS = ("char", "word")
#: Words: runs of letters/digits (with inner apostrophes), or single other non-space characters.
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]", re.UNICODE)


def tokens(text: str, level: str) -> list[str]:
    """Split ``text`` into characters, or lower-cased words and punctuation marks."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if level == "char":
        return list(text)
    if level == "word":
        return WORD.findall(text.lower())
    raise ValueError(f"level must be one of {', '.join(map(repr, LEVELS))}, got {level!r}")


@dataclass
class Vocabulary:
    """``itos[i]`` is the token of id ``i``; built with ``Vocabulary.build(texts, level=...)``."""

    level: str
    itos: list[str] = field(default_factory=lambda: list(SPECIALS))

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(map(repr, LEVELS))}, got {self.level!r}")
        if tuple(self.itos[:2]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with the special tokens {SPECIALS}, got {self.itos[:2]}")
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("a vocabulary's tokens must be distinct")

    @classmethod
    def build(cls, texts: Iterable[str], *, level: str = "word", min_count: int = 1,
              max_size: int | None = None) -> "Vocabulary":
        """From training ``texts``: every token seen at least ``min_count`` times, the most frequent
        first (ties in first-seen order), at most ``max_size`` ids in all (specials included)."""
        counts: Counter[str] = Counter()
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] must be a str, got {type(text).__name__}")
            counts.update(tokens(text, level))
        kept = [t for t, c in counts.most_common() if c >= min_count and t not in SPECIALS]
        if max_size is not None:
            if max_size < len(SPECIALS) + 1:
                raise ValueError(f"max_size must be at least {len(SPECIALS) + 1}, got {max_size}")
            kept = kept[: max_size - len(SPECIALS)]
        if not kept:
            raise ValueError("no tokens to build a vocabulary from: the texts are empty")
        return cls(level, list(SPECIALS) + kept)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str, *, unknown: str = "unk") -> list[int]:
        """Ids of ``text``'s tokens; tokens outside the vocabulary become ``UNK`` (``unknown="unk"``)
        or raise a ValueError naming them (``unknown="error"``)."""
        toks = tokens(text, self.level)
        ids = [self.stoi.get(t, UNK) for t in toks]
        if unknown == "error":
            missing = sorted({t for t, i in zip(toks, ids) if i == UNK})
            if missing:
                shown = ", ".join(map(repr, missing[:10])) + (" ..." if len(missing) > 10 else "")
                raise ValueError(f"{len(missing)} {self.level}(s) not in the vocabulary: {shown}")
        elif unknown != "unk":
            raise ValueError(f"unknown must be 'unk' or 'error', got {unknown!r}")
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids`` (padding dropped; words joined by spaces)."""
        out = [self.itos[i] for i in ids if i != PAD]
        return "".join(out) if self.level == "char" else " ".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "itos": self.itos}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Vocabulary":
        if not isinstance(d, dict) or "level" not in d or "itos" not in d:
            raise ValueError("a saved vocabulary is a dict with 'level' and 'itos'")
        return cls(d["level"], list(d["itos"]))


def read_text(path: Any) -> str:
    """A text file as UTF-8, with a clear error (naming the file and the byte) when it is not."""
    from pathlib import Path
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{str(p)!r} is not a file")
    raw = p.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{str(p)!r} is not UTF-8 text: byte {raw[err.start]:#04x} at offset {err.start} "
                         "cannot be decoded; convert it first (e.g. iconv -f latin1 -t utf-8)") from None


__all__ = ["LEVELS", "PAD", "UNK", "Vocabulary", "read_text", "tokens"]
