"""Time every cell on every engine against ``torch.nn.LSTM``, in one process.

``run_benchmark`` builds, for each shape, the candidates

- ``torch.nn.LSTM`` (the anchor every ratio is taken against),
- ``forget/auto`` and ``forget/<engine>`` for every engine in ``engines.ENGINES`` that runs the
  forget cell,
- ``<cell>/<engine>`` for every other registered cell and every engine that runs it,
- ``torch.compile loop``: a Python loop over time of a ``torch.nn.LSTMCell``-equivalent step
  compiled with ``torch.compile`` (optional: compiling is slow),

and times them interleaved: each round runs every candidate once, in turn, forward only (under
``torch.no_grad()``) and then forward+backward (``loss = out.sum()``, gradients zeroed before each
timed call), so drift on a shared machine hits every candidate alike. The median of ``repeats``
rounds after ``warmup`` rounds is reported. Everything is float32 unless ``dtype`` says otherwise.

Effective GFLOP/s counts 8·H·(I+H) flops per time step and sample forward, per layer and direction
(I is the layer's own input size: D·H above the first layer), and 3x that for forward+backward; it
is set against the best float32 ``torch.matmul`` of 2048x2048 matrices measured in the same run at
the same thread count.
"""

from __future__ import annotations

import platform
import re
import statistics
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from . import engines
from ._checks import check_bool, check_int
from .cells import cells as registered_cells
from .cells import make_cell
from .layer import LSTM

ANCHOR = "torch.nn.LSTM"
COMPILED = "torch.compile loop"
#: Seconds the first calls of the compiled candidate (compilation included) may take; over it the
#: candidate is reported as failed. Checked once those calls return: a compile is not interrupted.
COMPILE_TIMEOUT_S = 60.0
MATMUL_SIZE = 2048
MODES = ("fwd", "fwdbwd")


class Shape(NamedTuple):
    """One benchmark shape: sizes of the input (I), the hidden state (H), the batch (B), the
    sequence (T, time steps), the number of layers and whether it runs both directions."""

    input_size: int
    hidden_size: int
    batch: int
    steps: int
    layers: int = 1
    bidirectional: bool = False

    def label(self) -> str:
        text = (f"I={self.input_size}, H={self.hidden_size}, B={self.batch}, T={self.steps}, "
                f"layers={self.layers}")
        return f"({text}{', bidirectional' if self.bidirectional else ''})"


DEFAULT_SHAPES = [Shape(1, 8, 1, 1000), Shape(8, 32, 256, 100), Shape(32, 128, 32, 100),
                  Shape(128, 256, 64, 100), Shape(256, 512, 64, 50),
                  Shape(128, 256, 64, 100, layers=2), Shape(128, 256, 64, 100, bidirectional=True)]
#: Tiny shapes for tests and smoke runs (a few seconds in all).
QUICK_SHAPES = [Shape(1, 8, 1, 50), Shape(8, 16, 8, 20, layers=2, bidirectional=True)]


# --- arguments ---------------------------------------------------------------------------------
def _check_shapes(shapes: Any) -> list[Shape]:
    if isinstance(shapes, (str, bytes)) or not isinstance(shapes, Iterable):
        raise TypeError(f"shapes must be a list of (I, H, B, T[, layers, bidirectional]) tuples, got {shapes!r}")
    out = [_check_shape(k, s) for k, s in enumerate(shapes)]
    if not out:
        raise ValueError("shapes must name at least one shape, got none")
    return out


def _check_shape(k: int, shape: Any) -> Shape:
    if not isinstance(shape, Sequence) or isinstance(shape, str) or len(shape) not in (4, 5, 6):
        raise TypeError(f"shapes[{k}] must be a tuple (I, H, B, T[, layers, bidirectional]), got {shape!r}")
    s = Shape(*shape)
    for field in Shape._fields[:5]:
        check_int(f"shapes[{k}].{field}", getattr(s, field), minimum=1)
    check_bool(f"shapes[{k}].bidirectional", s.bidirectional)
    return s


