"""The 1997 paper's networks and training, faithfully, for K trials at once.

A trial's network (Table 10, connectivity "F"): C memory-cell blocks of S cells (the ``vanilla``
cell with ``recurrent_gates``: gates and cells see the inputs, all cells and all gates; the
truncated gradient), and logistic output units that see the cells only, in the same step (the
paper's three-stage order). Every weight starts uniform in [−r, r]; then the stated input- and
output-gate biases are set block by block. Training is on-line plain SGD, one update per sequence
(the error exists only at each sequence's end), on E = ½ Σ_k (t_k − y_k)² (the paper's E without
the ½ and its e_k without the 2: the same update). Activations start at zero for every sequence.

The K trials (own seeds, weights and data) run as one ``ParallelLSTM``; a trial that meets its
stopping rule leaves the group and is tested on its own.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn

from ..layer import LSTM
from ..parallel import ParallelLSTM


@dataclass(frozen=True)
class Network:
    """A trial's topology and initialisation, as Table 10 states it."""

    inputs: int
    outputs: int
    blocks: int
    block_size: int
    init: float                                   # weights uniform in [−init, init]
    input_gate_bias: tuple[float, ...] | None     # per block; None: random like every weight
    output_gate_bias: tuple[float, ...] | None
    hidden_bias: bool = True                      # biases on gates and cells
    cell_bias: bool = True                        # False: "bias on gates only"
    output_bias: bool = True

    @property
    def cells(self) -> int:
        return self.blocks * self.block_size


class Trial(nn.Module):
    """One trial's network: the 1997 hidden layer and its output units."""

    def __init__(self, net: Network) -> None:
        super().__init__()
        self.net = net
        self.lstm = LSTM(net.inputs, net.cells, bias=net.hidden_bias, cell="vanilla", block_size=net.block_size,
                         recurrent_gates=True, truncated=True,
                         **({"cell_input_bias": net.cell_bias} if net.hidden_bias else {}))
        self.out = nn.Linear(net.cells, net.outputs, bias=net.output_bias)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-net.init, net.init)
            if net.hidden_bias:
                bias = self.lstm.bias_ih_l0                 # [input gates | cells (if biased) | output gates]
                c = net.blocks
                if net.input_gate_bias is not None:
                    bias[:c] = torch.tensor(net.input_gate_bias)
                if net.output_gate_bias is not None:
                    bias[-c:] = torch.tensor(net.output_gate_bias)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """x (B, T, I) batch-first, lengths (B,) -> outputs at each sequence's last step (B, O)."""
        out, _ = self.lstm(x.transpose(0, 1), lengths=lengths)
        return torch.sigmoid(self.out(out[lengths - 1, torch.arange(x.shape[0])]))


def count_weights(net: Network) -> int:
    return sum(p.numel() for p in Trial(net).parameters())


@dataclass
class TrialResult:
    seed: int
    solved: bool
    sequences: int                      # training sequences until the stopping rule held (or the cap)
    wrong: int | None = None            # test sequences with any output off by the criterion
    test_mse: float | None = None
    test_size: int = 0
    curve: list[tuple[int, float]] = field(default_factory=list)   # (sequences, mean error of the window)


@dataclass(frozen=True)
class Training:
    """What the paper states for training and testing one setting."""

    lr: float
    window: int                          # ST3: the most recent sequences that must all be right
    mean_error: float                    # ST3(β): their mean error E must be below β
    correct: float                       # a sequence is right when every |t − y| < this (ABS)
    test_size: int
    max_sequences: int                   # the cap: a trial not stopped by then failed


Batch = Callable[[int, torch.Generator], tuple[Tensor, Tensor, Tensor]]


class ST3:
    """The paper's stopping rule ST3(β): the mean error E of the ``window`` most recent training
    sequences is below β, and every one of them was right."""

    def __init__(self, window: int, beta: float) -> None:
        self.window, self.beta = window, beta
        self.errors: deque[float] = deque(maxlen=window)
        self.wrong: deque[bool] = deque(maxlen=window)
        self.total, self.wrong_count = 0.0, 0

    def add(self, error: float, right: bool) -> bool:
        """Record one sequence; True when the rule holds."""
        if len(self.errors) == self.window:
            self.total -= self.errors[0]
            self.wrong_count -= self.wrong[0]
        self.errors.append(error)
        self.wrong.append(not right)
        self.total += error
        self.wrong_count += not right
        return len(self.errors) == self.window and self.total / self.window < self.beta and self.wrong_count == 0

    @property
    def mean(self) -> float:
        return self.total / max(len(self.errors), 1)

#: Training sequences are drawn this many at a time per trial (one generator call), then used one by one.
CHUNK = 256


