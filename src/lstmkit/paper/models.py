"""Modern mode's models, as groups of trials: K forget-cell LSTMs run as one ``ParallelLSTM``, and
GRU and small causal-transformer baselines run one trial after another. One-hot inputs are fed by
indexing the input weights (``weight[:, symbol]``), never as a dense one-hot tensor."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..engines import fused
from ..layer import LSTM
from ..parallel import ParallelLSTM
from ..tasks.base import Sequences

#: Hidden units of the lstm and gru models, and the transformer's d_model, unless ``hidden_size`` says otherwise.
DEFAULT_HIDDEN = 32
#: The transformer: layers, attention heads, feed-forward width (times d_model).
TRANSFORMER_LAYERS, TRANSFORMER_HEADS, TRANSFORMER_FF = 2, 4, 2
#: Forward-only passes (checks, the final test) run in row chunks of about this many floats of activations.
PREDICT_FLOATS = 2 ** 24


class _Group:
    """Trials' models: ``params(k)``, ``logits(ks, batches)`` (with grad: per trial (n, T_k or 1, O),
    the pre-sigmoid outputs at the error steps) and ``predict(ks, batches)`` (numpy outputs)."""

    width = DEFAULT_HIDDEN                                # activations per step, for prediction chunks

    def params(self, k: int) -> list[nn.Parameter]:      # pragma: no cover - abstract
        raise NotImplementedError

    def logits(self, ks: list[int], batches: list[Sequences]) -> list[Tensor]:      # pragma: no cover
        raise NotImplementedError

    def step_cost(self, steps: int) -> int:
        return self.width * 6

    def predict(self, ks: list[int], batches: list[Sequences]) -> list[np.ndarray]:
        """σ(outputs) at the error steps, (n, T or 1, O) float64 per trial, in row chunks; all
        batches of one call have the same number of sequences."""
        n = len(batches[0])
        T = max(b.steps for b in batches)
        rows = max(1, min(n, PREDICT_FLOATS // (len(ks) * T * self.step_cost(T))))
        parts: list[list[np.ndarray]] = [[] for _ in ks]
        with torch.no_grad():
            for r in range(0, n, rows):
                sub = [_trim(b.subset(slice(r, r + rows))) for b in batches]
                for i, z in enumerate(self.logits(ks, sub)):
                    parts[i].append(torch.sigmoid(z).double().numpy())
        out = []
        for i, b in enumerate(batches):
            width = b.targets.shape[1]
            out.append(np.concatenate([_pad_time(p, width) for p in parts[i]]))
        return out


def _trim(seqs: Sequences) -> Sequences:
    """The sequences with the padding beyond their longest dropped."""
    T = int(seqs.lengths.max())
    if T == seqs.steps:
        return seqs
    cut = lambda a: None if a is None else a[:, :T]                          # noqa: E731
    return Sequences(seqs.lengths, seqs.targets[:, :T] if seqs.every_step else seqs.targets, seqs.inputs,
                     cut(seqs.x), cut(seqs.symbols), seqs.every_step, cut(seqs.legal), seqs.clean, seqs.labels)


def _pad_time(y: np.ndarray, T: int) -> np.ndarray:
    return y if y.shape[1] == T else np.pad(y, ((0, 0), (0, T - y.shape[1]), (0, 0)))


def _inputs(seqs: Sequences) -> Tensor:
    """One batch's input for a torch model: x (n, T, I) float32, or the symbols (n, T) int64 (−1: padding)."""
    if seqs.symbols is not None:
        return torch.from_numpy(seqs.symbols.astype(np.int64))
    return torch.from_numpy(seqs.x).float()


def _one_hot_product(weight: Tensor, symbols: Tensor) -> Tensor:
    """weight (G, I) times the one-hot vectors of ``symbols`` (...,) -> (..., G), zero where the
    symbol is −1 (padding): the rows of weightᵀ, never the one-hot tensor."""
    valid = (symbols >= 0).unsqueeze(-1)
    return weight.t()[symbols.clamp(min=0)] * valid