def _check_names(name: str, values: Any, known: list[str], kind: str) -> list[str]:
    if values is None:
        return list(known)
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list of {kind} names, got {values!r}")
    values = list(values)
    for v in values:
        if v not in known:
            raise ValueError(f"unknown {kind} {v!r} in {name}; known {kind}s: {', '.join(known)}")
    return values


def _check_dtype(dtype: Any) -> torch.dtype:
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    return dtype


# --- what is measured --------------------------------------------------------------------------
def forward_flops(shape: Shape) -> int:
    """Flops of one forward pass over the whole batch and sequence: 8·H·(I+H) per time step,
    sample, layer and direction, where I is each layer's own input size."""
    i, h, b, t, layers, bidirectional = shape
    d = 2 if bidirectional else 1
    per_step = sum(8 * h * ((i if k == 0 else d * h) + h) for k in range(layers)) * d
    return per_step * b * t


def matmul_peak_gflops(tries: int = 5) -> float:
    """Best GFLOP/s of a float32 ``torch.matmul`` of two 2048x2048 matrices over ``tries`` calls
    after one warm-up, at the current ``torch.get_num_threads()``."""
    a, b = torch.randn(MATMUL_SIZE, MATMUL_SIZE), torch.randn(MATMUL_SIZE, MATMUL_SIZE)
    torch.matmul(a, b)
    best = min(_seconds(torch.matmul, a, b) for _ in range(tries))
    return 2 * MATMUL_SIZE ** 3 / best / 1e9


def saved_mib(module: nn.Module, x: Tensor) -> float:
    """MiB that backward keeps: the distinct storages of the tensors saved for backward during one
    forward pass of ``module`` on ``x``, found with ``torch.autograd.graph.saved_tensors_hooks``.

    The module's parameters and ``x`` itself are left out (they live anyway); a storage saved
    several times (a weight saved at every step, views of one output) counts once, whole.
    """
    alive = {p.untyped_storage().data_ptr() for p in module.parameters()} | {x.untyped_storage().data_ptr()}
    sizes: dict[Any, int] = {}

    def pack(t: Tensor) -> Tensor:
        if t.layout == torch.strided:
            storage = t.untyped_storage()
            if storage.data_ptr() not in alive:
                sizes[storage.data_ptr()] = storage.nbytes()
        else:
            sizes[id(t)] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = module(x)                                 # kept until counted: no address is reused
    total = sum(sizes.values())
    del out
    return total / 2 ** 20


def _seconds(fn: Callable[..., Any], *args: Any) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def _forward(module: nn.Module, x: Tensor) -> None:
    with torch.no_grad():
        module(x)


def _forward_backward(module: nn.Module, x: Tensor) -> None:
    module(x)[0].sum().backward()


def _time_both(module: nn.Module, x: Tensor) -> tuple[float, float]:
    """Seconds of one forward (no_grad) and one forward+backward call, gradients zeroed first."""
    fwd = _seconds(_forward, module, x)
    module.zero_grad(set_to_none=True)
    return fwd, _seconds(_forward_backward, module, x)


# --- the compiled step loop --------------------------------------------------------------------
def _lstm_step(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
               b_hh: Tensor) -> tuple[Tensor, Tensor]:
    """One step of ``torch.nn.LSTMCell``: gates in torch's order (input, forget, cell, output)."""
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _compile_step() -> Callable[..., tuple[Tensor, Tensor]]:
    """``_lstm_step`` through ``torch.compile`` (whole graph, static shapes), with dynamo's caches
    cleared so that every shape compiles afresh and never reaches dynamo's recompile limit."""
    import torch._dynamo                        # loaded only when compiling: it is slow to import

    torch._dynamo.reset()
    return torch.compile(_lstm_step, fullgraph=True, dynamic=False)


