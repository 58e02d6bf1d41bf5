"""Stratified splits and k-fold cross-validation for classifiers (no scikit-learn needed).

``stratified_folds(y, folds, seed)``: each class's items are shuffled (seeded) and dealt in turn
to the folds, continuing from fold to fold across classes, so that every fold holds each class in
proportion (counts differ by at most one) and the fold sizes differ by at most one.
``cross_val_score(estimator, X, y, folds=10, seed=0)`` fits a fresh copy of ``estimator``
(``type(estimator)(**estimator.get_params())``) on all folds but one and scores it on that one.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .._checks import check_float, check_int


def as_labels(y: Any, name: str = "y") -> list[Any]:
    """``y`` as a list of hashable Python labels (numpy scalars unwrapped); NaN and None refused."""
    if isinstance(y, str) or not hasattr(y, "__len__"):
        raise TypeError(f"{name} must be a sequence of labels (list, numpy array, pandas Series), "
                        f"got {type(y).__name__}")
    values = y.tolist() if hasattr(y, "tolist") else list(y)
    if isinstance(y, np.ndarray) and y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per item), got shape {y.shape}")
    out = []
    for i, v in enumerate(values):
        v = v.item() if isinstance(v, np.generic) else v
        if v is None or isinstance(v, float) and v != v:
            raise ValueError(f"{name}[{i}] is a missing label ({v!r}); drop the item or give it a label")
        try:
            hash(v)
        except TypeError:
            raise TypeError(f"{name}[{i}] must be a hashable label (str, int, ...), got {type(v).__name__}") from None
        out.append(v)
    return out


def stratified_folds(y: Any, folds: int, seed: int = 0) -> list[np.ndarray]:
    """The test indices of each of ``folds`` stratified folds of labels ``y`` (sorted arrays)."""
    labels = as_labels(y)
    check_int("folds", folds, minimum=2)
    check_int("seed", seed, minimum=0)
    if folds > len(labels):
        raise ValueError(f"folds must be at most the number of items ({len(labels)}), got {folds}")
    rng = np.random.default_rng(seed)
    by_class: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    parts: list[list[int]] = [[] for _ in range(folds)]
    turn = 0
    for label in sorted(by_class, key=repr):                 # a fixed order whatever the label types
        for i in rng.permutation(by_class[label]):
            parts[turn % folds].append(int(i))
            turn += 1
    return [np.array(sorted(p), dtype=np.int64) for p in parts]


def stratified_split(y: Any, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) indices: ``round(fraction * n_c)`` random items of each class ``c`` held
    out, but never a class's last item (so that every class is trained on)."""
    labels = as_labels(y)
    check_float("fraction", fraction, low=0.0, high=0.9)
    rng = np.random.default_rng(seed)
    by_class: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    held: list[int] = []
    for label in sorted(by_class, key=repr):
        members = rng.permutation(by_class[label])
        held += [int(i) for i in members[: min(int(round(fraction * len(members))), len(members) - 1)]]
    mask = np.zeros(len(labels), dtype=bool)
    mask[held] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def take(X: Any, index: Sequence[int]) -> Any:
    """The items ``index`` of ``X`` (a numpy array, pandas Series or list), in the same kind."""
    if isinstance(X, np.ndarray):
        return X[np.asarray(index)]
    if hasattr(X, "iloc"):
        return X.iloc[np.asarray(index)]
    items = list(X)
    return [items[int(i)] for i in index]


def cross_val_score(estimator: Any, X: Any, y: Any, folds: int = 10, seed: int = 0, *,
                    report: Callable[[int, float], None] | None = None) -> np.ndarray:
    """The score (``estimator.score``: accuracy for a classifier) on each of ``folds`` stratified
    folds, each by a fresh copy of ``estimator`` fitted on the other folds. ``report(fold, score)``
    is called after each fold (for progress)."""
    for method in ("get_params", "fit", "score"):
        if not callable(getattr(estimator, method, None)):
            raise TypeError(f"estimator must have fit, score and get_params (a scikit-learn style estimator), "
                            f"got {type(estimator).__name__} without {method}")
    labels = as_labels(y)
    if len(labels) != len(X):
        raise ValueError(f"X and y must have the same number of items, got {len(X)} and {len(labels)}")
    smallest = min(labels.count(c) for c in set(labels))
    if smallest < folds:
        raise ValueError(f"folds = {folds} needs at least {folds} items of every class (each fold tests every "
                         f"class), but the smallest class has {smallest}; use fewer folds")
    parts = stratified_folds(labels, folds, seed)
    scores = []
    everything = np.arange(len(labels))
    for k, test in enumerate(parts):
        train = np.setdiff1d(everything, test)
        model = type(estimator)(**estimator.get_params())
        model.fit(take(X, train), [labels[i] for i in train])
        scores.append(float(model.score(take(X, test), [labels[i] for i in test])))
        if report is not None:
            report(k, scores[-1])
    return np.array(scores)


__all__ = ["as_labels", "cross_val_score", "stratified_folds", "stratified_split", "take"]
