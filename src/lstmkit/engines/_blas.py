"""A matrix product that numba kernels can call: the OpenBLAS that ships inside numpy's wheel.

The fused engine's per-step recurrent product is a small matrix product (batch x recurrent size
times recurrent size x pre-activations). A loop in numba is best for the tiny networks of the 1997
experiments; from a few thousand multiply-adds per step on, a real GEMM wins by far. numpy's wheels
bundle OpenBLAS (ILP64, symbols ``scipy_cblas_sgemm64_``/``scipy_cblas_dgemm64_``), which picks its
AVX-512 or AVX2 kernels for the CPU at load time, so we load that library with ctypes and make its
two GEMMs known to numba's linker under fixed names (``lstmkit_sgemm``, ``lstmkit_dgemm``). The
kernels call them as external functions, which keeps numba's on-disk cache valid across processes.

If no such library is found (an unusual numpy build), ``AVAILABLE`` is False, the names point at
numba-compiled loops with the same signature, and the engine never asks for BLAS: results are the
same, only large shapes are slower.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys

import llvmlite.binding as llvm
import numba
import numpy as np
from numba import types

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

_INT = types.int64
_PTR = types.voidptr


def _signature(real: types.Type) -> types.Signature:
    return types.void(types.int32, types.int32, types.int32, _INT, _INT, _INT, real, _PTR, _INT,
                      _PTR, _INT, real, _PTR, _INT)


sgemm = types.ExternalFunction("lstmkit_sgemm", _signature(types.float32))
dgemm = types.ExternalFunction("lstmkit_dgemm", _signature(types.float64))


def _candidates() -> list[str]:
    root = os.path.dirname(np.__file__)
    patterns = [os.path.join(root, "..", "numpy.libs", "*openblas*"),      # Linux wheels
                os.path.join(root, ".dylibs", "*openblas*"),                # macOS wheels
                os.path.join(root, "..", "numpy.libs", "*openblas*.dll")]   # Windows wheels
    return sorted({p for pattern in patterns for p in glob.glob(pattern)})


def _load() -> tuple[ctypes.CDLL, str] | None:
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_", ""):
            if hasattr(lib, f"{prefix}cblas_sgemm64_") and hasattr(lib, f"{prefix}cblas_dgemm64_"):
                return lib, prefix
    return None


def _fallback(real: types.Type, dtype: type):
    """A numba cfunc with cblas_?gemm's signature for row-major operands: C = alpha op(A) op(B) + beta C."""

    @numba.cfunc(_signature(real), nopython=True)
    def gemm(order, trans_a, trans_b, m, n, k, alpha, a_ptr, lda, b_ptr, ldb, beta, c_ptr, ldc):
        a = numba.carray(a_ptr, (k if trans_a == TRANS else m, lda), dtype)
        b = numba.carray(b_ptr, (n if trans_b == TRANS else k, ldb), dtype)
        c = numba.carray(c_ptr, (m, ldc), dtype)
        for i in range(m):
            for j in range(n):
                acc = 0.0
                for p in range(k):
                    acc += ((a[p, i] if trans_a == TRANS else a[i, p])
                            * (b[j, p] if trans_b == TRANS else b[p, j]))
                c[i, j] = alpha * acc + beta * c[i, j]

    return gemm


#: LSTMKIT_NO_BLAS=1 in the environment forces the loops (to test them).
_found = None if os.environ.get("LSTMKIT_NO_BLAS") == "1" else _load()
AVAILABLE = _found is not None
if _found is not None:
    _lib, _prefix = _found
    llvm.add_symbol("lstmkit_sgemm", ctypes.cast(getattr(_lib, f"{_prefix}cblas_sgemm64_"), ctypes.c_void_p).value)
    llvm.add_symbol("lstmkit_dgemm", ctypes.cast(getattr(_lib, f"{_prefix}cblas_dgemm64_"), ctypes.c_void_p).value)
    _set_threads = next((getattr(_lib, name) for name in (f"{_prefix}openblas_set_num_threads64_",
                                                          "openblas_set_num_threads64_",
                                                          "openblas_set_num_threads")
                         if hasattr(_lib, name)), None)
    if _set_threads is not None:
        _set_threads.argtypes = [ctypes.c_int]
        _set_threads.restype = None
else:
    _fallbacks = (_fallback(types.float32, np.float32), _fallback(types.float64, np.float64))  # kept alive: numba calls them
    llvm.add_symbol("lstmkit_sgemm", _fallbacks[0].address)
    llvm.add_symbol("lstmkit_dgemm", _fallbacks[1].address)
    _set_threads = None

_threads = -1


def set_threads(n: int) -> None:
    """Let OpenBLAS use ``n`` threads (the engine passes ``torch.get_num_threads()``)."""
    global _threads
    if _set_threads is not None and n != _threads:
        _set_threads(int(n))
        _threads = n


def library() -> str:
    """Which GEMM the fused engine calls, for reports."""
    if _found is None:
        return "none (numba loops)"
    return os.path.basename(_found[0]._name) if sys.platform != "win32" else _found[0]._name
