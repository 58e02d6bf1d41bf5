"""The trainer's typed configuration: one dataclass that round-trips to JSON beside its checkpoint."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .._checks import check_bool, check_float, check_int

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "linear", "step", "plateau")
VAL_SPLITS = ("last", "random")

#: Fields that change nothing a run computes: a resumed run may set them differently.
PRESENTATION = frozenset({"progress", "log_every", "checkpoint_dir", "checkpoint_every", "tensorboard"})


@dataclass
class TrainConfig:
    """How ``Trainer.fit`` trains. Every field has a default; ``TrainConfig.from_dict`` fills in
    fields a stored config lacks (checkpoints written before a field existed still load).

    Optimisation: ``epochs``; ``batch_size`` (the GLOBAL batch: under ``torchrun`` each of the W
    processes takes 1/W of it); ``lr``; ``optimizer`` ("adam", "adamw", "sgd" with ``momentum``);
    ``weight_decay``; ``clip``: the gradient's global L2 norm is clipped to it (None: no clipping).

    Learning-rate schedule (``schedule``), applied per step after ``warmup_steps`` of linear warm-up:
    "constant"; "cosine" and "linear" decay to 0 at the last step; "step" multiplies by
    ``lr_gamma`` every ``lr_step_epochs`` epochs; "plateau" multiplies by ``lr_gamma`` when the
    validation loss has not improved for ``lr_patience`` epochs.

    Validation and early stopping: ``val_fraction`` of the training data is held out when no
    validation data are given ("last": the last items, the right split for windows of one time
    series; "random": a seeded random subset); ``patience``: stop after that many epochs without
    an improvement of the validation loss by more than ``min_delta`` (None: never);
    ``restore_best``: end with the weights of the best validation epoch.

    Data: ``shuffle`` the items each epoch (a permutation seeded by ``seed`` and the epoch);
    ``drop_last`` drops a final incomplete batch. ``tbptt = (k1, k2)``: the data are long streams
    (B, N, ...) trained in order with the state carried across chunks: an update every k1 steps,
    the gradient through the last k2 >= k1 steps.

    Bookkeeping: ``seed`` seeds torch's generator at the start of a run; ``checkpoint_dir``: where
    ``checkpoint.safetensors``, ``config.json`` and ``metrics.csv`` go (None: nowhere);
    ``checkpoint_every``: steps between checkpoints (None: at the end of every epoch);
    ``progress``: a progress bar on a terminal, log lines otherwise (every ``log_every`` steps);
    ``tensorboard``: also write TensorBoard scalars (needs the ``tensorboard`` package).
    """

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.0
    weight_decay: float = 0.0
    clip: float | None = 1.0
    schedule: str = "constant"
    warmup_steps: int = 0
    lr_gamma: float = 0.5
    lr_step_epochs: int = 10
    lr_patience: int = 3
    val_fraction: float = 0.0
    val_split: str = "last"
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    shuffle: bool = True
    drop_last: bool = False
    tbptt: tuple[int, int] | None = None
    seed: int = 0
    checkpoint_dir: str | None = None
    checkpoint_every: int | None = None
    progress: bool = True
    log_every: int = 50
    tensorboard: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_float("lr", self.lr, low=0.0)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        check_float("momentum", self.momentum, low=0.0, high=1.0)
        check_float("weight_decay", self.weight_decay, low=0.0)
        if self.clip is not None:
            check_float("clip", self.clip, low=0.0)
        _choice("schedule", self.schedule, SCHEDULES)
        check_int("warmup_steps", self.warmup_steps, minimum=0)
        check_float("lr_gamma", self.lr_gamma, low=0.0, high=1.0)
        check_int("lr_step_epochs", self.lr_step_epochs, minimum=1)
        check_int("lr_patience", self.lr_patience, minimum=1)
        check_float("val_fraction", self.val_fraction, low=0.0, high=0.9)
        _choice("val_split", self.val_split, VAL_SPLITS)
        if self.patience is not None:
            check_int("patience", self.patience, minimum=1)
        check_float("min_delta", self.min_delta, low=0.0)
        for name in ("restore_best", "shuffle", "drop_last", "progress", "tensorboard"):
            check_bool(name, getattr(self, name))
        if self.tbptt is not None:
            if not isinstance(self.tbptt, (tuple, list)) or len(self.tbptt) != 2:
                raise TypeError(f"tbptt must be None or a pair (k1, k2), got {self.tbptt!r}")
            k1 = check_int("tbptt k1", self.tbptt[0], minimum=1)
            k2 = check_int("tbptt k2", self.tbptt[1], minimum=1)
            if k2 < k1:
                raise ValueError(f"tbptt = (k1, k2) needs k2 >= k1 (the gradient reaches back at least "
                                 f"over the k1 steps of each update), got k1 = {k1}, k2 = {k2}")
            self.tbptt = (k1, k2)
        check_int("seed", self.seed, minimum=0)
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir, str):
            self.checkpoint_dir = str(self.checkpoint_dir)
        if self.checkpoint_every is not None:
            check_int("checkpoint_every", self.checkpoint_every, minimum=1)
        check_int("log_every", self.log_every, minimum=1)
        if not isinstance(self.extra, dict):
            raise TypeError(f"extra must be a dict, got {type(self.extra).__name__}")

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if out["tbptt"] is not None:
            out["tbptt"] = list(out["tbptt"])
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Build from a stored dict; missing fields take their defaults, unknown ones are an error."""
        if not isinstance(data, dict):
            raise TypeError(f"a TrainConfig is stored as a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s) {unknown}; known fields are {sorted(known)}")
        data = dict(data)
        if data.get("tbptt") is not None:
            data["tbptt"] = tuple(data["tbptt"])
        return cls(**data)

    @classmethod
    def from_json_file(cls, path: str | Path) -> "TrainConfig":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"cannot read a TrainConfig from {str(path)!r}: {err}") from None
        return cls.from_dict(data)

    def differences(self, other: "TrainConfig") -> list[str]:
        """The fields (other than presentation ones) whose values differ: 'name: mine, not theirs'."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [f"{k}: {mine[k]!r}, not {theirs[k]!r}" for k in mine if k not in PRESENTATION and mine[k] != theirs[k]]


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
