"""Argument checks shared by the whole package.

Every message names the argument, what was expected and what came, so that a user reads the fix
in the message instead of a stack trace from deep inside an engine.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch


def check_int(name: str, value: Any, *, minimum: int) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``; raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} ({value!r})")
    return value


def check_float(name: str, value: Any, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float, got {type(value).__name__} ({value!r})")
    value = float(value)
    if value != value:  # NaN
        raise ValueError(f"{name} must be a number, got nan")
    if low is not None and value < low or high is not None and value > high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return value


def check_dtype(name: str, value: Any) -> torch.dtype | None:
    """None (torch's default) or a floating-point torch.dtype."""
    if value is not None and not (isinstance(value, torch.dtype) and value.is_floating_point):
        raise TypeError(f"{name} must be a floating-point torch.dtype such as torch.float32, got {value!r}")
    return value


def check_tensor(name: str, value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def check_like(name: str, value: torch.Tensor, ref: torch.Tensor, ref_name: str) -> None:
    """``value`` must have the dtype and device of ``ref`` (typically the layer's weights)."""
    if value.dtype != ref.dtype:
        raise TypeError(
            f"{name} has dtype {value.dtype} but {ref_name} are {ref.dtype}; "
            f"convert one of them (e.g. {name}.to({ref.dtype}) or module.to({value.dtype}))"
        )
    if value.device != ref.device:
        raise ValueError(
            f"{name} is on device {value.device} but {ref_name} are on {ref.device}; "
            f"move one of them (e.g. module.to({str(value.device)!r}))"
        )


def check_shape(name: str, value: torch.Tensor, expected: tuple[int, ...]) -> None:
    if tuple(value.shape) != tuple(expected):
        raise ValueError(f"expected {name} of shape {tuple(expected)}, got {tuple(value.shape)}")


def check_finite(name: str, value: torch.Tensor) -> None:
    if not bool(torch.isfinite(value).all()):
        bad = (~torch.isfinite(value)).nonzero()[0].tolist()
        raise ValueError(
            f"{name} contains non-finite values (NaN or inf), first at index {tuple(bad)}; "
            "clean the input or pass check_finite=False"
        )