class _LSTMGroup(_Group):
    """K forget-cell LSTMs and their heads, run as one ``ParallelLSTM`` (the active ones)."""

    def __init__(self, nets: list[LSTM], heads: list[nn.Linear], one_hot: bool) -> None:
        self.nets, self.heads, self.one_hot = nets, heads, one_hot
        self.width = nets[0].hidden_size
        self._par: dict[tuple[int, ...], ParallelLSTM] = {}

    def params(self, k: int) -> list[nn.Parameter]:
        return list(self.nets[k].parameters()) + list(self.heads[k].parameters())

    def step_cost(self, steps: int) -> int:
        return self.width * 6 + (0 if self.one_hot else self.nets[0].input_size)

    def parallel(self, ks: list[int]) -> ParallelLSTM:
        key = tuple(ks)
        if key not in self._par:
            self._par = {key: ParallelLSTM.from_networks([self.nets[k] for k in ks])}
        return self._par[key]

    def logits(self, ks: list[int], batches: list[Sequences]) -> list[Tensor]:
        K, n = len(ks), len(batches[0])
        T = max(b.steps for b in batches)
        lengths = torch.from_numpy(np.stack([b.lengths for b in batches]).astype(np.int64))       # (K, n)
        par = self.parallel(ks)
        if self.one_hot:
            sym = np.full((K, T, n), -1, np.int64)
            for i, b in enumerate(batches):
                sym[i, : b.steps] = b.symbols.T
            out, h = self._run_one_hot(ks, par, torch.from_numpy(sym), lengths)
        else:
            x = np.zeros((K, T, n, batches[0].inputs), np.float32)
            for i, b in enumerate(batches):
                x[i, : b.steps] = b.x.transpose(1, 0, 2)
            out, (h_n, _) = par(torch.from_numpy(x), lengths=lengths)
            h = h_n[:, -1]                                                       # (K, n, H)
        W = torch.stack([self.heads[k].weight for k in ks]).transpose(1, 2)      # (K, H, O)
        b = torch.stack([self.heads[k].bias for k in ks]).unsqueeze(1)           # (K, 1, O)
        if batches[0].every_step:
            H = out.shape[-1]
            z = torch.baddbmm(b, out.transpose(1, 2).reshape(K, n * T, H), W).reshape(K, n, T, -1)
            return [z[i, :, : bt.steps] for i, bt in enumerate(batches)]
        z = torch.baddbmm(b, h, W)                                               # (K, n, O)
        return [z[i].unsqueeze(1) for i in range(K)]

    def _run_one_hot(self, ks: list[int], par: ParallelLSTM, sym: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """The K networks on one-hot input given as symbols (K, T, n): the input projection is the
        input weights indexed by the hot unit, then the recurrence as ``ParallelLSTM`` runs it.
        -> output (K, T, n, H), last real step's h (K, n, H)."""
        nets = [self.nets[k] for k in ks]
        spec = nets[0].cells[0]
        K, T, n = sym.shape
        W = nets[0].weight_ih_l0
        if not (fused.supports(spec) and W.device.type == "cpu" and W.dtype in (torch.float32, torch.float64)):
            x = F.one_hot(sym.clamp(min=0), nets[0].input_size).to(W.dtype) * (sym >= 0).unsqueeze(-1)
            out, (h_n, _) = par(x, lengths=lengths)
            return out, h_n[:, -1]
        p = {name: torch.stack([getattr(net, f"{name}_l0") for net in nets]) for name in spec.parameter_names}
        valid = (sym >= 0).unsqueeze(-1).to(W.dtype)
        rows = torch.arange(K)[:, None, None]
        xw = p["weight_ih"].transpose(1, 2)[rows, sym.clamp(min=0)] * valid                   # (K, T, n, G)
        xw = xw + (p["bias_ih"] + p["bias_hh"])[:, None, None, :]
        r, hsize = spec.state_sizes
        y, h_n, _ = fused.run_networks(spec, p, xw, xw.new_zeros(K, n, r), xw.new_zeros(K, n, hsize), lengths)
        return y, h_n


class _ModelGroup(_Group):
    """Trials with a torch model each (``model(inputs, lengths, every_step)`` -> logits), run one by one."""

    def __init__(self, models: dict[int, nn.Module]) -> None:
        self.models = models
        self.width = next(iter(models.values())).width

    def params(self, k: int) -> list[nn.Parameter]:
        return [p for p in self.models[k].parameters() if p.requires_grad]

    def step_cost(self, steps: int) -> int:
        return next(iter(self.models.values())).step_cost(steps)

    def logits(self, ks: list[int], batches: list[Sequences]) -> list[Tensor]:
        out = []
        for k, b in zip(ks, batches):
            z = self.models[k](_inputs(b), torch.from_numpy(b.lengths.astype(np.int64)), b.every_step)
            out.append(z)
        return out


class _GRU(nn.Module):
    """``torch.nn.GRU`` + linear head. One-hot input: the input weights (3H, I) are indexed by the
    hot unit and fed to a GRU whose own input weights are a fixed identity (the same function and
    gradients as ``nn.GRU(I, H)`` on the one-hot vectors, without building them)."""

    def __init__(self, inputs: int, outputs: int, hidden: int, one_hot: bool) -> None:
        super().__init__()
        self.width = hidden
        self.one_hot = one_hot
        if one_hot:
            bound = 1.0 / math.sqrt(hidden)
            self.weight_in = nn.Parameter(torch.empty(3 * hidden, inputs).uniform_(-bound, bound))
            self.gru = nn.GRU(3 * hidden, hidden, batch_first=True)
            with torch.no_grad():
                self.gru.weight_ih_l0.copy_(torch.eye(3 * hidden))
            self.gru.weight_ih_l0.requires_grad_(False)
        else:
            self.gru = nn.GRU(inputs, hidden, batch_first=True)
        self.head = nn.Linear(hidden, outputs)

    def step_cost(self, steps: int) -> int:
        return self.width * 8

    def forward(self, inputs: Tensor, lengths: Tensor, every_step: bool) -> Tensor:
        x = _one_hot_product(self.weight_in, inputs) if self.one_hot else inputs
        T = x.shape[1]
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h = self.gru(packed)
        if every_step:
            return self.head(pad_packed_sequence(out, batch_first=True, total_length=T)[0])
        return self.head(h[-1]).unsqueeze(1)


class _Transformer(nn.Module):
    """A small causal transformer encoder (pre-norm, no dropout) with sinusoidal positions + head."""

    def __init__(self, inputs: int, outputs: int, d_model: int, one_hot: bool) -> None:
        super().__init__()
        self.width = d_model
        self.one_hot = one_hot
        self.embed = nn.Linear(inputs, d_model)
        layer = nn.TransformerEncoderLayer(d_model, TRANSFORMER_HEADS, TRANSFORMER_FF * d_model, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, TRANSFORMER_LAYERS, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, outputs)

    def step_cost(self, steps: int) -> int:
        per_layer = self.width * (6 + 4 * TRANSFORMER_FF) + 2 * TRANSFORMER_HEADS * steps    # attention: T per head
        return per_layer * TRANSFORMER_LAYERS

    def positions(self, T: int) -> Tensor:
        d = self.width
        t = torch.arange(T, dtype=torch.float32)[:, None]
        freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
        pe = torch.zeros(T, d)
        pe[:, 0::2] = torch.sin(t * freq)
        pe[:, 1::2] = torch.cos(t * freq[: d // 2])
        return pe

    def forward(self, inputs: Tensor, lengths: Tensor, every_step: bool) -> Tensor:
        if self.one_hot:
            x = _one_hot_product(self.embed.weight, inputs) + self.embed.bias
        else:
            x = self.embed(inputs)
        T = x.shape[1]
        x = x + self.positions(T)
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        z = self.norm(self.encoder(x, mask=causal, is_causal=True))
        if every_step:
            return self.head(z)
        return self.head(z[torch.arange(z.shape[0]), lengths - 1]).unsqueeze(1)