class _Stream:
    """One trial's training sequences, on-line: drawn in chunks from the trial's own generator."""

    def __init__(self, batch: Batch, generator: torch.Generator) -> None:
        self.batch, self.generator, self.k, self.data = batch, generator, CHUNK, None

    def next(self) -> tuple[Tensor, int, Tensor]:
        if self.k == CHUNK:
            self.data, self.k = self.batch(CHUNK, self.generator), 0
        x, lengths, target = self.data
        k, self.k = self.k, self.k + 1
        n = int(lengths[k])
        return x[k, :n], n, target[k].reshape(-1)


def _stack_outputs(trials: list[Trial], h: Tensor) -> Tensor:
    """h (K, H) -> logistic outputs (K, O), each trial through its own output units."""
    w = torch.stack([t.out.weight for t in trials])                    # (K, O, H)
    y = torch.bmm(w, h.unsqueeze(-1)).squeeze(-1)
    if trials[0].out.bias is not None:
        y = y + torch.stack([t.out.bias for t in trials])
    return torch.sigmoid(y)


def train(net: Network, training: Training, batch: Batch, seeds: list[int], *,
          progress: Callable[[dict[str, Any]], None] | None = None, every: int = 1000) -> list[TrialResult]:
    """Train one trial per seed, all at once; return each trial's result after its test.

    ``batch(n, generator)`` gives n sequences: x (n, T, I) batch-first, lengths (n,), targets
    (n,) or (n, O). ``progress`` gets a dict every ``every`` sequences: ``sequences`` seen,
    ``active`` and ``solved`` trials of ``trials``, the mean window ``error`` of the active ones
    and each trial's (``errors``, None once it has stopped).
    """
    trials, streams = [], []
    for seed in seeds:
        torch.manual_seed(seed)
        trials.append(Trial(net))
        streams.append(_Stream(batch, torch.Generator().manual_seed(seed + 1_000_003)))
    active = list(range(len(trials)))
    results: dict[int, TrialResult] = {}
    rules = [ST3(training.window, training.mean_error) for _ in trials]
    curves: list[list[tuple[int, float]]] = [[] for _ in trials]
    group = ParallelLSTM.from_networks([trials[k].lstm for k in active], backend="auto")
    seen = 0
    while active:
        seen += 1
        data = [streams[k].next() for k in active]
        longest = max(n for _, n, _ in data)
        x = torch.zeros(len(active), longest, 1, net.inputs)
        for i, (xi, n, _) in enumerate(data):
            x[i, :n, 0] = xi
        lengths = torch.tensor([[n] for _, n, _ in data])               # (K, 1)
        target = torch.stack([t for _, _, t in data])                   # (K, O)
        out, _ = group(x, lengths=lengths)                              # (K, T, 1, H)
        last = out[torch.arange(len(active)), lengths[:, 0] - 1, 0]     # (K, H)
        y = _stack_outputs([trials[k] for k in active], last)
        err = target - y
        (0.5 * err.pow(2).sum()).backward()
        with torch.no_grad():                                            # plain SGD, every trial at once
            params = [p for k in active for p in trials[k].parameters()]
            torch._foreach_add_(params, [p.grad for p in params], alpha=-training.lr)
            for p in params:
                p.grad = None
        e = err.detach().pow(2).sum(1)                                  # E per trial
        right = (err.detach().abs() < training.correct).all(1)
        stopped = []
        for i, k in enumerate(active):
            if rules[k].add(float(e[i]), bool(right[i])):
                stopped.append(k)
                results[k] = TrialResult(seeds[k], True, seen)
            elif seen >= training.max_sequences:
                stopped.append(k)
                results[k] = TrialResult(seeds[k], False, seen)
        if seen % every == 0:
            for k in active:
                curves[k].append((seen, rules[k].mean))
            if progress is not None:
                progress({"sequences": seen, "active": len(active), "solved": sum(r.solved for r in results.values()),
                          "trials": len(trials),
                          "error": sum(rules[k].mean for k in active) / len(active),
                          "errors": [rules[k].mean if k in active else None for k in range(len(trials))]})
        if stopped:
            for k in stopped:
                _test(trials[k], training, batch, seeds[k], results[k])
                results[k].curve = curves[k]
            active = [k for k in active if k not in stopped]
            if active:
                group = ParallelLSTM.from_networks([trials[k].lstm for k in active], backend="auto")
    return [results[k] for k in range(len(trials))]


def _test(trial: Trial, training: Training, batch: Batch, seed: int, result: TrialResult) -> None:
    """The stated test set: fresh sequences from a generator of their own."""
    gen = torch.Generator().manual_seed(seed + 2_000_033)
    x, lengths, target = batch(training.test_size, gen)
    with torch.no_grad():
        y = trial(x, lengths)
    err = target.reshape(y.shape) - y
    result.wrong = int((err.abs() >= training.correct).any(1).sum())
    result.test_mse = float(err.pow(2).sum(1).mean())
    result.test_size = training.test_size


__all__ = ["ST3", "Network", "Training", "Trial", "TrialResult", "count_weights", "train"]
