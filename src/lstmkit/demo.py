"""The README's first job: train a small LSTM on the latch task and report how it did."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ._checks import check_float, check_int
from .cells import make_cell
from .layer import LSTM
from .tasks.latch import latch_batch


@dataclass(frozen=True)
class DemoConfig:
    cell: str = "vanilla"
    hidden_size: int = 4
    length: int = 50          # time lag the bit must survive
    steps: int = 400          # training batches at most
    batch_size: int = 32
    lr: float = 0.01
    seed: int = 0
    eval_every: int = 25
    eval_size: int = 512

    def __post_init__(self) -> None:
        make_cell(self.cell, 1, check_int("hidden_size", self.hidden_size, minimum=1))
        for name in ("length", "steps", "batch_size", "eval_every", "eval_size"):
            check_int(name, getattr(self, name), minimum=2 if name == "length" else 1)
        check_float("lr", self.lr, low=0.0)
        check_int("seed", self.seed, minimum=0)


@dataclass(frozen=True)
class DemoResult:
    config: DemoConfig
    steps: int
    accuracy: float
    loss: float
    seconds: float
    solved: bool

    def as_dict(self) -> dict:
        return {**asdict(self), "config": asdict(self.config)}


class LatchModel(nn.Module):
    def __init__(self, cfg: DemoConfig) -> None:
        super().__init__()
        options = {"recurrent_gates": True} if cfg.cell == "vanilla" else {}
        self.lstm = LSTM(1, cfg.hidden_size, cell=cfg.cell, **options)
        self.head = nn.Linear(cfg.hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)                 # (T, B, H)
        return self.head(out[-1]).squeeze(-1)  # (B,) logits from the last step


def run_demo(cfg: DemoConfig = DemoConfig(), progress: Callable[[dict], None] | None = None) -> DemoResult:
    """Train until every held-out sequence is right (or ``cfg.steps`` batches); deterministic."""
    torch.manual_seed(cfg.seed)
    data = torch.Generator().manual_seed(cfg.seed)
    model = LatchModel(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = nn.BCEWithLogitsLoss()
    x_eval, y_eval = latch_batch(cfg.eval_size, cfg.length, generator=torch.Generator().manual_seed(cfg.seed + 1))
    start, accuracy, loss = time.perf_counter(), 0.0, float("nan")
    step = 0
    for step in range(1, cfg.steps + 1):
        x, y = latch_batch(cfg.batch_size, cfg.length, generator=data)
        loss_t = loss_fn(model(x), y)
        opt.zero_grad()
        loss_t.backward()
        opt.step()
        loss = loss_t.item()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            with torch.no_grad():
                accuracy = ((model(x_eval) > 0).float() == y_eval).float().mean().item()
            if progress:
                progress({"step": step, "loss": loss, "accuracy": accuracy,
                          "seconds": time.perf_counter() - start})
            if accuracy == 1.0:
                break
    return DemoResult(cfg, step, accuracy, loss, time.perf_counter() - start, accuracy == 1.0)
