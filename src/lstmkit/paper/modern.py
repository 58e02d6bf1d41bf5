"""Modern mode: the paper's tasks, budgets, stopping rules, criteria and tests, trained the way
recurrent networks are trained today.

Full backpropagation through time, Adam, mini-batches, gradient clipping by norm (per network),
and the mean squared error of logistic outputs against the targets at the error steps. Everything
that makes a result comparable with faithful mode (``faithful.train``) is shared with it: each
trial's task (``make_task(k)``), its streams of training data (``np.random.default_rng([seed, 1])``)
and of test data (``[seed, 2]``), the stopping rule (``Window`` applied to the stream of training
sequences in order, ``Check`` whenever the sequence count crosses a multiple of ``every``), the budget
``setting.training.max_sequences``, the test after stopping, and the ``TrialResult`` it returns.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._checks import check_float, check_int
from ..layer import LSTM
from ..tasks.base import Sequences, Task
from .experiments import MODELS, Setting
from .faithful import TrialResult
from .models import DEFAULT_HIDDEN, TRANSFORMER_HEADS, _GRU, _Group, _LSTMGroup, _ModelGroup, _Transformer
from .rules import Check, Criterion, Window, errors, mean_abs

#: The lstm model's initial total forget-gate bias (see ``train_modern``).
FORGET_BIAS = 3.0



def train_modern(setting: Setting, seeds: list[int], *, model: str = "lstm",
                 progress: Callable[[dict[str, Any]], None] | None = None, interval: float = 2.0,
                 batch_size: int = 32, lr: float = 3e-3, clip: float | None = 1.0, hidden_size: int | None = None,
                 make_task: Callable[[int], Task] | None = None, forget_bias: float = FORGET_BIAS) -> list[TrialResult]:
    """Train one trial per seed on ``setting``'s task the modern way, and test each as faithful mode does.

    Models (``model``):

    - ``"lstm"``: one layer of ``lstmkit.LSTM(cell="forget")`` (torch's cell), ``hidden_size``
      cells (default 32), a linear head and a logistic output; the forget gate's total bias starts
      at ``forget_bias`` (default ``FORGET_BIAS`` = 3: σ(3) ≈ 0.95 keeps a gradient alive across the
      tasks' 100-step lags, where the usual 1.0 (σ ≈ 0.73) lets it vanish; Gers et al. 2000 used
      large positive forget biases for long lags). The K trials train AT ONCE as K
      independent networks (``lstmkit.ParallelLSTM``: own weights, own data, one fused kernel call
      for all) with K heads (one batched product), one Adam over all parameters (per-parameter, so
      each trial trains as if alone) and clipping per network.
    - ``"gru"``: ``torch.nn.GRU`` (one layer, ``hidden_size`` units, default 32) + linear head.
    - ``"transformer"``: a pre-norm causal transformer encoder, d_model = ``hidden_size``
      (default 32), 2 layers, 4 heads, feed-forward 2·d_model, no dropout, sinusoidal positions
      (any length), a causal mask (the output at step t sees steps ≤ t) + linear head. Padding
      needs no key mask: it lies after every real step, so the causal mask already keeps it away
      from every real output; padded outputs never enter the loss or the criteria.
      Attention costs T² per sequence: for the 1000-step tasks this model is slow.

    gru and transformer train their trials one after another (each alone, same protocol).

    Training: mini-batches of ``batch_size`` sequences drawn in order from the trial's own stream,
    loss = mean of (σ(output) − target)² over the error steps (every real step of ``every_step``
    tasks, the padding masked; the last step otherwise), full BPTT, Adam (``lr``), gradient norm
    clipped to ``clip`` per network (None: no clipping). One-hot inputs (``symbols``) are never
    expanded: the input weights are indexed by the hot unit (``W[:, symbol]``), the exact
    equivalent of the product with the one-hot vector (for the gru, that index feeds a GRU whose
    input weights are a fixed identity, so its input weights are the indexed ones).

    Stopping: a ``Window`` rule is applied to the training sequences one by one, in order (each
    sequence's E and right flag from the outputs of the forward pass it was trained with); the
    trial stops at the first sequence where it holds, its ``sequences`` counted exactly within
    the batch, and that batch's update is not applied (the network tested is the one the window
    judged). A ``Check`` runs after every batch that takes the count across a multiple of
    ``every`` (a fresh test: 100 sequences first, all ``size`` only if those are all right; or the
    task's ``train_set`` + ``test_set``); its stages are recorded at that count. Otherwise a trial
    stops at the budget ``setting.training.max_sequences``. Every trial then gets the test of
    ``setting.training.test``, solved or not. What only the paper's own network and algorithm
    have (``setting.network``, ``Training.lr``, ``update`` and ``grow``) is not used: the input and
    output sizes come from the task (``task.inputs``, ``task.outputs``).

    Determinism: trial k's model is built right after ``torch.manual_seed(seeds[k])`` (the global
    generator is restored afterwards), so the same seeds give the same results, and a trial
    trained among others gives what it gives alone (up to float32 rounding of batched products).

    ``make_task(k)`` gives trial k's task (default: ``setting.task(np.random.default_rng([0, 7, j]))``
    with j = k, or k mod ``setting.task_sets``, as ``Experiment.reproduce`` does with seed 0).
    ``progress`` gets, every ``interval`` seconds and at the end, faithful mode's dict
    (``sequences``, ``errors`` — None once a trial has stopped, nan before a sequentially trained
    trial has started —, ``solved``, ``trials``, ``seconds``) plus ``mode``: "modern" and ``model``.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(map(repr, MODELS))}, got {model!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, low=0.0)
    if clip is not None:
        clip = check_float("clip", clip, low=0.0)
    hidden = check_int("hidden_size", DEFAULT_HIDDEN if hidden_size is None else hidden_size, minimum=1)
    if model == "transformer" and hidden % TRANSFORMER_HEADS:
        raise ValueError(f"hidden_size (the transformer's d_model) must be a multiple of {TRANSFORMER_HEADS} "
                         f"heads, got {hidden}")
    if make_task is None:
        sets = setting.task_sets

        def make_task(k: int) -> Task:
            return setting.task(np.random.default_rng([0, 7, k % sets if sets else k]))

    K = len(seeds)
    tasks = [make_task(k) for k in range(K)]
    data = [np.random.default_rng([s, 1]) for s in seeds]
    tests = [np.random.default_rng([s, 2]) for s in seeds]
    one_hot = tasks[0].train(1, np.random.default_rng(0)).symbols is not None
    inputs, outputs = tasks[0].inputs, tasks[0].outputs
    run = _Run(setting, seeds, tasks, data, tests, batch_size, lr, clip, progress, interval, model)
    if model == "lstm":
        nets, heads = [], []
        for s in seeds:
            with _seeded(s):
                nets.append(LSTM(inputs, hidden, cell="forget", forget_bias=forget_bias))
                heads.append(nn.Linear(hidden, outputs))
        run.train(_LSTMGroup(nets, heads, one_hot), list(range(K)))
    else:
        for k, s in enumerate(seeds):
            with _seeded(s):
                net = (_GRU(inputs, outputs, hidden, one_hot) if model == "gru"
                       else _Transformer(inputs, outputs, hidden, one_hot))
            run.train(_ModelGroup({k: net}), [k])
    return run.results


