"""Checking what a user passes to ``forward``, before any work starts."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._checks import check_finite, check_like, check_shape, check_tensor


def check_input(x: Any, *, input_size: int, weight: Tensor, dims: tuple[int, ...], layout: str,
                finite: bool) -> Tensor:
    """``x`` must be a floating tensor with ``dims`` dimensions, ``input_size`` features last, and
    the dtype and device of the module's weights. ``layout`` names the expected axes for messages."""
    x = check_tensor("input", x)
    if x.dim() not in dims:
        expected = " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"input must be {expected} {layout}, got {x.dim()}-D of shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"input must be a floating-point tensor, got dtype {x.dtype}")
    if x.shape[-1] != input_size:
        raise ValueError(
            f"input must have input_size={input_size} features in its last dimension, "
            f"got shape {tuple(x.shape)} ({x.shape[-1]} features)"
        )
    if x.numel() == 0:
        raise ValueError(f"input must not be empty, got shape {tuple(x.shape)}")
    check_like("input", x, weight, "the module's weights")
    if finite:
        check_finite("input", x)
    return x


def check_lengths(lengths: Any, *, batch: int, steps: int) -> Tensor:
    """``lengths``: one integer per sequence in 1..steps -> int64 tensor on the CPU."""
    if isinstance(lengths, (list, tuple)):
        try:
            lengths = torch.tensor(lengths) if len(lengths) else torch.zeros(0, dtype=torch.int64)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"lengths must be a 1-D sequence of ints, got {lengths!r}") from err
    if not isinstance(lengths, Tensor):
        raise TypeError(f"lengths must be a 1-D tensor or list of ints, got {type(lengths).__name__}")
    if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
        raise TypeError(f"lengths must hold integers, got dtype {lengths.dtype}")
    if lengths.dim() != 1:
        raise ValueError(f"lengths must be 1-D (one length per sequence), got shape {tuple(lengths.shape)}")
    if lengths.numel() != batch:
        raise ValueError(f"lengths must have one entry per sequence: expected {batch}, got {lengths.numel()}")
    lengths = lengths.to("cpu", torch.int64)
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1:
        raise ValueError(f"lengths must be >= 1, got {low} at index {int(lengths.argmin())}")
    if high > steps:
        raise ValueError(
            f"lengths must be <= the number of time steps ({steps}), got {high} at index {int(lengths.argmax())}"
        )
    return lengths


def check_state(hx: Any, *, shapes: tuple[tuple[int, ...], tuple[int, ...]], weight: Tensor,
                finite: bool) -> tuple[Tensor, Tensor]:
    """``hx`` must be a pair (h, c) of the given shapes, dtype and device."""
    if not isinstance(hx, (tuple, list)):
        raise TypeError(f"hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
    if len(hx) != 2:
        raise ValueError(f"hx must be a tuple of 2 tensors (h_0, c_0), got a {type(hx).__name__} of {len(hx)}")
    out = []
    for name, value, shape in zip(("h_0", "c_0"), hx, shapes):
        value = check_tensor(name, value)
        check_shape(name, value, shape)
        check_like(name, value, weight, "the module's weights")
        if finite:
            check_finite(name, value)
        out.append(value)
    return out[0], out[1]
