"""What a sequence classifier accepts, checked at the door: texts, or numeric sequences.

``read_inputs(X)`` -> ("text", list of str) or ("numeric", list of (T_i, F) float64 arrays):
texts are a list / tuple / 1-D array / pandas Series of str; numeric sequences a list of
(T_i, F) arrays (or (T_i,) for one feature) of any lengths, or a 3-D array (N, T, F), or a 2-D
array (N, T) of univariate sequences. Every sequence needs at least one step, the same number of
features and only finite values; the messages name the item.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TEXT, NUMERIC = "text", "numeric"


def read_inputs(X: Any, name: str = "X") -> tuple[str, list[Any]]:
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be a list of texts or sequences, got a single {type(X).__name__}; "
                        "wrap it in a list")
    if hasattr(X, "iloc") and hasattr(X, "tolist"):             # a pandas Series
        X = X.tolist()
    if isinstance(X, np.ndarray):
        return _from_array(X, name)
    if not isinstance(X, (list, tuple)):
        raise TypeError(f"{name} must be a list of texts or of (steps, features) arrays, or a 3-D array, got "
                        f"{type(X).__name__}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty: expected at least one text or sequence")
    texts = [isinstance(v, str) for v in X]
    if all(texts):
        return TEXT, list(X)
    if any(texts):
        bad = texts.index(False) if texts[0] else texts.index(True)
        raise TypeError(f"{name} mixes texts and other items: {name}[0] is a {type(X[0]).__name__} but "
                        f"{name}[{bad}] is a {type(X[bad]).__name__}")
    return NUMERIC, _numeric(list(X), name)


def _from_array(X: np.ndarray, name: str) -> tuple[str, list[Any]]:
    if X.dtype.kind in "US":
        if X.ndim != 1:
            raise ValueError(f"{name}: an array of texts must be 1-D, got shape {X.shape}")
        return read_inputs(X.tolist(), name)
    if X.dtype == object:
        return read_inputs(list(X), name)
    if X.ndim == 3:
        return NUMERIC, _numeric(list(X), name)
    if X.ndim == 2:
        return NUMERIC, _numeric([row[:, None] for row in X], name)
    raise ValueError(f"{name} must be a 3-D array (sequences, steps, features), a 2-D array (sequences, steps) "
                     f"or a list of sequences, got an array of shape {X.shape}")


def _numeric(items: list[Any], name: str) -> list[np.ndarray]:
    if not items:
        raise ValueError(f"{name} is empty: expected at least one sequence")
    out: list[np.ndarray] = []
    for i, item in enumerate(items):
        try:
            a = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name}[{i}] must be a numeric (steps, features) array, got {type(item).__name__} "
                            f"({err})") from None
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(f"{name}[{i}] must be a (steps, features) array, got shape {a.shape}")
        if a.shape[0] == 0:
            raise ValueError(f"{name}[{i}] is an empty sequence (0 steps): every sequence needs at least one step")
        if out and a.shape[1] != out[0].shape[1]:
            raise ValueError(f"{name}[{i}] has {a.shape[1]} features but {name}[0] has {out[0].shape[1]}: "
                             "every sequence needs the same features")
        if not np.isfinite(a).all():
            step, feature = (int(v) for v in np.argwhere(~np.isfinite(a))[0])
            raise ValueError(f"{name}[{i}] has a non-finite value ({a[step, feature]}) at step {step}, feature "
                             f"{feature}; fill or drop missing values first")
        out.append(a)
    return out


def pad(sequences: list[np.ndarray], dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """(N, T_max, ...) zero-padded array and (N,) int64 lengths of ``sequences`` (first axis = steps)."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    shape = (len(sequences), int(lengths.max())) + tuple(np.shape(sequences[0])[1:])
    out = np.zeros(shape, dtype=dtype)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return out, lengths


__all__ = ["NUMERIC", "TEXT", "pad", "read_inputs"]
