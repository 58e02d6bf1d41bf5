"""The 1997 paper's Exp. 2: noise-free and noisy sequences with long time lags (2a, 2b, 2c).

Following the paper's text (``../shared/reference/paper1997.md`` §4):

2a (``NoiseFreeTask``): p + 1 symbols a_1 … a_{p−1}, x = a_p, y = a_{p+1}, one-hot, stored as
indices a_i → i − 1, x → p − 1, y → p. Only two sequences exist, (y, a_1, …, a_{p−1}, y) and
(x, a_1, …, a_{p−1}, x), each drawn with probability 0.5. The net predicts the next symbol at every
step, so the inputs are a sequence's first p symbols and the targets (p + 1 outputs) the one-hot
next symbol at each of those p steps.

2b (``RandomMiddleTask``): as 2a, but the p − 1 middle symbols are drawn independently and
uniformly from a_1 … a_{p−1}; same inputs and targets (only the last one is predictable).

2c (``ManyDistractorsTask``): p + 4 symbols: distractors a_1 … a_p (indices 0 … p − 1), e = p,
b = p + 1, x = p + 2, y = p + 3. Generated as the paper describes: b, then x or y (probability 0.5
each), then q random distractors (the "prefix of length q + 2"), then repeatedly a random
distractor with probability 9/10 or e with probability 1/10 (which stops the appending), and
finally the x or y of the second element. Distractors are uniform over all p distractor symbols:
the paper's set notation restricts their indices to 1 … q, which contradicts both its generation
procedure ("random distractors ≠ b, e, x, y") and its "each distractor occurs ≈ q/p times"
(paper1997.md §12.5), so the procedure is followed. The inputs are every symbol but the last; the
error is at the sequence end only, on 2 output units: [1, 0] for x, [0, 1] for y.
The minimal length is q + 4 symbols, as the paper says. The number of distractors appended after
the prefix is geometric (k ≥ 0 with probability 0.9^k · 0.1, mean 9), so this procedure's expected
length is q + 13 symbols (q + 12 inputs), one less than the paper's stated q + 14; each distractor
then occurs (q + 9)/p times on average (the paper: ≈ q/p).

Labels: 0 for x, 1 for y.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_bool, check_int
from .base import Sequences, Task


def long_lag_sequences(n: int, p: int, rng: np.random.Generator, *, random_middle: bool = False) -> Sequences:
    """Exp. 2a (or, with ``random_middle``, 2b): symbols (n, p), targets (n, p, p + 1) the next symbol."""
    n = check_int("n", n, minimum=1)
    p = check_int("p", p, minimum=2)
    check_bool("random_middle", random_middle)
    labels = rng.integers(0, 2, n)
    first = (p - 1) + labels                                     # x = p − 1, y = p
    if random_middle:
        middle = rng.integers(0, p - 1, (n, p - 1))
    else:
        middle = np.broadcast_to(np.arange(p - 1), (n, p - 1))
    seq = np.concatenate([first[:, None], middle, first[:, None]], axis=1)      # (n, p + 1)
    targets = np.zeros((n, p, p + 1))
    targets[np.arange(n)[:, None], np.arange(p)[None, :], seq[:, 1:]] = 1.0
    return Sequences(np.full(n, p, dtype=np.int64), targets, p + 1, symbols=seq[:, :-1].astype(np.int32),
                     every_step=True, labels=labels.astype(np.int64))


def many_distractors_sequences(n: int, q: int, p: int, rng: np.random.Generator) -> Sequences:
    """Exp. 2c: symbols (n, T) (every symbol but the last, −1 padding), targets (n, 1, 2)."""
    n = check_int("n", n, minimum=1)
    q = check_int("q", q, minimum=1)
    p = check_int("p", p, minimum=1)
    e, b, x = p, p + 1, p + 2
    labels = rng.integers(0, 2, n)
    extra = rng.geometric(0.1, n) - 1                 # distractors appended before e: P(k) = 0.9^k · 0.1
    lengths = (q + 3 + extra).astype(np.int64)        # inputs: b, x|y, q + k distractors, e
    T = int(lengths.max())
    rows = np.arange(n)
    steps = np.arange(T)[None, :]
    symbols = rng.integers(0, p, (n, T)).astype(np.int32)
    symbols[steps >= lengths[:, None]] = -1
    symbols[:, 0] = b
    symbols[:, 1] = x + labels
    symbols[rows, lengths - 1] = e
    targets = np.zeros((n, 1, 2))
    targets[rows, 0, labels] = 1.0
    return Sequences(lengths, targets, p + 4, symbols=symbols, labels=labels.astype(np.int64))


class NoiseFreeTask(Task):
    """Exp. 2a at delay ``p``: the two fixed sequences, each with probability 0.5."""

    random_middle = False

    def __init__(self, p: int = 100) -> None:
        self.p = check_int("p", p, minimum=2)
        super().__init__(inputs=self.p + 1, outputs=self.p + 1, every_step=True,
                         name="random_middle" if self.random_middle else "noise_free")

    def train(self, n: int, rng: np.random.Generator) -> Sequences:
        return long_lag_sequences(n, self.p, rng, random_middle=self.random_middle)


class RandomMiddleTask(NoiseFreeTask):
    """Exp. 2b at delay ``p``: the p − 1 middle symbols random, the ends x…x or y…y."""

    random_middle = True


class ManyDistractorsTask(Task):
    """Exp. 2c: minimal lag ``q`` + 1, ``p`` distractor symbols, error at the sequence end only."""

    def __init__(self, q: int, p: int) -> None:
        self.q = check_int("q", q, minimum=1)
        self.p = check_int("p", p, minimum=1)
        super().__init__(inputs=self.p + 4, outputs=2, name="many_distractors")

    def train(self, n: int, rng: np.random.Generator) -> Sequences:
        return many_distractors_sequences(n, self.q, self.p, rng)


__all__ = ["ManyDistractorsTask", "NoiseFreeTask", "RandomMiddleTask", "long_lag_sequences",
           "many_distractors_sequences"]
