"""Train-and-explain: a small LSTM trained on one of the 1997 paper's problems, ready to be traced.

``train_adding(T=...)``: the adding problem (Exp. 4, ``lstmkit.tasks.adding``) at a short minimal
length, learned with Adam in seconds by a one-layer forget-gate LSTM and a linear head on its
last output (``lstmkit.models.compare.LastStep``). The paper's own network and algorithm are
``lstmkit reproduce adding``; this one exists to be looked into: its cells must hold the two
marked values across the sequence, so the trace shows units that write at the markers and keep
the sum. ``explain_inputs`` draws the sequences a report shows, with the marker positions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from .._checks import check_float, check_int
from ..models.compare import LastStep
from ..tasks.adding import adding_sequences

TASKS = ("adding",)


@dataclass
class Trained:
    """A trained model with its learning curve and test figures."""

    model: LastStep
    task: str
    T: int
    steps: list[int] = field(default_factory=list)        # training steps at which the curve was read
    losses: list[float] = field(default_factory=list)     # running training MSE there
    val_losses: list[float] = field(default_factory=list)  # MSE on a fixed validation batch there
    test_mse: float = float("nan")
    test_right: float = float("nan")                       # fraction with |error| < 0.04 (the paper's criterion)
    seconds: float = 0.0


def _batch(n: int, T: int, rng: np.random.Generator) -> tuple[Tensor, Tensor, Tensor]:
    x, lengths, y = adding_sequences(n, T, rng).to_torch()
    return x, lengths, y[:, 0, 0]


def evaluate_adding(model: nn.Module, T: int, *, n: int = 1000, seed: int = 12345) -> tuple[float, float]:
    """(MSE, fraction right with |error| < 0.04) on ``n`` fresh sequences."""
    x, lengths, y = _batch(n, T, np.random.default_rng(seed))
    with torch.no_grad():
        err = model(x, lengths)[:, 0] - y
    return float((err ** 2).mean()), float((err.abs() < 0.04).float().mean())


def train_adding(T: int = 50, *, hidden: int = 8, steps: int = 3000, batch_size: int = 64, lr: float = 1e-2,
                 seed: int = 0, progress: Callable[[int, float], None] | None = None) -> Trained:
    """Adam on fresh batches of adding sequences of minimal length ``T`` for ``steps`` updates
    (gradient norm clipped to 1); the same seed gives the same model. ``progress(step, loss)``
    is called every 50 steps."""
    T = check_int("T", T, minimum=12)
    hidden = check_int("hidden", hidden, minimum=1)
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, low=0.0)
    torch.manual_seed(seed)
    model = LastStep("lstm", 2, hidden, 1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr / 20)
    rng = np.random.default_rng(seed)
    xv, lv, yv = _batch(256, T, np.random.default_rng(seed + 1_000_003))
    out = Trained(model, "adding", T)
    started, running = time.perf_counter(), None
    for step in range(1, steps + 1):
        model.train()
        x, lengths, y = _batch(batch_size, T, rng)
        loss = ((model(x, lengths)[:, 0] - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if step % 50 == 0 or step == steps:
            model.eval()
            with torch.no_grad():
                val = float(((model(xv, lv)[:, 0] - yv) ** 2).mean())
            out.steps.append(step)
            out.losses.append(running)
            out.val_losses.append(val)
            if progress is not None:
                progress(step, running)
    model.eval()
    out.seconds = time.perf_counter() - started
    out.test_mse, out.test_right = evaluate_adding(model, T)
    return out


def explain_inputs(T: int, n: int = 8, *, seed: int = 7) -> tuple[Tensor, Tensor, Tensor, np.ndarray]:
    """``n`` adding sequences to look at: x (n, T_max, 2), lengths, targets (n,), and the marked
    steps (n, T_max) bool (the two inputs whose values are to be added)."""
    x, lengths, y = _batch(n, T, np.random.default_rng(seed))
    marked = (x[..., 1] == 1.0).numpy()
    return x, lengths, y, marked


__all__ = ["TASKS", "Trained", "evaluate_adding", "explain_inputs", "train_adding"]
