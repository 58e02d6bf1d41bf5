"""The 1997 paper's experiments as data: each setting's network, training, test and published figures.

Every figure here is transcribed from ``../shared/reference/paper1997.md`` (Tables 7, 8, 10 and 11
of Hochreiter & Schmidhuber 1997), with the section it comes from.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import torch

from .._checks import check_int
from ..tasks.adding import adding_batch
from .faithful import Network, Training, TrialResult, train


@dataclass(frozen=True)
class Paper:
    """What the paper reports for one setting (means over its trials)."""

    trials: int
    success: float | None                 # % of trials solved (None: not stated)
    sequences: float | None               # mean training sequences to success
    wrong: float | None                   # wrong predictions on the test set
    note: str = ""


@dataclass(frozen=True)
class Setting:
    label: str
    network: Network
    training: Training
    paper: Paper
    batch: Callable[[int, torch.Generator], tuple[Any, Any, Any]]
    quick: bool = False                   # part of ``reproduce all --quick``


@dataclass
class SettingResult:
    experiment: str
    setting: str
    paper: Paper
    trials: list[TrialResult]
    seconds: float
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def solved(self) -> list[TrialResult]:
        return [t for t in self.trials if t.solved]

    @property
    def success(self) -> float:
        return 100.0 * len(self.solved) / len(self.trials)

    def sequences(self) -> tuple[float, float, float] | None:
        """Mean, standard deviation and median of the sequences to success (solved trials)."""
        done = torch.tensor([float(t.sequences) for t in self.solved])
        if done.numel() == 0:
            return None
        sd = float(done.std()) if done.numel() > 1 else 0.0
        return float(done.mean()), sd, float(done.median())

    def wrong(self) -> float | None:
        done = [t.wrong for t in self.solved if t.wrong is not None]
        return sum(done) / len(done) if done else None

    def to_dict(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "setting": self.setting, "paper": asdict(self.paper),
                "success": self.success, "sequences": self.sequences(), "wrong": self.wrong(),
                "seconds": self.seconds, "config": self.config, "trials": [asdict(t) for t in self.trials]}


@dataclass(frozen=True)
class Experiment:
    name: str
    number: str
    title: str
    tests: str
    settings: tuple[Setting, ...]

    def custom(self, T: int) -> Setting:
        """A setting at another sequence length T: the paper's network and training, no paper
        figure to compare with, a cap of 100·T training sequences."""
        base = self.settings[0]
        T = check_int("T", T, minimum=12)
        for s in self.settings:
            if s.label == f"T={T}":
                return s
        training = Training(**{**asdict(base.training), "max_sequences": 100 * T})
        return Setting(f"T={T}", base.network, training, Paper(trials=base.paper.trials, success=None,
                       sequences=None, wrong=None, note="not a setting of the paper"), _adding(T, self.name == "multiplication"))

    def setting(self, label: str) -> Setting:
        for s in self.settings:
            if s.label == label:
                return s
        raise ValueError(f"experiment {self.name!r} has no setting {label!r}; "
                         f"it has: {', '.join(s.label for s in self.settings)}")

    def reproduce(self, trials: int | None = None, *, settings: list[str] | None = None, T: int | None = None,
                  quick: bool = False, seed: int = 0, max_sequences: int | None = None,
                  progress: Callable[[dict[str, Any]], None] | None = None) -> list[SettingResult]:
        """Train ``trials`` networks per setting (default: the paper's count), all at once, and
        test each. ``settings``: labels such as "T=100" (default: all); ``T``: one sequence length,
        the paper's setting if it has one; ``quick``: only the settings marked quick (T ≤ 100), at
        most 3 trials; ``max_sequences`` overrides the cap on training sequences per trial."""
        if T is not None:
            chosen = [self.custom(T)]
        elif settings:
            chosen = [self.setting(s) for s in settings]
        else:
            chosen = [s for s in self.settings if s.quick or not quick]
        if quick:
            trials = min(trials if trials is not None else 3, 3)
        out = []
        for s in chosen:
            n = check_int("trials", trials if trials is not None else s.paper.trials, minimum=1)
            training = s.training
            if max_sequences is not None:
                training = Training(**{**asdict(training), "max_sequences": check_int("max_sequences", max_sequences, minimum=1)})
            seeds = [seed * 1000 + k for k in range(n)]
            start = time.perf_counter()
            report = None if progress is None else (lambda p, s=s: progress({**p, "experiment": self.name, "setting": s.label}))
            results = train(s.network, training, s.batch, seeds, progress=report)
            out.append(SettingResult(self.name, s.label, s.paper, results, time.perf_counter() - start,
                                     {"network": asdict(s.network), "training": asdict(training), "seeds": seeds,
                                      "mode": "faithful"}))
        return out


def _adding(T: int, multiply: bool = False) -> Callable[[int, torch.Generator], tuple[Any, Any, Any]]:
    def batch(n: int, generator: torch.Generator):
        return adding_batch(n, T, multiply=multiply, generator=generator)
    return batch


# §6, Table 7 and Tables 10-11 row 4: 2 blocks of 2 cells, 2 inputs, 1 output, 93 weights; all
# non-input units biased; weights in [−0.1, 0.1]; input-gate biases −3, −6; α = 0.5; ST3(0.01):
# mean error < 0.01 and the 2000 most recent sequences right (|error| < 0.04); 2560 test sequences.
_ADDING_NET = Network(inputs=2, outputs=1, blocks=2, block_size=2, init=0.1, input_gate_bias=(-3.0, -6.0),
                      output_gate_bias=None)
ADDING = Experiment(
    "adding", "4", "adding problem",
    "store two marked real values across a lag of T/2 or more and output their sum: distributed, "
    "continuous-valued representations over long time lags, with noise on every step",
    tuple(Setting(f"T={T}", _ADDING_NET,
                  Training(lr=0.5, window=2000, mean_error=0.01, correct=0.04, test_size=2560,
                           max_sequences=int(4 * seqs)),
                  Paper(trials=10, success=100.0, sequences=seqs, wrong=wrong,
                        note="success rate not stated; every trial is reported solved"),
                  _adding(T), quick=T == 100)
          for T, seqs, wrong in ((100, 74_000, 1), (500, 209_000, 0), (1000, 853_000, 1))))

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (ADDING,)}


def get(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


__all__ = ["ADDING", "EXPERIMENTS", "Experiment", "Paper", "Setting", "SettingResult", "get"]
