"""The 1997 paper's adding (Exp. 4) and multiplication (Exp. 5) problems: sequence generators.

Each step is a pair (value, marker). Following the paper's text (``../shared/reference/paper1997.md``
§6–7): the length is uniform in [T, T + T/10]; values are uniform in [−1, 1] (multiplication:
[0, 1]); one of the first ten pairs is marked (X1), then one of the first T/2 − 1 still unmarked
pairs (X2); every other marker is 0 except the first and the last pair, which get −1. If the first
pair is the one marked for X1, it keeps the −1 and X1 counts as 0 (multiplication: 1.0). X2 is
drawn uniformly among the T/2 − 1 positions 1 … T/2 (0-based) other than X1's, never the first
(which carries −1), so the last relevant input is at most at 0-based step T/2 and the lag to the
sequence end is at least T/2 − 1 steps. Targets, at the sequence end only:
0.5 + (X1 + X2) / 4 (adding) or X1 · X2 (multiplication).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .._checks import check_bool, check_int
from .base import Sequences, Task


def adding_sequences(n: int, T: int, rng: np.random.Generator, *, multiply: bool = False) -> Sequences:
    """``n`` sequences: x (n, T_max, 2) [value, marker], lengths in [T, T + T // 10], targets (n, 1, 1)."""
    n = check_int("n", n, minimum=1)
    T = check_int("T", T, minimum=12)              # X1 among the first 10 pairs, X2 among pairs 2 … T/2
    check_bool("multiply", multiply)
    lengths = T + rng.integers(0, T // 10 + 1, n)
    longest = int(lengths.max())
    low = 0.0 if multiply else -1.0
    values = rng.uniform(low, 1.0, (n, longest))
    pad = np.arange(longest)[None, :] >= lengths[:, None]
    values[pad] = 0.0
    rows = np.arange(n)
    first = rng.integers(0, 10, n)                                              # X1's pair
    # X2: the (pick+1)-th of the pairs after the first that are not X1's: T/2 - 1 candidates, at most pair T/2
    second = 1 + rng.integers(0, T // 2 - 1, n)
    second = second + ((first >= 1) & (second >= first))
    markers = np.zeros((n, longest))
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    markers[:, 0] = -1.0
    markers[rows, lengths - 1] = -1.0
    markers[pad] = 0.0
    x1 = np.where(first == 0, 1.0 if multiply else 0.0, values[rows, first])
    x2 = values[rows, second]
    target = x1 * x2 if multiply else 0.5 + (x1 + x2) / 4.0
    return Sequences(lengths.astype(np.int64), target.reshape(n, 1, 1), 2, x=np.stack([values, markers], axis=-1))


class AddingTask(Task):
    """Exp. 4 (or, with ``multiply``, Exp. 5) at minimal length ``T``: fresh sequences every time."""

    def __init__(self, T: int = 100, multiply: bool = False) -> None:
        super().__init__(inputs=2, outputs=1, name="multiplication" if multiply else "adding")
        self.T = check_int("T", T, minimum=12)
        self.multiply = check_bool("multiply", multiply)

    def train(self, n: int, rng: np.random.Generator) -> Sequences:
        return adding_sequences(n, self.T, rng, multiply=self.multiply)


def adding_batch(n: int, T: int, *, multiply: bool = False,
                 generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """The same sequences as tensors: x (n, T_max, 2) float32, lengths (n,) int64, targets (n,).
    ``generator`` seeds the draw (a fresh numpy generator is seeded from it)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    x, lengths, target = adding_sequences(n, T, np.random.default_rng(seed), multiply=multiply).to_torch()
    return x, lengths, target.reshape(-1)


__all__ = ["AddingTask", "adding_batch", "adding_sequences"]
