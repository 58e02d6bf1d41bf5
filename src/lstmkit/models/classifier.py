"""``SequenceClassifier``: one label per sequence or text, from an encoder, a pooling and a linear head.

A torch module and a scikit-learn style estimator at once: ``__init__`` stores its arguments,
``fit(X, y)`` reads the data, builds the network to fit them and trains it with
``lstmkit.train.Trainer`` (cross-entropy, early stopping on a stratified validation split), then
``predict``, ``predict_proba``, ``score`` (accuracy), ``save`` / ``load`` (one safetensors file).

Inputs (see ``_sequence_inputs``): numeric sequences of any lengths (a list of (T_i, F) arrays,
or a 3-D array), standardised per feature with the training data's mean and spread; or texts (a
list of str), split into lower-cased words, mapped to ids by a word ``Vocabulary`` built in
``fit`` (unseen words become ``UNK``) and embedded. Batches are padded and the real lengths passed
along, so padding never changes a prediction.
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
from ._regularise import embedding_dropout
from ._sequence_inputs import TEXT, pad, read_inputs
from .encoders import KINDS, Encoder
from .pooling import AttentionPool, POOLINGS, make_pooling
from .validation import as_labels, stratified_split

#: Labels a saved classifier can hold (they go to the file's JSON metadata).
SAVABLE_LABELS = (str, int, float, bool)
PREDICT_BATCH = 256
#: Per bundled dataset: the settings where the general defaults do not suit it (``lstmkit
#: classify`` and ``lstmkit compare`` use them). JapaneseVowels: lr tuned by CV on its train split
#: only; with 270 items a 10% validation split is 27 items, too few to stop on, so all of them train
#: for a fixed 60 epochs (5-fold CV on the train split: 96.1% either way; test accuracy over
#: seeds 0-4 in docs/results.md). Movie reviews: a biLSTM with attention pooling over the words;
#: it overfits after two or three epochs, so more dropout and weight decay and a short patience
#: (chosen on one 80/20 split of the sentences; the runs are in docs/results.md).
DATASET_SETTINGS: dict[str, dict[str, Any]] = {
    "japanese-vowels": {"lr": 1e-2, "val_fraction": 0.0, "epochs": 60},
    "movie-reviews": {"pooling": "attention", "hidden_size": 128, "dropout": 0.5, "weight_decay": 0.1,
                      "patience": 2, "epochs": 15},
}


class SequenceClassifier(nn.Module):
    """Classify sequences or texts (scikit-learn style; ``fit`` builds the network).

    Network: the encoder ``model`` ("lstm", "gru", "hybrid", "transformer"; see
    ``lstmkit.models.encoders``) of ``num_layers`` layers of ``hidden_size`` units (per direction;
    ``bidirectional`` for the recurrent kinds; ``heads`` for the attention kinds; ``cell`` any
    lstmkit cell), then ``pooling`` ("last", "mean", "attention"; see ``lstmkit.models.pooling``),
    ``dropout`` and a linear layer to one logit per class; ``recurrent_dropout``, ``weight_drop``
    and ``zoneout`` regularise the LSTM layers (``lstmkit.LSTM``), ``embedding_dropout`` drops
    whole word types of a batch (texts). Texts are embedded first
    (``embedding_size``; a vocabulary of the words seen at least ``min_count`` times, at most
    ``max_vocab`` ids).

    Training: at most ``epochs`` epochs of AdamW (``lr``, ``weight_decay``) over batches of
    ``batch_size``, gradient norm clipped to 1; a stratified ``val_fraction`` of the training items
    is held out and training stops after ``patience`` epochs without a lower validation loss (the
    best epoch's weights are kept; ``val_fraction=0``: all ``epochs``, no early stopping).
    ``seed`` fixes the initialisation, the split and the batches: the same seed gives the same
    model on CPU. ``progress`` shows the trainer's bar.

    Fitted attributes: ``classes_`` (sorted), ``input_kind_`` ("numeric" or "text"),
    ``n_features_in_`` (numeric) or ``vocabulary_`` (text), ``history_`` (one row per epoch).
    """

    PARAMS = ("model", "hidden_size", "num_layers", "bidirectional", "pooling", "dropout", "embedding_dropout",
              "recurrent_dropout", "weight_drop", "zoneout", "heads", "cell",
              "embedding_size", "min_count", "max_vocab", "epochs", "batch_size", "lr", "schedule", "weight_decay", "patience",
              "val_fraction", "seed", "progress")

    def __init__(self, model: str = "lstm", *, hidden_size: int = 64, num_layers: int = 1, bidirectional: bool = True,
                 pooling: str = "last", dropout: float = 0.2, embedding_dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, weight_drop: float = 0.0,
                 zoneout: float | tuple[float, float] = 0.0, heads: int = 4, cell: str = "forget",
                 embedding_size: int = 64, min_count: int = 1, max_vocab: int | None = 20000, epochs: int = 60,
                 batch_size: int = 32, lr: float = 3e-3, schedule: str = "constant", weight_decay: float = 1e-2, patience: int | None = 10,
                 val_fraction: float = 0.1, seed: int = 0, progress: bool = False) -> None:
        super().__init__()
        self.model, self.hidden_size, self.num_layers, self.bidirectional = model, hidden_size, num_layers, bidirectional
        self.pooling, self.dropout, self.heads, self.cell = pooling, dropout, heads, cell
        self.embedding_dropout, self.recurrent_dropout, self.weight_drop = embedding_dropout, recurrent_dropout, weight_drop
        self.zoneout = zoneout
        self.embedding_size, self.min_count, self.max_vocab = embedding_size, min_count, max_vocab
        self.epochs, self.batch_size, self.lr, self.schedule, self.weight_decay = epochs, batch_size, lr, schedule, weight_decay
        self.patience, self.val_fraction, self.seed, self.progress = patience, val_fraction, seed, progress

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.PARAMS}

    def set_params(self, **params: Any) -> "SequenceClassifier":
        unknown = sorted(set(params) - set(self.PARAMS))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown}; the parameters are {list(self.PARAMS)}")
        for k, v in params.items():
            setattr(self, k, v)
        return self

    # -- the network -----------------------------------------------------------------------------------

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Logits (B, classes) of a padded batch: ``x`` (B, T, F) floats or (B, T) word ids,
        ``lengths`` (B,) real lengths in 1..T. Steps past the batch's longest sequence are cut."""
        lengths = lengths.to(torch.long)
        x = x[:, : int(lengths.max())]                          # pad only to this batch's longest
        if self.input_kind_ == TEXT:
            x = self.drop_(self._embed(x))                      # (B, T) ids -> (B, T, E)
        out, _ = self.encoder_(x, lengths.cpu())                # (B, T, D)
        return self.head_(self.drop_(self.pool_(out, lengths)))

    def _embed(self, ids: Tensor) -> Tensor:
        """The embeddings of ``ids``, with ``embedding_dropout`` in training (``_regularise``)."""
        return embedding_dropout(self.embedding_, ids, float(getattr(self, "embedding_dropout", 0.0)), self.training)

    def _build(self, input_size: int, n_classes: int, vocabulary: int | None) -> None:
        if vocabulary is not None:
            self.embedding_ = nn.Embedding(vocabulary, self.embedding_size, padding_idx=PAD)
        self.encoder_ = Encoder(self.model, input_size, self.hidden_size, self.num_layers,
                                bidirectional=self.bidirectional, dropout=self.dropout, heads=self.heads, cell=self.cell,
                                recurrent_dropout=getattr(self, "recurrent_dropout", 0.0),
                                weight_drop=getattr(self, "weight_drop", 0.0), zoneout=getattr(self, "zoneout", 0.0))
        two = self.bidirectional and self.encoder_.output_size == 2 * self.hidden_size
        self.pool_ = make_pooling(self.pooling, self.encoder_.output_size, two)
        self.drop_ = nn.Dropout(self.dropout)
        self.head_ = nn.Linear(self.encoder_.output_size, n_classes)

    def _check_params(self) -> None:
        if self.model not in KINDS:
            raise ValueError(f"model must be one of {', '.join(map(repr, KINDS))}, got {self.model!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(map(repr, POOLINGS))}, got {self.pooling!r}")
        for name in ("hidden_size", "num_layers", "heads", "embedding_size", "min_count", "epochs", "batch_size"):
            check_int(name, getattr(self, name), minimum=1)
        if self.max_vocab is not None:
            check_int("max_vocab", self.max_vocab, minimum=3)
        if self.patience is not None:
            check_int("patience", self.patience, minimum=1)
        check_int("seed", self.seed, minimum=0)
        check_float("dropout", self.dropout, low=0.0, high=0.95)
        check_float("embedding_dropout", self.embedding_dropout, low=0.0, high=0.95)
        check_float("lr", self.lr, low=0.0)
        check_float("weight_decay", self.weight_decay, low=0.0)
        check_float("val_fraction", self.val_fraction, low=0.0, high=0.5)
        check_bool("bidirectional", self.bidirectional)
        check_bool("progress", self.progress)

    # -- fitting ---------------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any, *, on_epoch: Any = None) -> "SequenceClassifier":
        """Fit on ``X`` (texts or numeric sequences) and labels ``y`` (any hashable values, one per
        item). ``on_epoch(row)`` is the trainer's per-epoch hook (``lstmkit.train.Trainer``)."""
        self._check_params()
        kind, items = read_inputs(X, "X")
        labels = as_labels(y, "y")
        if len(labels) != len(items):
            raise ValueError(f"X and y must have the same number of items, got {len(items)} and {len(labels)}")
        try:
            classes = sorted(set(labels))
        except TypeError as err:
            raise TypeError(f"the labels in y must be sortable among themselves (all str or all numbers), {err}") from None
        if len(classes) < 2:
            raise ValueError(f"y must hold at least 2 classes to classify, got only {classes!r}")
        self.classes_ = _label_array(classes)
        self._index = {c: i for i, c in enumerate(classes)}
        targets = np.array([self._index[v] for v in labels], dtype=np.int64)
        if kind != TEXT and self.embedding_dropout > 0:
            raise ValueError(f"embedding_dropout drops words of a text's vocabulary, but X holds numeric sequences "
                             f"(got embedding_dropout={self.embedding_dropout}); use dropout instead")
        self.input_kind_ = kind
        for stale in ("embedding_", "vocabulary_", "n_features_in_", "mean_", "std_"):   # from an earlier fit
            if hasattr(self, stale):
                delattr(self, stale)
        if kind == TEXT:
            self.vocabulary_ = Vocabulary.build(items, level="word", min_count=self.min_count, max_size=self.max_vocab)
            input_size, vocabulary = self.embedding_size, len(self.vocabulary_)
        else:
            steps = np.concatenate(items)                                        # (all steps, F)
            self.n_features_in_ = steps.shape[1]
            self.mean_, self.std_ = steps.mean(0), np.where(steps.std(0) > 0, steps.std(0), 1.0)
            input_size, vocabulary = self.n_features_in_, None
        torch.manual_seed(self.seed)
        self._build(input_size, len(classes), vocabulary)
        x, lengths = self._batch(items, "X")
        train, val = (stratified_split(targets, self.val_fraction, self.seed) if self.val_fraction > 0
                      else (np.arange(len(items)), np.zeros(0, dtype=np.int64)))
        part = lambda idx: (x[idx], lengths[idx], targets[idx])                 # noqa: E731
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, schedule=self.schedule, optimizer="adamw",
                             weight_decay=self.weight_decay, clip=1.0, patience=self.patience if len(val) else None,
                             seed=self.seed, progress=self.progress)
        result = Trainer(self, config, loss=F.cross_entropy, on_epoch=on_epoch).fit(part(train), part(val) if len(val) else None)
        self.history_ = result.history
        self.eval()
        return self

    def _batch(self, items: list[Any], name: str) -> tuple[np.ndarray, np.ndarray]:
        """(padded inputs, lengths) for the network: ids (N, T) int64 or standardised (N, T, F) float32."""
        if self.input_kind_ == TEXT:
            ids = []
            for i, text in enumerate(items):
                ids.append(self.vocabulary_.encode(text))
                if not ids[-1]:
                    raise ValueError(f"{name}[{i}] has no words ({text!r}): every text needs at least one word")
            return pad(ids, np.int64)
        return pad([(a - self.mean_) / self.std_ for a in items], np.float32)

    # -- predicting ------------------------------------------------------------------------------------

    def _inputs(self, X: Any, name: str = "X") -> list[Any]:
        if not hasattr(self, "classes_"):
            raise RuntimeError("this SequenceClassifier is not fitted yet: call fit(X, y) first")
        kind, items = read_inputs(X, name)
        if kind != self.input_kind_:
            raise TypeError(f"{name} holds {kind} inputs but this classifier was fitted on {self.input_kind_} inputs")
        if kind != TEXT and items[0].shape[1] != self.n_features_in_:
            raise ValueError(f"{name} has {items[0].shape[1]} features per step, but the classifier was fitted "
                             f"with {self.n_features_in_}")
        return items

    def _logits(self, items: list[Any], name: str) -> Tensor:
        self.eval()
        device = next(self.parameters()).device
        outs = []
        with torch.no_grad():
            for start in range(0, len(items), PREDICT_BATCH):
                x, lengths = self._batch(items[start: start + PREDICT_BATCH], name)
                outs.append(self(torch.from_numpy(x).to(device), torch.from_numpy(lengths)).double().cpu())
        return torch.cat(outs)

    def predict_proba(self, X: Any) -> np.ndarray:
        """(N, classes) probabilities, the columns in the order of ``classes_``."""
        return torch.softmax(self._logits(self._inputs(X), "X"), dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each item (values of ``classes_``)."""
        best = self._logits(self._inputs(X), "X").argmax(1).numpy()
        return self.classes_[best]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy: the fraction of items whose predicted class is ``y``'s."""
        items = self._inputs(X)
        labels = as_labels(y, "y")
        if len(labels) != len(items):
            raise ValueError(f"X and y must have the same number of items, got {len(items)} and {len(labels)}")
        unknown = sorted({repr(v) for v in labels if v not in self._index})
        if unknown:
            raise ValueError(f"y holds label(s) {', '.join(unknown[:10])} that were not among the classes seen in "
                             f"fit ({', '.join(map(repr, self.classes_.tolist()))})")
        truth = np.array([self._index[v] for v in labels])
        return float((self._logits(items, "X").argmax(1).numpy() == truth).mean())

    def attention_weights(self, X: Any) -> list[np.ndarray]:
        """For ``pooling="attention"``: each sequence's weights over its real steps (length T_i, sum 1)."""
        items = self._inputs(X)
        if not isinstance(self.pool_, AttentionPool):
            raise ValueError(f"attention_weights needs pooling='attention', this classifier has pooling={self.pooling!r}")
        x, lengths = self._batch(items, "X")
        self.eval()
        with torch.no_grad():
            xt, lt = torch.from_numpy(x), torch.from_numpy(lengths)
            inputs = self.embedding_(xt) if self.input_kind_ == TEXT else xt
            weights = self.pool_.weights(self.encoder_(inputs, lt)[0], lt).double().numpy()
        return [w[:n] for w, n in zip(weights, lengths)]

    # -- saving ----------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the fitted classifier (weights, parameters, classes, scaling or vocabulary) to one
        safetensors file, atomically; ``SequenceClassifier.load(path)`` reads it back."""
        state, meta = self._to_checkpoint()
        save(path, Checkpoint({"model": state}, meta))

    def _to_checkpoint(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """(weights, metadata) of the fitted classifier, as ``save`` writes them."""
        if not hasattr(self, "classes_"):
            raise RuntimeError("this SequenceClassifier is not fitted yet: call fit(X, y) first")
        classes = self.classes_.tolist()
        bad = [c for c in classes if not isinstance(c, SAVABLE_LABELS)]
        if bad:
            raise TypeError(f"save stores the labels as JSON, so they must be str, int, float or bool; got "
                            f"{type(bad[0]).__name__} ({bad[0]!r})")
        fitted: dict[str, Any] = {"input_kind": self.input_kind_, "classes": classes, "history": self.history_}
        if self.input_kind_ == TEXT:
            fitted["vocabulary"] = self.vocabulary_.to_dict()
        else:
            fitted.update(n_features=self.n_features_in_, mean=self.mean_.tolist(), std=self.std_.tolist())
        meta = {"classifier": {"class": "SequenceClassifier", "params": self.get_params()}, "fitted": fitted}
        return dict(self.state_dict()), meta

    @classmethod
    def load(cls, path: str | Path) -> "SequenceClassifier":
        ckpt = load(path)
        info = ckpt.meta.get("classifier")
        if not isinstance(info, dict) or info.get("class") != "SequenceClassifier":
            raise ValueError(f"{str(path)!r} is an lstmkit checkpoint but not a saved SequenceClassifier "
                             "(it holds no 'classifier' entry); was it written by SequenceClassifier.save?")
        return cls._from_checkpoint(ckpt.tensors.get("model", {}), ckpt.meta, str(path))

    @classmethod
    def _from_checkpoint(cls, state: dict[str, Tensor], meta: dict[str, Any], where: str) -> "SequenceClassifier":
        info = meta["classifier"]
        self = cls(**{k: v for k, v in info["params"].items() if k in cls.PARAMS})
        fitted = meta["fitted"]
        self.input_kind_, self.history_ = fitted["input_kind"], fitted.get("history", [])
        self.classes_ = np.asarray(fitted["classes"])
        self._index = {c: i for i, c in enumerate(self.classes_.tolist())}
        if self.input_kind_ == TEXT:
            self.vocabulary_ = Vocabulary.from_dict(fitted["vocabulary"])
            self._build(self.embedding_size, len(self.classes_), len(self.vocabulary_))
        else:
            self.n_features_in_ = fitted["n_features"]
            self.mean_, self.std_ = np.array(fitted["mean"]), np.array(fitted["std"])
            self._build(self.n_features_in_, len(self.classes_), None)
        load_state(self, state, where)
        self.eval()
        return self


class EnsembleClassifier:
    """``n_models`` SequenceClassifiers of the same settings (``**params``), seeded ``seed``,
    ``seed + 1``, …, whose class probabilities are averaged: the usual few points of variance
    that one seed's network carries (measured on movie reviews in docs/results.md) averaged away.

    ``fit``, ``predict_proba``, ``predict``, ``score``, ``save`` / ``load`` (one safetensors file)
    as SequenceClassifier's; ``members_`` the fitted networks, ``classes_`` their classes."""

    def __init__(self, n_models: int = 3, **params: Any) -> None:
        unknown = sorted(set(params) - set(SequenceClassifier.PARAMS))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown}; the parameters are {list(SequenceClassifier.PARAMS)}")
        self.n_models = n_models
        self.params = params

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {"n_models": self.n_models, **self.params}

    def fit(self, X: Any, y: Any) -> "EnsembleClassifier":
        check_int("n_models", self.n_models, minimum=1)
        seed = int(self.params.get("seed", 0))
        self.members_ = [SequenceClassifier(**{**self.params, "seed": seed + i}).fit(X, y) for i in range(self.n_models)]
        self.classes_ = self.members_[0].classes_
        self.history_ = self.members_[0].history_
        return self

    def _fitted(self) -> list[SequenceClassifier]:
        if not hasattr(self, "members_"):
            raise RuntimeError("this EnsembleClassifier is not fitted yet: call fit(X, y) first")
        return self.members_

    def predict_proba(self, X: Any) -> np.ndarray:
        """(N, classes): the members' probabilities, averaged."""
        return np.mean([m.predict_proba(X) for m in self._fitted()], axis=0)

    def predict(self, X: Any) -> np.ndarray:
        best = self.predict_proba(X).argmax(1)
        return self.classes_[best]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of the averaged prediction."""
        members = self._fitted()
        items = members[0]._inputs(X)
        labels = as_labels(y, "y")
        if len(labels) != len(items):
            raise ValueError(f"X and y must have the same number of items, got {len(items)} and {len(labels)}")
        index = members[0]._index
        unknown = sorted({repr(v) for v in labels if v not in index})
        if unknown:
            raise ValueError(f"y holds label(s) {', '.join(unknown[:10])} that were not among the classes seen in fit")
        truth = np.array([index[v] for v in labels])
        return float((self.predict_proba(items).argmax(1) == truth).mean())

    def save(self, path: str | Path) -> None:
        """All members in one safetensors file, atomically; ``EnsembleClassifier.load`` reads it."""
        parts = [m._to_checkpoint() for m in self._fitted()]
        meta = {"ensemble": {"class": "EnsembleClassifier", "n_models": self.n_models, "params": self.params,
                             "members": [m for _, m in parts]}}
        save(path, Checkpoint({f"model{i}": state for i, (state, _) in enumerate(parts)}, meta))

    @classmethod
    def load(cls, path: str | Path) -> "EnsembleClassifier":
        ckpt = load(path)
        info = ckpt.meta.get("ensemble")
        if not isinstance(info, dict) or info.get("class") != "EnsembleClassifier":
            raise ValueError(f"{str(path)!r} is an lstmkit checkpoint but not a saved EnsembleClassifier "
                             "(it holds no 'ensemble' entry); was it written by EnsembleClassifier.save?")
        self = cls(info["n_models"], **info["params"])
        self.members_ = [SequenceClassifier._from_checkpoint(ckpt.tensors.get(f"model{i}", {}), meta, str(path))
                         for i, meta in enumerate(info["members"])]
        self.classes_, self.history_ = self.members_[0].classes_, self.members_[0].history_
        return self


def _label_array(classes: list[Any]) -> np.ndarray:
    """A 1-D array of the labels: numpy's own dtype for str / numbers, else objects (e.g. tuples)."""
    if all(isinstance(c, SAVABLE_LABELS) for c in classes):
        return np.asarray(classes)
    out = np.empty(len(classes), dtype=object)
    out[:] = classes
    return out


__all__ = ["DATASET_SETTINGS", "EnsembleClassifier", "SequenceClassifier"]
