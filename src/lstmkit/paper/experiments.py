"""The 1997 paper's experiments: each setting's network, training, test and published figures, and
``Experiment.reproduce`` that trains and tests them.

The settings themselves are data in ``settings.py``; this file holds their shape and the run.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

import numpy as np

from .._checks import check_int
from ..tasks.base import Task
from .faithful import GRADIENTS, Training, TrialResult, train
from .network import OUTPUTS, Network


@dataclass(frozen=True)
class Paper:
    """What the paper reports for one setting (means over its trials)."""

    trials: int
    success: float | None                 # % of trials solved (None: not stated)
    sequences: float | None               # mean training sequences to success
    wrong: float | None                   # wrong predictions on the test set (None: not stated)
    extra: tuple[tuple[str, float], ...] = ()   # other published figures, e.g. ("ST1", 27380)
    note: str = ""


@dataclass(frozen=True)
class Setting:
    """One row of one of the paper's tables. ``task(rng)`` builds a trial's task; with
    ``task_sets`` > 0 the trials share that many task instances (Exp. 1: 3 training/test set pairs
    for 10 initialisations each)."""

    label: str
    network: Network
    training: Training
    paper: Paper
    task: Callable[[np.random.Generator], Task]
    quick: bool = False                   # part of ``reproduce all --quick``
    task_sets: int = 0
    extra: tuple[str, ...] = ()           # stage names whose sequence counts sit beside paper.extra


@dataclass
class SettingResult:
    experiment: str
    setting: str
    paper: Paper
    trials: list[TrialResult]
    seconds: float
    mode: str = "faithful"
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def solved(self) -> list[TrialResult]:
        return [t for t in self.trials if t.solved]

    @property
    def success(self) -> float:
        return 100.0 * len(self.solved) / len(self.trials)

    def sequences(self) -> tuple[float, float, float] | None:
        """Mean, standard deviation and median of the sequences to success (solved trials)."""
        return _stats([float(t.sequences) for t in self.solved])

    def stage(self, name: str) -> float | None:
        """Mean sequences at which stage ``name`` first held, over the solved trials."""
        got = _stats([float(t.stages[name]) for t in self.solved if name in t.stages])
        return None if got is None else got[0]

    def wrong(self) -> float | None:
        done = [t.wrong for t in self.solved if t.wrong is not None]
        return sum(done) / len(done) if done else None

    def mean_of(self, attr: str) -> float | None:
        done = [getattr(t, attr) for t in self.solved if getattr(t, attr) is not None]
        return sum(done) / len(done) if done else None

    def to_dict(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "setting": self.setting, "mode": self.mode, "paper": asdict(self.paper),
                "success": self.success, "sequences": self.sequences(), "wrong": self.wrong(),
                "seconds": self.seconds, "config": self.config, "trials": [asdict(t) for t in self.trials]}


def _stats(values: list[float]) -> tuple[float, float, float] | None:
    if not values:
        return None
    a = np.array(values)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0, float(np.median(a))


@dataclass(frozen=True)
class Experiment:
    name: str
    number: str
    title: str
    tests: str
    settings: tuple[Setting, ...]
    custom: Callable[[int], Setting] | None = None     # a setting at another T (--T), if the task has a T

    def setting(self, label: str) -> Setting:
        for s in self.settings:
            if s.label == label:
                return s
        raise ValueError(f"experiment {self.name!r} has no setting {label!r}; "
                         f"it has: {', '.join(s.label for s in self.settings)}")

    def choose(self, *, settings: list[str] | None = None, T: int | None = None, quick: bool = False) -> list[Setting]:
        if T is not None:
            if self.custom is None:
                raise ValueError(f"--T: experiment {self.name!r} has no sequence length T to set")
            T = check_int("T", T, minimum=12)
            same = [s for s in self.settings if s.label == f"T={T}"]
            return same[:1] or [self.custom(T)]
        if settings:
            return [self.setting(s) for s in settings]
        return [s for s in self.settings if s.quick or not quick]

    def reproduce(self, trials: int | None = None, *, settings: list[str] | None = None, T: int | None = None,
                  quick: bool = False, seed: int = 0, max_sequences: int | None = None, mode: str = "faithful",
                  model: str = "lstm", gradient: str = "truncated", output: str | None = None,
                  output_bias: bool | None = None, progress: Callable[[dict[str, Any]], None] | None = None) -> list[SettingResult]:
        """Train ``trials`` networks per setting (default: the paper's count), all at once, and
        test each. ``settings``: labels such as "T=100" (default: all); ``T``: one sequence length,
        the paper's setting if it has one; ``quick``: only the settings marked quick, at most
        ``QUICK_TRIALS`` trials each and a budget of ``QUICK_BUDGET`` times the paper's mean
        sequences; ``max_sequences`` overrides the budget per trial.
        ``mode`` "faithful": the paper's network and learning algorithm; "modern": ``model``
        ("lstm": the forget cell, "gru", "transformer") trained with BPTT, Adam, mini-batches and
        clipping, on the same tasks, budgets, stopping rules and tests. ``gradient`` (faithful
        mode): "truncated", Appendix A.1's gradient (the paper's), or "full", the untruncated
        gradient by backpropagation through time, one update per sequence, or "cell-inputs",
        truncated at the cell inputs only (the gates' errors flow back in time). ``output`` (faithful
        mode): the output units' activation, "logistic" or "linear" (default: each setting's own,
        logistic everywhere; see ``network.OUTPUTS``); ``output_bias`` (faithful mode): False takes
        the output units' bias weights away (default: each setting's own)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
        if mode == "faithful" and model != "lstm":
            raise ValueError(f"model={model!r} needs mode='modern' (faithful mode trains the paper's own network)")
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {', '.join(GRADIENTS)}, got {gradient!r}")
        if mode == "modern" and gradient != "truncated":
            raise ValueError(f"gradient={gradient!r} is for mode='faithful' (modern mode always uses the full gradient)")
        if output is not None and output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
        if mode == "modern" and (output is not None or output_bias is not None):
            what = f"output={output!r}" if output is not None else f"output_bias={output_bias!r}"
            raise ValueError(f"{what} is for mode='faithful' (modern mode has its own output layer)")
        if output_bias is not None and not isinstance(output_bias, bool):
            raise TypeError(f"output_bias must be a bool or None, got {type(output_bias).__name__}")
        chosen = self.choose(settings=settings, T=T, quick=quick)
        out = []
        for s in chosen:
            n = trials if trials is not None else (min(s.paper.trials, QUICK_TRIALS) if quick else s.paper.trials)
            n = check_int("trials", n, minimum=1)
            training = replace(s.training, gradient=gradient)
            if max_sequences is not None:
                training = replace(training, max_sequences=check_int("max_sequences", max_sequences, minimum=1))
            elif quick and s.paper.sequences:
                training = replace(training, max_sequences=min(training.max_sequences,
                                                               int(QUICK_BUDGET * s.paper.sequences)))
            seeds = [seed * 1000 + k for k in range(n)]
            sets = s.task_sets

            def make_task(k: int, s=s, sets=sets) -> Task:
                return s.task(np.random.default_rng([seed, 7, k % sets if sets else k]))

            label = f"faithful, {gradient} gradient" if gradient != "truncated" else mode
            report = None if progress is None else (lambda p, s=s: progress({"mode": label, **p, "experiment": self.name,
                                                                             "setting": s.label}))
            start = time.perf_counter()
            config: dict[str, Any] = {"mode": mode, "training": _training_dict(training), "seeds": seeds,
                                      "task_sets": sets}
            if mode == "faithful":
                network = s.network if output is None else replace(s.network, output=output)
                if output_bias is not None:
                    network = replace(network, output_bias=output_bias)
                results = train(network, training, make_task, seeds, progress=report)
                config.update(network=asdict(network), weights=network.weights(),
                              output_bias_removed=s.network.output_bias and not network.output_bias)
            else:
                from .modern import train_modern
                results = train_modern(replace(s, training=training), seeds, model=model, progress=report,
                                       make_task=make_task)
                config.update(model=model)
            out.append(SettingResult(self.name, s.label, s.paper, results, time.perf_counter() - start, mode, config))
        return out


def _training_dict(training: Training) -> dict[str, Any]:
    d = asdict(training)
    d["stop"] = {"kind": type(training.stop).__name__, **d["stop"]}
    return d


#: Trials per setting under ``--quick``.
QUICK_TRIALS = 2
#: Under ``--quick`` a trial not solved after this many times the paper's mean sequences has failed.
QUICK_BUDGET = 1.5
MODES = ("faithful", "modern")
MODELS = ("lstm", "gru", "transformer")

__all__ = ["MODELS", "MODES", "QUICK_BUDGET", "QUICK_TRIALS", "Experiment", "Paper", "Setting", "SettingResult"]
