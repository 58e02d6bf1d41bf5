"""``PianoRollModel``: polyphonic music as a sequence of piano-roll frames (Boulanger-Lewandowski
et al. 2012; the JSB Chorales benchmark of Bai et al. 2018).

Each frame x_t is 88 binary keys. The model reads frames 0..t with a causal encoder (``model=``
"lstm", "gru", "hybrid", "transformer"; ``lstmkit.models.encoders``) and gives the logits of 88
independent Bernoullis for frame t + 1:

    -log p(x_{t+1} | x_{<=t}) = sum_k BCE(logit_{t,k}, x_{t+1,k})           (nats)

``nll(pieces)`` averages that over every predicted frame (frames 1..T-1 of each piece, as Bai et
al.'s code does: frame 0 is read, not predicted); padding is never counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._checks import check_float, check_int
from ..train import TrainConfig, Trainer
from ..train.checkpoint import Checkpoint, load, load_state, save
from .encoders import KINDS, Encoder, count_parameters

KEYS = 88
#: Kinds whose whole history is their recurrent state: sampling carries it instead of re-reading.
_STATEFUL = {"lstm": True, "gru": True, "hybrid": False, "transformer": False}


class PianoRollModel(nn.Module):
    """Next-frame model of piano rolls, scikit-learn style (built at ``fit``).

    Network: an ``Encoder(model, 88, hidden_size, num_layers, causal=True, dropout=, heads=,
    cell=)``, ``dropout`` on its output, and a linear head to 88 logits whose biases start at the
    training keys' log-odds. Training (``lstmkit.train.Trainer``, Adam): ``epochs`` at most,
    ``batch_size`` pieces per batch (padded to the longest in the batch), ``lr``, gradient norm
    ``clip``; early stopping after ``patience`` epochs without a better validation
    loss (the ``val`` pieces given to ``fit``, else a seeded random ``val_fraction`` of the
    training pieces), ending with the best epoch's weights. The loss is the summed binary
    cross-entropy over the 88 keys, averaged over the batch's real (predicted) frames (the
    trainer's validation loss averages those batch means by pieces; ``nll`` is the exact per-frame
    figure).
    """

    PARAMS = ("model", "hidden_size", "num_layers", "dropout", "heads", "cell", "epochs", "batch_size", "lr",
              "clip", "patience", "val_fraction", "seed")

    def __init__(self, model: str = "lstm", hidden_size: int = 128, num_layers: int = 1, *, dropout: float = 0.0,
                 heads: int = 4, cell: str = "forget", epochs: int = 100, batch_size: int = 16, lr: float = 3e-3,
                 clip: float | None = 1.0, patience: int | None = 10, val_fraction: float = 0.1, seed: int = 0,
                 progress: bool = False, checkpoint_dir: str | None = None) -> None:
        super().__init__()
        self.model, self.hidden_size, self.num_layers, self.dropout = model, hidden_size, num_layers, dropout
        self.heads, self.cell, self.epochs, self.batch_size, self.lr = heads, cell, epochs, batch_size, lr
        self.clip, self.patience, self.val_fraction, self.seed = clip, patience, val_fraction, seed
        self.progress, self.checkpoint_dir = progress, checkpoint_dir

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.PARAMS}

    # -- the network -----------------------------------------------------------------------------------

    def _build(self) -> None:
        if self.model not in KINDS:
            raise ValueError(f"model must be one of {', '.join(map(repr, KINDS))}, got {self.model!r}")
        check_int("seed", self.seed, minimum=0)
        torch.manual_seed(self.seed)
        self.encoder = Encoder(self.model, KEYS, self.hidden_size, self.num_layers, dropout=self.dropout,
                               heads=self.heads, causal=True, cell=self.cell)
        self.drop = nn.Dropout(self.dropout)
        self.head = nn.Linear(self.encoder.output_size, KEYS)
        self.n_features_in_ = KEYS

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: Any = None) -> tuple[Tensor, Any]:
        """x (B, T, 88) frames -> (logits (B, T, 88) of frames 1..T, the encoder's state)."""
        out, state = self.encoder(x, lengths, state)
        return self.head(self.drop(out)), state

    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "encoder"):
            raise RuntimeError(f"{what}: this PianoRollModel is not fitted yet; call fit(pieces) or "
                               "PianoRollModel.load(path)")

    def _device(self) -> torch.device:
        return self.head.weight.device

    @property
    def n_parameters(self) -> int:
        self._check_fitted("n_parameters")
        return count_parameters(self)

    # -- fitting ---------------------------------------------------------------------------------------

    def fit(self, pieces: Any, val: Any = None, *, on_epoch: Any = None) -> "PianoRollModel":
        """Train on ``pieces`` (a list of (T_i, 88) arrays of 0/1, T_i >= 2, or one (N, T, 88)
        array), validating on ``val`` (same form) or on ``val_fraction`` of ``pieces``.
        ``on_epoch(row)`` is the trainer's per-epoch hook (``lstmkit.train.Trainer``)."""
        train = _read("pieces", pieces)
        held = None if val is None else _read("val", val)
        check_int("epochs", self.epochs, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_float("dropout", self.dropout, low=0.0, high=1.0)
        if self.patience is not None:
            check_int("patience", self.patience, minimum=1)
        if held is None and self.val_fraction > 0 and len(train) < 2:
            raise ValueError(f"val_fraction = {self.val_fraction} needs at least 2 pieces to hold one out, got "
                             f"{len(train)}; pass val= or val_fraction=0")
        self._build()
        with torch.no_grad():            # start from the key-frequency baseline, not from p = 1/2 for every key
            keys = np.clip(np.concatenate(train).mean(0), 1e-4, 1 - 1e-4)
            self.head.bias.copy_(torch.from_numpy(np.log(keys / (1 - keys))))
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, clip=self.clip,
                             val_fraction=self.val_fraction if held is None else 0.0, val_split="random",
                             patience=self.patience if held is not None or self.val_fraction > 0 else None,
                             seed=self.seed, progress=self.progress, log_every=10,
                             checkpoint_dir=None if self.checkpoint_dir is None else str(self.checkpoint_dir))
        trainer = Trainer(self, config, step=_step, model_config={"music": self.get_params()}, on_epoch=on_epoch)
        result = trainer.fit(_padded(train), None if held is None else _padded(held))
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        counts: dict[bytes, int] = {}
        for p in train:                  # the most common opening frame primes ``sample``
            counts[p[0].tobytes()] = counts.get(p[0].tobytes(), 0) + 1
        self.first_frame_ = np.frombuffer(max(counts, key=counts.get), dtype=np.float32).copy()
        self.eval()
        return self

    # -- evaluation and sampling -----------------------------------------------------------------------

    def nll(self, pieces: Any, *, batch_size: int = 32) -> float:
        """The negative log-likelihood per predicted frame (nats, summed over the 88 keys, averaged
        over frames 1..T_i-1 of every piece; padding excluded)."""
        self._check_fitted("nll")
        check_int("batch_size", batch_size, minimum=1)
        data = _read("pieces", pieces)
        order = sorted(range(len(data)), key=lambda i: len(data[i]))      # similar lengths: little padding
        total, frames = 0.0, 0
        self.eval()
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                rolls, lengths = _padded([data[i] for i in order[start: start + batch_size]])
                loss, n = _summed_bce(self, torch.from_numpy(rolls).to(self._device()), torch.from_numpy(lengths))
                total, frames = total + float(loss), frames + n
        return total / frames

    def sample(self, n_frames: int, seed: int = 0, *, prime: Any = None, temperature: float = 1.0) -> np.ndarray:
        """``n_frames`` frames (n_frames, 88) of 0/1 drawn from the model, starting with ``prime``
        ((P, 88), P <= n_frames; default: the most common first frame of the training pieces) and
        continuing frame by frame; ``temperature`` divides the logits. Same seed, same piece."""
        self._check_fitted("sample")
        check_int("n_frames", n_frames, minimum=1)
        check_int("seed", seed, minimum=0)
        check_float("temperature", temperature, low=0.0)
        if temperature == 0:
            raise ValueError("temperature must be > 0, got 0")
        start = self.first_frame_[None] if prime is None else _read("prime", [prime], min_frames=1)[0]
        if len(start) > n_frames:
            raise ValueError(f"prime has {len(start)} frames, more than n_frames = {n_frames}")
        gen = torch.Generator().manual_seed(seed)
        frames = torch.from_numpy(np.asarray(start, dtype=np.float32)).to(self._device())
        self.eval()
        with torch.no_grad():
            logits, state = self(frames[None])
            while len(frames) < n_frames:
                p = torch.sigmoid(logits[0, -1].cpu() / temperature)
                nxt = torch.bernoulli(p, generator=gen).to(frames.device)   # drawn on the CPU: the same on any device
                frames = torch.cat([frames, nxt[None]])
                if _STATEFUL[self.model]:
                    logits, state = self(nxt[None, None], state=state)
                else:                                  # attention reads the whole history again
                    logits, _ = self(frames[None])
        return frames.cpu().numpy()

    # -- saving ----------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the fitted model (weights, parameters, history) to one safetensors file, atomically."""
        self._check_fitted("save")
        meta = {"music": {"class": "PianoRollModel", "params": self.get_params(),
                          "fitted": {"first_frame": self.first_frame_.tolist(), "best_epoch": self.best_epoch_}},
                "history": self.history_}
        save(path, Checkpoint({"model": dict(self.state_dict())}, meta))

    @classmethod
    def load(cls, path: str | Path) -> "PianoRollModel":
        ckpt = load(path)
        info = ckpt.meta.get("music")
        if not isinstance(info, dict) or info.get("class") != "PianoRollModel":
            raise ValueError(f"{str(path)!r} is an lstmkit checkpoint but not a saved PianoRollModel (it holds no "
                             "'music' entry); was it written by PianoRollModel.save?")
        self = cls(**{k: v for k, v in info["params"].items() if k in cls.PARAMS})
        self._build()
        load_state(self, ckpt.tensors.get("model", {}), str(path))
        self.first_frame_ = np.asarray(info["fitted"]["first_frame"], dtype=np.float32)
        self.best_epoch_ = info["fitted"].get("best_epoch")
        self.history_ = ckpt.meta.get("history", [])
        self.eval()
        return self


