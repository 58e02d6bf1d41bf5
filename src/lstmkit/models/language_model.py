"""``LanguageModel``: a character (or word) language model, scikit-learn style (built at ``fit``).

    tokens (B, T) -> embedding (B, T, E) -> causal Encoder (B, T, H) -> linear (B, T, V) logits

The logits at step t give p(token t + 1 | tokens <= t); the loss is the cross-entropy in nats
per predicted token (for characters: nats per character; bits = nats / ln 2). The recurrent kinds
are trained by stateful truncated BPTT over parallel streams of the text, the attention kinds on
windows (``lstmkit.models._lm_training``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_bool, check_float, check_int
from ..data.corpora import split_text
from ..data.tokenize import LEVELS, PAD, UNK, Vocabulary
from ..train.checkpoint import Checkpoint, load, load_state, save
from . import _lm_training as lm_training
from ._lm_training import LN2, SCHEDULES, STATEFUL, Limits
from ._regularise import activation_penalty, embedding_dropout
from .encoders import KINDS, Encoder, count_parameters


class LanguageModel(nn.Module):
    """Next-token model of text: characters by default, lower-cased words with ``level="word"``.

    Network: an embedding of ``embedding_size`` (None: ``hidden_size``), an
    ``Encoder(model, ., hidden_size, num_layers, causal=True, dropout=, heads=, cell=)`` of
    ``lstmkit.models.encoders`` (``model`` "lstm", "gru", "hybrid" or "transformer"), ``dropout``
    on its output and a linear layer to the vocabulary; ``tie_weights=True`` shares the embedding
    matrix with that layer (needs ``embedding_size`` None or equal to ``hidden_size``).
    Regularisers (AWD-LSTM's, Merity et al. 2018; all off by default): ``embedding_dropout``
    (whole token types dropped per batch), ``recurrent_dropout``, ``weight_drop`` and ``zoneout``
    (Krueger et al. 2017) of the LSTM layers (``lstmkit.LSTM``), and ``ar`` / ``tar``, activation
    and temporal activation regularisation added to the training loss (the loss reported stays the
    cross-entropy).

    Vocabulary (``lstmkit.data.tokenize.Vocabulary``, built from the training text at ``fit``):
    tokens seen at least ``min_count`` times, at most ``max_vocab`` ids; others read as UNK.

    Training (Adam, ``lr``, gradient norm ``clip``, ``schedule`` "cosine" (down to a tenth at the
    end of the run, by steps, epochs or time, whichever limit is nearest) or "constant"): the text
    in ``batch_size`` parallel streams, updates every ``bptt`` tokens, the state carried across
    chunks for "lstm" and "gru"; windows of ``bptt`` tokens for "hybrid" and "transformer".
    Every ``eval_every`` updates and at the end, the loss on the first ``eval_tokens`` tokens of
    the validation text (``fit``'s ``val``, else the last ``val_fraction`` of the text, cut at a
    line start); the model ends with the best of those weights. ``seed`` fixes the initial weights,
    the windows and dropout: on the CPU, the same seed and step limit give the same model.
    """

    PARAMS = ("model", "hidden_size", "num_layers", "embedding_size", "level", "min_count", "max_vocab", "dropout",
              "heads", "cell", "tie_weights", "bptt", "batch_size", "lr", "clip", "schedule", "val_fraction",
              "eval_every", "eval_tokens", "seed", "embedding_dropout", "recurrent_dropout", "weight_drop", "zoneout",
              "ar", "tar")

    def __init__(self, model: str = "lstm", hidden_size: int = 512, num_layers: int = 2, *,
                 embedding_size: int | None = None, level: str = "char", min_count: int = 1,
                 max_vocab: int | None = None, dropout: float = 0.0, heads: int = 4, cell: str = "forget",
                 tie_weights: bool = False, bptt: int = 128, batch_size: int = 32, lr: float = 2e-3,
                 clip: float | None = 1.0, schedule: str = "cosine", val_fraction: float = 0.05,
                 eval_every: int = 200, eval_tokens: int | None = 100_000, seed: int = 0,
                 embedding_dropout: float = 0.0, recurrent_dropout: float = 0.0, weight_drop: float = 0.0,
                 zoneout: float | tuple[float, float] = 0.0, ar: float = 0.0, tar: float = 0.0,
                 progress: bool = False) -> None:
        super().__init__()
        self.model, self.hidden_size, self.num_layers, self.embedding_size = model, hidden_size, num_layers, embedding_size
        self.level, self.min_count, self.max_vocab, self.dropout = level, min_count, max_vocab, dropout
        self.heads, self.cell, self.tie_weights, self.bptt = heads, cell, tie_weights, bptt
        self.batch_size, self.lr, self.clip, self.schedule = batch_size, lr, clip, schedule
        self.val_fraction, self.eval_every, self.eval_tokens = val_fraction, eval_every, eval_tokens
        self.seed, self.progress = seed, progress
        self.embedding_dropout, self.recurrent_dropout, self.weight_drop = embedding_dropout, recurrent_dropout, weight_drop
        self.zoneout, self.ar, self.tar = zoneout, ar, tar

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.PARAMS}

    # -- the network -----------------------------------------------------------------------------------

    def _check_params(self) -> None:
        for name, allowed in (("model", KINDS), ("level", LEVELS), ("schedule", tuple(SCHEDULES))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {getattr(self, name)!r}")
        for name in ("hidden_size", "num_layers", "min_count", "heads", "bptt", "batch_size", "eval_every"):
            check_int(name, getattr(self, name), minimum=1)
        for name in ("embedding_size", "eval_tokens"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), minimum=1)
        if self.max_vocab is not None:
            check_int("max_vocab", self.max_vocab, minimum=3)
        check_float("dropout", self.dropout, low=0.0, high=1.0)
        check_float("embedding_dropout", self.embedding_dropout, low=0.0, high=0.95)
        check_float("ar", self.ar, low=0.0)
        check_float("tar", self.tar, low=0.0)
        check_float("lr", self.lr, low=0.0)
        if self.clip is not None:
            check_float("clip", self.clip, low=0.0)
        check_float("val_fraction", self.val_fraction, low=0.0, high=0.9)
        check_bool("tie_weights", self.tie_weights)
        check_int("seed", self.seed, minimum=0)
        if self.tie_weights and self.embedding_size not in (None, self.hidden_size):
            raise ValueError(f"tie_weights=True shares the embedding with the output layer, so embedding_size must "
                             f"be None or hidden_size = {self.hidden_size}, got {self.embedding_size}")

    def _build(self, vocab: Vocabulary) -> None:
        self._check_params()
        torch.manual_seed(self.seed)
        self.vocab_ = vocab
        width = self.embedding_size or self.hidden_size
        self.embedding = nn.Embedding(len(vocab), width)
        self.encoder = Encoder(self.model, width, self.hidden_size, self.num_layers, dropout=self.dropout,
                               heads=self.heads, causal=True, cell=self.cell, recurrent_dropout=self.recurrent_dropout,
                               weight_drop=self.weight_drop, zoneout=self.zoneout)
        self.drop = nn.Dropout(self.dropout)
        self.head = nn.Linear(self.encoder.output_size, len(vocab))
        if self.tie_weights:
            self.head.weight = self.embedding.weight

    def forward(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """ids (B, T) int64 -> (logits (B, T, V) of tokens 1..T, the encoder's state); ``state``
        continues a recurrent kind from where the previous chunk ended."""
        out, state = self.encoder(self.drop(embedding_dropout(self.embedding, ids, self.embedding_dropout,
                                                              self.training)), state=state)
        dropped = self.drop(out)
        # AR/TAR: what the trainer adds to the loss for this batch (None in eval or when off)
        self.penalty_ = (activation_penalty(dropped, out, self.ar, self.tar)
                         if self.training and (self.ar or self.tar) else None)
        return self.head(dropped), state

    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "vocab_"):
            raise RuntimeError(f"{what}: this LanguageModel is not fitted yet; call fit(text) or LanguageModel.load")

    @property
    def n_parameters(self) -> int:
        self._check_fitted("n_parameters")
        return count_parameters(self)

    def _device(self) -> torch.device:
        return self.head.weight.device

    def _ids(self, name: str, text: Any, *, minimum: int, unknown: str = "unk") -> Tensor:
        if not isinstance(text, str):
            raise TypeError(f"{name} must be a str, got {type(text).__name__}")
        ids = self.vocab_.encode(text, unknown=unknown)
        if len(ids) < minimum:
            what = "character" if self.level == "char" else "word"
            raise ValueError(f"{name} has {len(ids)} {what}(s); it needs at least {minimum}"
                             + (" (one to read, one to predict)" if minimum == 2 else ""))
        return torch.tensor(ids, dtype=torch.long, device=self._device())

    # -- fitting ---------------------------------------------------------------------------------------

    def fit(self, text: str, val: str | None = None, *, minutes: float | None = None, epochs: int | None = None,
            steps: int | None = None, checkpoint: str | Path | None = None) -> "LanguageModel":
        """Train on ``text`` until ``minutes`` of wall time, ``epochs`` passes or ``steps`` updates,
        whichever comes first (none given: one epoch), validating on ``val`` (or the last
        ``val_fraction`` of ``text``); ``checkpoint``: save the best model there at each new best."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if val is not None and not isinstance(val, str):
            raise TypeError(f"val must be a str or None, got {type(val).__name__}")
        if minutes is not None:
            check_float("minutes", minutes, low=0.0)
            if minutes == 0:
                raise ValueError("minutes must be > 0 (the training time budget), got 0")
        for name, value in (("epochs", epochs), ("steps", steps)):
            if value is not None:
                check_int(name, value, minimum=1)
        if minutes is None and epochs is None and steps is None:
            epochs = 1
        self._check_params()
        if not text:
            raise ValueError("text is empty (0 characters); a language model needs text to learn from")
        if val is None and self.val_fraction > 0:
            text, val = split_text(text, self.val_fraction)
        self._build(Vocabulary.build([text], level=self.level, min_count=self.min_count, max_size=self.max_vocab))
        train_ids = self._ids("text", text, minimum=2)
        val_ids = None
        if val:
            val_ids = self._ids("val", val, minimum=0)
            val_ids = val_ids if len(val_ids) >= 2 else None
        with torch.no_grad():            # start from the unigram frequencies, not from a uniform guess
            counts = torch.bincount(train_ids.cpu(), minlength=len(self.vocab_)).double() + 0.5
            counts[PAD] = 0.5
            self.head.bias.copy_(torch.log(counts / counts.sum()).float())
        on_best = None if checkpoint is None else (lambda: self.save(checkpoint))
        report = lm_training.train(self, self.model, train_ids, val_ids, batch_size=self.batch_size, bptt=self.bptt,
                                   lr=self.lr, clip=self.clip, schedule=self.schedule, eval_every=self.eval_every,
                                   eval_tokens=self.eval_tokens, seed=self.seed,
                                   limits=Limits(minutes=minutes, steps=steps, epochs=epochs),
                                   progress=self.progress, bits="bpc" if self.level == "char" else "bits/word",
                                   on_best=on_best)
        self.history_ = report.history
        self.steps_, self.tokens_seen_, self.seconds_ = report.steps, report.tokens, report.seconds
        self.stopped_by_, self.best_step_, self.best_val_loss_ = report.stopped, report.best_step, report.best_val
        if checkpoint is not None:
            self.save(checkpoint)
        return self

    # -- evaluation and sampling -----------------------------------------------------------------------

    def evaluate(self, text: str, *, streams: int | None = None) -> float:
        """The mean negative log-likelihood of ``text``'s tokens in nats per token (per character
        at the character level): token t + 1 predicted from tokens <= t, the text read as
        ``streams`` parallel streams (None: ``batch_size``; 1: every token sees all before it)
        in chunks of ``bptt``, as in training. Tokens outside the vocabulary count as UNK."""
        self._check_fitted("evaluate")
        if streams is not None:
            check_int("streams", streams, minimum=1)
        ids = self._ids("text", text, minimum=2)
        total, count = lm_training.summed_nats(self, ids, streams=streams or self.batch_size, bptt=self.bptt,
                                               stateful=STATEFUL[self.model])
        return total / count

    def bits_per_char(self, text: str, *, streams: int | None = None) -> float:
        """``evaluate(text)`` in bits (nats / ln 2): bits per character (per word at the word level)."""
        return self.evaluate(text, streams=streams) / LN2

    def generate(self, prompt: str, n: int, *, temperature: float = 1.0, top_k: int | None = None,
                 seed: int | None = None) -> str:
        """``prompt`` followed by ``n`` sampled tokens. Each token is drawn from the softmax of the
        logits / ``temperature`` (0: greedy, the most likely token), restricted to the ``top_k``
        most likely (None or 0: all; 1: greedy); padding and UNK are never drawn. A prompt token
        outside the vocabulary is a ValueError naming it. ``seed``: the same seed, the same text
        (None: a fresh random one). The attention kinds see the last ``bptt`` tokens."""
        self._check_fitted("generate")
        check_int("n", n, minimum=0)
        check_float("temperature", temperature, low=0.0)
        if top_k is not None:
            check_int("top_k", top_k, minimum=0)
        if seed is not None:
            check_int("seed", seed, minimum=0)
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        try:
            ids = self._ids("prompt", prompt, minimum=1, unknown="error")
        except ValueError as err:
            raise ValueError(f"prompt {prompt[:40]!r}: {err}; use only tokens of the training text") from None
        gen = torch.Generator()
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(seed)
        out = ids.tolist()
        self.eval()
        with torch.no_grad():
            logits, state = self(ids[None, -self.bptt:] if not STATEFUL[self.model] else ids[None])
            for _ in range(n):
                nxt = _draw(logits[0, -1].double().cpu(), temperature, top_k, gen)
                out.append(nxt)
                if STATEFUL[self.model]:
                    logits, state = self(torch.tensor([[nxt]], device=self._device()), state)
                else:                                   # attention reads its window again
                    logits, _ = self(torch.tensor([out[-self.bptt:]], device=self._device()))
        return prompt + self._continuation(out[len(ids):])

    def _continuation(self, ids: list[int]) -> str:
        text = self.vocab_.decode(ids)
        return text if self.level == "char" or not text else " " + text

    # -- saving ----------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the fitted model (weights, parameters, vocabulary, history) to one safetensors file."""
        self._check_fitted("save")
        fitted = {"vocab": self.vocab_.to_dict()}
        for key in ("steps_", "tokens_seen_", "seconds_", "stopped_by_", "best_step_", "best_val_loss_"):
            fitted[key] = getattr(self, key, None)
        meta = {"language_model": {"class": "LanguageModel", "params": self.get_params(), "fitted": fitted},
                "history": getattr(self, "history_", [])}
        tensors = dict(self.state_dict())
        if self.tie_weights:
            tensors.pop("head.weight")                  # the same matrix as embedding.weight
        save(path, Checkpoint({"model": tensors}, meta))

    @classmethod
    def load(cls, path: str | Path) -> "LanguageModel":
        ckpt = load(path)
        info = ckpt.meta.get("language_model")
        if not isinstance(info, dict) or info.get("class") != "LanguageModel":
            raise ValueError(f"{str(path)!r} is an lstmkit checkpoint but not a saved LanguageModel (it holds no "
                             "'language_model' entry); was it written by LanguageModel.save or lstmkit lm?")
        self = cls(**{k: v for k, v in info["params"].items() if k in cls.PARAMS})
        self._build(Vocabulary.from_dict(info["fitted"]["vocab"]))
        tensors = dict(ckpt.tensors.get("model", {}))
        if self.tie_weights and "embedding.weight" in tensors:
            tensors["head.weight"] = tensors["embedding.weight"]
        load_state(self, tensors, str(path))
        for key, value in info["fitted"].items():
            if key != "vocab":
                setattr(self, key, value)
        self.history_ = ckpt.meta.get("history", [])
        self.eval()
        return self


def _draw(logits: Tensor, temperature: float, top_k: int | None, gen: torch.Generator) -> int:
    """One token id from ``logits`` (V,): greedy at temperature 0 or top_k = 1; never PAD or UNK."""
    logits = logits.clone()
    logits[[PAD, UNK]] = -math.inf
    if temperature == 0 or top_k == 1:
        return int(logits.argmax())
    if top_k:
        kth = torch.topk(logits, min(top_k, len(logits))).values[-1]
        logits[logits < kth] = -math.inf
    probs = torch.softmax(logits / temperature, dim=0)
    return int(torch.multinomial(probs, 1, generator=gen))


__all__ = ["LanguageModel"]
