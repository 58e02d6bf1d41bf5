"""Squashing functions for the numba kernels: fast in float32, exact in float64.

In float32, ``tanh`` is a rational function (odd degree-13 numerator over even degree-6
denominator, argument clamped to ±7.9053, where tanh rounds to ±1 in float32), the form Eigen and
XLA use: no exp, no branch, so LLVM vectorises a loop of it. Its largest error against the exact
tanh is 3.5e-7 (a few float32 ulps; measured in tests/test_fused.py). ``sig(x) = (1 + tanh(x/2))/2``.
In float64 both are libm's ``math.tanh`` and ``1 / (1 + exp(-x))``, so float64 results stay exact
to rounding.
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload

_f = np.float32
_CLAMP = _f(7.90531110763549805)
_HALF = _f(0.5)
_A1, _A3, _A5, _A7 = _f(4.89352455891786e-03), _f(6.37261928875436e-04), _f(1.48572235717979e-05), _f(5.12229709037114e-08)
_A9, _A11, _A13 = _f(-8.60467152213735e-11), _f(2.00018790482477e-13), _f(-2.76076847742355e-16)
_B0, _B2, _B4, _B6 = _f(4.89352518554385e-03), _f(2.26843463243900e-03), _f(1.18534705686654e-04), _f(1.19825839466702e-06)


def tanh(x):
    """Hyperbolic tangent (see the module's docstring)."""
    return math.tanh(x)


def sig(x):
    """Logistic sigmoid (see the module's docstring)."""
    return 1.0 / (1.0 + math.exp(-x))


def _is_float32(x) -> bool:
    return isinstance(x, types.Float) and x.bitwidth == 32


@overload(tanh, inline="always")
def _tanh(x):
    if _is_float32(x):
        def impl(x):
            x = min(max(x, -_CLAMP), _CLAMP)
            x2 = x * x
            p = ((((((_A13 * x2 + _A11) * x2 + _A9) * x2 + _A7) * x2 + _A5) * x2 + _A3) * x2 + _A1) * x
            q = ((_B6 * x2 + _B4) * x2 + _B2) * x2 + _B0
            return p / q
        return impl
    return lambda x: math.tanh(x)


@overload(sig, inline="always")
def _sig(x):
    if _is_float32(x):
        return lambda x: _HALF + _HALF * tanh(_HALF * x)
    return lambda x: 1.0 / (1.0 + math.exp(-x))
