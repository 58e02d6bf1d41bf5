"""LSTM, GRU, LSTM-transformer hybrid and transformer on the same task at a matched parameter
budget: ``compare(task, models=...)`` -> one ``Run`` per model, ``format_runs`` prints the table.

Tasks are registered by name in ``TASKS`` (a function ``(kind, hidden, settings) -> Run``). The
built-in ones are the 1997 paper's long-lag problems, trained on-line (a fresh batch each step, as
in the paper) for a wall-clock budget and tested on fresh sequences:

- ``adding``: Exp. 4, sequences of T (default 1000) pairs; the paper's criterion: a test sequence
  is right when the absolute error is below 0.04. Metric: % right (and the test MSE).
- ``temporal-order``: Exp. 6a (two relevant symbols X/Y among distractors, 100-110 steps, four
  classes). Metric: test accuracy %.

and two of the real datasets, trained by their own models and stopping rules (``minutes`` does
not apply to them):

- ``japanese-vowels``: ``SequenceClassifier`` (bidirectional, last-step pooling, the settings of
  ``lstmkit classify japanese-vowels``) on the 270 training sequences, tested on the 370 others.
  Metric: test accuracy %.
- ``chorales``: ``PianoRollModel`` (causal) on the quarter-note Bach chorales, early stopping on
  the validation pieces. Metric: test negative log-likelihood per frame (nats; lower is better).

``compare_all`` runs every task into one table.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from .._checks import check_float, check_int
from ..train.checkpoint import Checkpoint, CheckpointError, load, load_state, save
from .encoders import KINDS, Encoder, count_parameters, hidden_for_budget


@dataclass
class Run:
    """One model's result on one task. ``value`` of ``metric`` (``higher`` better or not)."""

    task: str
    model: str
    hidden_size: int
    parameters: int
    metric: str
    value: float
    higher: bool = True
    seconds: float = 0.0
    steps: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Settings:
    """What every task run gets: ``budget`` parameters (None: the task's default), ``minutes`` of
    training per model, ``quick`` (a tiny version for tests), ``seed``, ``progress`` (a callable
    taking a line of text, or None); ``options``: per task (adding: ``T``; both long-lag tasks:
    ``steps``, a cap on the training steps); ``save_dir``: where each trained model is saved as
    ``TASK-MODEL.safetensors`` (None: not saved)."""

    budget: int | None = None
    minutes: float = 5.0
    quick: bool = False
    seed: int = 0
    progress: Callable[[str], None] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    save_dir: str | Path | None = None

    def save(self, task: str, kind: str, model: nn.Module) -> None:
        """Save ``model`` in ``save_dir`` (a ``LastStep`` with its sizes; the others by their ``save``)."""
        if self.save_dir is None:
            return
        path = Path(self.save_dir) / f"{task}-{kind}.safetensors"
        if isinstance(model, LastStep):
            save(path, Checkpoint({"model": dict(model.state_dict())}, {"compare": {"task": task, **model.sizes}}))
        else:
            model.save(path)


class LastStep(nn.Module):
    """Encoder -> a linear head on the output at each sequence's last real step: (B, T, I) -> (B, O)."""

    def __init__(self, kind: str, inputs: int, hidden: int, outputs: int, *, heads: int = 4) -> None:
        super().__init__()
        self.sizes = {"kind": kind, "inputs": inputs, "hidden": hidden, "outputs": outputs, "heads": heads}
        self.encoder = Encoder(kind, inputs, hidden, heads=heads)
        self.head = nn.Linear(self.encoder.output_size, outputs)

    @classmethod
    def load(cls, path: str | Path) -> "LastStep":
        """A model saved by ``lstmkit compare --save-dir`` (safetensors; no code runs)."""
        ckpt = load(path)
        info = ckpt.meta.get("compare")
        if not isinstance(info, dict) or "model" not in ckpt.tensors:
            raise CheckpointError(f"{str(path)!r} is not a model saved by lstmkit compare")
        model = cls(info["kind"], info["inputs"], info["hidden"], info["outputs"], heads=info["heads"])
        load_state(model, ckpt.tensors["model"], str(path))
        return model.eval()

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        out, _ = self.encoder(x, lengths)
        last = out[torch.arange(len(x)), lengths.long() - 1]             # (B, D) the last real step
        return self.head(last)


