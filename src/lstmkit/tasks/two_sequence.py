"""The 1997 paper's Exp. 3: noise and signal on the same channel (Bengio et al.'s 2-sequence
problem; 3a, 3b, 3c), as a sequence generator.

Following the paper's text (``../shared/reference/paper1997.md`` §5): one input line; the length
is uniform in [T, T + T/10] (T/10 rounded down, as in the adding problem; Bengio's extra length
T/2 is not used); class 1 or class 2 with probability 0.5 each. The first N elements are +1.0
(class 1) or −1.0 (class 2); every later element is Gaussian with mean 0 and variance 0.2 (standard
deviation √0.2, not 0.2). The target, at the sequence end only, is 1.0 (class 1) or 0.0 (class 2).
3b (``noisy_info``): Gaussian noise of mean 0 and variance 0.2 is added to the first N elements too.
3c (``noisy_targets``): the targets are 0.2 (class 1) and 0.8 (class 2) plus Gaussian noise of mean
0 and variance 0.1, drawn afresh for every sequence; ``clean`` holds the noise-free 0.2 / 0.8, against
which the paper judges the net. The two options are independent (the paper's 3c has clean inputs).
Labels: 0 for class 1, 1 for class 2.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_bool, check_int
from .base import Sequences, Task

NOISE_VARIANCE = 0.2           # the elements after the first N, and 3b's noise on the first N
TARGET_NOISE_VARIANCE = 0.1    # 3c


def _check(T: int, N: int) -> tuple[int, int]:
    T = check_int("T", T, minimum=2)
    N = check_int("N", N, minimum=1)
    if N >= T:
        raise ValueError(f"N must be < T (the information must be followed by noise), got N={N}, T={T}")
    return T, N


def two_sequence_sequences(n: int, T: int, N: int, rng: np.random.Generator, *, noisy_info: bool = False,
                           noisy_targets: bool = False) -> Sequences:
    """``n`` sequences: x (n, T_max, 1), lengths in [T, T + T // 10], targets (n, 1, 1)."""
    n = check_int("n", n, minimum=1)
    T, N = _check(T, N)
    check_bool("noisy_info", noisy_info)
    check_bool("noisy_targets", noisy_targets)
    labels = rng.integers(0, 2, n)
    lengths = (T + rng.integers(0, T // 10 + 1, n)).astype(np.int64)
    longest = int(lengths.max())
    x = rng.normal(0.0, np.sqrt(NOISE_VARIANCE), (n, longest))
    info = np.where(labels == 0, 1.0, -1.0)[:, None] * np.ones(N)
    if noisy_info:
        info = info + rng.normal(0.0, np.sqrt(NOISE_VARIANCE), (n, N))
    x[:, :N] = info
    x[np.arange(longest)[None, :] >= lengths[:, None]] = 0.0
    clean = None
    if noisy_targets:
        clean = np.where(labels == 0, 0.2, 0.8)
        target = clean + rng.normal(0.0, np.sqrt(TARGET_NOISE_VARIANCE), n)
        clean = clean.reshape(n, 1, 1)
    else:
        target = np.where(labels == 0, 1.0, 0.0)
    return Sequences(lengths, target.reshape(n, 1, 1), 1, x=x[:, :, None], clean=clean,
                     labels=labels.astype(np.int64))


class TwoSequenceTask(Task):
    """Exp. 3a at minimal length ``T`` with ``N`` information-carrying elements; ``noisy_info`` gives
    3b, ``noisy_targets`` 3c. Fresh sequences every time."""

    def __init__(self, T: int = 100, N: int = 3, noisy_info: bool = False, noisy_targets: bool = False) -> None:
        self.T, self.N = _check(T, N)
        self.noisy_info = check_bool("noisy_info", noisy_info)
        self.noisy_targets = check_bool("noisy_targets", noisy_targets)
        name = "two_sequence_" + ("3c" if noisy_targets else "3b" if noisy_info else "3a")
        super().__init__(inputs=1, outputs=1, name=name)

    def train(self, n: int, rng: np.random.Generator) -> Sequences:
        return two_sequence_sequences(n, self.T, self.N, rng, noisy_info=self.noisy_info,
                                      noisy_targets=self.noisy_targets)


__all__ = ["NOISE_VARIANCE", "TARGET_NOISE_VARIANCE", "TwoSequenceTask", "two_sequence_sequences"]
