"""``trace(model, x)``: every gate, cell input, cell state and hidden state of every LSTM layer, at
every time step, while the model computes its usual output.

How: each ``lstmkit.LSTM`` in the model runs its layers through the reference loop with a
recorder attached (every engine gives the reference's result, tested, so the model's output is
the untraced one up to rounding); a ``torch.nn.LSTM`` is swapped, for the call only, for an
``lstmkit.LSTM`` with a copy of its weights (the forget cell is the same function). Nothing of
the model is changed: no weight, no mode, no attribute survives the call.

What comes back, for each LSTM module, layer and direction, as float64 numpy arrays of shape
(B, T, units), batch first and in the input's time order (also for the reverse direction), NaN
at each sequence's padded steps:

    input, forget, output   the gates (σ, in [0, 1]); ``forget`` is absent for the 1997 cell,
                            which has none (its memory is the constant error carousel); blocks'
                            shared gates are repeated for each of their cells
    cell_input              g, the squashed candidate written into the cell
    cell                    c, the cell state after the step ("the conveyor belt")
    hidden                  y, the layer's output at the step (its projection, with proj_size)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import Tensor, nn

from ..engines.reference import reverse_padded
from ..layer import LSTM

#: Quantities of a layer trace, in the order reports show them.
QUANTITIES = ("input", "forget", "output", "cell_input", "cell", "hidden")
GATES = ("input", "forget", "output")


@dataclass
class LayerTrace:
    """What one layer of one direction of one LSTM module computed: ``values[name]`` (B, T, units)."""

    module: str                  # the LSTM's name in the model ("" for the model itself)
    layer: int
    direction: str               # "forward" or "reverse"
    cell: str                    # the lstmkit cell name
    values: dict[str, np.ndarray]
    lengths: np.ndarray          # (B,) real steps of each sequence

    @property
    def name(self) -> str:
        where = f"{self.module}." if self.module else ""
        return f"{where}layer {self.layer} {self.direction}"

    @property
    def units(self) -> int:
        return int(self.values["cell"].shape[2])

    @property
    def mask(self) -> np.ndarray:
        """(B, T) True at each sequence's real steps."""
        return np.arange(self.values["cell"].shape[1])[None, :] < self.lengths[:, None]

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.values:
            have = ", ".join(self.values)
            raise KeyError(f"{self.name} (cell {self.cell!r}) has no {name!r}; it has: {have}")
        return self.values[name]


@dataclass
class Trace:
    """Every layer trace of one call, plus the model's input and output.

    ``inputs``: the input as given, as numpy, batch first; ``output``: what the model returned
    (unchanged); ``layers``: a ``LayerTrace`` per LSTM module, layer and direction, in the order
    they ran."""

    inputs: np.ndarray
    output: Any
    layers: list[LayerTrace] = field(default_factory=list)

    def layer(self, layer: int = 0, direction: str = "forward", module: str | None = None) -> LayerTrace:
        """The trace of ``layer`` / ``direction`` (of ``module``, by name, where the model has
        several LSTMs; the first one by default)."""
        if not self.layers:
            raise ValueError("this trace recorded no LSTM layer")
        module = self.layers[0].module if module is None else module
        for t in self.layers:
            if t.module == module and t.layer == layer and t.direction == direction:
                return t
        have = ", ".join(repr(t.name) for t in self.layers)
        raise KeyError(f"no layer {layer} {direction} in module {module!r}; the trace has: {have}")

    @property
    def lengths(self) -> np.ndarray:
        return self.layer().lengths


def _stack(records: list[dict[str, Tensor]], name: str, steps: int, units: int | None = None,
           repeat: int = 1) -> Tensor:
    """(steps_recorded, B, k) -> (steps, B, units), time-major, zero beyond the recorded steps."""
    v = torch.stack([r[name] for r in records]).detach().to(torch.float64)
    if repeat > 1:                                          # a block's gate, for each of its cells
        v = v.repeat_interleave(repeat, dim=2)
    if v.shape[0] < steps:
        v = torch.cat([v, v.new_zeros(steps - v.shape[0], *v.shape[1:])])
    return v


