"""The optimisers and learning-rate schedules a TrainConfig names."""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import TrainConfig


def make_optimizer(cfg: TrainConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    kind = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return kind(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_factor(cfg: TrainConfig, step: int, epoch: int, total: int) -> float:
    """The schedule's multiplier of the base learning rate for update ``step`` (0-based)."""
    warm = min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
    span = max(1, total - cfg.warmup_steps)
    done = min(max(0, step - cfg.warmup_steps), span)
    if cfg.schedule == "cosine":
        shape = 0.5 * (1.0 + math.cos(math.pi * done / span))
    elif cfg.schedule == "linear":
        shape = 1.0 - done / span
    elif cfg.schedule == "step":
        shape = cfg.lr_gamma ** (epoch // cfg.lr_step_epochs)
    else:
        shape = 1.0
    return warm * shape
