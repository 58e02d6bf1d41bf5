"""Zoneout (Krueger et al. 2017, "Zoneout: Regularizing RNNs by Randomly Preserving Hidden
Activations"), as every engine receives it.

At each step a unit keeps its previous value with probability p: c_t = d_c ⊙ c_{t-1} +
(1 − d_c) ⊙ c̃_t and h_t = d_h ⊙ h_{t-1} + (1 − d_h) ⊙ h̃_t, where c̃_t, h̃_t are the cell's ordinary
new state (h̃_t computed from c̃_t); in eval the masks d are replaced by their expectation p.

The masks are counter-based (``_rng``): element (t, b, j) of a direction's (T, B, F) mask is 1 iff
u < p, u one 32-bit half of SplitMix64 output number (b·T + t)·ceil(F/2) + (j mod ceil(F/2)) (the
low half for the row's first ceil(F/2) elements, the high one for the rest; Steele, Lea & Flood
2014) started at a 63-bit seed. The seeds come from torch's generator, two per call, layer and
direction, so ``torch.manual_seed`` reproduces the masks. Every element is computed on its own,
so the fused kernels draw each mask row where they use it (no (T, B, F) tensor, no pass over
memory) and again in backward, at under 1 ns an element; torch's ``bernoulli_`` took ~11 ns
(4.6 ms for one (100, 32, 128) mask, against ~25 ms for the fused forward+backward of that
shape, one thread). The reference engine gets the very same masks as tensors from
``Zoneout.weights``. The index does not depend on the batch size, so a batch split into chunks
draws the same masks.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

OFF, DRAW, EXPECT = 0, 1, 2


def threshold(p: float) -> int:
    """u = k / 2^32 < p  ⇔  k < ceil(p · 2^32), for k the integer of a 32-bit half."""
    return math.ceil(p * 2.0 ** 32)


def masks(seed: int, p: float, steps: int, batch: int, size: int) -> np.ndarray:
    """The (steps, batch, size) float64 mask of ``seed``: 1 where a unit keeps its previous value."""
    from . import _rng                          # numba compiles on first use, not at import
    out = np.empty((steps, batch, size), dtype=np.float64)
    _rng.draw(np.uint64(seed), np.uint64(threshold(p)), out)
    return out


class Zoneout(NamedTuple):
    """Zoneout of one direction in one call: ``p_cell``, ``p_hidden`` the probabilities that a unit
    keeps its previous value; ``seeds`` (cell, hidden) the masks' keys in training, None in eval
    (the expectation)."""

    p_cell: float
    p_hidden: float
    seeds: tuple[int, int] | None

    @classmethod
    def draw(cls, p_cell: float, p_hidden: float, training: bool) -> "Zoneout":
        """In training, two fresh seeds from torch's generator (the cell's first)."""
        if not training:
            return cls(p_cell, p_hidden, None)
        cell, hidden = torch.randint(0, 2 ** 63 - 1, (2,)).tolist()
        return cls(p_cell, p_hidden, (cell, hidden))

    def weights(self, part: int, steps: int, batch: int, size: int, like: Tensor) -> Tensor | float | None:
        """The weight of the previous value at every step, part 0 the cell, 1 the hidden state: a
        (steps, batch, size) 0/1 mask of ``like``'s dtype and device in training, p in eval; None
        where p is 0."""
        p = (self.p_cell, self.p_hidden)[part]
        if p == 0.0:
            return None
        if self.seeds is None:
            return p
        return torch.from_numpy(masks(self.seeds[part], p, steps, batch, size)).to(like)

    def kernel_args(self) -> tuple:
        """(mode, seed_c, seed_h, threshold_c, threshold_h, p_c, p_h), as the numba kernels take it."""
        seeds = self.seeds or (0, 0)
        return (EXPECT if self.seeds is None else DRAW, np.uint64(seeds[0]), np.uint64(seeds[1]),
                np.uint64(threshold(self.p_cell)), np.uint64(threshold(self.p_hidden)),
                float(self.p_cell), float(self.p_hidden))


#: The kernels' argument when zoneout is off.
NO_ZONEOUT = (OFF, np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0), 0.0, 0.0)
