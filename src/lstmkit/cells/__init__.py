"""The cell registry: one table from name to cell class. Adding a variant is one file and one line."""

from __future__ import annotations

from typing import Any

from .base import Cell
from .cifg import CIFGCell
from .forget import ForgetCell
from .layernorm import LayerNormCell
from .peephole import PeepholeCell
from .vanilla import VanillaCell

REGISTRY: dict[str, type[Cell]] = {
    cls.name: cls for cls in (VanillaCell, ForgetCell, PeepholeCell, CIFGCell, LayerNormCell)
}


def cells() -> list[str]:
    """Names of every registered cell."""
    return list(REGISTRY)


def make_cell(name: Any, input_size: int, hidden_size: int, **kwargs: Any) -> Cell:
    """Build the cell specification registered as ``name``."""
    if not isinstance(name, str):
        raise TypeError(f"cell must be a str naming a cell ({', '.join(REGISTRY)}), got {type(name).__name__}")
    if name not in REGISTRY:
        raise ValueError(f"unknown cell {name!r}; known cells: {', '.join(REGISTRY)}")
    return REGISTRY[name](input_size, hidden_size, **kwargs)


__all__ = ["Cell", "REGISTRY", "cells", "make_cell"]
