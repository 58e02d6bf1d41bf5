"""Bach's 371 chorales as piano rolls (``files/bach_chorales.npz``, built by
``scripts/build_chorales.py`` from music21's corpus; sources and licence in ``files/SOURCES.md``).

A piece is a (T, 88) float32 array: frame t holds 1 for every piano key (column k = MIDI pitch
21 + k, A0 … C8) sounding at that time, 0 elsewhere. Frames are eighth notes (``grid="eighth"``,
as stored) or quarter notes (``grid="quarter"``: every second eighth frame, the sampling of the
JSB Chorales benchmark of Boulanger-Lewandowski et al. 2012). The train/valid/test split is fixed
in the file (223/74/74 pieces, seeded, identical harmonisations in the same split).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

KEYS, LOWEST_PITCH = 88, 21
SPLITS = {"train": 0, "valid": 1, "test": 2}
#: Frames kept per stored eighth-note frame: every one, or every second.
GRIDS = {"eighth": 1, "quarter": 2}


@lru_cache(maxsize=1)
def _archive() -> dict[str, np.ndarray]:
    with resources.files(__package__).joinpath("files", "bach_chorales.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}


def _selection(split: Any) -> np.ndarray:
    """The indices of the pieces in ``split`` (None: all), in Riemenschneider order."""
    labels = _archive()["split"]
    if split is None:
        return np.arange(len(labels))
    if split not in SPLITS:
        raise ValueError(f"split must be None or one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    return np.flatnonzero(labels == SPLITS[split])


def load_chorales(split: str | None = None, *, grid: str = "eighth") -> list[np.ndarray]:
    """The chorales of ``split`` ("train", "valid", "test"; None: all 371) in Riemenschneider
    order, each a (T_i, 88) float32 piano roll of 0/1 on the ``grid`` ("eighth" or "quarter")."""
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {', '.join(map(repr, GRIDS))}, got {grid!r}")
    index = _selection(split)
    data = _archive()
    keys = np.unpackbits(data["rolls"], axis=1, count=KEYS)          # (frames, 11) bytes -> (frames, 88) bits
    offsets, every = data["offsets"], GRIDS[grid]
    return [keys[offsets[i]: offsets[i + 1]: every].astype(np.float32) for i in index]


def chorales_table(split: str | None = None, *, grid: str = "eighth") -> pd.DataFrame:
    """One row per chorale of ``split``, in the order of ``load_chorales``: its Riemenschneider
    ``number``, corpus ``file`` (BWV), ``title``, ``split`` and ``frames`` on ``grid``."""
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {', '.join(map(repr, GRIDS))}, got {grid!r}")
    index = _selection(split)
    data = _archive()
    names = {v: k for k, v in SPLITS.items()}
    stored = np.diff(data["offsets"])[index]
    return pd.DataFrame({"number": data["numbers"][index].astype(int), "file": data["files"][index],
                         "title": data["titles"][index], "split": [names[int(s)] for s in data["split"][index]],
                         "frames": -(-stored // GRIDS[grid])})


def keys_to_pitches(frame: Any) -> list[int]:
    """The MIDI pitches of the keys that are on in one (88,) frame."""
    frame = np.asarray(frame)
    if frame.shape != (KEYS,):
        raise ValueError(f"frame must have shape ({KEYS},) (piano keys MIDI 21..108), got {frame.shape}")
    return [LOWEST_PITCH + int(k) for k in np.flatnonzero(frame > 0.5)]


__all__ = ["GRIDS", "KEYS", "LOWEST_PITCH", "SPLITS", "chorales_table", "keys_to_pitches", "load_chorales"]
