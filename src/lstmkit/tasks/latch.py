"""The latch: remember one bit across a long stretch of noise.

The sign of the first input (±1) must be reported after ``length`` steps; every later input is
Gaussian noise. It is the core of the 1997 paper's long-time-lag experiments (the two-sequence
problem of Exp. 2c/3 in its simplest form), small enough to train in seconds.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_float, check_int


def latch_batch(batch: int, length: int, *, noise: float = 0.5,
                generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """x: (length, batch, 1) time-major; y: (batch,) in {0, 1}, 1 where the first input was +1."""
    check_int("batch", batch, minimum=1)
    check_int("length", length, minimum=2)
    check_float("noise", noise, low=0.0)
    y = torch.randint(0, 2, (batch,), generator=generator)
    x = torch.randn(length, batch, 1, generator=generator) * noise
    x[0, :, 0] = y * 2.0 - 1.0
    return x, y.float()