class _seeded:
    """``torch.manual_seed(seed)`` inside, the global generator as it was afterwards."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __enter__(self) -> None:
        self.fork = torch.random.fork_rng(devices=[])
        self.fork.__enter__()
        torch.manual_seed(self.seed)

    def __exit__(self, *exc: Any) -> None:
        self.fork.__exit__(*exc)


# --- the training loop, shared by every model ----------------------------------------------------------

class _Run:
    """The protocol: K trials' tasks, streams, results and progress; ``train`` runs one group of them."""

    def __init__(self, setting: Setting, seeds: list[int], tasks: list[Task], data: list[np.random.Generator],
                 tests: list[np.random.Generator], batch_size: int, lr: float, clip: float | None,
                 progress: Callable[[dict[str, Any]], None] | None, interval: float, model: str) -> None:
        self.training = setting.training
        self.tasks, self.data, self.tests = tasks, data, tests
        self.batch_size, self.lr, self.clip = batch_size, lr, clip
        self.progress, self.interval, self.model = progress, interval, model
        self.K = len(seeds)
        self.results = [TrialResult(s, False, 0) for s in seeds]
        self.running = [math.nan] * self.K
        self.current: dict[int, int] = {}                 # trial -> sequences so far, while it trains
        self.start = self.last_report = time.perf_counter()

    def train(self, group: "_Group", ks: list[int]) -> None:
        training, results = self.training, self.results
        stop, crit, budget = training.stop, training.criterion, training.max_sequences
        opt = torch.optim.Adam([p for k in ks for p in group.params(k)], lr=self.lr)
        windows = {k: _WindowTrack(stop) for k in ks} if isinstance(stop, Window) else {}
        since = {k: [0.0, 0] for k in ks}                 # E sum and count since the last curve point
        active = list(ks)
        seen, spacing = 0, None
        start = time.perf_counter()
        for k in ks:
            self.current[k] = 0
        while active:
            n = min(self.batch_size, budget - seen)
            batches = [self.tasks[k].train(n, self.data[k]) for k in active]
            if spacing is None:                           # curve points: faithful mode's chunks
                spacing = stop.every if isinstance(stop, Check) else int(min(2000, max(50, 2e5 / batches[0].steps)))
            logits = group.logits(active, batches)
            ys = [torch.sigmoid(z) for z in logits]
            learn = []
            for i, k in enumerate(active):
                y = ys[i].detach().double().numpy()
                E, right = errors(y, batches[i]), crit.right(y, batches[i])
                if k in windows:
                    held = windows[k].add(E, right)
                    if held is not None:
                        results[k].solved, results[k].sequences = True, seen + held + 1
                        E = E[: held + 1]
                    self.running[k] = windows[k].mean()
                since[k][0] += float(E.sum())
                since[k][1] += len(E)
                if k not in windows:
                    self.running[k] = since[k][0] / since[k][1]
                if not results[k].solved:
                    learn.append(i)
            if learn:
                loss = sum(_loss(ys[i], batches[i]) for i in learn)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                for i, k in enumerate(active):
                    if i not in learn:                    # stopped in this batch: no update at all
                        for p in group.params(k):
                            p.grad = None
                    elif self.clip is not None:
                        nn.utils.clip_grad_norm_([p for p in group.params(k) if p.grad is not None], self.clip)
                opt.step()
            before, seen = seen, seen + n
            if isinstance(stop, Check) and seen // stop.every > before // stop.every:
                todo = [k for k in active if not results[k].solved]
                for k, passed in zip(todo, _check(group, stop, crit, todo, [self.tasks[k] for k in todo],
                                                  [self.tests[k] for k in todo])):
                    for name in passed:
                        results[k].stages.setdefault(name, seen)
                    if stop.stages[-1].name in passed:
                        results[k].solved, results[k].sequences = True, seen
            point = seen // spacing > before // spacing
            stopped = []
            for k in active:
                done = results[k].solved or seen >= budget
                if point or done:
                    count = results[k].sequences if results[k].solved else seen
                    if not results[k].curve or results[k].curve[-1][0] != count:
                        results[k].curve.append((count, float(self.running[k])))
                    if k not in windows:
                        since[k] = [0.0, 0]
                if done:
                    results[k].sequences = results[k].sequences if results[k].solved else seen
                    results[k].seconds = time.perf_counter() - start
                    stopped.append(k)
                    self.current.pop(k, None)
                else:
                    self.current[k] = seen
            active = [k for k in active if k not in stopped]
            self._report(final=not active and ks[-1] == self.K - 1)
        _final_test(group, training, ks, [self.tasks[k] for k in ks], [self.tests[k] for k in ks], results)

    def _report(self, final: bool) -> None:
        now = time.perf_counter()
        if self.progress is None or not (final or now - self.last_report >= self.interval):
            return
        self.last_report = now
        results = self.results
        self.progress({"sequences": [self.current.get(k, r.sequences) for k, r in enumerate(results)],
                       "errors": [float(self.running[k]) if k in self.current
                                  else (None if r.sequences or r.solved else math.nan) for k, r in enumerate(results)],
                       "solved": sum(r.solved for r in results), "trials": self.K, "seconds": now - self.start,
                       "mode": "modern", "model": self.model})


