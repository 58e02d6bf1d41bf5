"""The paper's success criteria and stopping rules, as data, with the arithmetic that applies them.

A ``Criterion`` says when one sequence is processed correctly (Table 11's ABS(β), the embedded
Reber grammar's "possible next symbols most active", Exp. 3c's distance to the noise-free target).
A trial stops on a ``Window`` rule (ST3(β) and Exp. 5's n_seq rule: over the most recent training
sequences) or on a ``Check`` (every ``every`` training sequences, a test with one or more
``Stage``\\ s: Exp. 3's ST1 then ST2, Exp. 1's "all strings of the training and test sets right",
Exp. 2's "10,000 successive random sequences right"). ``Test`` is the test after stopping.
Every figure comes from ``../shared/reference/paper1997.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..tasks.base import Sequences, concat


@dataclass(frozen=True)
class Criterion:
    """When one sequence counts as right.

    kind "abs":   every output within ``threshold`` of its target (|t − y| < β) at every error step
                  (``at_end``: at the last step only, even if the task has errors at every step).
    kind "legal": at every step the outputs of the possible next symbols are all more active than
                  every other output (Exp. 1).
    kind "clean": |y − noise-free target| ≤ ``threshold`` (Exp. 3c: misclassified when > 0.1).
    """

    kind: str = "abs"
    threshold: float = 0.04
    at_end: bool = False

    def right(self, y: np.ndarray, seqs: Sequences) -> np.ndarray:
        """y (n, T or 1, O): the outputs at the error steps -> (n,) bool."""
        if self.kind == "clean":
            return (np.abs(_at_end(y, seqs) - seqs.clean[:, 0]) <= self.threshold).all(axis=1)
        mask = _step_mask(y, seqs)                                         # (n, T) real error steps
        if self.at_end and y.shape[1] > 1:
            mask = np.zeros_like(mask)
            mask[np.arange(len(seqs)), seqs.lengths - 1] = True
        if self.kind == "abs":
            bad = (np.abs(seqs.targets[:, : y.shape[1]] - y) >= self.threshold).any(axis=2)
        elif self.kind == "legal":
            legal = seqs.legal[:, : y.shape[1]]
            lowest_legal = np.where(legal, y, np.inf).min(axis=2)
            highest_other = np.where(legal, -np.inf, y).max(axis=2)
            bad = ~(lowest_legal > highest_other)
        else:
            raise ValueError(f"unknown criterion kind {self.kind!r}")
        return ~(bad & mask).any(axis=1)


def _step_mask(y: np.ndarray, seqs: Sequences) -> np.ndarray:
    if y.shape[1] == 1:
        return np.ones((len(seqs), 1), dtype=bool)
    return np.arange(y.shape[1])[None, :] < seqs.lengths[:, None]


def _at_end(y: np.ndarray, seqs: Sequences) -> np.ndarray:
    """(n, T, O) -> (n, O): each sequence's outputs at its last step."""
    return y[np.arange(len(seqs)), seqs.lengths - 1] if y.shape[1] > 1 else y[:, 0]


def errors(y: np.ndarray, seqs: Sequences) -> np.ndarray:
    """E per sequence, Σ over outputs and error steps of (t − y)² (the paper's eq. 16), (n,)."""
    d = (seqs.targets[:, : y.shape[1]] - y) ** 2
    return (d.sum(axis=2) * _step_mask(y, seqs)).sum(axis=1)


@dataclass(frozen=True)
class Window:
    """Stop when, over the ``size`` most recent training sequences, the mean error E is below
    ``mean_error`` and at most ``max_wrong`` were wrong. ST3(β): Window(2000, β, 0); Exp. 5's
    "fewer than n_seq wrong": Window(2000, inf, n_seq − 1)."""

    size: int = 2000
    mean_error: float = math.inf
    max_wrong: int = 0

    def holds(self, errors_: np.ndarray, right: np.ndarray) -> bool:
        """The rule over the last ``size`` of a run of sequences' E and right flags."""
        if len(errors_) < self.size:
            return False
        e, r = errors_[-self.size:], right[-self.size:]
        return bool(e.mean() < self.mean_error and (~r).sum() <= self.max_wrong)

    def describe(self) -> str:
        if math.isinf(self.mean_error):
            return f"fewer than {self.max_wrong + 1} of the {self.size} most recent sequences wrong"
        return f"ST3({self.mean_error:g}): mean error of the {self.size} most recent sequences < {self.mean_error:g}, all right"


@dataclass(frozen=True)
class Stage:
    """One condition a check's test must meet: at most ``max_wrong`` wrong and, if set, a mean
    absolute error (to the clean target, where there is one) below ``mean_abs``."""

    name: str
    max_wrong: int = 0
    mean_abs: float | None = None

    def holds(self, wrong: int, mean_abs: float) -> bool:
        return wrong <= self.max_wrong and (self.mean_abs is None or mean_abs < self.mean_abs)


@dataclass(frozen=True)
class Check:
    """Every ``every`` training sequences, test on ``size`` sequences (fresh ones; with
    ``task_sets``, the task's own training and test sets) and pass the ``stages`` in order; the
    trial stops when the last stage holds. Each stage's sequence count is recorded."""

    every: int
    size: int
    stages: tuple[Stage, ...] = (Stage("stop"),)
    task_sets: bool = False

    def passed(self, task: Any, rng: np.random.Generator, crit: Criterion,
               predict: Callable[[Sequences], np.ndarray]) -> list[str]:
        """Run one trial's check: the names of the stages that hold, in order, up to the first that
        fails. ``predict(seqs)`` gives the trial's outputs at the error steps. A fresh test of many
        sequences runs on 100 first, and on all of them only if those 100 are right."""
        if self.task_sets:
            seqs = concat([task.train_set, task.test_set])
        else:
            probe = min(100, self.size)
            seqs = task.test(probe, rng)
            if self.size > probe and crit.right(predict(seqs), seqs).all():
                seqs = concat([seqs, task.test(self.size - probe, rng)])
        y = predict(seqs)
        wrong, error = int((~crit.right(y, seqs)).sum()), mean_abs(y, seqs)
        out = []
        for stage in self.stages:
            if not stage.holds(wrong, error):
                break
            out.append(stage.name)
        return out

    def describe(self) -> str:
        what = "its training and test sets" if self.task_sets else f"{self.size} fresh sequences"
        return f"every {self.every} sequences, a test on {what}: " + ", then ".join(
            f"{s.name} ({'none' if s.max_wrong == 0 else f'at most {s.max_wrong}'} wrong"
            + (f", mean |error| < {s.mean_abs:g}" if s.mean_abs is not None else "") + ")" for s in self.stages)


@dataclass(frozen=True)
class Test:
    """The test after stopping: ``size`` fresh sequences (or the task's test set, ``task_sets``)."""

    size: int = 2560
    task_sets: bool = False


def mean_abs(y: np.ndarray, seqs: Sequences) -> float:
    """Mean absolute error at the sequence end, to the clean target where the task has one."""
    if seqs.clean is not None:
        ref = seqs.clean[:, 0]
    elif seqs.every_step:
        ref = seqs.targets[np.arange(len(seqs)), seqs.lengths - 1]
    else:
        ref = seqs.targets[:, 0]
    return float(np.abs(_at_end(y, seqs) - ref).mean())


__all__ = ["Check", "Criterion", "Stage", "Test", "Window", "errors", "mean_abs"]
