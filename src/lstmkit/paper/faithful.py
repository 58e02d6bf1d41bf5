"""The paper's learning algorithm, faithfully, for K trials at once.

Each trial is a ``Network`` trained on-line with plain SGD and the truncated gradient computed
forward in time (Appendix A.1), activations reset to zero for every sequence, on its own stream of
sequences. The K trials run side by side in one numba kernel call per chunk of sequences
(``_rtrl``); a trial leaves the group when its stopping rule holds or its budget is spent, and is
then tested as the paper tested it. The update is α · (−½ ∂E/∂w) with E = Σ (t − y)²: the paper's
E has no ½ and its e_k no 2, the same thing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..tasks.base import Sequences, Task, concat
from . import _rtrl
from .network import SQUASH, Network
from .rules import Check, Criterion, Test, Window, errors, mean_abs


GRADIENTS = {"truncated": 0, "full": 1, "cell-inputs": 2}     # the kernel's codes (``_rtrl.train``)


@dataclass(frozen=True)
class Training:
    """How one setting trains and stops (Table 11): learning rate, budget, the stopping rule, the
    criterion of a right sequence and the test after stopping. ``update`` "sequence": one update
    per sequence (the error is only at its end, so the same as per step); "step": at every step
    with an error (real-time on-line learning, for the tasks with errors at every step). ``grow``:
    the paper's sequential construction (Exp. 2a/2b): train the output units alone (the memory
    cells' weights and the weights from them held at 0) until a chunk's mean error is no longer 1%
    below the chunk before, then add the cells with fresh random weights."""

    lr: float
    max_sequences: int
    stop: Window | Check
    criterion: Criterion
    test: Test = field(default_factory=Test)
    update: str = "sequence"
    grow: bool = False                   # sequential construction: add the memory cells once the error stops falling
    gradient: str = "truncated"

    def __post_init__(self) -> None:
        if self.gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {sorted(GRADIENTS)}, got {self.gradient!r}")
        if self.update not in ("sequence", "step"):
            raise ValueError(f"update must be 'sequence' or 'step', got {self.update!r}")


@dataclass
class TrialResult:
    seed: int
    solved: bool
    sequences: int                       # training sequences until the stopping rule held (or the budget)
    stages: dict[str, int] = field(default_factory=dict)      # sequences at which each check stage first held
    wrong: int | None = None             # test sequences not right
    test_size: int = 0
    test_mse: float | None = None        # mean E per test sequence
    test_mean_abs: float | None = None   # mean |error| at the end (to the clean target, Exp. 3c)
    curve: list[tuple[int, float]] = field(default_factory=list)    # (sequences, running mean E)
    seconds: float = 0.0


def _pack(batches: list[Sequences]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool, bool]:
    """K batches of n sequences -> the kernel's arrays xs (K, n, T, I), syms (K, n, T), lengths
    (K, n), targets (K, n, T or 1, O); dense, every."""
    one = concat(batches)
    K, n = len(batches), len(batches[0])
    T = one.steps
    dense = one.x is not None
    xs = one.x.reshape(K, n, T, -1) if dense else np.zeros((K, n, 1, 1))
    syms = np.zeros((K, n, 1), np.int32) if dense else one.symbols.astype(np.int32).reshape(K, n, T)
    tg = one.targets.reshape(K, n, one.targets.shape[1], -1)
    return (np.ascontiguousarray(xs), np.ascontiguousarray(syms), one.lengths.reshape(K, n).astype(np.int64),
            np.ascontiguousarray(tg), dense, one.every_step)


def predict(net: Network, Wh: np.ndarray, Wo: np.ndarray, batches: list[Sequences]) -> list[np.ndarray]:
    """Forward only: network k (Wh[k], Wo[k]) on batches[k] -> its outputs at the error steps,
    (n, T or 1, O) each. All batches must have the same number of sequences."""
    xs, syms, lengths, tg, dense, every = _pack(batches)
    K, n = lengths.shape
    E = np.zeros((K, n))
    right = np.zeros((K, n), np.bool_)
    Y = np.zeros(tg.shape)
    g_kind, h_kind = SQUASH[net.squash]
    Mh, Mo = (np.repeat(m[None], K, axis=0) for m in net.masks())
    _rtrl.predict(np.ascontiguousarray(Wh), np.ascontiguousarray(Wo), Mh, Mo, net.blocks, net.block_size, g_kind,
                  h_kind, net.output_gates, net.output == "linear", dense, xs, syms, lengths, tg, every, 0.0, E, right, Y)
    return [Y[k][:, : b.targets.shape[1]] for k, b in enumerate(batches)]


class _Window:
    """The ring buffers of a Window rule for K trials, kept between kernel calls."""

    def __init__(self, rule: Window, K: int) -> None:
        self.rule = rule
        self.e = np.zeros((K, rule.size))
        self.w = np.zeros((K, rule.size), np.int64)
        self.state = np.zeros((K, 3), np.int64)            # position, filled, wrong count
        self.sum = np.zeros(K)

    def mean(self, k: int) -> float:
        return float(self.sum[k] / max(self.state[k, 1], 1))


def train(net: Network, training: Training, make_task: Callable[[int], Task], seeds: list[int], *,
          progress: Callable[[dict[str, Any]], None] | None = None, interval: float = 2.0) -> list[TrialResult]:
    """Train one trial per seed, all at once, and test each; ``make_task(k)`` gives trial k's task.

    ``progress`` gets a dict about every ``interval`` seconds and at the end: ``sequences`` (per
    trial), ``errors`` (each trial's running mean E, None once stopped), ``solved``, ``trials``.
    """
    K = len(seeds)
    tasks = [make_task(k) for k in range(K)]
    data = [np.random.default_rng([s, 1]) for s in seeds]
    tests = [np.random.default_rng([s, 2]) for s in seeds]
    inits = [np.random.default_rng([s, 0]) for s in seeds]
    Wh, Wo = map(np.stack, zip(*(net.initial_weights(rng) for rng in inits)))
    Mh, Mo = (np.repeat(m[None], K, axis=0) for m in net.masks())
    grown = np.full(K, not training.grow)
    if training.grow:                                   # outputs alone first: no cells yet
        H = net.cells
        full_h, full_o = Mh.copy(), Mo.copy()
        Mh[:], Wh[:] = 0.0, 0.0
        Mo[:, :, :H], Wo[:, :, :H] = 0.0, 0.0
    previous = np.full(K, np.inf)
    g_kind, h_kind = SQUASH[net.squash]
    stop, crit = training.stop, training.criterion
    window = _Window(stop, K) if isinstance(stop, Window) else _Window(Window(1), K)
    results = [TrialResult(s, False, 0) for s in seeds]
    running = np.full(K, math.nan)
    active = list(range(K))
    seen, steps = 0, 100
    start = last_report = time.perf_counter()
    while active:
        n = _chunk(stop, steps, seen, training.max_sequences)
        batches = [tasks[k].train(n, data[k]) for k in active]
        steps = max(b.steps for b in batches)
        xs, syms, lengths, tg, dense, every = _pack(batches)
        idx = np.array(active)
        wh, wo = np.ascontiguousarray(Wh[idx]), np.ascontiguousarray(Wo[idx])
        ring = [np.ascontiguousarray(a[idx]) for a in (window.e, window.w, window.state, window.sum)]
        E = np.zeros((len(idx), n))
        right = np.zeros((len(idx), n), np.bool_)
        used = np.zeros(len(idx), np.int64)
        threshold = crit.threshold if crit.kind == "abs" and not crit.at_end else math.inf
        _rtrl.train(wh, wo, np.ascontiguousarray(Mh[idx]), np.ascontiguousarray(Mo[idx]), net.blocks, net.block_size,
                    g_kind, h_kind, net.output_gates, net.output == "linear", dense, xs, syms, lengths, tg, every, training.lr, threshold, np.ones(len(idx), np.bool_),
                    stop.size if isinstance(stop, Window) else 0, getattr(stop, "mean_error", math.inf),
                    getattr(stop, "max_wrong", 0) + 1, *ring, E, right, used, training.update == "step",
                    GRADIENTS[training.gradient])
        Wh[idx], Wo[idx] = wh, wo
        for a, b in zip((window.e, window.w, window.state, window.sum), ring):
            a[idx] = b
        seen += n
        stopped = []
        for i, k in enumerate(active):
            if isinstance(stop, Window):
                running[k] = window.mean(k)
                if used[i] < n:
                    results[k].solved, results[k].sequences = True, seen - n + int(used[i])
            else:
                running[k] = float(E[i].mean())
            if not grown[k] and running[k] > 0.99 * previous[k]:      # the error stopped falling: add the cells
                grown[k] = True
                results[k].stages.setdefault("cells added", seen)
                W, V = net.initial_weights(inits[k])
                Mh[k], Mo[k] = full_h[k], full_o[k]
                Wh[k], Wo[k, :, :net.cells] = W, V[:, :net.cells]
            previous[k] = running[k]
            results[k].curve.append((seen if not results[k].solved else results[k].sequences, float(running[k])))
        if isinstance(stop, Check):
            for k, passed in zip(active, _check(net, stop, crit, [Wh[k] for k in active], [Wo[k] for k in active],
                                                [tasks[k] for k in active], [tests[k] for k in active])):
                for name in passed:
                    results[k].stages.setdefault(name, seen)
                if stop.stages[-1].name in passed:
                    results[k].solved, results[k].sequences = True, seen
        for k in active:
            if results[k].solved or seen >= training.max_sequences:
                results[k].sequences = results[k].sequences if results[k].solved else seen
                results[k].seconds = time.perf_counter() - start
                stopped.append(k)
        active = [k for k in active if k not in stopped]
        now = time.perf_counter()
        if progress is not None and (now - last_report >= interval or not active):
            last_report = now
            progress({"sequences": [r.sequences if r.solved or k not in active else seen for k, r in enumerate(results)],
                      "errors": [float(running[k]) if k in active else None for k in range(K)],
                      "solved": sum(r.solved for r in results), "trials": K, "seconds": now - start})
    _final_test(net, training, tasks, tests, Wh, Wo, results)
    return results


def _chunk(stop: Window | Check, steps: int, seen: int, budget: int) -> int:
    """Sequences per kernel call: up to the next check, or about 2·10⁵ steps' worth under a window
    (``steps``: the last chunk's padded length)."""
    if isinstance(stop, Check):
        n = stop.every - seen % stop.every
    else:
        n = int(min(2000, max(50, 2e5 / steps)))
    return max(1, min(n, budget - seen))


def _check(net: Network, stop: Check, crit: Criterion, wh: list[np.ndarray], wo: list[np.ndarray],
           tasks: list[Task], rngs: list[np.random.Generator]) -> list[list[str]]:
    """Each trial's check test -> the names of the stages that hold (``Check.passed``)."""
    return [stop.passed(task, rng, crit, lambda seqs, W=W, V=V: predict(net, W[None], V[None], [seqs])[0])
            for W, V, task, rng in zip(wh, wo, tasks, rngs)]


def _final_test(net: Network, training: Training, tasks: list[Task], rngs: list[np.random.Generator],
                Wh: np.ndarray, Wo: np.ndarray, results: list[TrialResult]) -> None:
    """The stated test: fresh sequences (or each task's test set), every trial, solved or not."""
    test = training.test
    batches = [task.test_set if test.task_sets else task.test(test.size, rng) for task, rng in zip(tasks, rngs)]
    sizes = {len(b) for b in batches}
    ys = (predict(net, Wh, Wo, batches) if len(sizes) == 1
          else [predict(net, Wh[k:k + 1], Wo[k:k + 1], [b])[0] for k, b in enumerate(batches)])
    for r, y, seqs in zip(results, ys, batches):
        r.wrong = int((~training.criterion.right(y, seqs)).sum())
        r.test_size = len(seqs)
        r.test_mse = float(errors(y, seqs).mean())
        r.test_mean_abs = mean_abs(y, seqs)


__all__ = ["GRADIENTS", "Training", "TrialResult", "predict", "train"]
