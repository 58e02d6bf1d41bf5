"""What a layer trace says about memory: how long each unit remembers, how often its gates are
shut or wide open, and which units follow a signal or jump at marked steps.

Every function takes a ``LayerTrace`` (``lstmkit.explain.trace``) and reads only each sequence's
real steps; results are per unit, numpy arrays of length ``units``.

- ``memory``: the forget gate's effective decay per step, f̄ = exp(mean ln f) — the geometric
  mean, because a cell's content after k steps is scaled by the product of its k forget gates —
  its half-life −ln 2 / ln f̄ (steps until half the content is left) and time constant −1 / ln f̄.
  The 1997 cell has no forget gate: its carousel never decays (half-life ∞).
- ``saturation``: the fraction of steps each gate is below ``low`` (shut) or above ``high`` (open).
- ``correlate``: Pearson's r between a unit's value and a signal at every step ((B, T) signal), or
  between its value at each sequence's last step and a per-sequence signal ((B,) signal, e.g. the
  target) — "the unit that counts".
- ``jump_ratio``: the mean |Δc| of a unit at marked steps over its mean |Δc| at the other steps —
  "the unit that remembers the marker" in the adding and temporal-order problems.
- ``top_units``: the indices of the largest scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .trace import GATES, LayerTrace


@dataclass
class Memory:
    """Per-unit memory figures of one layer (see the module docstring)."""

    forget_mean: np.ndarray      # arithmetic mean of the forget gate (1 where there is none)
    decay: np.ndarray            # f̄, the geometric mean of the forget gate per step
    half_life: np.ndarray        # steps, np.inf where f̄ = 1
    time_constant: np.ndarray    # steps, np.inf where f̄ = 1


def _real(lt: LayerTrace, name: str) -> np.ndarray:
    """(N, units): ``name`` at every real step of every sequence."""
    return lt[name][lt.mask]


def memory(lt: LayerTrace) -> Memory:
    units = lt.units
    if "forget" not in lt.values:                   # the constant error carousel: no decay at all
        ones = np.ones(units)
        return Memory(ones, ones, np.full(units, np.inf), np.full(units, np.inf))
    f = _real(lt, "forget")
    log_f = np.log(np.clip(f, 1e-300, 1.0)).mean(axis=0)                  # mean ln f, <= 0
    with np.errstate(divide="ignore"):
        half_life = np.where(log_f < 0, -np.log(2.0) / np.where(log_f < 0, log_f, -1.0), np.inf)
        time_constant = np.where(log_f < 0, -1.0 / np.where(log_f < 0, log_f, -1.0), np.inf)
    return Memory(f.mean(axis=0), np.exp(log_f), half_life, time_constant)


def saturation(lt: LayerTrace, *, low: float = 0.1, high: float = 0.9) -> dict[str, dict[str, np.ndarray]]:
    """``{gate: {"shut": fraction < low, "open": fraction > high, "saturated": their sum}}``."""
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"need 0 <= low < high <= 1, got low={low}, high={high}")
    out = {}
    for gate in GATES:
        if gate in lt.values:
            v = _real(lt, gate)
            shut, open_ = (v < low).mean(axis=0), (v > high).mean(axis=0)
            out[gate] = {"shut": shut, "open": open_, "saturated": shut + open_}
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """r between each column of ``a`` (N, U) and ``b`` (N,); 0 for a constant column."""
    a = a - a.mean(axis=0)
    b = b - b.mean()
    denom = np.sqrt((a * a).sum(axis=0) * (b * b).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b[:, None]).sum(axis=0) / denom
    return np.where(denom > 0, r, 0.0)


def correlate(lt: LayerTrace, signal: np.ndarray, *, quantity: str = "cell") -> np.ndarray:
    """Per-unit Pearson r of ``quantity`` with ``signal``: (B, T) at every real step, or (B,) with
    the value at each sequence's last real step."""
    signal = np.asarray(signal, dtype=np.float64)
    values = lt[quantity]
    batch, steps = values.shape[:2]
    if signal.shape == (batch,):
        last = values[np.arange(batch), lt.lengths - 1]                     # (B, U)
        return _pearson(last, signal)
    if signal.shape[:2] != (batch, steps) or signal.ndim != 2:
        raise ValueError(f"signal must be (B,) = ({batch},) per sequence or (B, T) = ({batch}, {steps}) per step, "
                         f"got shape {signal.shape}")
    mask = lt.mask
    if not np.isfinite(signal[mask]).all():
        raise ValueError("signal must be finite at every real step")
    return _pearson(values[mask], signal[mask])


def cell_changes(lt: LayerTrace) -> np.ndarray:
    """(B, T, U) |c_t − c_{t−1}| (the first step against the zero initial state), NaN at padding.
    For the reverse direction, the change is against the following step (its previous one)."""
    c = lt["cell"]
    if lt.direction == "reverse":
        nxt = np.concatenate([c[:, 1:], np.full_like(c[:, :1], np.nan)], axis=1)
        nxt[np.arange(len(c)), lt.lengths - 1] = 0.0                      # where the reverse pass starts
        return np.abs(c - nxt)
    prev = np.concatenate([np.zeros_like(c[:, :1]), c[:, :-1]], axis=1)
    return np.abs(c - prev)


def jump_ratio(lt: LayerTrace, at: np.ndarray) -> np.ndarray:
    """Per unit, mean |Δc| at the steps where ``at`` (B, T) is True over mean |Δc| at the other real
    steps (large: the unit writes into its cell at the marked steps and holds it otherwise)."""
    at = np.asarray(at, dtype=bool)
    mask = lt.mask
    if at.shape != mask.shape:
        raise ValueError(f"at must be (B, T) = {mask.shape} like the trace, got shape {at.shape}")
    marked, other = at & mask, ~at & mask
    if not marked.any() or not other.any():
        raise ValueError("at must mark some real steps and leave some unmarked")
    d = cell_changes(lt)
    return d[marked].mean(axis=0) / np.maximum(d[other].mean(axis=0), 1e-12)


def top_units(scores: np.ndarray, k: int = 3, *, absolute: bool = True) -> list[int]:
    """The ``k`` units with the largest (absolute) scores, best first."""
    s = np.abs(scores) if absolute else np.asarray(scores)
    s = np.where(np.isfinite(s), s, -np.inf)
    return [int(u) for u in np.argsort(-s, kind="stable")[:k]]


__all__ = ["Memory", "cell_changes", "correlate", "jump_ratio", "memory", "saturation", "top_units"]