def _layer_values(spec: Any, records: list[dict[str, Tensor]], lengths: Tensor | None, steps: int,
                  reverse: bool) -> dict[str, np.ndarray]:
    block = getattr(spec, "block_size", 1)
    values = {}
    names = {"input": "input", "forget": "forget", "output": "output", "cell": "cell_input", "c": "cell", "y": "hidden"}
    for key, name in names.items():
        if key not in records[0]:
            continue
        v = _stack(records, key, steps, repeat=block if key in GATES else 1)
        if reverse:                                         # back to the input's time order
            v = reverse_padded(v, lengths)
        values[name] = v
    batch = values["cell"].shape[1]
    n = torch.full((batch,), steps, dtype=torch.long) if lengths is None else lengths
    pad = (torch.arange(steps)[:, None] >= n[None, :])[..., None]       # (T, B, 1)
    return {name: v.masked_fill(pad, float("nan")).transpose(0, 1).numpy() for name, v in
            sorted(values.items(), key=lambda kv: QUANTITIES.index(kv[0]))}


@contextlib.contextmanager
def _recording(model: nn.Module, sink: list[LayerTrace]) -> Iterator[None]:
    """Attach a recorder to every LSTM of ``model`` (swapping each torch.nn.LSTM for an
    lstmkit.LSTM copy) for the duration of the block."""
    swapped: list[nn.LSTM] = []
    recorded: list[LSTM] = []

    def recorder_for(name: str, module: LSTM) -> Callable[..., None]:
        def record(k: int, spec: Any, records: list, lengths: Tensor | None, steps: int) -> None:
            n = np.full(records[0][0]["c"].shape[0], steps) if lengths is None else lengths.numpy()
            for direction, rec in enumerate(records):
                sink.append(LayerTrace(name, k, ("forward", "reverse")[direction], spec.name,
                                       _layer_values(spec, rec, lengths, steps, direction == 1),
                                       np.asarray(n, dtype=np.int64)))
        return record

    try:
        for name, module in model.named_modules():
            if isinstance(module, LSTM):
                module._recorder = recorder_for(name, module)
                recorded.append(module)
            elif isinstance(module, nn.LSTM):
                copy = LSTM.from_torch(module)
                copy._recorder = recorder_for(name, copy)
                module.forward = copy.forward               # an instance attribute: the class is untouched
                swapped.append(module)
        yield
    finally:
        for module in recorded:
            module._recorder = None
        for module in swapped:
            del module.forward


def _as_numpy(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def trace(model: nn.Module, x: Any, lengths: Any = None, *, forward: Callable[..., Any] | None = None) -> Trace:
    """Run ``model`` on ``x`` and record every LSTM layer inside it (see the module docstring).

    ``model``: an ``lstmkit.LSTM``, a ``torch.nn.LSTM`` or any module containing them;
    ``x``: its input; ``lengths`` (B,): the real length of each sequence, passed on as the
    model takes it (``lengths=`` for the LSTM layers, the second argument otherwise);
    ``forward(model, x, lengths)``: how to call the model, when it is called otherwise.
    No gradient is recorded; call ``model.eval()`` first to trace what it predicts.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module containing an LSTM, got {type(model).__name__}")
    if not any(isinstance(m, (LSTM, nn.LSTM)) for m in model.modules()):
        kinds = sorted({type(m).__name__ for m in model.modules()})
        raise ValueError(f"model has no lstmkit.LSTM or torch.nn.LSTM to trace; its modules are: {', '.join(kinds)}")
    if forward is None:
        if isinstance(model, (LSTM, nn.LSTM)):
            forward = lambda m, x, n: m(x) if n is None else m(x, lengths=n)       # noqa: E731
        else:
            forward = lambda m, x, n: m(x) if n is None else m(x, n)               # noqa: E731
    sink: list[LayerTrace] = []
    with torch.no_grad(), _recording(model, sink):
        if isinstance(model, nn.LSTM) and lengths is not None:      # torch's LSTM takes no lengths
            model = LSTM.from_torch(model)
            with _recording(model, sink):
                output = forward(model, x, lengths)
        else:
            output = forward(model, x, lengths)
    inputs = _as_numpy(x)
    if isinstance(model, (LSTM, nn.LSTM)) and inputs.ndim == 2:
        inputs = inputs[None]                                       # unbatched (T, I) -> (1, T, I)
    elif isinstance(model, (LSTM, nn.LSTM)) and not model.batch_first and inputs.ndim == 3:
        inputs = inputs.transpose(1, 0, 2)                          # (T, B, I) -> batch first
    if not sink:
        raise ValueError("the model ran without calling any of its LSTMs (check forward=)")
    return Trace(inputs, output, sink)


__all__ = ["GATES", "QUANTITIES", "LayerTrace", "Trace", "trace"]
