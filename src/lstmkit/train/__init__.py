"""Training: one loop for every application (``Trainer``), checkpoints that are never lost, runs
that resume exactly, truncated BPTT for long streams, and data parallelism under ``torchrun``."""

from .checkpoint import Checkpoint, CheckpointError, load, save
from .config import TrainConfig
from .checkpoint import load_weights
from .trainer import CHECKPOINT, FitResult, NonFiniteLossError, Trainer, fit

__all__ = ["CHECKPOINT", "Checkpoint", "CheckpointError", "FitResult", "NonFiniteLossError", "TrainConfig",
           "Trainer", "fit", "load", "load_weights", "save"]