class _WindowTrack:
    """One trial's Window rule over its stream of training sequences, applied one sequence at a time."""

    def __init__(self, rule: Window) -> None:
        self.rule = rule
        self.e = np.zeros(0)
        self.wrong = np.zeros(0, np.int64)
        self.count = 0

    def add(self, E: np.ndarray, right: np.ndarray) -> int | None:
        """Append a batch's E and right flags in order; the index of the first sequence after
        which the rule holds (the later ones are then dropped), or None."""
        size = self.rule.size
        e = np.concatenate([self.e, E])
        w = np.concatenate([self.wrong, (~right).astype(np.int64)])
        old = len(self.e)
        held = None
        ends = np.arange(old, len(e))                    # window end (inclusive) for each new sequence
        full = self.count - old + ends + 1 >= size       # sequences so far >= size
        if full.any():
            ce = np.concatenate([[0.0], np.cumsum(e)])
            cw = np.concatenate([[0], np.cumsum(w)])
            lo = np.maximum(ends + 1 - size, 0)
            mean = (ce[ends + 1] - ce[lo]) / size
            bad = cw[ends + 1] - cw[lo]
            ok = full & (mean < self.rule.mean_error) & (bad <= self.rule.max_wrong)
            if ok.any():
                held = int(np.argmax(ok))
                e, w = e[: old + held + 1], w[: old + held + 1]
        self.count += len(e) - old
        self.e, self.wrong = e[-size:], w[-size:]
        return held

    def mean(self) -> float:
        return float(self.e.mean()) if len(self.e) else math.nan