def _train_online(model: nn.Module, batch: Callable[[np.random.Generator], tuple[Tensor, Tensor, Tensor]],
                  loss_fn: Callable[[Tensor, Tensor], Tensor], s: Settings, name: str, *, lr: float = 1e-3,
                  max_steps: int | None = None) -> tuple[int, float]:
    """Adam on a fresh batch each step until ``s.minutes`` have passed (or ``max_steps``)."""
    rng = np.random.default_rng(s.seed + 1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    started, step, report = time.perf_counter(), 0, time.perf_counter()
    running = None
    model.train()
    while True:
        x, lengths, y = batch(rng)
        loss = loss_fn(model(x, lengths), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        elapsed = time.perf_counter() - started
        if s.progress is not None and time.perf_counter() - report > 10:
            s.progress(f"{name}: step {step}, loss {running:.4g}, {elapsed / 60:.1f} of {s.minutes:g} min")
            report = time.perf_counter()
        if elapsed > 60 * s.minutes or (max_steps is not None and step >= max_steps):
            model.eval()
            return step, elapsed


def _adding(kind: str, hidden: int, s: Settings) -> Run:
    from ..tasks.adding import adding_sequences
    T = int(s.options.get("T", 20 if s.quick else 1000))
    batch_size = 32

    def batch(rng: np.random.Generator):
        x, lengths, y = adding_sequences(batch_size, T, rng).to_torch()
        return x, lengths, y[:, 0]

    torch.manual_seed(s.seed)
    model = LastStep(kind, 2, hidden, 1)
    steps, seconds = _train_online(model, batch, nn.functional.mse_loss, s, f"adding T={T} {kind}",
                                   max_steps=30 if s.quick else s.options.get("steps"))
    test = adding_sequences(256 if s.quick else 2560, T, np.random.default_rng(10_000 + s.seed))
    x, lengths, y = test.to_torch()
    with torch.no_grad():
        pred = torch.cat([model(x[i: i + 256], lengths[i: i + 256]) for i in range(0, len(x), 256)])
    err = (pred - y[:, 0]).abs()
    s.save("adding", kind, model)
    return Run(f"adding T={T}", kind, hidden, count_parameters(model), "% right (|error| < 0.04)",
               100.0 * float((err < 0.04).float().mean()), True, seconds, steps,
               {"test MSE": float((err ** 2).mean())})


def _temporal_order(kind: str, hidden: int, s: Settings) -> Run:
    from ..tasks.temporal_order import temporal_order_sequences
    batch_size = 32

    def batch(rng: np.random.Generator):
        seqs = temporal_order_sequences(batch_size, 2, rng)
        x, lengths, _ = seqs.to_torch()
        return x, lengths, torch.from_numpy(seqs.labels)

    torch.manual_seed(s.seed)
    model = LastStep(kind, 8, hidden, 4)
    steps, seconds = _train_online(model, batch, nn.functional.cross_entropy, s, f"temporal order {kind}", lr=3e-3,
                                   max_steps=30 if s.quick else s.options.get("steps"))
    test = temporal_order_sequences(256 if s.quick else 2560, 2, np.random.default_rng(10_000 + s.seed))
    x, lengths, _ = test.to_torch()
    with torch.no_grad():
        pred = torch.cat([model(x[i: i + 256], lengths[i: i + 256]).argmax(1) for i in range(0, len(x), 256)])
    accuracy = float((pred.numpy() == test.labels).mean())
    s.save("temporal-order", kind, model)
    return Run("temporal order (6a)", kind, hidden, count_parameters(model), "test accuracy %", 100.0 * accuracy,
               True, seconds, steps)


def _japanese_vowels(kind: str, hidden: int, s: Settings) -> Run:
    from ..data.sequences import load_japanese_vowels
    from .classifier import DATASET_SETTINGS, SequenceClassifier
    (X, y), (X_test, y_test) = load_japanese_vowels("train"), load_japanese_vowels("test")
    settings = dict(DATASET_SETTINGS["japanese-vowels"])
    if s.quick:
        X, y, X_test, y_test = X[::5], y[::5], X_test[::5], y_test[::5]
        settings["epochs"] = 2
    model = SequenceClassifier(kind, hidden_size=hidden, bidirectional=True, seed=s.seed, **settings)
    started = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - started
    accuracy = model.score(X_test, y_test)
    s.save("japanese-vowels", kind, model)
    if s.progress is not None:
        s.progress(f"japanese vowels {kind}: test accuracy {100 * accuracy:.2f}% in {seconds:.1f} s")
    return Run("japanese vowels", kind, hidden, count_parameters(model), "test accuracy %", 100.0 * accuracy,
               True, seconds, int(model.history_[-1]["step"]))


def _chorales(kind: str, hidden: int, s: Settings) -> Run:
    from ..data.music import load_chorales
    from .music import PianoRollModel
    train, valid, test = (load_chorales(split, grid="quarter") for split in ("train", "valid", "test"))
    epochs = 100
    if s.quick:
        train, valid, test, epochs = train[:12], valid[:4], test[:4], 2
    model = PianoRollModel(kind, hidden_size=hidden, epochs=epochs, seed=s.seed)
    started = time.perf_counter()
    model.fit(train, valid)
    seconds = time.perf_counter() - started
    nll = model.nll(test)
    s.save("chorales", kind, model)
    if s.progress is not None:
        s.progress(f"chorales {kind}: test NLL {nll:.3f} per frame in {seconds:.1f} s")
    return Run("bach chorales", kind, hidden, count_parameters(model), "test NLL per frame (nats)", nll, False,
               seconds, int(model.history_[-1]["step"]), {"valid NLL": model.nll(valid)})


@dataclass
class TaskEntry:
    """A registered task: ``run(kind, hidden, settings) -> Run``; its encoder reads ``inputs``
    features; ``extra(output_size)`` is the parameter count of the model around the encoder (heads,
    embeddings), for matching budgets; ``budget`` the default parameter count; ``encoder`` the
    encoder's options that change its size (``bidirectional``, ``causal``)."""

    run: Callable[[str, int, Settings], Run]
    inputs: int
    extra: Callable[[int], int]
    budget: int
    encoder: dict[str, Any] = field(default_factory=dict)


TASKS: dict[str, TaskEntry] = {}


def register(name: str, run: Callable[[str, int, Settings], Run], *, inputs: int, extra: Callable[[int], int],
             budget: int, **encoder: Any) -> None:
    """Add a task to ``TASKS`` (see ``TaskEntry``)."""
    TASKS[name] = TaskEntry(run, inputs, extra, budget, dict(encoder))


def _linear(outputs: int) -> Callable[[int], int]:
    return lambda width: width * outputs + outputs


register("adding", _adding, inputs=2, extra=_linear(1), budget=4_500)
register("temporal-order", _temporal_order, inputs=8, extra=_linear(4), budget=4_500)
register("japanese-vowels", _japanese_vowels, inputs=12, extra=_linear(9), budget=40_000, bidirectional=True)
register("chorales", _chorales, inputs=88, extra=_linear(88), budget=120_000, causal=True)


def matched_hidden(task: str, kind: str, budget: int) -> int:
    """The hidden size that brings ``kind``'s model for ``task`` closest to ``budget`` parameters."""
    entry = TASKS[task]
    return hidden_for_budget(kind, entry.inputs, budget, extra=entry.extra, **entry.encoder)


def compare(task: str, models: tuple[str, ...] | list[str] = KINDS, *, budget: int | None = None,
            minutes: float = 5.0, quick: bool = False, seed: int = 0,
            progress: Callable[[str], None] | None = None, save_dir: str | Path | None = None,
            **options: Any) -> list[Run]:
    """Train and test each of ``models`` on ``task`` at (about) the same parameter count (each
    saved in ``save_dir`` as ``TASK-MODEL.safetensors`` when given)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; the tasks are {', '.join(sorted(TASKS))}")
    unknown = [m for m in models if m not in KINDS]
    if unknown or not models:
        raise ValueError(f"models must be some of {', '.join(KINDS)}, got {list(models)}")
    check_float("minutes", minutes, low=0.0)
    check_int("seed", seed, minimum=0)
    entry = TASKS[task]
    target = entry.budget if budget is None else check_int("budget", budget, minimum=1)
    if save_dir is not None and not Path(save_dir).is_dir():
        raise ValueError(f"save_dir {str(save_dir)!r} is not a directory")
    settings = Settings(budget=target, minutes=minutes, quick=quick, seed=seed, progress=progress, options=options,
                        save_dir=save_dir)
    return [entry.run(kind, matched_hidden(task, kind, target), settings) for kind in models]


def compare_all(models: tuple[str, ...] | list[str] = KINDS, *, minutes: float = 5.0, quick: bool = False,
                seed: int = 0, progress: Callable[[str], None] | None = None, save_dir: str | Path | None = None,
                **options: Any) -> list[Run]:
    """``compare`` on every task in ``TASKS``, each at its own default budget: one list of runs."""
    return [run for task in TASKS
            for run in compare(task, models, minutes=minutes, quick=quick, seed=seed, progress=progress,
                               save_dir=save_dir, **options)]


def format_runs(runs: list[Run]) -> str:
    """The comparison table, the best value of each task marked with *."""
    lines = [f"{'task':<22}{'model':<13}{'hidden':>7}{'params':>9}  {'metric':<28}{'value':>9}{'steps':>8}{'time':>9}"]
    best: dict[str, float] = {}
    for r in runs:
        key = r.task
        v = r.value if r.higher else -r.value
        best[key] = max(best.get(key, -np.inf), v)
    for r in runs:
        mark = "*" if (r.value if r.higher else -r.value) == best[r.task] else " "
        extra = "".join(f"  {k} {v:.4g}" for k, v in r.extra.items())
        lines.append(f"{r.task:<22}{r.model:<13}{r.hidden_size:>7}{r.parameters:>9}  {r.metric:<28}"
                     f"{r.value:>8.4g}{mark}{r.steps:>8}{r.seconds:>8.1f}s{extra}")
    return "\n".join(lines)


__all__ = ["Run", "Settings", "TASKS", "TaskEntry", "compare", "compare_all", "format_runs", "matched_hidden", "register"]
