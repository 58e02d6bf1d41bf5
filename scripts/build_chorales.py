"""Build ``src/lstmkit/data/files/bach_chorales.npz``: Bach's 371 four-part chorales as piano rolls.

Run once, with a Python that has music21 (lstmkit itself never needs it)::

    python3 -m venv /tmp/m21 && /tmp/m21/bin/pip install music21 numpy
    /tmp/m21/bin/python scripts/build_chorales.py            # writes the .npz, prints a summary

What it does, piece by piece, in the Riemenschneider order of
``music21.corpus.chorales.Iterator(numberingSystem='riemenschneider')``:

* keeps the sung voices: the parts whose name starts with Soprano, Alto, Tenor or Bass (the
  instrumental parts of the cantata settings, trumpets, horns, timpani, continuo, are dropped;
  "Soprano Oboe 1 Violin1" is the soprano line doubled, so it stays); a score whose parts carry
  no such names keeps all of them;
* samples every eighth note: frame t (time t/2 quarter notes after the start) holds the MIDI
  pitches sounding then, i.e. of every note with onset <= t/2 < onset + duration (exact
  fractions; a note shorter than an eighth between two grid points is not sampled, as in the
  quarter-note sampling of Boulanger-Lewandowski et al. 2012);
* stores the frames as 88 piano keys (MIDI 21..108) packed 8 to a byte.

The Riemenschneider edition repeats some harmonisations under two numbers (and the corpus maps
some numbers to the same file), so the fixed 60/20/20 train/valid/test split is drawn over the
distinct rolls (seeded): identical pieces always fall in the same split.

Arrays in the file (no pickles): ``rolls`` (frames, 11) uint8 = np.packbits of the (frames, 88)
bool roll along the keys (bit order "big": key 0 = MIDI 21 is the top bit of byte 0);
``offsets`` (pieces + 1,) int64, piece i is rows offsets[i]:offsets[i+1]; ``numbers`` the
Riemenschneider numbers; ``files`` the corpus files; ``titles``; ``split`` 0 train, 1 valid,
2 test; ``frames_per_quarter`` (2) and ``lowest_pitch`` (21).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

LOWEST, KEYS, PER_QUARTER = 21, 88, 2
VOICES = ("soprano", "alto", "tenor", "bass")
SPLIT_SEED, SPLIT_FRACTIONS = 2024, (0.6, 0.2, 0.2)
OUT = Path(__file__).resolve().parents[1] / "src" / "lstmkit" / "data" / "files" / "bach_chorales.npz"


def voices(score) -> list:
    """The sung parts of ``score`` (see the module docstring)."""
    parts = list(score.parts)
    sung = [p for p in parts if (p.partName or "").split(" ")[0].lower() in VOICES]
    return sung or parts


def roll(score) -> np.ndarray:
    """(frames, 88) bool: the keys sounding at every eighth note of ``score``'s voices."""
    notes = []
    end = Fraction(0)
    for part in voices(score):
        for n in part.flatten().notes:
            start, length = Fraction(n.offset), Fraction(n.quarterLength)
            if length == 0:                    # grace notes take no time on the grid
                continue
            notes.append((start, start + length, [p.midi for p in n.pitches]))
            end = max(end, start + length)
    frames = math.ceil(end * PER_QUARTER)
    out = np.zeros((frames, KEYS), dtype=bool)
    for start, stop, pitches in notes:
        first, last = math.ceil(start * PER_QUARTER), math.ceil(stop * PER_QUARTER)   # onset <= t/2 < stop
        for midi in pitches:
            if not LOWEST <= midi < LOWEST + KEYS:
                raise ValueError(f"MIDI pitch {midi} is off the piano (21..108)")
            out[first:last, midi - LOWEST] = True
    return out


def split(rolls: list[np.ndarray]) -> np.ndarray:
    """0/1/2 per piece: a seeded 60/20/20 split of the distinct rolls, duplicates kept together."""
    keys = [hashlib.sha1(np.packbits(r, axis=1).tobytes() + bytes(str(r.shape), "ascii")).hexdigest() for r in rolls]
    groups = sorted(set(keys))
    order = np.random.default_rng(SPLIT_SEED).permutation(len(groups))
    size = {k: keys.count(k) for k in groups}
    label, done, n = {}, 0, len(rolls)
    bounds = np.cumsum(SPLIT_FRACTIONS)[:-1] * n
    for g in order:
        label[groups[g]] = int(np.searchsorted(bounds, done, side="right"))
        done += size[groups[g]]
    return np.array([label[k] for k in keys], dtype=np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the .npz (default: the package's)")
    args = parser.parse_args()
    from music21 import corpus

    started = time.perf_counter()
    names = corpus.chorales.Iterator(numberingSystem="riemenschneider", returnType="filename")
    files = list(names)
    numbers = list(names.numberList)
    rolls, titles = [], []
    for i, score in enumerate(corpus.chorales.Iterator(numberingSystem="riemenschneider")):
        rolls.append(roll(score))
        titles.append(score.metadata.title or "")
        if (i + 1) % 50 == 0:
            print(f"{i + 1}/{len(files)} parsed ({time.perf_counter() - started:.0f} s)")
    if not len(rolls) == len(files) == len(numbers):
        raise RuntimeError(f"{len(rolls)} scores, {len(files)} files and {len(numbers)} numbers: the iterator changed")
    labels = split(rolls)
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rolls])]).astype(np.int64)
    np.savez_compressed(
        args.out, rolls=np.packbits(np.concatenate(rolls), axis=1), offsets=offsets,
        numbers=np.array(numbers, dtype=np.int16), files=np.array([f.split("/")[-1] for f in files]),
        titles=np.array(titles), split=labels, frames_per_quarter=np.int64(PER_QUARTER),
        lowest_pitch=np.int64(LOWEST))
    lengths = np.diff(offsets)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB): {len(rolls)} chorales, "
          f"{offsets[-1]} eighth-note frames (per piece {lengths.min()}..{lengths.max()}, mean {lengths.mean():.0f}); "
          f"split train/valid/test {np.bincount(labels, minlength=3).tolist()}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
