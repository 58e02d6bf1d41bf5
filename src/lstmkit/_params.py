"""Creating a cell's parameters on a module, named as torch names them, and initialising them."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ._checks import check_float
from .cells import REGISTRY
from .cells.base import Cell, Params

DEFAULT = "default"


def resolve_forget_bias(cell: str, value: Any, bias: bool) -> float | None:
    """``"default"``: 1.0 where the cell has a forget gate and biases (Jozefowicz et al. 2015),
    else none; a float sets it; None keeps torch's uniform initialisation."""
    has_gate = REGISTRY[cell].has_forget_gate if cell in REGISTRY else True
    if isinstance(value, str) and value == DEFAULT:
        return 1.0 if has_gate and bias else None
    if value is None:
        return None
    value = check_float("forget_bias", value)
    if not has_gate:
        raise ValueError(f"forget_bias was given ({value}) but cell {cell!r} has no forget gate; leave it out")
    if not bias:
        raise ValueError(f"forget_bias was given ({value}) but bias=False leaves no bias to set; leave it out")
    return value


def add_parameters(module: nn.Module, cell: Cell, suffix: str, factory: dict[str, Any]) -> list[str]:
    """Register ``cell``'s parameters on ``module`` as ``{name}{suffix}``; return their full names."""
    names = []
    for name, shape in cell.parameter_shapes().items():
        full = f"{name}{suffix}"
        module.register_parameter(full, nn.Parameter(torch.empty(shape, **factory)))
        names.append(full)
    return names


def gather(module: nn.Module, cell: Cell, suffix: str) -> Params:
    """The parameters of one (layer, direction) by their base names, as a cell's ``step`` takes them."""
    # getattr, not module._parameters: parametrizations and weight-drop replace weights by attribute
    return {name: getattr(module, f"{name}{suffix}") for name in cell.parameter_names}


def init_parameters(module: nn.Module, cell: Cell, suffix: str, forget_bias: float | None) -> None:
    with torch.no_grad():
        cell.init_parameters(gather(module, cell, suffix), forget_bias)
