"""``lstmkit.LSTM``: layers x directions of any registered cell, a drop-in for ``torch.nn.LSTM``."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from . import engines
from ._checks import check_bool, check_dtype, check_float, check_int
from ._inputs import check_input, check_lengths, check_state
from ._params import DEFAULT, add_parameters, gather, init_parameters, resolve_forget_bias
from .cells import make_cell
from .cells.base import Cell, State


class LSTM(nn.Module):
    """A multi-layer, optionally bidirectional LSTM of any registered cell.

    Takes ``torch.nn.LSTM``'s arguments and returns what it returns, ``output, (h_n, c_n)``, plus:

    Args:
        cell: name of the cell, one of ``lstmkit.cells()``; ``"forget"`` is torch's own cell.
        backend: ``"auto"`` (fastest engine that runs the cell), ``"reference"`` (plain loop, any
            cell, the oracle) or ``"native"`` (torch's kernel, forget cell only).
        forget_bias: initial forget-gate bias: ``"default"`` is 1.0 for cells that have one, a float
            sets it, None keeps torch's uniform initialisation.
        check_finite: raise on NaN or inf in the input or initial state.
        recurrent_dropout: variational dropout of the recurrent state (Gal & Ghahramani 2016), in
            training only: per layer, direction and sequence one mask, drawn once per forward call,
            multiplies the state h fed back into every step (the same mask at every step; the
            state returned is unmasked). Keras's ``recurrent_dropout``, but on the fused engine.
        input_dropout: variational dropout of each layer's input: one mask per layer and sequence,
            the same at every step (Keras's ``dropout`` of a recurrent layer).
        weight_drop: DropConnect on the hidden-to-hidden weights (AWD-LSTM, Merity et al. 2018):
            one mask over ``weight_hh`` per layer and direction, drawn once per forward call.
            All three are off (0.0) by default, act in training only (``eval()`` is deterministic)
            and draw their masks from torch's generator (``torch.manual_seed`` reproduces them);
            every engine that runs them gives the reference engine's result for the same masks.
        zoneout: zoneout (Krueger et al. 2017): at every real step each unit keeps its previous
            value with probability p, c_t = d_c·c_{t-1} + (1 - d_c)·c̃_t and h_t = d_h·h_{t-1} +
            (1 - d_h)·h̃_t, where c̃_t, h̃_t are the cell's ordinary new state (h̃_t computed from
            the unzoned c̃_t). A float zones cell and hidden state with the same p, a pair is
            ``(p_cell, p_hidden)`` (the paper's best LSTM: ``(0.5, 0.05)``). What is zoned is the
            whole recurrent state the cell carries, so the output at that step too (it is the
            first O features of h): h after the projection with ``proj_size``, and [y, gates]
            with the vanilla cell's ``recurrent_gates``. Off (0.0) by default. In training the
            masks are fresh at every step (unlike ``recurrent_dropout``), per layer, direction,
            sequence and unit, from a counter-based generator keyed by seeds drawn from torch's
            generator (``torch.manual_seed`` reproduces them); in eval every unit takes the
            expectation, p·previous + (1 - p)·new, so ``eval()`` is deterministic. Padded steps
            leave the state alone as always. The fused and reference engines run it; torch's
            kernel cannot (``backend="native"`` refuses it, ``"auto"`` never picks it).
        **cell_options: the cell's own options (e.g. ``block_size=2`` for ``"vanilla"``).

    Shapes (time-major; swap the first two with ``batch_first=True``), D = 2 if bidirectional:
        input (T, B, I) or (T, I) unbatched, or a PackedSequence; lengths (B,) ints in 1..T
        output (T, B, D*O), zero at padded steps, with O = proj_size or hidden_size
        h_n (L*D, B, R), c_n (L*D, B, H): each sequence's state after its last real step; R = O
        except for cells whose recurrent state carries more (vanilla with recurrent_gates).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Any = None, dtype: torch.dtype | None = None, *,
                 cell: str = "forget", backend: str = "auto", forget_bias: Any = DEFAULT,
                 check_finite: bool = False, recurrent_dropout: float = 0.0, input_dropout: float = 0.0,
                 weight_drop: float = 0.0, zoneout: float | tuple[float, float] = 0.0,
                 **cell_options: Any) -> None:
        super().__init__()
        for name, value in (("recurrent_dropout", recurrent_dropout), ("input_dropout", input_dropout),
                            ("weight_drop", weight_drop)):
            check_float(name, value, low=0.0, high=1.0)
            if value >= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1), got {value}: 1 would drop everything")
        self.recurrent_dropout, self.input_dropout = float(recurrent_dropout), float(input_dropout)
        self.weight_drop = float(weight_drop)
        self.zoneout, (self.zoneout_cell, self.zoneout_hidden) = _check_zoneout(zoneout)
        self.num_layers = check_int("num_layers", num_layers, minimum=1)
        self.batch_first = check_bool("batch_first", batch_first)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.dropout = check_float("dropout", dropout, low=0.0, high=1.0)
        self.check_finite = check_bool("check_finite", check_finite)
        self.backend = engines.check_backend(backend)
        check_dtype("dtype", dtype)
        directions = 2 if self.bidirectional else 1
        self.cells: list[Cell] = []
        for k in range(self.num_layers):
            size_in = input_size if k == 0 else directions * self.cells[0].output_size
            self.cells.append(make_cell(cell, size_in, hidden_size, proj_size=proj_size, bias=bias,
                                        **cell_options))
            # an engine that cannot run it (or its recurrent dropout or zoneout) fails now
            engines.select(self.backend, self.cells[k], masks=self._masked(training=True))
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn("dropout acts between layers, so with num_layers=1 it does nothing "
                          f"(got dropout={self.dropout})", UserWarning, stacklevel=2)
        self.input_size, self.hidden_size, self.proj_size = input_size, hidden_size, proj_size
        self.bias, self.cell, self.cell_options = bias, cell, dict(cell_options)
        self.forget_bias = resolve_forget_bias(cell, forget_bias, bias)
        factory = {"device": device, "dtype": dtype}
        for k, spec in enumerate(self.cells):
            for suffix in self._suffixes(k):
                add_parameters(self, spec, suffix, factory)
        self.reset_parameters()
        #: Set by ``lstmkit.explain.trace`` while it records: called with (layer, cell, records,
        #: lengths, steps) after each layer; None otherwise.
        self._recorder: Any = None

    # --- structure ---------------------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Features of ``output``: num_directions * (proj_size or hidden_size)."""
        return self.num_directions * self.cells[0].output_size

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    def reset_parameters(self) -> None:
        for k, spec in enumerate(self.cells):
            for suffix in self._suffixes(k):
                init_parameters(self, spec, suffix, self.forget_bias)

    def flatten_parameters(self) -> None:
        """Accepted for compatibility with ``torch.nn.LSTM``; nothing to do here."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, cell={self.cell!r}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False), ("proj_size", 0), ("backend", "auto"),
                              ("recurrent_dropout", 0.0), ("input_dropout", 0.0), ("weight_drop", 0.0),
                              ("zoneout", 0.0)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)!r}"
        return s + "".join(f", {k}={v!r}" for k, v in self.cell_options.items())

    # --- forward -----------------------------------------------------------------------------------
    def forward(self, input: Tensor | PackedSequence, hx: tuple[Tensor, Tensor] | None = None,
                lengths: Any = None) -> tuple[Tensor | PackedSequence, tuple[Tensor, Tensor]]:
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError("pass either a PackedSequence or lengths, not both")
            return self._forward_packed(input, hx)
        weight = self.weight_ih_l0
        x = check_input(input, input_size=self.input_size, weight=weight, dims=(2, 3),
                        layout="(batch, time, features)" if self.batch_first else "(time, batch, features)",
                        finite=self.check_finite)
        batched = x.dim() == 3
        if not batched:                                    # (T, I) -> (T, 1, I)
            x = x.unsqueeze(1)
        elif self.batch_first:                             # (B, T, I) -> (T, B, I)
            x = x.transpose(0, 1)
        out, (h, c) = self._run(x, hx, lengths, batched)
        if not batched:
            return out.squeeze(1), (h.squeeze(1), c.squeeze(1))
        return (out.transpose(0, 1) if self.batch_first else out), (h, c)

    def _forward_packed(self, packed: PackedSequence, hx: Any) -> tuple[PackedSequence, tuple[Tensor, Tensor]]:
        x, lengths = pad_packed_sequence(packed)          # (T, B, I), in the caller's batch order
        check_input(x, input_size=self.input_size, weight=self.weight_ih_l0, dims=(3,),
                    layout="PackedSequence data", finite=self.check_finite)
        out, state = self._run(x, hx, lengths, batched=True)
        order = packed.sorted_indices
        if order is not None:                              # back to the packing's own order
            out, lengths = out[:, order.to(out.device)], lengths[order.cpu()]
        repacked = pack_padded_sequence(out, lengths)
        return PackedSequence(repacked.data, repacked.batch_sizes, packed.sorted_indices,
                              packed.unsorted_indices), state

    def _run(self, x: Tensor, hx: Any, lengths: Any, batched: bool) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        steps, batch = x.shape[0], x.shape[1]
        if lengths is not None:
            lengths = check_lengths(lengths, batch=batch, steps=steps)
            if bool((lengths == steps).all()):
                lengths = None                              # nothing padded: skip the masks
            else:
                real = torch.arange(steps)[:, None] < lengths[None, :]        # (T, B)
                x = x.masked_fill(~real[..., None].to(x.device), 0.0)         # padding never counts
        states = self._initial_states(hx, batch, x, batched)
        d = self.num_directions
        finals: list[State] = []
        for k, spec in enumerate(self.cells):
            if k > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout, training=True)
            regularise = self.training and (self.recurrent_dropout > 0 or self.input_dropout > 0 or self.weight_drop > 0)
            masks = None
            engine = engines.select(self.backend, spec, x, masks=self._masked(self.training))
            params = [gather(self, spec, s) for s in self._suffixes(k)]
            if regularise:
                x, params, masks = self._regularise(spec, x, params, lengths)
            zone = None
            if self.zoneout_cell > 0 or self.zoneout_hidden > 0:     # after the masks above: seeds
                zone = [engines.Zoneout.draw(self.zoneout_cell, self.zoneout_hidden, self.training) for _ in params]
            extra = {"recurrent_masks": masks, "zoneout": zone}     # only those on: native takes neither
            extra = {name: value for name, value in extra.items() if value is not None}
            layer_states = states[k * d:(k + 1) * d]
            recorder = getattr(self, "_recorder", None)     # lstmkit.explain.trace: the reference loop, recorded
            if recorder is not None:
                records: list[Any] = []
                x, layer_finals = engines.reference.run_layer(spec, params, x, lengths, layer_states, records, **extra)
                recorder(k, spec, records, lengths, x.shape[0])
            else:
                x, layer_finals = engine.run_layer(spec, params, x, lengths, layer_states, **extra)
            finals.extend(layer_finals)
        h_n = torch.stack([s[0] for s in finals])
        c_n = torch.stack([s[1] for s in finals])
        return x, (h_n, c_n)

    def _masked(self, training: bool) -> str:
        """The regularisers on that need an engine taking masks, for engines.select: "" if none."""
        names = [name for name, on in (("recurrent_dropout", training and self.recurrent_dropout > 0),
                                       ("zoneout", self.zoneout_cell > 0 or self.zoneout_hidden > 0)) if on]
        return " and ".join(names)

    def _regularise(self, spec: Cell, x: Tensor, params: list[dict[str, Tensor]], lengths: Tensor | None
                    ) -> tuple[Tensor, list[dict[str, Tensor]], list[Tensor] | None]:
        """Training: draw this layer's masks (input, then weights, then recurrent state, per
        direction in order) and apply the first two; the recurrent masks go to the engine."""
        batch = x.shape[1]
        if self.input_dropout > 0:                       # one mask per sequence, the same at every step
            keep = 1.0 - self.input_dropout
            x = x * (x.new_empty(1, batch, x.shape[2]).bernoulli_(keep) / keep)
        if self.weight_drop > 0:
            params = [{**p, "weight_hh": F.dropout(p["weight_hh"], self.weight_drop, training=True)} for p in params]
        masks = None
        if self.recurrent_dropout > 0:
            keep = 1.0 - self.recurrent_dropout
            masks = [x.new_empty(batch, spec.recurrent_size).bernoulli_(keep) / keep for _ in params]
        return x, params, masks

    def _initial_states(self, hx: Any, batch: int, x: Tensor, batched: bool) -> list[State]:
        count = self.num_layers * self.num_directions
        r, h = self.cells[0].state_sizes
        if hx is None:
            zeros = self.cells[0].init_state(batch, dtype=x.dtype, device=x.device)
            return [zeros] * count
        shapes = ((count, batch, r), (count, batch, h)) if batched else ((count, r), (count, h))
        h0, c0 = check_state(hx, shapes=shapes, weight=self.weight_ih_l0, finite=self.check_finite)
        if not batched:
            h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
        return list(zip(h0.unbind(0), c0.unbind(0)))

    # --- torch interchange -------------------------------------------------------------------------
    @classmethod
    def from_torch(cls, module: nn.LSTM, **kwargs: Any) -> "LSTM":
        """A forget-cell lstmkit.LSTM with ``module``'s configuration and a copy of its weights."""
        if not isinstance(module, nn.LSTM):
            raise TypeError(f"module must be a torch.nn.LSTM, got {type(module).__name__}")
        w = module.weight_ih_l0
        new = cls(module.input_size, module.hidden_size, module.num_layers, module.bias,
                  module.batch_first, float(module.dropout), module.bidirectional, module.proj_size,
                  device=w.device, dtype=w.dtype, cell="forget", forget_bias=None, **kwargs)
        new.load_state_dict(module.state_dict())
        return new.train(module.training)

    def to_torch(self) -> nn.LSTM:
        """A ``torch.nn.LSTM`` with this layer's configuration and a copy of its weights."""
        if self.cell != "forget":
            raise ValueError(f"to_torch needs cell='forget' (torch.nn.LSTM's cell), this layer has cell={self.cell!r}")
        w = self.weight_ih_l0
        module = nn.LSTM(self.input_size, self.hidden_size, self.num_layers, self.bias, self.batch_first,
                         self.dropout, self.bidirectional, self.proj_size, device=w.device, dtype=w.dtype)
        module.load_state_dict(self.state_dict())
        return module.train(self.training)


def _check_zoneout(value: Any) -> tuple[float | tuple[float, float], tuple[float, float]]:
    """(the value as stored, (p_cell, p_hidden)) of ``zoneout``: a float or a pair of floats
    (a list of two too: a config read back from JSON), each a probability in [0, 1)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"zoneout must be a float or a (p_cell, p_hidden) pair, got {len(value)} values: "
                             f"{tuple(value)!r}")
        pair = tuple(_zoneout_probability(f"zoneout[{i}] ({part})", v)
                     for i, (part, v) in enumerate(zip(("p_cell", "p_hidden"), value)))
        return pair, pair                                                      # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"zoneout must be a float or a (p_cell, p_hidden) tuple of floats, "
                        f"got {type(value).__name__} ({value!r})")
    p = _zoneout_probability("zoneout", value)
    return p, (p, p)


def _zoneout_probability(name: str, value: Any) -> float:
    p = check_float(name, value, low=0.0, high=1.0)
    if p >= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {p}: 1 would keep the initial state forever")
    return p