# -- losses ------------------------------------------------------------------------------------------

def _summed_bce(model: PianoRollModel, rolls: Tensor, lengths: Tensor) -> tuple[Tensor, int]:
    """(BCE summed over keys and predicted frames, number of predicted frames) of a padded batch:
    rolls (B, T, 88), lengths (B,) real frames; frame t + 1 is predicted from frames <= t."""
    steps = int(lengths.max())
    rolls = rolls[:, :steps]                                     # drop the padding the whole batch shares
    # (B, T-1, 88): predictions of frames 1..T-1; contiguous, as the fused LSTM kernels are compiled for it
    logits, _ = model(rolls[:, :-1].contiguous(), lengths - 1)
    bce = F.binary_cross_entropy_with_logits(logits, rolls[:, 1:], reduction="none").sum(-1)   # (B, T-1)
    real = torch.arange(steps - 1, device=rolls.device)[None, :] < (lengths - 1).to(rolls.device)[:, None]
    return (bce * real).sum(), int(real.sum())


def _step(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    """The trainer's loss: summed BCE over the keys, averaged over the batch's real frames."""
    rolls, lengths = batch
    total, frames = _summed_bce(model, rolls, lengths)
    return total / frames


# -- input -------------------------------------------------------------------------------------------

def _read(name: str, pieces: Any, *, min_frames: int = 2) -> list[np.ndarray]:
    """Validate pieces: a non-empty list of (T_i, 88) arrays of finite values in [0, 1], or an (N, T, 88) array."""
    if isinstance(pieces, (np.ndarray, Tensor)):
        arr = np.asarray(pieces)
        if arr.ndim != 3:
            raise TypeError(f"{name} must be a list of (frames, {KEYS}) piano rolls or one (pieces, frames, {KEYS}) "
                            f"array, got an array of shape {arr.shape}" + ("; wrap one piece in a list: [piece]"
                                                                          if arr.ndim == 2 else ""))
        pieces = list(arr)
    if not isinstance(pieces, Sequence) or isinstance(pieces, (str, bytes)):
        raise TypeError(f"{name} must be a list of (frames, {KEYS}) piano rolls, got {type(pieces).__name__}")
    if len(pieces) == 0:
        raise ValueError(f"{name} is an empty list; it needs at least one (frames, {KEYS}) piano roll")
    out = []
    for i, piece in enumerate(pieces):
        where = f"{name}[{i}]"
        try:
            arr = np.asarray(piece, dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{where} cannot be read as a numeric array ({err})") from None
        if arr.ndim != 2 or arr.shape[1] != KEYS:
            raise ValueError(f"{where} must have shape (frames, {KEYS}) (one column per piano key, MIDI 21..108), "
                             f"got shape {arr.shape}")
        if len(arr) < min_frames:
            raise ValueError(f"{where} has {len(arr)} frame(s); it needs at least {min_frames}"
                             + (" (one to read, one to predict)" if min_frames == 2 else ""))
        bad = ~np.isfinite(arr)
        if bad.any():
            t, k = np.argwhere(bad)[0]
            raise ValueError(f"{where} contains NaN or inf, first at frame {t}, key {k}")
        if arr.min() < 0 or arr.max() > 1:
            raise ValueError(f"{where} must hold key values in [0, 1] (1 = sounding), got values in "
                             f"[{arr.min():g}, {arr.max():g}]")
        out.append(arr)
    return out


def _padded(pieces: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(rolls (N, T_max, 88) zero-padded, lengths (N,) int64)."""
    lengths = np.array([len(p) for p in pieces], dtype=np.int64)
    rolls = np.zeros((len(pieces), int(lengths.max()), KEYS), dtype=np.float32)
    for i, p in enumerate(pieces):
        rolls[i, : len(p)] = p
    return rolls, lengths


def nll_of_probabilities(probs: Any, pieces: Any) -> float:
    """The per-frame NLL (nats) of given next-frame probabilities: ``probs[i]`` (T_i - 1, 88) for
    frames 1..T_i-1 of ``pieces[i]``; for baselines (e.g. the training set's key frequencies)."""
    data = _read("pieces", pieces)
    if len(probs) != len(data):
        raise ValueError(f"probs has {len(probs)} entries for {len(data)} pieces")
    total, frames = 0.0, 0
    for i, (p, x) in enumerate(zip(probs, data)):
        p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
        if p.shape != (len(x) - 1, KEYS):
            raise ValueError(f"probs[{i}] must have shape {(len(x) - 1, KEYS)}, got {p.shape}")
        y = x[1:].astype(np.float64)
        total -= float((y * np.log(p) + (1 - y) * np.log1p(-p)).sum())
        frames += len(y)
    return total / frames


def frequency_nll(train: Any, pieces: Any) -> float:
    """The per-frame NLL of ``pieces`` under the baseline that ignores time: every key on with
    its frequency in the ``train`` frames (no model that learns anything should do worse)."""
    keys = np.concatenate(_read("train", train, min_frames=1)).mean(0)           # (88,)
    data = _read("pieces", pieces)
    return nll_of_probabilities([np.broadcast_to(keys, (len(x) - 1, KEYS)) for x in data], data)


__all__ = ["KEYS", "PianoRollModel", "frequency_nll", "nll_of_probabilities"]
