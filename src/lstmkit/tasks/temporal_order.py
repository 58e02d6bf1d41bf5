"""The 1997 paper's Exp. 6: the temporal order problem (6a, 6b), as a sequence generator.

Following the paper's text (``../shared/reference/paper1997.md`` §8): 8 symbols a, b, c, d, X, Y,
E, B (one-hot, indices 0 … 7 in that order); the length is uniform in 100 … 110 (inclusive); a
sequence starts with E and ends with B (the trigger); every other position holds a random
distractor from {a, b, c, d} (uniform), except the relevant positions, which hold X or Y (each with
probability 0.5). Positions are counted from 1, E being at position 1 (so position t is 0-based
step t − 1), and each relevant position is uniform over its range, inclusive:
6a t1 ∈ [10, 20], t2 ∈ [50, 60]; 6b t1 ∈ [10, 20], t2 ∈ [33, 43], t3 ∈ [66, 76].
Classes, in the paper's order: 6a XX → Q (0), XY → R (1), YX → S (2), YY → U (3); 6b XXX → Q (0),
XXY → R, XYX → S, XYY → U, YXX → V, YXY → A, YYX → B, YYY → C (7), i.e. the relevant symbols read as
a binary number, X = 0, Y = 1, the first the most significant. All symbols, the final B included,
are inputs; the local (one-hot) target is at the sequence end only.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_int
from .base import Sequences, Task

SYMBOLS = "abcdXYEB"
X, Y, E, B = 4, 5, 6, 7
#: the 1-based ranges, inclusive, of the relevant positions
RANGES = {2: ((10, 20), (50, 60)), 3: ((10, 20), (33, 43), (66, 76))}
#: the paper's class names, by class index
CLASS_NAMES = {2: "QRSU", 3: "QRSUVABC"}
MIN_LENGTH, MAX_LENGTH = 100, 110


def _check_relevant(relevant: int) -> int:
    relevant = check_int("relevant", relevant, minimum=2)
    if relevant not in RANGES:
        raise ValueError(f"relevant must be 2 (Exp. 6a) or 3 (Exp. 6b), got {relevant}")
    return relevant


def temporal_order_sequences(n: int, relevant: int, rng: np.random.Generator) -> Sequences:
    """``n`` sequences: symbols (n, T) (−1 padding), lengths in [100, 110], targets (n, 1, 2**relevant)."""
    n = check_int("n", n, minimum=1)
    relevant = _check_relevant(relevant)
    lengths = rng.integers(MIN_LENGTH, MAX_LENGTH + 1, n).astype(np.int64)
    longest = int(lengths.max())
    rows = np.arange(n)
    symbols = rng.integers(0, 4, (n, longest)).astype(np.int32)
    symbols[np.arange(longest)[None, :] >= lengths[:, None]] = -1
    symbols[:, 0] = E
    symbols[rows, lengths - 1] = B
    bits = rng.integers(0, 2, (n, relevant))
    labels = np.zeros(n, dtype=np.int64)
    for j, (low, high) in enumerate(RANGES[relevant]):
        position = rng.integers(low, high + 1, n)
        symbols[rows, position - 1] = X + bits[:, j]
        labels = 2 * labels + bits[:, j]
    targets = np.zeros((n, 1, 2 ** relevant))
    targets[rows, 0, labels] = 1.0
    return Sequences(lengths, targets, len(SYMBOLS), symbols=symbols, labels=labels)


class TemporalOrderTask(Task):
    """Exp. 6a (``relevant=2``, 4 classes) or 6b (``relevant=3``, 8 classes): fresh sequences every time."""

    def __init__(self, relevant: int = 2) -> None:
        self.relevant = _check_relevant(relevant)
        super().__init__(inputs=len(SYMBOLS), outputs=2 ** self.relevant,
                         name="temporal_order_" + ("6a" if self.relevant == 2 else "6b"))

    def train(self, n: int, rng: np.random.Generator) -> Sequences:
        return temporal_order_sequences(n, self.relevant, rng)


__all__ = ["CLASS_NAMES", "RANGES", "SYMBOLS", "TemporalOrderTask", "temporal_order_sequences"]
