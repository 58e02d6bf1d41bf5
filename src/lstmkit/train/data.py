"""The trainer's view of data: items indexed along one axis, split, permuted and batched by seed."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch


class Items:
    """A tuple of tensors with the same length along ``axis`` (0: items; 1: the time axis of
    streams (B, N, ...) under truncated BPTT), or a ``torch.utils.data.Dataset`` (items collated
    with torch's ``default_collate``)."""

    def __init__(self, name: str, data: Any, dtype: torch.dtype, *, axis: int = 0) -> None:
        self.name, self.axis, self.dataset = name, axis, None
        if isinstance(data, torch.utils.data.Dataset) and not isinstance(data, (tuple, list)):
            if axis != 0:
                raise TypeError(f"{name}: truncated BPTT needs a tuple of stream tensors (x, y), got a Dataset")
            if not hasattr(data, "__len__"):
                raise TypeError(f"{name}: a Dataset must have a length (__len__)")
            self.dataset, self.tensors = data, ()
            self.n = len(data)
        else:
            if isinstance(data, (torch.Tensor, np.ndarray)) or not isinstance(data, (tuple, list)):
                raise TypeError(f"{name} must be a tuple (inputs..., targets) of arrays or tensors, or a "
                                f"torch Dataset; got {type(data).__name__}")
            if len(data) < 2:
                raise ValueError(f"{name} must hold at least (inputs, targets), got {len(data)} array(s)")
            self.tensors = tuple(_tensor(f"{name}[{i}]", a, dtype) for i, a in enumerate(data))
            lengths = []
            for i, t in enumerate(self.tensors):
                if t.dim() <= axis:
                    raise ValueError(f"{name}[{i}] needs at least {axis + 1} dimension(s) "
                                     f"({'streams (B, N, ...)' if axis else 'items first'}), got shape {tuple(t.shape)}")
                lengths.append(t.shape[axis])
            if len(set(lengths)) != 1 or axis == 1 and len({t.shape[0] for t in self.tensors}) != 1:
                shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
                what = "streams and steps (dims 0 and 1)" if axis else "items (dim 0)"
                raise ValueError(f"{name}: the arrays must have the same number of {what}, got shapes {shapes}")
            self.n = lengths[0]
        if self.n == 0:
            raise ValueError(f"{name} is empty (0 items)")

    @property
    def streams(self) -> int:
        return self.tensors[0].shape[0]

    def take(self, index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The items at ``index`` (1-D int64), as a tuple of batch tensors."""
        if self.dataset is not None:
            return tuple(torch.utils.data.default_collate([self.dataset[int(i)] for i in index]))
        return tuple(t.index_select(self.axis, index) for t in self.tensors)

    def signature(self) -> dict[str, Any]:
        if self.dataset is not None:
            return {"items": self.n}
        return {"items": self.n, "shapes": [list(t.shape) for t in self.tensors]}

    def split(self, fraction: float, how: str, seed: int) -> tuple["Items", "Items"]:
        """(train, validation): the last ``fraction`` of items (or of steps), or a seeded random subset."""
        n_val = max(1, int(round(self.n * fraction)))
        if n_val >= self.n:
            raise ValueError(f"val_fraction = {fraction} leaves no training data in {self.name} ({self.n} items)")
        if how == "last" or self.axis == 1:
            order = torch.arange(self.n)
        else:
            order = torch.randperm(self.n, generator=torch.Generator().manual_seed(seed))
        train_idx, val_idx = order[: self.n - n_val].sort().values, order[self.n - n_val:].sort().values
        return self._subset("train", train_idx), self._subset("validation", val_idx)

    def _subset(self, name: str, index: torch.Tensor) -> "Items":
        if self.dataset is not None:
            return Items(name, torch.utils.data.Subset(self.dataset, index.tolist()), torch.float32)
        out = Items.__new__(Items)
        out.name, out.axis, out.dataset, out.n = name, self.axis, None, len(index)
        out.tensors = self.take(index)
        return out


def batches(n: int, size: int, *, shuffle: bool, seed: int, epoch: int, drop_last: bool) -> list[torch.Tensor]:
    """The epoch's batches of item indices: a permutation seeded by (seed, epoch), cut into ``size``."""
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    else:
        order = torch.arange(n)
    cut = [order[i: i + size] for i in range(0, n, size)]
    if drop_last and len(cut) > 1 and len(cut[-1]) < size:
        cut.pop()
    return cut


def _tensor(name: str, value: Any, dtype: torch.dtype) -> torch.Tensor:
    """Arrays become tensors: floating ones in the model's dtype, integers int64; tensors stay as given."""
    if isinstance(value, torch.Tensor):
        return value
    try:
        arr = np.asarray(value)
    except Exception as err:      # ragged lists and the like
        raise TypeError(f"{name} cannot be read as an array ({err})") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        return torch.from_numpy(np.ascontiguousarray(arr)).to(dtype)
    if arr.dtype.kind in "iu":
        return torch.from_numpy(arr.astype(np.int64))
    return torch.from_numpy(np.ascontiguousarray(arr))


def flatten_state(state: Any) -> tuple[list[torch.Tensor], Any]:
    """A recurrent state (a tensor or nested tuples/lists of them, or None) as (tensors, structure)."""
    if state is None:
        return [], None
    if isinstance(state, torch.Tensor):
        return [state], "t"
    if isinstance(state, Sequence):
        tensors, spec = [], []
        for part in state:
            ts, s = flatten_state(part)
            tensors += ts
            spec.append(s)
        return tensors, spec
    raise TypeError(f"a recurrent state must be a tensor or a tuple of tensors, got {type(state).__name__}")


def unflatten_state(tensors: list[torch.Tensor], spec: Any) -> Any:
    it = iter(tensors)

    def build(s: Any) -> Any:
        if s is None:
            return None
        if s == "t":
            return next(it)
        return tuple(build(part) for part in s)

    return build(spec)


def detach_state(state: Any) -> Any:
    tensors, spec = flatten_state(state)
    return unflatten_state([t.detach() for t in tensors], spec)
