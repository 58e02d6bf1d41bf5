"""One training loop for every application: ``Trainer(model, config).fit(train, val)``."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from . import distributed as dist
from .checkpoint import (Checkpoint, CheckpointError, load, load_state, optimizer_from_checkpoint,
                         optimizer_to_checkpoint, save, write_atomic)
from .optim import lr_factor, make_optimizer
from .config import TrainConfig
from .data import Items, batches, detach_state, flatten_state, unflatten_state
from .monitor import MetricsLog, Progress

CHECKPOINT = "checkpoint.safetensors"

Step = Callable[[nn.Module, tuple[Tensor, ...]], Tensor]


class NonFiniteLossError(FloatingPointError):
    """The loss or the gradient became NaN or infinite; the run stopped before applying that update."""


@dataclass
class FitResult:
    """What ``fit`` did: one ``history`` row per epoch (the columns of ``metrics.csv``), the update
    ``steps`` taken, the ``best_epoch`` and ``best_loss`` of the monitored loss (validation if
    there is any, else training), whether it ``stopped_early``, and the ``checkpoint`` file."""

    history: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    best_epoch: int | None = None
    best_loss: float | None = None
    stopped_early: bool = False
    seconds: float = 0.0
    checkpoint: str | None = None

    @property
    def epochs(self) -> int:
        return len(self.history)


class Trainer:
    """Trains ``model`` as ``config`` (a ``TrainConfig``, or its fields as keywords) says.

    The loss of a batch is ``step(model, batch)`` if given, else ``loss(model(*inputs), target)``
    with ``batch = (*inputs, target)`` and ``loss`` defaulting to the mean squared error (a model
    returning a tuple, like ``lstmkit.LSTM``, is judged on its first element). Under truncated
    BPTT (``config.tbptt``) the model is called as ``model(x, state) -> (prediction, state)``.
    Losses must be means over the batch: under ``torchrun`` each process's loss is weighted by its
    share of the global batch, so the averaged gradient is the global batch's.

    ``model_config`` (JSON-serialisable) is stored in every checkpoint beside the trainer's config,
    so that an application can rebuild its model from the file alone. ``on_epoch(row)`` is called
    after every epoch with its metrics (epoch, step, train_loss, val_loss, lr, ...): returning True
    stops the run as early stopping does; an exception it raises (e.g. a hyperparameter search
    pruning the trial) ends the fit and propagates.
    """

    def __init__(self, model: nn.Module, config: TrainConfig | None = None, *, loss: Callable[[Tensor, Tensor], Tensor] | None = None,
                 step: Step | None = None, model_config: dict[str, Any] | None = None,
                 on_epoch: Callable[[dict[str, Any]], Any] | None = None, **overrides: Any) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if config is None:
            config = TrainConfig(**overrides)
        elif not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
        elif overrides:
            config = config.replace(**overrides)
        if loss is not None and step is not None:
            raise ValueError("pass either loss= or step=, not both (step computes the loss itself)")
        if step is not None and config.tbptt is not None:
            raise ValueError("step= is not supported with tbptt: the trainer calls model(x, state) itself; pass loss=")
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("model has no trainable parameters")
        if on_epoch is not None and not callable(on_epoch):
            raise TypeError(f"on_epoch must be a callable taking the epoch's metrics, got {type(on_epoch).__name__}")
        self.model, self.config, self.model_config, self.on_epoch = model, config, model_config, on_epoch
        self.loss = loss if loss is not None else nn.MSELoss()
        self.step_fn = step or self._default_step
        self.params = params
        self.dtype = next((p.dtype for p in params if p.is_floating_point()), torch.float32)
        self.device = params[0].device

    # -- the public calls ------------------------------------------------------------------------------

    def fit(self, train: Any, val: Any = None, *, resume: bool = False) -> FitResult:
        """Train on ``train`` (a tuple ``(*inputs, targets)`` of arrays/tensors with items first, or a
        torch Dataset; streams ``(x, y)`` of shape (B, N, ...) under tbptt), validate on ``val``
        (same form) or on ``config.val_fraction`` of ``train``. ``resume=True`` continues from
        ``config.checkpoint_dir``'s checkpoint if there is one and ends with exactly the weights the
        uninterrupted run would have had."""
        cfg = self.config
        axis = 1 if cfg.tbptt else 0
        train_items = Items("train", train, self.dtype, axis=axis)
        val_items = None if val is None else Items("val", val, self.dtype, axis=axis)
        if val_items is None and cfg.val_fraction > 0:
            train_items, val_items = train_items.split(cfg.val_fraction, cfg.val_split, cfg.seed)
        if resume and cfg.checkpoint_dir is None:
            raise ValueError("resume=True needs config.checkpoint_dir: the folder the killed run wrote to")
        run = _Run(self, train_items, val_items)
        return run.go(resume)

    def evaluate(self, data: Any) -> float:
        """The mean loss on ``data`` (same form as ``fit``'s), without gradients, in eval mode."""
        items = Items("data", data, self.dtype, axis=1 if self.config.tbptt else 0)
        return _Run(self, items, None).evaluate(items)

    # -- losses ----------------------------------------------------------------------------------------

    def _default_step(self, model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        out = model(*batch[:-1])
        if isinstance(out, tuple):
            out = out[0]
        return self.loss(out, batch[-1])


class _Run:
    """One call of ``fit``: the position in the data, the optimiser, the bookkeeping."""

    def __init__(self, trainer: Trainer, train: Items, val: Items | None) -> None:
        self.t, self.cfg, self.train, self.val = trainer, trainer.config, train, val
        self.module = trainer.model
        self.rank, self.world = dist.rank(), dist.world()
        self.net: nn.Module = self.module
        self.optimizer = make_optimizer(self.cfg, trainer.params)
        self.base_lrs = [g["lr"] for g in self.optimizer.param_groups]
        self.epoch, self.batch, self.step = 0, 0, 0
        self.sums = [0.0, 0.0, 0.0, 0.0]                 # loss·n, n, grad norm, updates (this epoch)
        self.history: list[dict[str, Any]] = []
        self.best_loss: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict[str, Tensor] | None = None
        self.bad_epochs, self.plateau_bad, self.plateau_scale = 0, 0, 1.0
        self.stopped_early = False
        self.carry: Any = None                            # tbptt: the state carried into the next update
        self.folder = None if self.cfg.checkpoint_dir is None else Path(self.cfg.checkpoint_dir)
        self.total_steps = self.cfg.epochs * self._steps_per_epoch()

    # -- the shape of an epoch -------------------------------------------------------------------------

    def _groups(self, epoch: int) -> list[Tensor]:
        """The epoch's batches: item indices, or under tbptt groups of streams."""
        n = self.train.streams if self.cfg.tbptt else self.train.n
        return batches(n, self.cfg.batch_size, shuffle=self.cfg.shuffle, seed=self.cfg.seed, epoch=epoch,
                       drop_last=self.cfg.drop_last)

    def _chunks(self) -> int:
        return math.ceil(self.train.n / self.cfg.tbptt[0]) if self.cfg.tbptt else 1

    def _steps_per_epoch(self) -> int:
        return len(self._groups(0)) * self._chunks()

    def _check_world(self) -> None:
        """Every process needs at least one item of every global batch."""
        smallest = min(len(g) for g in self._groups(0))
        if smallest < self.world:
            what = "streams" if self.cfg.tbptt else "items"
            raise ValueError(f"batch_size = {self.cfg.batch_size} gives a batch of {smallest} {what}, fewer than the "
                             f"{self.world} processes: raise batch_size, set drop_last=True, or use fewer processes")

    def _shard(self, index: Tensor) -> Tensor:
        return index[self.rank:: self.world]

    # -- the run ---------------------------------------------------------------------------------------

    def go(self, resume: bool) -> FitResult:
        cfg = self.cfg
        if dist.launched():
            dist.init(self.t.device)
            self.rank, self.world = dist.rank(), dist.world()
            self._check_world()
            self.net = nn.parallel.DistributedDataParallel(self.module)
        progress = Progress(self.total_steps, enabled=cfg.progress and self.rank == 0, every=cfg.log_every)
        log = MetricsLog(str(self.folder) if self.folder and self.rank == 0 else None,
                         tensorboard=cfg.tensorboard and self.rank == 0)
        started = time.perf_counter()
        if resume and self.folder is not None and (self.folder / CHECKPOINT).exists():
            finished = self._restore(self.folder / CHECKPOINT)
            progress.message(f"resumed {self.folder / CHECKPOINT} at step {self.step} (epoch {self.epoch + 1})")
            if finished:
                return self._result(started)
        else:
            if resume:
                progress.message(f"no checkpoint in {self.folder}: starting a new run")
            torch.manual_seed(cfg.seed + self.rank)
        try:
            self._epochs(progress, log)
        finally:
            log.close()
        if self.best_state is not None and cfg.restore_best and self.val is not None:
            self.module.load_state_dict(self.best_state)
        self._save(finished=True)
        return self._result(started)

    def _epochs(self, progress: Progress, log: MetricsLog) -> None:
        cfg = self.cfg
        epoch_started = time.perf_counter()
        while self.epoch < cfg.epochs and not self.stopped_early:
            groups = self._groups(self.epoch)
            per_group = self._chunks()
            while self.batch < len(groups) * per_group:
                g, c = divmod(self.batch, per_group)
                lr = self._set_lr()
                if cfg.tbptt:
                    loss, n = self._tbptt_update(groups[g], c)
                else:
                    loss, n = self._update(groups[g])
                self.batch += 1
                self.step += 1
                progress.step(self.step, self.epoch, loss, lr)
                if (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0
                        and self.batch < len(groups) * per_group and self._can_save_mid_epoch(c, per_group)):
                    self._save()
            self._end_epoch(time.perf_counter() - epoch_started, progress, log)
            epoch_started = time.perf_counter()

    def _can_save_mid_epoch(self, chunk: int, per_group: int) -> bool:
        """Under torchrun, a carried tbptt state lives on every process: save only between groups."""
        return self.world == 1 or self.carry is None or chunk == per_group - 1

    # -- one update ------------------------------------------------------------------------------------

    def _update(self, index: Tensor) -> tuple[float, int]:
        local = self._shard(index)
        batch = tuple(t.to(self.t.device) for t in self.train.take(local))
        self.net.train()
        loss = self.t.step_fn(self.net, batch)
        return self._apply(loss, len(local), len(index))

    def _tbptt_update(self, streams: Tensor, chunk: int) -> tuple[float, int]:
        """One update of truncated BPTT(k1, k2): the forward runs from the carried state over the
        k2 - k1 steps before this chunk and its k1 steps; the loss is on the chunk's steps only.
        The state k2 - k1 steps before the chunk's end is carried (detached) into the next update."""
        k1, k2 = self.cfg.tbptt
        local = self._shard(streams)
        if chunk == 0:
            self.carry = None
        t0 = chunk * k1
        end = min(t0 + k1, self.train.n)
        start = max(0, t0 - (k2 - k1))             # the carried state is the state at `start`
        cut = max(0, t0 + k1 - (k2 - k1))          # where the next update's forward will start
        x, y = self._streams(local, start, end)    # (b, end - start, ...)
        self.net.train()
        state, preds = self.carry, []
        if start < cut < end:                      # the first part through the bare module: DDP's
            p, state = self.module(x[:, : cut - start], state)   # hooks run once, in the second call
            preds.append(p)
            carry = detach_state(state)
        p, state = self.net(x[:, max(cut, start) - start:] if start < cut < end else x, state)
        preds.append(p)
        if not start < cut < end:
            carry = detach_state(state) if cut >= end else None
        pred = torch.cat(preds, dim=1)[:, t0 - start:]
        loss = self.t.loss(pred, y[:, t0 - start:])
        self.carry = carry
        return self._apply(loss, len(local) * (end - t0), len(streams) * (end - t0))

    def _streams(self, local: Tensor, start: int, end: int) -> tuple[Tensor, Tensor]:
        x, y = self.train.tensors[0], self.train.tensors[1]
        return x[local, start:end].to(self.t.device), y[local, start:end].to(self.t.device)

    def _apply(self, loss: Tensor, n_local: int, n_global: int) -> tuple[float, int]:
        """Backpropagate ``loss`` (the mean over this process's ``n_local`` of ``n_global`` items)
        weighted by its share, check it, clip, step; return the global mean loss."""
        if not isinstance(loss, Tensor) or loss.dim() != 0:
            raise TypeError(f"the loss must be a scalar tensor, got {type(loss).__name__}"
                            f"{'' if not isinstance(loss, Tensor) else ' of shape ' + str(tuple(loss.shape))}")
        value, bad = dist.sum_all([float(loss.detach()) * n_local, 0.0 if torch.isfinite(loss) else 1.0], self.t.device)
        mean = value / n_global
        if bad:
            self._diverged("loss", mean)
        self.optimizer.zero_grad(set_to_none=True)
        (loss * (n_local * self.world / n_global)).backward()
        limit = self.cfg.clip if self.cfg.clip is not None else math.inf
        norm = float(torch.nn.utils.clip_grad_norm_(self.t.params, limit))
        if not math.isfinite(norm):
            self._diverged("gradient norm", norm)
        self.optimizer.step()
        self.sums[0] += mean * n_global
        self.sums[1] += n_global
        self.sums[2] += norm
        self.sums[3] += 1
        return mean, n_global

    def _diverged(self, what: str, value: float) -> None:
        where = f"step {self.step + 1} (epoch {self.epoch + 1}, batch {self.batch + 1})"
        kept = (f"the last good checkpoint, {self.folder / CHECKPOINT}, is kept"
                if self.folder is not None and (self.folder / CHECKPOINT).exists() else "no checkpoint was written")
        raise NonFiniteLossError(f"the {what} is {value} at {where}; the update was not applied and {kept}. "
                                 "Lower the learning rate, clip the gradient (clip=1.0) or check the data for NaN/inf")

    def _set_lr(self) -> float:
        factor = lr_factor(self.cfg, self.step, self.epoch, self.total_steps) * self.plateau_scale
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * factor
        return self.base_lrs[0] * factor

    # -- epochs, validation, early stopping -------------------------------------------------------------

    def evaluate(self, items: Items) -> float:
        cfg = self.cfg
        self.module.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            if cfg.tbptt:
                for streams in batches(items.streams, cfg.batch_size, shuffle=False, seed=0, epoch=0, drop_last=False):
                    local = self._shard(streams)
                    state = None
                    for t0 in range(0, items.n, cfg.tbptt[0]):
                        end = min(t0 + cfg.tbptt[0], items.n)
                        if len(local):
                            x = items.tensors[0][local, t0:end].to(self.t.device)
                            y = items.tensors[1][local, t0:end].to(self.t.device)
                            pred, state = self.module(x, state)
                            total += float(self.t.loss(pred, y)) * len(local) * (end - t0)
                        count += len(local) * (end - t0)
            else:
                for index in batches(items.n, cfg.batch_size, shuffle=False, seed=0, epoch=0, drop_last=False):
                    local = self._shard(index)
                    if len(local):
                        batch = tuple(t.to(self.t.device) for t in items.take(local))
                        total += float(self.t.step_fn(self.module, batch)) * len(local)
                    count += len(local)
        total, count = dist.sum_all([total, float(count)], self.t.device)
        return total / count

    def _end_epoch(self, seconds: float, progress: Progress, log: MetricsLog) -> None:
        cfg = self.cfg
        val_loss = self.evaluate(self.val) if self.val is not None else None
        train_loss = self.sums[0] / max(self.sums[1], 1)
        row = {"epoch": self.epoch, "step": self.step, "train_loss": train_loss, "val_loss": val_loss,
               "lr": self.optimizer.param_groups[0]["lr"], "grad_norm": self.sums[2] / max(self.sums[3], 1),
               "seconds": round(seconds, 3)}
        self.history.append(row)
        monitored = val_loss if val_loss is not None else train_loss
        if not math.isfinite(monitored):
            self._diverged("validation loss" if val_loss is not None else "epoch's training loss", monitored)
        if self.best_loss is None or monitored < self.best_loss - cfg.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs, self.plateau_bad = monitored, self.epoch, 0, 0
            if self.val is not None:
                self.best_state = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
        else:
            self.bad_epochs += 1
            self.plateau_bad += 1
            if cfg.schedule == "plateau" and self.plateau_bad >= cfg.lr_patience:
                self.plateau_scale *= cfg.lr_gamma
                self.plateau_bad = 0
        if cfg.patience is not None and self.bad_epochs >= cfg.patience:
            self.stopped_early = True
        self.epoch += 1
        self.batch = 0
        self.sums = [0.0, 0.0, 0.0, 0.0]
        self.carry = None
        progress.epoch(row)
        if self.t.on_epoch is not None and self.t.on_epoch(dict(row)) is True:
            self.stopped_early = True
            progress.message(f"stopped by on_epoch after epoch {self.epoch}")
        elif self.stopped_early:
            progress.message(f"early stop: no improvement for {cfg.patience} epochs (best: epoch {self.best_epoch + 1})")
        log.write(self.history)
        if self.epoch < cfg.epochs and not self.stopped_early:
            self._save()

    def _result(self, started: float) -> FitResult:
        path = None if self.folder is None else str(self.folder / CHECKPOINT)
        return FitResult(history=list(self.history), steps=self.step, best_epoch=self.best_epoch,
                         best_loss=self.best_loss, stopped_early=self.stopped_early,
                         seconds=time.perf_counter() - started, checkpoint=path)

    # -- checkpoints -----------------------------------------------------------------------------------

    def _state(self, finished: bool) -> dict[str, Any]:
        return {"epoch": self.epoch, "batch": self.batch, "step": self.step, "sums": self.sums,
                "history": self.history, "best_loss": self.best_loss, "best_epoch": self.best_epoch,
                "bad_epochs": self.bad_epochs, "plateau_bad": self.plateau_bad, "plateau_scale": self.plateau_scale,
                "stopped_early": self.stopped_early, "finished": finished, "world": self.world,
                "train": self.train.signature(), "val": None if self.val is None else self.val.signature(),
                "carry": flatten_state(self.carry)[1]}

    def _save(self, finished: bool = False) -> None:
        if self.folder is None:
            return
        rngs = dist.gather_bytes(torch.get_rng_state(), self.t.device)
        if self.rank != 0:
            dist.barrier()
            return
        tensors: dict[str, dict[str, Tensor]] = {"model": dict(self.module.state_dict())}
        optim_tensors, optim_meta = optimizer_to_checkpoint(self.optimizer)
        tensors["optim"] = optim_tensors
        tensors["rng"] = {f"torch{r}": s for r, s in enumerate(rngs)}
        if self.best_state is not None:
            tensors["best"] = self.best_state
        carry = flatten_state(self.carry)[0]
        if carry:
            tensors["carry"] = {str(i): t for i, t in enumerate(carry)}
        meta = {"config": self.cfg.to_dict(), "state": self._state(finished), "optim": optim_meta}
        if self.t.model_config is not None:
            meta["model_config"] = self.t.model_config
        save(self.folder / CHECKPOINT, Checkpoint(tensors, meta))
        write_atomic(self.folder / "config.json", (self.cfg.to_json() + "\n").encode())
        dist.barrier()

    def _restore(self, path: Path) -> bool:
        ckpt = load(path)
        try:
            saved = TrainConfig.from_dict(ckpt.meta["config"])
            state = ckpt.meta["state"]
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"checkpoint {str(path)!r} lacks a readable trainer config or state ({err})") from None
        diffs = saved.differences(self.cfg)
        if diffs:
            raise ValueError(f"cannot resume {str(path)!r}: its run was configured differently (the checkpoint's {'; '.join(diffs)} now); "
                             "resume with the same settings or use a new checkpoint_dir")
        for name, items in (("train", self.train), ("val", self.val)):
            mine = None if items is None else items.signature()
            if state[name] != mine:
                raise ValueError(f"cannot resume {str(path)!r}: its {name} data were {state[name]}, these are {mine}")
        if state["world"] != self.world:
            raise ValueError(f"cannot resume {str(path)!r}: it ran on {state['world']} process(es), this on {self.world}")
        load_state(self.module, ckpt.tensors.get("model", {}), str(path))
        optimizer_from_checkpoint(self.optimizer, ckpt.tensors.get("optim", {}), ckpt.meta["optim"])
        torch.set_rng_state(ckpt.tensors["rng"][f"torch{self.rank}"])
        for key in ("epoch", "batch", "step", "sums", "history", "best_loss", "best_epoch", "bad_epochs",
                    "plateau_bad", "plateau_scale", "stopped_early"):
            setattr(self, key, state[key])
        self.best_state = ckpt.tensors.get("best")
        carry = ckpt.tensors.get("carry", {})
        self.carry = unflatten_state([carry[str(i)].to(self.t.device) for i in range(len(carry))], state["carry"])
        return bool(state["finished"])


def fit(model: nn.Module, train: Any, val: Any = None, *, resume: bool = False, loss: Any = None,
        step: Step | None = None, **config: Any) -> FitResult:
    """``Trainer(model, TrainConfig(**config), loss=loss, step=step).fit(train, val, resume=resume)``."""
    return Trainer(model, TrainConfig(**config), loss=loss, step=step).fit(train, val, resume=resume)
