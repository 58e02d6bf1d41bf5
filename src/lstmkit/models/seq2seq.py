"""``Seq2Seq``: string to string with an encoder, an attentive LSTM decoder, greedy or beam decoding.

A torch module and a scikit-learn style estimator at once: ``__init__`` stores its arguments,
``fit(pairs)`` builds the character vocabularies and the network and trains it with
``lstmkit.train.Trainer`` (cross-entropy over the decoder's logits, padding ignored, teacher
forcing), then ``predict(sources, beam_size=1)``, ``score`` (exact-match accuracy),
``attention(source)`` (the output and its attention weights), ``save`` / ``load`` (one
safetensors file).

The network: source characters are embedded and read by an ``Encoder`` (``lstmkit.models.encoders``;
"lstm", "gru", "hybrid" or "transformer", bidirectional by default for the recurrent kinds); the
``AttentionDecoder`` (``seq2seq_decoder``) steps an lstmkit LSTM cell as wide as the encoder's
outputs, attends over them ("additive", "dot" or "general"; ``seq2seq_attention``; source padding
masked) and feeds its attentional vector back in. Decoding is ``seq2seq_search``'s.

Characters a source holds that were not in any training source are an error naming them
(``unknown="error"``, the default); ``unknown="unk"`` reads them as the unknown id instead, which
the model has never seen either, so expect a wrong output rather than a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._checks import check_bool, check_float, check_int
from ..data.tokenize import PAD, Vocabulary
from ..train import TrainConfig, Trainer
from ..train.checkpoint import Checkpoint, load, load_state, save
from .encoders import KINDS, Encoder
from .seq2seq_attention import ATTENTIONS
from .seq2seq_decoder import BOS, EOS, AttentionDecoder, char_vocabulary, check_vocabulary, decode_ids
from .seq2seq_plot import plot_attention, plot_attentions
from .seq2seq_search import Hypothesis, beam_search, greedy

UNKNOWN = ("error", "unk")
PREDICT_ROWS = 512          # decoder rows per batch when predicting (sources x beam)


class Seq2Seq(nn.Module):
    """Map strings to strings (scikit-learn style; ``fit`` builds the network).

    Network: ``embedding_size`` source and target character embeddings; the encoder ``model`` of
    ``num_layers`` layers of ``hidden_size`` units (per direction; ``bidirectional``; ``heads`` for
    the attention kinds; ``cell`` any lstmkit cell); the decoder's LSTM cell has the width of the
    encoder's outputs; ``attention`` "additive", "dot" or "general"; ``dropout`` on embeddings and
    the decoder's outputs.

    Training: at most ``epochs`` epochs of Adam (``lr``, ``weight_decay``) over batches of
    ``batch_size``, gradient norm clipped to 1; ``teacher_forcing`` the probability that a decoder
    step reads the true previous character (else its own most likely one). Unless ``fit`` gets
    ``val=`` pairs, ``val_fraction`` of the distinct training targets (and every pair with them) are
    held out, and training stops after ``patience`` epochs without a lower validation loss (the best
    epoch's weights are kept). ``seed`` fixes the initialisation, the split and the batches.

    Decoding: at most ``max_length`` characters (None: twice the longest training target, plus
    one), ``length_penalty`` the exponent of the length normalisation of beam search.

    Fitted attributes: ``source_vocabulary_``, ``target_vocabulary_`` (character ``Vocabulary``s;
    the target one with BOS/EOS), ``max_length_``, ``history_`` (one row per epoch).
    """

    PARAMS = ("model", "attention", "hidden_size", "num_layers", "bidirectional", "embedding_size", "dropout", "heads",
              "cell", "teacher_forcing", "epochs", "batch_size", "lr", "weight_decay", "patience", "val_fraction",
              "max_length", "length_penalty", "unknown", "seed", "progress")

    def __init__(self, model: str = "lstm", *, attention: str = "additive", hidden_size: int = 64, num_layers: int = 1,
                 bidirectional: bool = True, embedding_size: int = 32, dropout: float = 0.0, heads: int = 4,
                 cell: str = "forget", teacher_forcing: float = 1.0, epochs: int = 30, batch_size: int = 64,
                 lr: float = 3e-3, weight_decay: float = 0.0, patience: int | None = 5, val_fraction: float = 0.1,
                 max_length: int | None = None, length_penalty: float = 1.0, unknown: str = "error", seed: int = 0,
                 progress: bool = False) -> None:
        super().__init__()
        self.model, self.attention_kind, self.hidden_size, self.num_layers = model, attention, hidden_size, num_layers
        self.bidirectional, self.embedding_size, self.dropout, self.heads = bidirectional, embedding_size, dropout, heads
        self.cell, self.teacher_forcing, self.epochs, self.batch_size = cell, teacher_forcing, epochs, batch_size
        self.lr, self.weight_decay, self.patience, self.val_fraction = lr, weight_decay, patience, val_fraction
        self.max_length, self.length_penalty, self.unknown = max_length, length_penalty, unknown
        self.seed, self.progress = seed, progress

    # ``attention`` is also the method that returns attention weights: the parameter lives in
    # ``attention_kind`` and get_params/set_params translate.
    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {k: getattr(self, "attention_kind" if k == "attention" else k) for k in self.PARAMS}

    def set_params(self, **params: Any) -> "Seq2Seq":
        unknown = sorted(set(params) - set(self.PARAMS))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown}; the parameters are {list(self.PARAMS)}")
        for k, v in params.items():
            setattr(self, "attention_kind" if k == "attention" else k, v)
        return self

    def _check_params(self) -> None:
        if self.model not in KINDS:
            raise ValueError(f"model must be one of {', '.join(map(repr, KINDS))}, got {self.model!r}")
        if self.attention_kind not in ATTENTIONS:
            raise ValueError(f"attention must be one of {', '.join(map(repr, ATTENTIONS))}, got {self.attention_kind!r}")
        if self.unknown not in UNKNOWN:
            raise ValueError(f"unknown must be one of {', '.join(map(repr, UNKNOWN))}, got {self.unknown!r}")
        for name in ("hidden_size", "num_layers", "heads", "embedding_size", "epochs", "batch_size"):
            check_int(name, getattr(self, name), minimum=1)
        for name, low in (("patience", 1), ("max_length", 1)):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), minimum=low)
        check_int("seed", self.seed, minimum=0)
        check_float("dropout", self.dropout, low=0.0, high=0.95)
        check_float("teacher_forcing", self.teacher_forcing, low=0.0, high=1.0)
        check_float("lr", self.lr, low=0.0)
        check_float("weight_decay", self.weight_decay, low=0.0)
        check_float("val_fraction", self.val_fraction, low=0.0, high=0.5)
        check_float("length_penalty", self.length_penalty, low=0.0)
        check_bool("bidirectional", self.bidirectional)
        check_bool("progress", self.progress)

    # -- the network -----------------------------------------------------------------------------------

    def _build(self, source_vocab: int, target_vocab: int) -> None:
        self.embedding_ = nn.Embedding(source_vocab, self.embedding_size, padding_idx=PAD)
        self.encoder_ = Encoder(self.model, self.embedding_size, self.hidden_size, self.num_layers,
                                bidirectional=self.bidirectional, dropout=self.dropout, heads=self.heads, cell=self.cell)
        width = self.encoder_.output_size
        self.decoder_ = AttentionDecoder(target_vocab, self.embedding_size, width, width,
                                         attention=self.attention_kind, cell=self.cell, dropout=self.dropout)
        self.drop_ = nn.Dropout(self.dropout)

    def encode(self, sources: Tensor, lengths: Tensor):
        """The decoder's first state for source ids ``sources`` (B, S) of ``lengths`` (B,)."""
        lengths = lengths.to(torch.long).cpu()
        sources = sources[:, : int(lengths.max())]                            # pad only to the longest
        memory, _ = self.encoder_(self.drop_(self.embedding_(sources)), lengths)   # (B, S) -> (B, S, D)
        return self.decoder_.start(memory, lengths)

    def forward(self, sources: Tensor, lengths: Tensor, inputs: Tensor) -> Tensor:
        """Logits (B, L, V) for source ids (B, S) of ``lengths`` (B,) and decoder inputs (B, L') (BOS,
        then the target; PAD after), L the longest real input in the batch."""
        steps = int((inputs != PAD).sum(1).max())
        ratio = self.teacher_forcing if self.training else 1.0
        return self.decoder_(self.encode(sources, lengths), inputs[:, :steps], ratio)

    @staticmethod
    def _loss(logits: Tensor, targets: Tensor) -> Tensor:
        """Mean cross-entropy per target character (EOS included, padding ignored)."""
        return F.cross_entropy(logits.transpose(1, 2), targets[:, : logits.shape[1]], ignore_index=PAD)

    # -- fitting ---------------------------------------------------------------------------------------

    def fit(self, data: Any, targets: Any = None, *, val: Any = None) -> "Seq2Seq":
        """Fit on ``data``: a list of (source, target) pairs, the tuple (sources, targets), or sources
        with ``targets`` as the second argument; ``val`` validation pairs in the same forms."""
        self._check_params()
        sources, outputs = read_pairs(data, targets, "data")
        if val is not None:
            val_sources, val_outputs = read_pairs(val, None, "val")
            train = np.arange(len(sources))
        else:
            train, held = _target_split(outputs, self.val_fraction, self.seed)
            val_sources, val_outputs = [sources[i] for i in held], [outputs[i] for i in held]
        # the validation pairs' characters too: a character only they hold is then merely unlikely
        extra_sources, extra_outputs = (val_sources, val_outputs) if val is not None else ([], [])
        self.source_vocabulary_ = Vocabulary.build(sources + extra_sources, level="char")
        self.target_vocabulary_ = char_vocabulary(outputs + extra_outputs)
        self.max_length_ = self.max_length or 2 * max(map(len, outputs)) + 1
        torch.manual_seed(self.seed)
        self._build(len(self.source_vocabulary_), len(self.target_vocabulary_))
        data_train = self._tensors([sources[i] for i in train], [outputs[i] for i in train], "data")
        data_val = self._tensors(val_sources, val_outputs, "val") if val_sources else None
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, optimizer="adam",
                             weight_decay=self.weight_decay, clip=1.0,
                             patience=self.patience if data_val is not None else None, seed=self.seed,
                             progress=self.progress)
        result = Trainer(self, config, loss=self._loss).fit(data_train, data_val)
        self.history_ = result.history
        self.eval()
        return self

    def _tensors(self, sources: list[str], outputs: list[str], name: str) -> tuple[np.ndarray, ...]:
        """(source ids (N, S), lengths (N,), decoder inputs (N, L), targets (N, L)), int64, PAD-padded."""
        src, lengths = self._source_ids(sources, name)
        ids = [self.target_vocabulary_.encode(t) for t in outputs]
        inputs, _ = _pad([[BOS] + t for t in ids])
        targets, _ = _pad([t + [EOS] for t in ids])
        return src, lengths, inputs, targets

    def _source_ids(self, sources: list[str], name: str) -> tuple[np.ndarray, np.ndarray]:
        ids = []
        for i, text in enumerate(sources):
            try:
                ids.append(self.source_vocabulary_.encode(text, unknown=self.unknown if name != "data" else "error"))
            except ValueError as err:
                raise ValueError(f"{name}[{i}] ({text!r}): {err} (the characters seen in training are "
                                 f"{''.join(sorted(self.source_vocabulary_.itos[2:]))!r}); remove them, or "
                                 "set unknown='unk' to read them as the unknown id") from None
        return _pad(ids)

    # -- predicting ------------------------------------------------------------------------------------

    def _fitted(self) -> None:
        if not hasattr(self, "target_vocabulary_"):
            raise RuntimeError("this Seq2Seq is not fitted yet: call fit(pairs) first")

    def decode(self, sources: Any, beam_size: int = 1, *, name: str = "sources") -> list[Hypothesis]:
        """The ``Hypothesis`` (ids, scores, attention weights) of each source: greedy (``beam_size=1``)
        or beam search."""
        self._fitted()
        texts = read_sources(sources, name)
        check_int("beam_size", beam_size, minimum=1)
        src, lengths = self._source_ids(texts, name)
        self.eval()
        device = next(self.parameters()).device
        out: list[Hypothesis] = []
        step = max(1, PREDICT_ROWS // beam_size)
        with torch.no_grad():
            for start in range(0, len(texts), step):
                x = torch.from_numpy(src[start: start + step]).to(device)
                state = self.encode(x, torch.from_numpy(lengths[start: start + step]))
                if beam_size == 1:
                    out += greedy(self.decoder_, state, self.max_length_, self.length_penalty)
                else:
                    out += beam_search(self.decoder_, state, self.max_length_, beam_size, self.length_penalty)
        for h, n in zip(out, lengths):
            h.weights = h.weights[:, :n]                      # the source's own characters only
        return out

    def predict(self, sources: Any, beam_size: int = 1) -> list[str]:
        """The output string of each source."""
        return [decode_ids(self.target_vocabulary_, h.ids) for h in self.decode(sources, beam_size)]

    def score(self, sources: Any, targets: Any, beam_size: int = 1) -> float:
        """Exact-match accuracy: the fraction of sources whose output is exactly its target."""
        texts, wanted = read_pairs(sources, targets, "sources")
        return float(np.mean([p == t for p, t in zip(self.predict(texts, beam_size), wanted)]))

    def attention(self, source: str, beam_size: int = 1, *, end: bool = False) -> tuple[str, np.ndarray]:
        """(output string, attention weights (len(output), len(source))): row i is where the decoder
        looked while writing output character i (each row sums to 1). ``end=True`` adds the row of
        the step that wrote the end of the sequence (when the output has one)."""
        if not isinstance(source, str):
            raise TypeError(f"source must be a str, got {type(source).__name__}")
        check_bool("end", end)
        h = self.decode([source], beam_size, name="source")[0]
        text = decode_ids(self.target_vocabulary_, h.ids)
        return text, h.weights if end else h.weights[: len(text)]

    # -- saving ----------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the fitted model (weights, parameters, vocabularies) to one safetensors file,
        atomically; ``Seq2Seq.load(path)`` reads it back."""
        self._fitted()
        fitted = {"source_vocabulary": self.source_vocabulary_.to_dict(),
                  "target_vocabulary": self.target_vocabulary_.to_dict(), "max_length": self.max_length_,
                  "history": self.history_}
        meta = {"seq2seq": {"class": "Seq2Seq", "params": self.get_params()}, "fitted": fitted}
        save(path, Checkpoint({"model": dict(self.state_dict())}, meta))

    @classmethod
    def load(cls, path: str | Path) -> "Seq2Seq":
        ckpt = load(path)
        info = ckpt.meta.get("seq2seq")
        if not isinstance(info, dict) or info.get("class") != "Seq2Seq":
            raise ValueError(f"{str(path)!r} is an lstmkit checkpoint but not a saved Seq2Seq (it holds no 'seq2seq' "
                             "entry); was it written by Seq2Seq.save?")
        params = dict(info["params"])
        self = cls(params.pop("model"), **{k: v for k, v in params.items() if k in cls.PARAMS})
        fitted = ckpt.meta["fitted"]
        self.source_vocabulary_ = Vocabulary.from_dict(fitted["source_vocabulary"])
        self.target_vocabulary_ = Vocabulary.from_dict(fitted["target_vocabulary"])
        check_vocabulary(self.target_vocabulary_, str(path))
        self.max_length_, self.history_ = fitted["max_length"], fitted.get("history", [])
        self._build(len(self.source_vocabulary_), len(self.target_vocabulary_))
        load_state(self, ckpt.tensors.get("model", {}), str(path))
        self.eval()
        return self


# -- reading the data ----------------------------------------------------------------------------------

def read_sources(sources: Any, name: str) -> list[str]:
    """A list of non-empty str from a list / tuple / 1-D array / pandas Series; messages name the item."""
    if isinstance(sources, (str, bytes)):
        raise TypeError(f"{name} must be a list of str, got a single {type(sources).__name__}; wrap it in a list")
    if hasattr(sources, "tolist"):
        sources = sources.tolist()
    if not isinstance(sources, (list, tuple)):
        raise TypeError(f"{name} must be a list of str, got {type(sources).__name__}")
    if not sources:
        raise ValueError(f"{name} is empty: expected at least one string")
    for i, s in enumerate(sources):
        if not isinstance(s, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(s).__name__} ({s!r})")
        if not s:
            raise ValueError(f"{name}[{i}] is an empty string: every source and target needs at least one character")
    return list(sources)


def read_pairs(data: Any, targets: Any, name: str) -> tuple[list[str], list[str]]:
    """(sources, targets) from pairs, the tuple (sources, targets), or ``data`` = sources and ``targets``."""
    if targets is None and isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], (str, tuple)):
        data, targets = data                                   # the tuple (sources, targets)
    if targets is None:
        if isinstance(data, (str, bytes)) or not isinstance(data, (list, tuple)):
            raise TypeError(f"{name} must be a list of (source, target) pairs or the tuple (sources, targets), got "
                            f"{type(data).__name__}")
        for i, pair in enumerate(data):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"{name}[{i}] must be a (source, target) pair, got {pair!r}")
        pairs = list(data)
        if not pairs:
            raise ValueError(f"{name} is empty: expected at least one (source, target) pair")
        return read_sources([p[0] for p in pairs], f"{name} sources"), read_sources([p[1] for p in pairs], f"{name} targets")
    sources, outputs = read_sources(data, f"{name} sources"), read_sources(targets, f"{name} targets")
    if len(sources) != len(outputs):
        raise ValueError(f"{name}: sources and targets must have the same length, got {len(sources)} and {len(outputs)}")
    return sources, outputs


def _pad(ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(i) for i in ids], dtype=np.int64)
    out = np.full((len(ids), int(lengths.max())), PAD, dtype=np.int64)
    for row, seq in zip(out, ids):
        row[: len(seq)] = seq
    return out, lengths


def _target_split(targets: list[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) item indices: ``fraction`` of the distinct targets, drawn with ``seed``,
    and every item with them, are held out (none when fewer than 10 distinct targets)."""
    distinct = list(dict.fromkeys(targets))
    n_val = int(round(len(distinct) * fraction))
    if n_val == 0 or len(distinct) < 10:
        return np.arange(len(targets)), np.zeros(0, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(distinct))
    held = {distinct[i] for i in order[:n_val]}
    mask = np.array([t in held for t in targets])
    return np.flatnonzero(~mask), np.flatnonzero(mask)


__all__ = ["Seq2Seq", "UNKNOWN", "plot_attention", "plot_attentions", "read_pairs", "read_sources"]
