"""Sequence encoders behind every ready model, chosen by name: ``lstm`` (lstmkit's LSTM layer),
``gru`` (torch's GRU), ``transformer`` (self-attention blocks over learned input projections and
sinusoidal positions) and ``hybrid`` (each LSTM layer followed by a transformer block over its
states). Every task can then be run with ``--model lstm|gru|hybrid|transformer``.

``Encoder(...)(x, lengths=None, state=None) -> (out, state)``: ``x`` (B, T, I) batch first;
``lengths`` (B,) the real length of each sequence (padding after it is ignored: masked in the
attention, not read by the recurrences); ``out`` (B, T, output_size). ``state`` is the recurrent
state to carry across chunks of a stream (a tuple per recurrent layer; None for ``transformer``).
``causal=True`` keeps every step from seeing later ones (language models, decoders): recurrences
run forward only and attention is masked.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .._checks import check_float, check_int
from ..layer import LSTM

KINDS = ("lstm", "gru", "hybrid", "transformer")


class Encoder(nn.Module):
    """One of ``KINDS`` with ``num_layers`` layers of width ``hidden_size`` (per direction for the
    recurrent kinds); ``heads`` attention heads (``hidden_size`` must be a multiple of it for the
    attention kinds), ``dropout`` between layers, ``cell`` the lstmkit cell of the LSTM kinds,
    ``recurrent_dropout``, ``weight_drop`` and ``zoneout`` their recurrent regularisers
    (``lstmkit.LSTM``)."""

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 bidirectional: bool = False, dropout: float = 0.0, heads: int = 4, causal: bool = False,
                 cell: str = "forget", ff_factor: int = 2, recurrent_dropout: float = 0.0,
                 weight_drop: float = 0.0, zoneout: float | tuple[float, float] = 0.0) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
        lstm_reg = {"recurrent_dropout": recurrent_dropout, "weight_drop": weight_drop, "zoneout": zoneout}
        for name, value in lstm_reg.items():
            on = any(value) if isinstance(value, (tuple, list)) else bool(value)     # zoneout: a pair too
            if on and kind not in ("lstm", "hybrid"):
                raise ValueError(f"{name} regularises lstmkit's LSTM layers, so it needs model='lstm' or 'hybrid'; "
                                 f"model={kind!r} has none (got {name}={value})")
        check_int("input_size", input_size, minimum=1)
        check_int("hidden_size", hidden_size, minimum=1)
        check_int("num_layers", num_layers, minimum=1)
        check_float("dropout", dropout, low=0.0, high=1.0)
        if causal and bidirectional:
            raise ValueError("bidirectional=True reads every sequence backwards too, so it cannot be causal=True")
        if kind in ("hybrid", "transformer"):
            check_int("heads", heads, minimum=1)
            width = hidden_size * (2 if bidirectional and kind == "hybrid" else 1)
            if width % heads:
                raise ValueError(f"hidden_size ({width} with both directions) must be a multiple of heads ({heads}) "
                                 f"for model={kind!r}")
        self.kind, self.causal, self.bidirectional = kind, causal, bidirectional
        self.hidden_size, self.num_layers = hidden_size, num_layers
        dirs = 2 if bidirectional and kind != "transformer" else 1
        self.output_size = hidden_size * dirs
        if kind == "lstm":
            self.rnn = LSTM(input_size, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional,
                            dropout=dropout if num_layers > 1 else 0.0, cell=cell, **lstm_reg)
        elif kind == "gru":
            self.rnn = nn.GRU(input_size, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional,
                              dropout=dropout if num_layers > 1 else 0.0)
        elif kind == "transformer":
            self.project = nn.Linear(input_size, hidden_size)
            self.blocks = nn.ModuleList(_block(hidden_size, heads, ff_factor, dropout) for _ in range(num_layers))
            self.norm = nn.LayerNorm(hidden_size)
        else:
            sizes = [input_size] + [self.output_size] * (num_layers - 1)
            self.rnns = nn.ModuleList(LSTM(i, hidden_size, batch_first=True, bidirectional=bidirectional, cell=cell,
                                           **lstm_reg) for i in sizes)
            self.blocks = nn.ModuleList(_block(self.output_size, heads, ff_factor, dropout) for _ in range(num_layers))
            self.norm = nn.LayerNorm(self.output_size)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: Any = None) -> tuple[Tensor, Any]:
        if x.dim() != 3:
            raise ValueError(f"input must be (batch, steps, features), got shape {tuple(x.shape)}")
        if lengths is not None:
            lengths = torch.as_tensor(lengths, dtype=torch.long).cpu()
            if lengths.shape != (x.shape[0],) or int(lengths.min()) < 1 or int(lengths.max()) > x.shape[1]:
                raise ValueError(f"lengths must be {x.shape[0]} values in 1..{x.shape[1]}, got "
                                 f"{lengths.tolist() if lengths.numel() <= 8 else tuple(lengths.shape)}")
        if self.kind == "lstm":
            out, state = self.rnn(x, state, lengths=lengths)
            return out, state
        if self.kind == "gru":
            return self._gru(x, lengths, state)
        pad = None if lengths is None else torch.arange(x.shape[1], device=x.device)[None, :] >= lengths.to(x.device)[:, None]   # (B, T) True = pad
        if self.kind == "transformer":
            h = self.project(x) * math.sqrt(self.hidden_size) + positions(x.shape[1], self.hidden_size).to(x)
            h = self.drop(h)
            for block in self.blocks:
                h = block(h, src_mask=self._mask(x), src_key_padding_mask=pad, is_causal=self.causal)
            return self.norm(h), None
        states = list(state) if state is not None else [None] * self.num_layers
        h = x
        for k, (rnn, block) in enumerate(zip(self.rnns, self.blocks)):
            h, states[k] = rnn(self.drop(h) if k else h, states[k], lengths=lengths)
            h = block(h, src_mask=self._mask(x), src_key_padding_mask=pad, is_causal=self.causal)
        return self.norm(h), tuple(states)

    def _mask(self, x: Tensor) -> Tensor | None:
        if not self.causal:
            return None
        return torch.ones(x.shape[1], x.shape[1], dtype=torch.bool, device=x.device).triu(1)   # True = not seen

    def _gru(self, x: Tensor, lengths: Tensor | None, state: Tensor | None) -> tuple[Tensor, Tensor]:
        # torch's packed GRU steps through time op by op on the CPU (about 9x slower than its
        # unpacked kernel at T = 1000), so the packed path is kept for where it is needed
        if lengths is None or bool((lengths == x.shape[1]).all()):
            return self.rnn(x, state)                          # no padding
        if not self.bidirectional and self.num_layers == 1:
            # forwards, the steps after a sequence's end never change its outputs: run unpacked,
            # take the state at each last real step and zero the padding, as the packed path does
            out, _ = self.rnn(x, state)
            ends = lengths.to(device=x.device, dtype=torch.long)
            real = torch.arange(x.shape[1], device=x.device)[None, :] < ends[:, None]       # (B, T)
            last = out[torch.arange(x.shape[0], device=x.device), ends - 1]                  # (B, H)
            return out * real[..., None].to(out.dtype), last.unsqueeze(0)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out, state


def _block(width: int, heads: int, ff_factor: int, dropout: float) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(width, heads, dim_feedforward=ff_factor * width, dropout=dropout,
                                      batch_first=True, norm_first=True)


def positions(steps: int, width: int) -> Tensor:
    """Sinusoidal position codes (Vaswani et al. 2017, section 3.5): (steps, width)."""
    pos = torch.arange(steps, dtype=torch.float64)[:, None]
    rate = torch.exp(torch.arange(0, width, 2, dtype=torch.float64) * (-math.log(10000.0) / width))
    out = torch.zeros(steps, width, dtype=torch.float64)
    out[:, 0::2] = torch.sin(pos * rate)
    out[:, 1::2] = torch.cos(pos * rate)[:, : width // 2]
    return out.float()


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def hidden_for_budget(kind: str, input_size: int, budget: int, *, num_layers: int = 1, heads: int = 4,
                      bidirectional: bool = False, extra: Any = None, **kwargs: Any) -> int:
    """The ``hidden_size`` whose ``Encoder`` (plus ``extra(hidden) -> parameters`` of the model
    around it, e.g. a head) comes closest to ``budget`` parameters: for comparisons at a matched
    parameter count. Attention kinds step in multiples of ``heads``."""
    check_int("budget", budget, minimum=1)
    step = heads if kind in ("hybrid", "transformer") else 1
    best, best_gap = step, None
    for hidden in range(step, 2049, step):
        enc = Encoder(kind, input_size, hidden, num_layers, heads=heads, bidirectional=bidirectional, **kwargs)
        n = count_parameters(enc) + (extra(enc.output_size) if extra is not None else 0)
        gap = abs(n - budget)
        if best_gap is None or gap < best_gap:
            best, best_gap = hidden, gap
        if n > budget:
            break
    return best


__all__ = ["Encoder", "KINDS", "count_parameters", "hidden_for_budget", "positions"]
