"""Engines run a cell over a whole sequence. The layer picks one by ``backend=``; nothing else
imports an engine directly.

backend="auto" takes the first engine in AUTO_ORDER that runs the cell and, where an engine says
when it pays (``prefers``), prefers this input: the fused kernel on the CPU in float32/float64 (for
the forget cell only while the network is tiny, or whenever recurrent dropout or zoneout rule
torch's kernel out); torch's native kernel for the forget cell otherwise; else the reference loop.
Every engine gives the reference's result (tested), so the choice changes speed only.
"""

from __future__ import annotations

from types import ModuleType

from torch import Tensor

from ..cells.base import Cell
from . import fused, native, reference
from ._zoneout import Zoneout

ENGINES: dict[str, ModuleType] = {"reference": reference, "native": native, "fused": fused}
#: Tried in this order by backend="auto".
AUTO_ORDER = ("fused", "native", "reference")


def backends() -> list[str]:
    return ["auto", *ENGINES]


def check_backend(backend: object) -> str:
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str, one of {', '.join(map(repr, backends()))}, got {backend!r}")
    if backend not in backends():
        raise ValueError(f"backend must be one of {', '.join(map(repr, backends()))}, got {backend!r}")
    return backend


def select(backend: str, cell: Cell, x: Tensor | None = None, *, masks: str = "") -> ModuleType:
    """The engine module that runs ``cell`` under ``backend`` on input ``x`` (T, B, I); raises if
    it cannot. Without ``x`` (at construction) it only checks that some engine can. ``masks``:
    the regularisers on (e.g. "recurrent_dropout and zoneout") that need an engine taking masks
    (``TAKES_MASKS``; torch's closed kernel does not), named in the error; "" for none."""
    check_backend(backend)
    able = lambda e: e.supports(cell) and (not masks or getattr(e, "TAKES_MASKS", False))     # noqa: E731
    if backend == "auto":                # with masks, torch's kernel is no alternative to prefer
        return next(ENGINES[n] for n in AUTO_ORDER if able(ENGINES[n])
                    and (x is None or not hasattr(ENGINES[n], "prefers")
                         or ENGINES[n].prefers(cell, x, native=able(native))))
    engine = ENGINES[backend]
    if not engine.supports(cell):
        names = [n for n, e in ENGINES.items() if e.supports(cell)]
        raise ValueError(f"backend {backend!r} cannot run cell {cell.name!r}; use one of: auto, {', '.join(names)}")
    if not able(engine):
        names = [n for n, e in ENGINES.items() if able(e)]
        raise ValueError(f"backend {backend!r} (torch's closed kernel) cannot apply {masks}; "
                         f"use one of: auto, {', '.join(names)}")
    return engine
