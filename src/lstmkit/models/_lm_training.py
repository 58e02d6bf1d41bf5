"""How ``LanguageModel`` reads a text: parallel streams, truncated BPTT, windows, a time budget.

A text of n token ids gives n - 1 predictions (token t + 1 from tokens <= t). Cut into ``S``
parallel streams of ``L = (n - 1) // S`` predictions each (the last (n - 1) mod S are not used),
the streams are read in chunks of ``bptt`` steps. The recurrent kinds ("lstm", "gru") carry their
state from chunk to chunk, detached (truncated BPTT with k1 = k2 = bptt): each stream is read
from its start once per epoch. The attention kinds ("transformer", "hybrid") see windows of
``bptt`` steps and nothing before them: training draws windows at seeded random starts,
evaluation reads the streams' consecutive windows, each from scratch.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..train.data import detach_state

#: Whether a kind's whole history is its recurrent state (carried across chunks and while sampling).
STATEFUL = {"lstm": True, "gru": True, "hybrid": False, "transformer": False}

#: The learning rate's multiplier at fraction ``p`` in [0, 1] of the run (by steps, epochs or time).
SCHEDULES: dict[str, Callable[[float], float]] = {
    "constant": lambda p: 1.0,
    "cosine": lambda p: 0.1 + 0.45 * (1.0 + math.cos(math.pi * min(p, 1.0))),   # down to 10 % at the end
}

LN2 = math.log(2.0)


def streams_of(ids: Tensor, streams: int) -> tuple[Tensor, Tensor]:
    """(inputs, targets), each (S, L): ``ids`` (n,) cut into S = min(streams, n - 1) rows."""
    m = len(ids) - 1
    s = max(1, min(streams, m))
    length = m // s
    x = ids[: s * length].view(s, length)                     # (S, L): tokens 0 .. S·L - 1
    y = ids[1: s * length + 1].view(s, length)                # (S, L): each one's next token
    return x, y


def summed_nats(net: nn.Module, ids: Tensor, *, streams: int, bptt: int, stateful: bool) -> tuple[float, int]:
    """(sum of -log p(token) in nats, number of predictions) over ``ids`` (n,), read as
    ``streams`` streams in chunks of ``bptt``, the state carried iff ``stateful``."""
    x, y = streams_of(ids, streams)
    total, count = 0.0, 0
    was_training = net.training
    net.eval()
    with torch.no_grad():
        state = None
        for t0 in range(0, x.shape[1], bptt):
            logits, new = net(x[:, t0: t0 + bptt].contiguous(), state if stateful else None)
            state = new if stateful else None
            target = y[:, t0: t0 + bptt]
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]).double(), target.reshape(-1),
                                           reduction="sum"))
            count += target.numel()
    net.train(was_training)
    return total, count


@dataclass
class Limits:
    """When a fit stops: after ``minutes`` of wall time, ``steps`` updates or ``epochs`` passes,
    whichever comes first (None: no such limit)."""

    minutes: float | None = None
    steps: int | None = None
    epochs: int | None = None

    def fraction(self, step: int, seconds: float, steps_per_epoch: int) -> float:
        """How far the run is, 0 .. 1: the largest fraction of any limit used up."""
        parts = [0.0]
        if self.minutes is not None:
            parts.append(seconds / (60.0 * self.minutes) if self.minutes > 0 else 1.0)
        if self.steps is not None:
            parts.append(step / self.steps)
        if self.epochs is not None:
            parts.append(step / (self.epochs * steps_per_epoch))
        return min(1.0, max(parts))

    def reached(self, step: int, seconds: float, steps_per_epoch: int) -> str | None:
        """The name of the limit reached, if any."""
        if self.steps is not None and step >= self.steps:
            return "steps"
        if self.epochs is not None and step >= self.epochs * steps_per_epoch:
            return "epochs"
        if self.minutes is not None and seconds >= 60.0 * self.minutes:
            return "minutes"
        return None


@dataclass
class FitReport:
    """What a fit did: ``history`` rows (one per evaluation), ``steps``, ``tokens`` trained on,
    ``seconds``, the limit that ``stopped`` it, the ``best_step`` and ``best_val`` (nats)."""

    history: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    stopped: str = ""
    best_step: int | None = None
    best_val: float | None = None


class Batches:
    """The training batches of one kind: ``next(step) -> (x, y, fresh)`` with x, y (B, T) and
    ``fresh`` True where the carried state must start again (a new epoch, or no state at all)."""

    def __init__(self, ids: Tensor, batch_size: int, bptt: int, stateful: bool, seed: int) -> None:
        self.stateful, self.bptt = stateful, bptt
        if stateful:
            self.x, self.y = streams_of(ids, batch_size)                    # (B, L) each
            self.per_epoch = math.ceil(self.x.shape[1] / bptt)
        else:
            self.ids, self.batch = ids, batch_size
            self.window = min(bptt, len(ids) - 1)
            self.per_epoch = max(1, math.ceil((len(ids) - 1) / (batch_size * self.window)))
            self.gen = torch.Generator().manual_seed(seed)

    def next(self, step: int) -> tuple[Tensor, Tensor, bool]:
        if self.stateful:
            chunk = step % self.per_epoch
            t0 = chunk * self.bptt
            return self.x[:, t0: t0 + self.bptt].contiguous(), self.y[:, t0: t0 + self.bptt].contiguous(), chunk == 0
        starts = torch.randint(0, len(self.ids) - self.window, (self.batch,), generator=self.gen)
        index = starts[:, None] + torch.arange(self.window)[None, :]           # (B, T)
        return self.ids[index], self.ids[index + 1], True


class Reporter:
    """Progress on ``stream``: rewritten in place on a terminal, a line every ``every`` seconds
    otherwise; loss in nats and bits per token, throughput and the time left."""

    def __init__(self, enabled: bool, every: float = 10.0, stream: TextIO | None = None, bits: str = "bpc") -> None:
        self.enabled, self.every, self.bits = enabled, every, bits
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last = -math.inf

    def update(self, fraction: float, step: int, tokens: int, seconds: float, loss: float,
               val: float | None, force: bool = False) -> None:
        if not self.enabled or not (force or seconds - self.last >= (0.2 if self.tty else self.every)):
            return
        self.last = seconds
        filled = round(20 * fraction)
        eta = seconds * (1 - fraction) / fraction if fraction > 0 else math.nan
        text = (f"[{'#' * filled}{'.' * (20 - filled)}] step {step} | {tokens / 1e6:.2f}M tokens | "
                f"loss {loss:.3f} ({loss / LN2:.2f} {self.bits})"
                + ("" if val is None else f" | val {val:.3f} ({val / LN2:.2f} {self.bits})")
                + f" | {tokens / max(seconds, 1e-9):,.0f} tok/s | eta {_clock(eta)}")
        self.stream.write(("\r" + text.ljust(100)) if self.tty and not force else ("\r" if self.tty else "") + text + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if self.enabled:
            self.stream.write(("\r" if self.tty else "") + text + "\n")
            self.stream.flush()


def train(net: nn.Module, kind: str, train_ids: Tensor, val_ids: Tensor | None, *, batch_size: int, bptt: int,
          lr: float, clip: float | None, schedule: str, eval_every: int, eval_tokens: int | None, seed: int,
          limits: Limits, progress: bool, bits: str = "bpc", on_best: Callable[[], None] | None = None) -> FitReport:
    """Adam on ``train_ids`` until a limit; every ``eval_every`` updates and at the end the loss on
    (the first ``eval_tokens`` of) ``val_ids``; ``net`` ends with the best validation weights
    (``on_best`` is called at each new best, e.g. to save them), or its last ones without validation.
    ``bits`` names the unit of the progress lines' bits ("bpc": per character)."""
    stateful = STATEFUL[kind]
    data = Batches(train_ids, batch_size, bptt, stateful, seed)
    held = None if val_ids is None else val_ids[: eval_tokens + 1] if eval_tokens else val_ids
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr)
    shape = SCHEDULES[schedule]
    report, shown = FitReport(), Reporter(progress, bits=bits)
    best: dict[str, Tensor] | None = None
    torch.manual_seed(seed)
    started = time.perf_counter()
    state: Any = None
    running, weight = 0.0, 0.0                     # an exponential average of the training loss

    def validate(loss: float, seconds: float) -> None:
        nonlocal best
        val = None
        if held is not None:
            total, count = summed_nats(net, held, streams=batch_size, bptt=bptt, stateful=stateful)
            val = total / count
            if report.best_val is None or val < report.best_val:
                report.best_val, report.best_step = val, report.steps
                best = {k: v.detach().clone() for k, v in net.state_dict().items()}
                if on_best is not None:
                    on_best()
        report.history.append({"step": report.steps, "tokens": report.tokens, "seconds": round(seconds, 2),
                               "train_loss": loss, "val_loss": val, "lr": optimizer.param_groups[0]["lr"]})
        shown.update(limits.fraction(report.steps, seconds, data.per_epoch), report.steps, report.tokens, seconds,
                     loss, val, force=True)

    net.train()
    while True:
        seconds = time.perf_counter() - started
        stop = limits.reached(report.steps, seconds, data.per_epoch)
        if stop is not None:
            report.stopped = stop
            break
        for group in optimizer.param_groups:
            group["lr"] = lr * shape(limits.fraction(report.steps, seconds, data.per_epoch))
        x, y, fresh = data.next(report.steps)
        logits, new = net(x, None if fresh else state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the training loss is {float(loss)} at step {report.steps + 1}; lower lr "
                                     f"(now {lr}) or set clip")
        optimizer.zero_grad(set_to_none=True)
        penalty = getattr(net, "penalty_", None)            # AR/TAR of the batch, where the model has them
        (loss if penalty is None else loss + penalty).backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        state = detach_state(new) if stateful else None
        report.steps += 1
        report.tokens += y.numel()
        running, weight = 0.98 * running + float(loss.detach()), 0.98 * weight + 1.0
        seconds = time.perf_counter() - started
        if report.steps % eval_every == 0:
            validate(running / weight, seconds)
            net.train()
        else:
            shown.update(limits.fraction(report.steps, seconds, data.per_epoch), report.steps, report.tokens,
                         seconds, running / weight, report.best_val)
    if report.steps and (not report.history or report.history[-1]["step"] != report.steps):
        validate(running / weight, time.perf_counter() - started)
    if best is not None:
        net.load_state_dict(best)
    net.eval()
    report.seconds = time.perf_counter() - started
    shown.message(f"stopped by the {report.stopped} limit after {report.steps} steps, {report.tokens:,} tokens, "
                  f"{report.seconds / 60:.1f} min"
                  + ("" if report.best_val is None else
                     f"; best validation loss {report.best_val:.4f} nats ({report.best_val / LN2:.3f} bits) "
                     f"at step {report.best_step}"))
    return report


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
