"""The zoneout masks' counter-based generator, compiled by numba (see _zoneout for the scheme).

Row r = b·T + t of a direction's (T, B, F) mask takes P = ceil(F / 2) outputs of SplitMix64 started
at the mask's seed, numbers r·P .. r·P + P − 1: output r·P + i gives element i its low 32 bits and
element P + i its high 32 bits, and an element keeps its previous value iff those bits are below
ceil(p · 2^32). Two elements per output halve the multiplies, the cost that counts (the kernels
draw every row twice: forward and backward).
The kernels inline these functions, and numba's disk cache checks only the kernel file's own
date: after editing this file, touch _kernels.py and _kernels_layernorm.py.
"""

from __future__ import annotations

import numba
import numpy as np

from ._zoneout import EXPECT

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW = np.uint64(0xFFFFFFFF)
_S27, _S30, _S31, _S32 = np.uint64(27), np.uint64(30), np.uint64(31), np.uint64(32)


@numba.njit(inline="always")
def _finalise(z):
    """SplitMix64's output function of its state z (uint64)."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@numba.njit(inline="always")
def splitmix64(seed, i):
    """Output number ``i`` (from 0) of SplitMix64 started at ``seed``; uint64 in, uint64 out."""
    return _finalise(seed + (i + np.uint64(1)) * _GAMMA)


@numba.njit(inline="always")
def row(seed, thr, r, out):
    """out (F,) = row r of the mask keyed by ``seed``: 1.0 where the unit keeps its previous
    value, else 0.0. Loops that only write: they vectorise with no aliasing check."""
    n = out.shape[0]
    half = (n + 1) // 2
    state = seed + np.uint64(r) * np.uint64(half) * _GAMMA    # SplitMix64's state before output r·P
    for i in range(n - half):
        state += _GAMMA                              # an induction: no multiply for the index
        z = _finalise(state)
        out[i] = 1.0 if (z & _LOW) < thr else 0.0
        out[half + i] = 1.0 if (z >> _S32) < thr else 0.0
    if n % 2:                                        # an odd row's middle element: a low half alone
        state += _GAMMA
        out[half - 1] = 1.0 if (_finalise(state) & _LOW) < thr else 0.0


@numba.njit(inline="always")
def weights(zone, part, b, t, steps, out):
    """out (F,) = the weight of the previous value in row (t, b): the mask in training, p in eval.
    ``zone`` is ``Zoneout.kernel_args()``, part 0 the cell, 1 the hidden state, b the row's
    index in the whole batch, steps the call's T."""
    if zone[0] == EXPECT:
        p = zone[5] if part == 0 else zone[6]
        for j in range(out.shape[0]):
            out[j] = p
    elif part == 0:
        row(zone[1], zone[3], b * steps + t, out)
    else:
        row(zone[2], zone[4], b * steps + t, out)


@numba.njit(inline="always")
def mix(w, prev, new):
    """new (n,) = zoneout's value: w ⊙ prev + (1 − w) ⊙ new, w (at least n) the row's weights.
    Branch-free: a select on the random bits would mispredict wherever it is not vectorised."""
    one = new.dtype.type(1.0)                        # a float64 1.0 would turn the loop to scalar float64
    for j in range(new.shape[0]):
        new[j] = w[j] * prev[j] + (one - w[j]) * new[j]


@numba.njit(inline="always")
def split(w, g, kept):
    """mix's backward: of the gradient g (n,) reaching the zoned value, kept (n,) = the share that
    goes straight to the previous value (w ⊙ g); g keeps the rest, (1 − w) ⊙ g, what reaches the
    ordinary new value."""
    for j in range(g.shape[0]):
        kept[j] = w[j] * g[j]
        g[j] -= kept[j]


@numba.njit(cache=True)
def draw(seed, thr, out):
    """out (T, B, F) = the whole mask, as the kernels draw it row by row."""
    steps, batch = out.shape[0], out.shape[1]
    for t in range(steps):
        for b in range(batch):
            row(seed, thr, b * steps + t, out[t, b])
