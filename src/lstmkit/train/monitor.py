"""What a run shows and records: a progress bar (terminal) or log lines (CI, files), a CSV of every
epoch's metrics, and TensorBoard scalars when asked for."""

from __future__ import annotations

import csv
import io
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .checkpoint import write_atomic

COLUMNS = ("epoch", "step", "train_loss", "val_loss", "lr", "grad_norm", "seconds")


class Progress:
    """One line per update on a terminal (rewritten in place with ``\\r``), a plain line every
    ``every`` steps and at every epoch's end otherwise. ``enabled=False`` prints nothing."""

    def __init__(self, total_steps: int, *, enabled: bool = True, every: int = 50,
                 stream: TextIO | None = None) -> None:
        self.total, self.every, self.enabled = total_steps, every, enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.first_step: int | None = None
        self._last = 0.0

    def _eta(self, step: int) -> str:
        if self.first_step is None or step <= self.first_step:
            return "?"
        rate = (time.perf_counter() - self.start) / (step - self.first_step)
        return _clock(rate * (self.total - step))

    def _bar(self, step: int) -> str:
        width = 20
        filled = round(width * step / max(self.total, 1))
        return "[" + "#" * filled + "." * (width - filled) + "]"

    def step(self, step: int, epoch: int, loss: float, lr: float) -> None:
        if not self.enabled:
            return
        if self.first_step is None:
            self.first_step, self.start = step - 1, time.perf_counter()
        text = (f"{self._bar(step)} step {step}/{self.total} epoch {epoch + 1} loss {loss:.4g} "
                f"lr {lr:.3g} eta {self._eta(step)}")
        if self.tty:
            now = time.perf_counter()
            if now - self._last > 0.1 or step == self.total:
                self.stream.write("\r" + text.ljust(79))
                self.stream.flush()
                self._last = now
        elif step % self.every == 0:
            self.stream.write(text + "\n")
            self.stream.flush()

    def epoch(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        val = "" if row["val_loss"] is None else f" val_loss {row['val_loss']:.4g}"
        text = (f"epoch {row['epoch'] + 1} step {row['step']}/{self.total} train_loss {row['train_loss']:.4g}"
                f"{val} lr {row['lr']:.3g} ({row['seconds']:.1f} s)")
        self.stream.write(("\r" + text.ljust(79) + "\n") if self.tty else text + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if self.enabled:
            self.stream.write(("\r" if self.tty else "") + text + "\n")
            self.stream.flush()


class MetricsLog:
    """``metrics.csv`` (one row per epoch, columns ``COLUMNS``), rewritten atomically each epoch from
    the run's history, so after a resume it holds exactly the rows an uninterrupted run would."""

    def __init__(self, folder: str | None, tensorboard: bool = False) -> None:
        self.path = None if folder is None else Path(folder) / "metrics.csv"
        self.writer = None
        if tensorboard:
            if folder is None:
                raise ValueError("tensorboard=True needs a checkpoint_dir to write its event files to")
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ImportError("tensorboard=True needs the tensorboard package: pip install tensorboard") from None
            self.writer = SummaryWriter(str(Path(folder) / "tensorboard"))

    def write(self, history: list[dict[str, Any]]) -> None:
        if self.path is not None:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
            w.writeheader()
            for row in history:
                w.writerow({k: ("" if row[k] is None else row[k]) for k in COLUMNS})
            write_atomic(self.path, buf.getvalue().encode())
        if self.writer is not None and history:
            row = history[-1]
            for key in ("train_loss", "val_loss", "lr", "grad_norm"):
                if row[key] is not None:
                    self.writer.add_scalar(key, row[key], row["step"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
