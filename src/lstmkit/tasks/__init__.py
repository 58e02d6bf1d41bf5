"""Sequence tasks: generators of input/target batches with a success criterion.

``get(name)`` returns one of the 1997 paper's experiments (``names()`` lists them); its
``reproduce(trials=...)`` trains and tests the paper's networks and returns the results.
"""

from __future__ import annotations


def names() -> list[str]:
    from ..paper import EXPERIMENTS
    return list(EXPERIMENTS)


def get(name: str):
    from ..paper import get as _get
    return _get(name)


__all__ = ["get", "names"]
