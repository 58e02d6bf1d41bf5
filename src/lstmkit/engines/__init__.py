"""Engines run a cell over a whole sequence. The layer picks one by ``backend=``; nothing else
imports an engine directly.

backend="auto" takes the fastest engine that supports the cell and gives the same result as the
reference: today torch's native kernel for the forget cell, the reference loop for every other.
"""

from __future__ import annotations

from types import ModuleType

from ..cells.base import Cell
from . import fused, native, reference

ENGINES: dict[str, ModuleType] = {"reference": reference, "native": native, "fused": fused}
#: Tried in this order by backend="auto".
AUTO_ORDER = ("native", "reference")


def backends() -> list[str]:
    return ["auto", *ENGINES]


def check_backend(backend: object) -> str:
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str, one of {', '.join(map(repr, backends()))}, got {backend!r}")
    if backend not in backends():
        raise ValueError(f"backend must be one of {', '.join(map(repr, backends()))}, got {backend!r}")
    return backend


def select(backend: str, cell: Cell) -> ModuleType:
    """The engine module that runs ``cell`` under ``backend``; raises if it cannot."""
    check_backend(backend)
    if backend == "auto":
        return next(ENGINES[n] for n in AUTO_ORDER if ENGINES[n].supports(cell))
    engine = ENGINES[backend]
    if not engine.supports(cell):
        able = [n for n, e in ENGINES.items() if e.supports(cell)]
        raise ValueError(f"backend {backend!r} cannot run cell {cell.name!r}; use one of: auto, {', '.join(able)}")
    return engine
