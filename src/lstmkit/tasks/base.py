"""What every sequence task hands to a trainer: a batch of padded sequences (``Sequences``) and a
source of them (``Task``).

Sequences are numpy arrays, because the 1997 paper's learning algorithm runs in a numba kernel
(``lstmkit.paper``); ``Sequences.to_torch`` gives the same batch as tensors for torch models.
A one-hot input is stored as the index of its hot unit per step (``symbols``), which is what the
kernel wants for 100–1000 input units; dense inputs are stored as ``x``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor


@dataclass
class Sequences:
    """``n`` sequences padded to the longest, ``T`` steps.

    lengths:  (n,) int64, each in 1..T: the steps that are real input.
    targets:  (n, T, O) float64 when ``every_step`` (a target at each of a sequence's ``lengths``
              steps), else (n, 1, O) (one target, at the sequence's last step).
    x:        (n, T, I) float64 dense inputs, zero in the padding; or None when ``symbols`` is set.
    symbols:  (n, T) int32, the hot unit of a one-hot input per step, −1 in the padding; or None.
    inputs:   I, the number of input units.
    legal:    (n, T, O) bool or None: the outputs that would all be right at each step (the
              embedded Reber grammar's possible next symbols, Exp. 1).
    clean:    (n, 1, O) float64 or None: noise-free targets, where the training targets carry
              noise (Exp. 3c).
    labels:   (n,) int64 or None: the class of each sequence, where there is one (Exps. 2, 3, 6).
    """

    lengths: np.ndarray
    targets: np.ndarray
    inputs: int
    x: np.ndarray | None = None
    symbols: np.ndarray | None = None
    every_step: bool = False
    legal: np.ndarray | None = None
    clean: np.ndarray | None = None
    labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.x is None) == (self.symbols is None):
            raise ValueError("Sequences needs exactly one of x (dense inputs) or symbols (one-hot indices)")

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    @property
    def steps(self) -> int:
        """T, the padded length."""
        return int((self.x if self.x is not None else self.symbols).shape[1])

    @property
    def outputs(self) -> int:
        return int(self.targets.shape[-1])

    def dense(self) -> np.ndarray:
        """(n, T, I) float64 inputs, one-hot expanded if stored as symbols."""
        if self.x is not None:
            return self.x
        out = np.zeros((len(self), self.steps, self.inputs))
        rows, steps = np.nonzero(self.symbols >= 0)
        out[rows, steps, self.symbols[rows, steps]] = 1.0
        return out

    def subset(self, index: np.ndarray | slice) -> "Sequences":
        """The sequences at ``index`` (the padding is not trimmed)."""
        take = lambda a: None if a is None else a[index]                     # noqa: E731
        return Sequences(self.lengths[index], self.targets[index], self.inputs, take(self.x), take(self.symbols),
                         self.every_step, take(self.legal), take(self.clean), take(self.labels))

    def to_torch(self, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor, Tensor]:
        """x (n, T, I), lengths (n,) int64 and targets (n, T or 1, O), as tensors."""
        return (torch.from_numpy(self.dense()).to(dtype), torch.from_numpy(self.lengths.astype(np.int64)),
                torch.from_numpy(self.targets).to(dtype))


def concat(parts: list[Sequences]) -> Sequences:
    """One batch from several, padded to the longest."""
    T = max(p.steps for p in parts)

    def pad(a: np.ndarray | None, value) -> np.ndarray | None:
        if a is None:
            return None
        if a.ndim < 2 or a.shape[1] == T:
            return a
        width = [(0, 0)] * a.ndim
        width[1] = (0, T - a.shape[1])
        return np.pad(a, width, constant_values=value)

    first = parts[0]
    join = lambda name, value: (None if getattr(first, name) is None                 # noqa: E731
                                else np.concatenate([pad(getattr(p, name), value) for p in parts]))
    targets = (np.concatenate([pad(p.targets, 0.0) for p in parts]) if first.every_step
               else np.concatenate([p.targets for p in parts]))
    return Sequences(np.concatenate([p.lengths for p in parts]), targets, first.inputs, join("x", 0.0),
                     join("symbols", -1), first.every_step, join("legal", False),
                     None if first.clean is None else np.concatenate([p.clean for p in parts]),
                     None if first.labels is None else np.concatenate([p.labels for p in parts]))


@dataclass
class Task:
    """A source of training and test sequences for one trial.

    ``train(n, rng)`` gives the next ``n`` training exemplars (drawn on-line, or from a fixed
    training set); ``test(n, rng)`` gives ``n`` test sequences the trial has not trained on (for a
    task with a fixed test set, that set, whatever ``n``). Subclasses set the fields."""

    inputs: int
    outputs: int
    every_step: bool = False
    name: str = field(default="task")

    def train(self, n: int, rng: np.random.Generator) -> Sequences:      # pragma: no cover - abstract
        raise NotImplementedError

    def test(self, n: int, rng: np.random.Generator) -> Sequences:
        return self.train(n, rng)


__all__ = ["Sequences", "Task", "concat"]