class CompiledStepLoop(nn.Module):
    """``torch.nn.LSTM``'s forward as a Python loop over time that calls ``step`` (a compiled
    ``_lstm_step``) once per step, layer and direction. Parameters: a ``torch.nn.LSTM``'s."""

    def __init__(self, shape: Shape, dtype: torch.dtype, step: Callable[..., tuple[Tensor, Tensor]]) -> None:
        super().__init__()
        self.lstm = nn.LSTM(shape.input_size, shape.hidden_size, shape.layers,
                            bidirectional=shape.bidirectional, dtype=dtype)
        self.step = step

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        finals: list[tuple[Tensor, Tensor]] = []
        for k in range(self.lstm.num_layers):
            suffixes = [f"_l{k}", f"_l{k}_reverse"][: 2 if self.lstm.bidirectional else 1]
            outs = []
            for suffix in suffixes:
                out, final = self._direction(x, suffix, reverse=suffix.endswith("reverse"))
                outs.append(out)
                finals.append(final)
            x = torch.cat(outs, 2) if len(outs) > 1 else outs[0]
        return x, (torch.stack([h for h, _ in finals]), torch.stack([c for _, c in finals]))

    def _direction(self, x: Tensor, suffix: str, reverse: bool) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        weights = [getattr(self.lstm, f"{name}{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h, c = (x.new_zeros(x.shape[1], self.lstm.hidden_size) for _ in range(2))
        outs: list[Tensor] = [h] * x.shape[0]
        for t in (reversed(range(x.shape[0])) if reverse else range(x.shape[0])):
            h, c = self.step(x[t], h, c, *weights)
            outs[t] = h
        return torch.stack(outs), (h, c)


def _failure(err: BaseException) -> str:
    """A one-line reason: the exception's type and its message without torch's debugging hints."""
    text = " ".join(line for line in str(err).splitlines()
                    if line.strip() and not line.startswith(("Set TORCHDYNAMO", "You can suppress")))
    text = re.sub(r"\s+", " ", text).strip()
    return f"{type(err).__name__}: {text[:300]}"


def _compiled_candidate(shape: Shape, x: Tensor, dtype: torch.dtype) -> tuple[nn.Module | None, float | None, str | None]:
    """(module, seconds of its first forward and forward+backward calls, failure reason or None).

    Those first calls compile. torch's own deprecation warnings from inside the compiler are
    silenced for them; any error, or first calls over COMPILE_TIMEOUT_S, makes the module None.
    """
    start = time.perf_counter()
    try:
        module = CompiledStepLoop(shape, dtype, _compile_step())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            _time_both(module, x)
    except Exception as err:                    # any compiler failure is a result to report, not a crash
        return None, None, _failure(err)
    seconds = time.perf_counter() - start
    if seconds > COMPILE_TIMEOUT_S:
        return None, seconds, f"compiling took {seconds:.0f} s, over the {COMPILE_TIMEOUT_S:.0f} s limit"
    return module, seconds, None


# --- candidates and rounds ---------------------------------------------------------------------
def candidate_backends(cell: str, shape: Shape, backends: list[str]) -> list[str]:
    """The backends of ``backends`` that run ``cell`` at ``shape``: ``auto`` (forget cell only),
    then every engine in ``engines.ENGINES`` whose ``supports`` accepts the cell."""
    spec = make_cell(cell, shape.input_size, shape.hidden_size)
    names = ["auto"] if cell == "forget" and "auto" in backends else []
    return names + [n for n, e in engines.ENGINES.items() if n in backends and e.supports(spec)]


def _candidates(shape: Shape, cells: list[str], backends: list[str], dtype: torch.dtype) -> dict[str, nn.Module]:
    i, h, _, _, layers, bidirectional = shape
    out: dict[str, nn.Module] = {ANCHOR: nn.LSTM(i, h, layers, bidirectional=bidirectional, dtype=dtype)}
    for cell in cells:
        for backend in candidate_backends(cell, shape, backends):
            out[f"{cell}/{backend}"] = LSTM(i, h, layers, bidirectional=bidirectional, dtype=dtype,
                                            cell=cell, backend=backend)
    return out


def _rounds(modules: dict[str, nn.Module], x: Tensor, repeats: int, warmup: int) -> dict[str, tuple[float, float]]:
    """name -> (median forward seconds, median forward+backward seconds); every round runs every
    module once, in turn, and only the rounds after ``warmup`` count."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in modules}
    for r in range(warmup + repeats):
        for name, module in modules.items():
            both = _time_both(module, x)
            if r >= warmup:
                times[name].append(both)
    return {name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
            for name, ts in times.items()}


def _row(shape: Shape, name: str, seconds: tuple[float, float] | None, anchor: tuple[float, float],
         peak: float, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"shape": shape, "candidate": name}
    flops = forward_flops(shape)
    for mode, factor, k in (("fwd", 1, 0), ("fwdbwd", 3, 1)):
        sec = seconds[k] if seconds else None
        gflops = factor * flops / sec / 1e9 if sec else None
        row[f"{mode}_ms"] = sec * 1e3 if sec else None
        row[f"{mode}_steps_per_s"] = shape.steps * shape.batch / sec if sec else None
        row[f"{mode}_ratio"] = anchor[k] / sec if sec else None
        row[f"{mode}_gflops"] = gflops
        row[f"{mode}_peak_fraction"] = gflops / peak if sec else None
    row["matmul_peak_gflops"] = peak
    row.update({"saved_mib": None, "compile_s": None, "error": None})
    row.update(extra)
    return row


def _bench_shape(shape: Shape, cells: list[str], backends: list[str], repeats: int, warmup: int,
                 dtype: torch.dtype, include_compile: bool, peak: float) -> list[dict[str, Any]]:
    x = torch.randn(shape.steps, shape.batch, shape.input_size, dtype=dtype)
    modules = _candidates(shape, cells, backends, dtype)
    compiled: tuple[nn.Module | None, float | None, str | None] | None = None
    if include_compile:
        compiled = _compiled_candidate(shape, x, dtype)
        if compiled[0] is not None:
            modules[COMPILED] = compiled[0]
    medians = _rounds(modules, x, repeats, warmup)
    rows = [_row(shape, name, medians[name], medians[ANCHOR], peak, saved_mib=saved_mib(m, x))
            for name, m in modules.items()]
    if compiled is not None:
        if compiled[0] is not None:
            rows[-1]["compile_s"] = compiled[1]
        else:
            rows.append(_row(shape, COMPILED, None, medians[ANCHOR], peak, compile_s=compiled[1], error=compiled[2]))
    return rows


def run_benchmark(shapes: Iterable[Sequence[Any]] = DEFAULT_SHAPES, *, cells: Iterable[str] | None = None,
                  backends: Iterable[str] | None = None, repeats: int = 5, warmup: int = 2, threads: int = 2,
                  dtype: torch.dtype = torch.float32, include_compile: bool = True,
                  progress: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Time every candidate (see the module's docstring) at every shape; one row per shape and
    candidate, in the order run.

    Args:
        shapes: (I, H, B, T) or (I, H, B, T, layers, bidirectional) tuples, or ``Shape``s.
        cells: names of the lstmkit cells to time (default: every registered cell).
        backends: which of ``"auto"`` and the engines in ``engines.ENGINES`` to time each cell on,
            where the engine runs it (default: all).
        repeats: timed rounds (the median is reported); warmup: untimed rounds before them.
        threads: ``torch.set_num_threads`` for the run; the previous value is restored after.
        dtype: torch.float32 or torch.float64 (the matmul peak is always float32).
        include_compile: also time the ``torch.compile`` step loop (compiling takes ~5-30 s per
            shape); a failure or a compile over COMPILE_TIMEOUT_S gives a row with ``error`` set.
        progress: called after each shape with ``{"done", "total", "shape", "seconds",
            "matmul_peak_gflops"}`` (seconds: wall time of that shape).

    Each row: ``shape`` (a ``Shape``), ``candidate``; for mode ``fwd`` (forward, no_grad) and
    ``fwdbwd`` (forward+backward): ``{mode}_ms`` median milliseconds, ``{mode}_steps_per_s``
    time steps x batch per second, ``{mode}_ratio`` torch.nn.LSTM's time / this one's (> 1:
    faster than torch), ``{mode}_gflops`` effective GFLOP/s, ``{mode}_peak_fraction`` of
    ``matmul_peak_gflops``; ``saved_mib`` MiB backward keeps (see ``saved_mib``), ``compile_s``
    seconds of the compiled loop's first calls, ``error`` why a candidate has no times (else None).
    """
    shapes = _check_shapes(shapes)
    cells = _check_names("cells", cells, registered_cells(), "cell")
    backends = _check_names("backends", backends, engines.backends(), "backend")
    repeats = check_int("repeats", repeats, minimum=1)
    warmup = check_int("warmup", warmup, minimum=0)
    threads = check_int("threads", threads, minimum=1)
    dtype = _check_dtype(dtype)
    check_bool("include_compile", include_compile)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return _run(shapes, cells, backends, repeats, warmup, dtype, include_compile, progress)
    finally:
        torch.set_num_threads(before)


def _run(shapes: list[Shape], cells: list[str], backends: list[str], repeats: int, warmup: int,
         dtype: torch.dtype, include_compile: bool, progress: Callable[[dict[str, Any]], None] | None) -> list[dict[str, Any]]:
    peak = matmul_peak_gflops()
    rows: list[dict[str, Any]] = []
    for k, shape in enumerate(shapes):
        start = time.perf_counter()
        rows += _bench_shape(shape, cells, backends, repeats, warmup, dtype, include_compile, peak)
        if progress is not None:
            progress({"done": k + 1, "total": len(shapes), "shape": shape,
                      "seconds": time.perf_counter() - start, "matmul_peak_gflops": peak})
    return rows


# --- report ------------------------------------------------------------------------------------
def cpu_model() -> str:
    """The processor's name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    path = Path("/proc/cpuinfo")
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


_HEADER = (f"{'candidate':22s} {'fwd ms':>9s} {'x torch':>7s} {'kstep/s':>8s} {'GFLOP/s':>7s} {'%peak':>5s}"
           f" {'f+b ms':>9s} {'x torch':>7s} {'kstep/s':>8s} {'GFLOP/s':>7s} {'%peak':>5s} {'MiB':>7s}")


def format_table(rows: Iterable[dict[str, Any]]) -> str:
    """The rows as text: one block per shape, one line per candidate. Columns per mode (forward,
    then forward+backward): median ms, torch.nn.LSTM's time / the candidate's, thousands of time
    steps x batch per second, effective GFLOP/s, % of the run's matmul peak; then the MiB backward
    keeps. A failed candidate shows its reason instead."""
    blocks: dict[Shape, list[str]] = {}
    for row in rows:
        if not isinstance(row, dict):
            raise TypeError(f"rows must be dicts from run_benchmark, got {type(row).__name__}")
        blocks.setdefault(Shape(*row["shape"]), []).append(_format_row(row))
    return "\n\n".join("\n".join([shape.label(), _HEADER, *lines]) for shape, lines in blocks.items())


def _format_row(row: dict[str, Any]) -> str:
    if row["error"] is not None:
        return f"{row['candidate']:22s} failed: {row['error']}"
    cols = [f"{row[f'{m}_ms']:9.2f} {row[f'{m}_ratio']:7.2f} {row[f'{m}_steps_per_s'] / 1e3:8.1f} "
            f"{row[f'{m}_gflops']:7.1f} {100 * row[f'{m}_peak_fraction']:5.1f}" for m in MODES]
    return f"{row['candidate']:22s} {' '.join(cols)} {row['saved_mib']:7.2f}"


__all__ = ["ANCHOR", "COMPILED", "COMPILE_TIMEOUT_S", "DEFAULT_SHAPES", "QUICK_SHAPES", "CompiledStepLoop", "Shape",
           "candidate_backends", "cpu_model", "format_table", "forward_flops", "matmul_peak_gflops",
           "run_benchmark", "saved_mib"]