def _loss(y: Tensor, seqs: Sequences) -> Tensor:
    """Mean squared error of y (n, T or 1, O) against the targets at the error steps."""
    target = torch.from_numpy(seqs.targets[:, : y.shape[1]]).to(y.dtype)
    if y.shape[1] == 1:
        return F.mse_loss(y, target)
    mask = torch.from_numpy(np.arange(y.shape[1])[None, :] < seqs.lengths[:, None]).to(y.dtype)[..., None]
    return (((y - target) ** 2) * mask).sum() / (mask.sum() * y.shape[2])


def _check(group: "_Group", stop: Check, crit: Criterion, ks: list[int], tasks: list[Task],
           rngs: list[np.random.Generator]) -> list[list[str]]:
    """Each trial's check test -> the names of the stages that hold (``Check.passed``)."""
    return [stop.passed(task, rng, crit, lambda seqs, k=k: group.predict([k], [seqs])[0])
            for k, task, rng in zip(ks, tasks, rngs)]


def _final_test(group: "_Group", training: Any, ks: list[int], tasks: list[Task], rngs: list[np.random.Generator],
                results: list[TrialResult]) -> None:
    """faithful ``_final_test``: fresh sequences (or each task's test set), every trial, solved or not."""
    test = training.test
    batches = [task.test_set if test.task_sets else task.test(test.size, rng) for task, rng in zip(tasks, rngs)]
    ys = (group.predict(ks, batches) if len({len(b) for b in batches}) == 1
          else [group.predict([k], [b])[0] for k, b in zip(ks, batches)])
    for k, y, seqs in zip(ks, ys, batches):
        r = results[k]
        r.wrong = int((~training.criterion.right(y, seqs)).sum())
        r.test_size = len(seqs)
        r.test_mse = float(errors(y, seqs).mean())
        r.test_mean_abs = mean_abs(y, seqs)


__all__ = ["DEFAULT_HIDDEN", "FORGET_BIAS", "MODELS", "train_modern"]
