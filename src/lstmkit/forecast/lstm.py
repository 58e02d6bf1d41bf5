"""``LSTMForecaster``: an LSTM that reads the last ``lookback`` steps and forecasts the next
``horizon`` at once, with a Gaussian or quantile head for intervals.

Inside (undone on the way out): an optional log transform, standard scaling per column fitted on
the training series, and local levels: the window's targets are taken relative to its last target
value and the forecasts are offsets from it, so the network learns shapes, not levels.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .._checks import check_float, check_int
from ..layer import LSTM
from ..train import TrainConfig, Trainer
from ..train.checkpoint import Checkpoint, load, load_state, save
from . import series as _series
from .base import Forecaster, z_of

HEADS = ("gaussian", "quantile")
CALIBRATIONS = ("absolute", "scaled", "none")
TRANSFORMS = ("auto", "log", "log1p", "none")
#: Each transform's function, inverse and domain (the targets must satisfy it).
_TRANSFORMS = {"log": (np.log, np.exp, lambda v: v > 0, "positive"),
               "log1p": (np.log1p, np.expm1, lambda v: v >= 0, "non-negative"),
               "none": (lambda v: v, lambda v: v, lambda v: np.isfinite(v), "finite")}


class _Net(nn.Module):
    """(B, lookback, features) -> (B, horizon, targets, outputs)."""

    def __init__(self, features: int, targets: int, horizon: int, outputs: int, hidden: int, layers: int,
                 dropout: float, cell: str) -> None:
        super().__init__()
        self.shape = (horizon, targets, outputs)
        self.lstm = LSTM(features, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0,
                         cell=cell)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, horizon * targets * outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(self.drop(out[:, -1])).view(len(x), *self.shape)


class LSTMForecaster(Forecaster):
    """Forecast ``horizon`` steps from the last ``lookback`` with an LSTM (scikit-learn style).

    ``fit(y, X=None)``: ``y`` a pandas Series/DataFrame with a DatetimeIndex/PeriodIndex (or numpy
    (n,)/(n, k)); several targets are forecast jointly; ``X`` covariates on the same steps, observed
    up to each forecast origin; a list of series trains one model on all of them. ``predict``,
    ``predict_interval(coverage=)`` forecast after the fitted series or after a newer ``y=``.

    Network: ``hidden_size`` units in ``num_layers`` layers of ``cell`` (any lstmkit cell),
    ``dropout``, a linear head. ``head="gaussian"``: a mean and a spread per step (Gaussian
    negative log-likelihood; intervals for any coverage); ``"quantile"``: the quantiles of the
    ``coverage`` interval and the median (pinball loss). ``n_models`` networks from consecutive
    seeds are averaged (their Gaussians mixed). ``transform`` of the targets: "log" (positive
    series), "log1p" (non-negative), "none", or "auto" (log1p when no target value is negative).

    Training (``lstmkit.train``): ``epochs``, ``batch_size``, ``lr`` (Adam), ``patience`` epochs
    of early stopping on the last ``val_fraction`` of each series' windows (the horizon - 1 windows
    before them are left out, so that no validation target is a training target), ``seed``; ``checkpoint_dir``
    keeps the trainer's checkpoints (``fit(..., resume=True)`` continues a killed fit).
    ``calibrate``: conformal prediction intervals, one width per horizon step, from errors on
    windows the forecasting networks never trained on: "absolute" (or True; the default) sets the
    interval to the ``coverage`` quantile of those absolute errors (in the scaled, transformed units,
    so a log-transformed series gets intervals proportional to its level); "scaled" instead widens
    or narrows the network's own Gaussian spread by the factor that puts ``coverage`` of them
    inside (adapts to each window, but follows the network's in-sample spread, which tends to be
    too narrow); False keeps the network's spread as it is. The quantile head is always calibrated
    by the errors beyond its quantiles (conformalised quantile regression) unless False.
    ``calibration_folds`` (default 5): where the errors come from. K >= 2 cross-fits: each series'
    windows are cut into K consecutive blocks and every block is forecast by networks trained on
    the other blocks (the horizon - 1 windows on each side of it left out, so that no forecast
    target was trained on) for as many epochs as early stopping chose for the final networks;
    so every window gives an out-of-sample error, and none of them took part in choosing anything
    (this costs K more trainings). 0: split conformal on the validation windows alone, the windows
    early stopping chose on, which makes their errors optimistic and, with few windows, the
    quantile coarse (on the bundled series' backtests the 90% intervals covered 71-84% where K = 5
    gives 88-93%; docs/forecasting.md).
    ``calendar``: for a series with a time index of steps up to a day, add the time of day and the
    day of the week of each step to the inputs. ``impute`` ("interpolate", "ffill") fills NaN,
    which are an error otherwise; ``freq`` sets the frequency of an index that has none (missing
    steps become NaN).
    """

    name = "LSTM"

    def __init__(self, horizon: int = 1, lookback: int = 24, *, hidden_size: int = 32, num_layers: int = 1,
                 cell: str = "forget", dropout: float = 0.0, head: str = "gaussian", coverage: float = 0.9,
                 transform: str = "auto", n_models: int = 1, epochs: int = 200, batch_size: int = 32,
                 lr: float = 3e-3, patience: int | None = 30, val_fraction: float = 0.2, seed: int = 0,
                 season: int | None = None, freq: str | None = None, impute: str | None = None,
                 calendar: bool = True, calibrate: bool | str = "absolute", calibration_folds: int = 5,
                 checkpoint_dir: str | None = None, progress: bool = False) -> None:
        super().__init__(horizon, season=season, freq=freq, impute=impute)
        self.lookback, self.hidden_size, self.num_layers, self.cell = lookback, hidden_size, num_layers, cell
        self.dropout, self.head, self.coverage, self.transform = dropout, head, coverage, transform
        self.n_models, self.epochs, self.batch_size, self.lr = n_models, epochs, batch_size, lr
        self.patience, self.val_fraction, self.seed = patience, val_fraction, seed
        self.calendar, self.calibrate, self.checkpoint_dir, self.progress = calendar, calibrate, checkpoint_dir, progress
        self.calibration_folds = calibration_folds

    PARAMS = ("horizon", "lookback", "hidden_size", "num_layers", "cell", "dropout", "head", "coverage", "transform",
              "n_models", "epochs", "batch_size", "lr", "patience", "val_fraction", "seed", "season", "freq", "impute",
              "calendar", "calibrate", "calibration_folds")

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.PARAMS}

    # -- fitting ---------------------------------------------------------------------------------------

    def fit(self, y: Any, X: Any = None, *, resume: bool = False, on_epoch: Any = None) -> "LSTMForecaster":
        """Fit on ``y`` (one series, or a list of series for one model of all), covariates ``X`` (a
        frame, or a list of them); ``resume=True`` continues a killed fit from ``checkpoint_dir``;
        ``on_epoch(row)`` is the trainer's per-epoch hook (``lstmkit.train.Trainer``)."""
        many = isinstance(y, (list, tuple))
        ys = list(y) if many else [y]
        if not ys:
            raise ValueError("fit: got an empty list of series")
        xs = (list(X) if X is not None else [None] * len(ys)) if many else [X]
        if len(xs) != len(ys):
            raise ValueError(f"fit: {len(ys)} series but {len(xs)} covariate frames")
        series = [_series.read(f"fit series {i}" if many else "fit", yi, xi, freq=self.freq, impute=self.impute)
                  for i, (yi, xi) in enumerate(zip(ys, xs))]
        self._fit_all(series, many=many, resume=resume, on_epoch=on_epoch)
        return self

    def _fit_series(self, s: _series.Series) -> None:
        self._fit_all([s], many=False, resume=False)

    def _fit_all(self, series: list[_series.Series], *, many: bool, resume: bool, on_epoch: Any = None) -> None:
        self._check_params()
        shapes = {(s.y.shape[1], s.x.shape[1]) for s in series}
        if len(shapes) != 1:
            raise ValueError(f"fit: the series must all have the same number of targets and covariates, got {sorted(shapes)}")
        self.many_ = many
        self.series_list_ = series
        self.series_ = series[0]
        self.season_ = _series.season_of(series[0], self.season)
        self.n_features_in_ = series[0].y.shape[1] + series[0].x.shape[1]
        self._fit_scaling(series)
        windows = []
        for i, s in enumerate(series):
            need = self.lookback + self.horizon
            if s.n < need:
                raise ValueError(f"fit{'' if not many else f' series {i}'}: the series has {s.n} steps, fewer than "
                                 f"lookback + horizon = {self.lookback} + {self.horizon} = {need}; use a longer series "
                                 "or a smaller lookback or horizon")
            windows.append(self._windows(s))
        if self.calibration_folds and self._interval_mode() != "none":
            self._check_folds([len(a) for a, _ in windows])
        parts: dict[str, list[np.ndarray]] = {"x": [], "t": [], "vx": [], "vt": []}
        for a, b in windows:
            n_val, gap = self._split(len(a))
            parts["x"].append(a[: len(a) - n_val - gap])
            parts["t"].append(b[: len(a) - n_val - gap])
            parts["vx"].append(a[len(a) - n_val:])
            parts["vt"].append(b[len(a) - n_val:])
        x, t, vx, vt = (np.concatenate(parts[key]).astype(np.float32) for key in ("x", "t", "vx", "vt"))
        self.windows_ = len(x) + len(vx)
        self.nets_, self.history_, epochs = [], [], []
        for m in range(self.n_models):
            folder = None if self.checkpoint_dir is None else str(Path(self.checkpoint_dir) / f"model{m}")
            net, result = self._train(m, x, t, (vx, vt) if len(vx) else None, epochs=self.epochs, folder=folder,
                                      resume=resume, on_epoch=on_epoch)
            self.nets_.append(net)
            self.history_.append(result.history)
            epochs.append(self.epochs if result.best_epoch is None or not len(vx) else result.best_epoch + 1)
        self.interval_ = self._interval_mode()
        if self.calibration_folds and self.interval_ != "none":
            cx, ct, groups = self._cross_fit(windows, epochs)
        else:
            cx, ct, groups = [vx], [vt], [self.nets_]
        self.calibration_ = self._calibrate(cx, ct, groups)

    def _train(self, m: int, x: np.ndarray, t: np.ndarray, val: Any, *, epochs: int, folder: str | None = None,
               resume: bool = False, on_epoch: Any = None, seed: int | None = None) -> tuple["_Net", Any]:
        """One network (model ``m`` of the ensemble) trained on windows ``x`` -> targets ``t``."""
        seed = self.seed + m if seed is None else seed
        torch.manual_seed(seed)
        net = _Net(x.shape[2], t.shape[2], self.horizon, self._outputs(), self.hidden_size, self.num_layers,
                   self.dropout, self.cell)
        config = TrainConfig(epochs=epochs, batch_size=self.batch_size, lr=self.lr, clip=1.0,
                             patience=self.patience if val is not None else None, seed=seed,
                             checkpoint_dir=folder, progress=self.progress, log_every=10 ** 9)
        result = Trainer(net, config, loss=self._loss, on_epoch=on_epoch).fit((x, t), val, resume=resume)
        net.eval()
        return net, result

    def _cross_fit(self, windows: list[tuple[np.ndarray, np.ndarray]], epochs: list[int]):
        """Out-of-sample forecasts for every window, for the calibration: each series' windows are cut
        into ``calibration_folds`` consecutive blocks, and block j is forecast by networks trained on
        the other blocks (less the purged windows of ``fold_blocks``) for the number of epochs early
        stopping chose for the final networks, so no block takes part in any choice. Returns, per
        block, its windows, targets and networks."""
        cx, ct, groups = [], [], []
        cuts = [fold_blocks(len(a), self.calibration_folds, self.horizon) for a, _ in windows]
        for j in range(self.calibration_folds):
            x = np.concatenate([a[c[j][2]] for (a, _), c in zip(windows, cuts)]).astype(np.float32)
            t = np.concatenate([b[c[j][2]] for (_, b), c in zip(windows, cuts)]).astype(np.float32)
            groups.append([self._train(m, x, t, None, epochs=epochs[m], seed=self.seed + m + 1000 * (j + 1))[0]
                           for m in range(self.n_models)])
            cx.append(np.concatenate([a[c[j][0]:c[j][1]] for (a, _), c in zip(windows, cuts)]).astype(np.float32))
            ct.append(np.concatenate([b[c[j][0]:c[j][1]] for (_, b), c in zip(windows, cuts)]).astype(np.float32))
        return cx, ct, groups

    def _check_folds(self, counts: list[int]) -> None:
        """Every block must hold a window and every fold keep at least two to train on."""
        folds = self.calibration_folds
        blocks = [fold_blocks(n, folds, self.horizon) for n in counts]
        smallest = min(hi - lo for b in blocks for lo, hi, _ in b)
        train = min(sum(int(b[j][2].sum()) for b in blocks) for j in range(folds))
        if smallest < 1 or train < 2:
            raise ValueError(f"calibration_folds = {folds} is too many for {sum(counts)} windows of lookback "
                             f"{self.lookback} and horizon {self.horizon} (a block would hold {smallest} window(s), a "
                             f"fold train on {train}); use fewer folds, calibration_folds=0 (the validation windows) "
                             "or a longer series")

    def _split(self, windows: int) -> tuple[int, int]:
        """(validation windows, purged windows) of a series' ``windows``: the last ``val_fraction``
        are held out, and the horizon - 1 windows before them are dropped, so that no validation
        target was also a training target."""
        n_val = int(round(windows * self.val_fraction))
        gap = self.horizon - 1
        if n_val == 0 or windows - n_val - gap < max(2, n_val):
            return 0, 0                       # too few windows to hold any out
        return n_val, gap

    def _check_params(self) -> None:
        check_int("horizon", self.horizon, minimum=1)
        check_int("lookback", self.lookback, minimum=1)
        check_int("hidden_size", self.hidden_size, minimum=1)
        check_int("num_layers", self.num_layers, minimum=1)
        check_float("dropout", self.dropout, low=0.0, high=1.0)
        check_float("coverage", self.coverage, low=0.0, high=1.0)
        check_int("n_models", self.n_models, minimum=1)
        check_int("calibration_folds", self.calibration_folds, minimum=0)
        if self.calibration_folds == 1:
            raise ValueError("calibration_folds must be 0 (calibrate on the held-out validation windows) or at least "
                             "2 (cross-fitted blocks), got 1")
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(map(repr, HEADS))}, got {self.head!r}")
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {', '.join(map(repr, TRANSFORMS))}, got {self.transform!r}")
        if self.season is not None:
            check_int("season", self.season, minimum=1)
        self._interval_mode()

    def _outputs(self) -> int:
        return 2 if self.head == "gaussian" else 3

    def _quantiles(self) -> torch.Tensor:
        a = (1 - self.coverage) / 2
        return torch.tensor([a, 0.5, 1 - a])

    def _loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.head == "gaussian":
            mean, sigma = out[..., 0], nn.functional.softplus(out[..., 1]) + 1e-3
            return (torch.log(sigma) + 0.5 * ((target - mean) / sigma) ** 2).mean()
        q = self._quantiles().to(out)
        diff = target.unsqueeze(-1) - out                      # (B, H, k, 3)
        return torch.maximum(q * diff, (q - 1) * diff).mean()

    # -- scaling and windows ---------------------------------------------------------------------------

    def _fit_scaling(self, series: list[_series.Series]) -> None:
        ys = np.concatenate([s.y for s in series])
        if self.transform == "auto":
            self.transform_ = "log1p" if bool(np.all(ys >= 0)) else "none"
        else:
            self.transform_ = self.transform
        ty = self._forward(ys, "fit")
        self.y_mean_, self.y_std_ = ty.mean(0), _std(ty)
        self.calendar_ = _series.calendar(series[0].index).shape[1] if self.calendar else 0
        xs = np.concatenate([s.x for s in series])
        self.x_mean_, self.x_std_ = (xs.mean(0), _std(xs)) if xs.shape[1] else (np.zeros(0), np.zeros(0))

    def _scaled(self, s: _series.Series) -> tuple[np.ndarray, np.ndarray]:
        """The scaled targets (n, k) and the network's other inputs (n, c + calendar features)."""
        ty = self._forward(s.y, "the series")
        c = (s.x - self.x_mean_) / self.x_std_ if s.x.shape[1] else s.x
        if self.calendar_:
            days = _series.calendar(s.index)
            if days.shape[1] != self.calendar_:
                raise ValueError(f"this forecaster was fitted with {self.calendar_} calendar features (time of day, day "
                                 f"of week) from its series' time index, but this series gives {days.shape[1]}; pass y "
                                 "with the same kind of DatetimeIndex, or fit with calendar=False")
            c = np.concatenate([c, days], axis=1)
        return (ty - self.y_mean_) / self.y_std_, c

    def _windows(self, s: _series.Series) -> tuple[np.ndarray, np.ndarray]:
        z, c = self._scaled(s)
        L, H = self.lookback, self.horizon
        n = s.n - L - H + 1
        idx = np.arange(L)[None, :] + np.arange(n)[:, None]             # (n, L)
        last = z[idx[:, -1]][:, None, :]                                # (n, 1, k)
        inputs = np.concatenate([z[idx] - last, c[idx]], axis=2)        # (n, L, k + c)
        targets = z[idx[:, -1:] + 1 + np.arange(H)[None, :]] - last     # (n, H, k)
        return inputs, targets

    # -- forecasting -----------------------------------------------------------------------------------

    def _forecast(self, s: _series.Series, h: int, coverage: float):
        if h != self.horizon:
            raise ValueError(f"this forecaster was fitted for horizon = {self.horizon}, got horizon = {h}; "
                             "fit another with that horizon")
        if s.n < self.lookback:
            raise ValueError(f"predict: y has {s.n} steps, fewer than lookback = {self.lookback}")
        if self.head == "quantile" and abs(coverage - self.coverage) > 1e-9:
            raise ValueError(f"a quantile head gives the {self.coverage:.0%} interval it was trained for, not "
                             f"{coverage:.0%}; fit with coverage={coverage} or use head='gaussian'")
        z, c = self._scaled(s)
        last = z[-1]
        window = np.concatenate([z[-self.lookback:] - last, c[-self.lookback:]], axis=1)[None]
        point, lower, upper = (v[0] for v in self._scaled_forecast(window, coverage, self.calibration_))
        return tuple(self._unscale(v + last) for v in (point, lower, upper))

    def _forecast_from(self, full: _series.Series, origins: list[int], h: int, coverage: float):
        if h != self.horizon:
            raise ValueError(f"this forecaster was fitted for horizon = {self.horizon}, got horizon = {h}")
        z, c = self._scaled(full)
        o = np.asarray(origins)
        if o.min() < self.lookback:
            raise ValueError(f"an origin at step {o.min()} has fewer than lookback = {self.lookback} steps before it")
        idx = o[:, None] - self.lookback + np.arange(self.lookback)[None, :]      # (O, L)
        last = z[o - 1][:, None, :]                                                # (O, 1, k)
        windows = np.concatenate([z[idx] - last, c[idx]], axis=2)
        outs = [self._scaled_forecast(windows[i: i + 4096], coverage, self.calibration_)
                for i in range(0, len(windows), 4096)]
        return tuple(self._unscale(np.concatenate([p[j] for p in outs]) + last) for j in range(3))

    def _scaled_forecast(self, windows: np.ndarray, coverage: float, calibration: Any, nets: Any = None):
        """Point, lower and upper (N, H, k) relative to each window's last value, in scaled units;
        ``calibration`` (one value per horizon step) widens the spread (gaussian: a factor) or the
        interval (quantile: an offset)."""
        x = torch.from_numpy(windows.astype(np.float32))
        with torch.no_grad():
            outs = np.stack([net(x).double().numpy() for net in (self.nets_ if nets is None else nets)])     # (M, N, H, k, P)
        if self.head == "gaussian":
            means, sigmas = outs[..., 0], np.logaddexp(0, outs[..., 1]) + 1e-3
            mean = means.mean(0)
            if self.interval_ == "absolute":          # calibrated on the errors themselves: one spread per step
                sd = np.ones_like(mean)
            else:
                sd = np.sqrt(np.maximum((sigmas ** 2 + means ** 2).mean(0) - mean ** 2, 0))   # the mixture's spread
            spread = z_of(coverage) * sd * np.asarray(calibration)[:, None]
            return mean, mean - spread, mean + spread
        q = np.sort(outs.mean(0), axis=-1)                                         # kept ordered
        widen = np.asarray(calibration)[:, None]
        return q[..., 1], q[..., 0] - widen, q[..., 2] + widen

    def _calibrate(self, windows: list[np.ndarray], targets: list[np.ndarray], nets: list[list["_Net"]]) -> list[float]:
        """Conformal calibration, one value per horizon step: the Gaussian spread's factor, or the
        quantile interval's widening, that puts ``coverage`` of the held-out targets inside (1 / 0
        when there are no held-out windows or ``calibrate=False``). ``windows[j]``/``targets[j]``
        are forecast by the networks ``nets[j]`` that never trained on them."""
        neutral = 1.0 if self.head == "gaussian" else 0.0
        if self.interval_ == "none" or sum(len(w) for w in windows) == 0:
            if self.interval_ == "absolute":
                self.interval_ = "scaled"             # nothing to calibrate on: the network's own spread
            return [neutral] * self.horizon
        scores = []
        for w, t, group in zip(windows, targets, nets):
            if not len(w):
                continue
            point, lower, upper = self._scaled_forecast(w, self.coverage, np.full(self.horizon, neutral), group)
            if self.head == "gaussian":
                score = np.abs(t - point) / np.maximum((upper - lower) / 2, 1e-12)
            else:
                score = np.maximum(lower - t, t - upper)
            scores.append(score.transpose(1, 0, 2).reshape(self.horizon, -1))        # (H, windows x targets)
        score = np.concatenate(scores, axis=1)
        n = score.shape[1]
        level = min(1.0, math.ceil((n + 1) * self.coverage) / n)
        return [float(v) for v in np.quantile(score, level, axis=1, method="higher")]

    def _interval_mode(self) -> str:
        """"absolute", "scaled" or "none": how the calibration reads ``calibrate``."""
        if self.calibrate is False:
            return "none"
        if self.calibrate is True:
            return "absolute"
        if self.calibrate not in CALIBRATIONS:
            raise ValueError(f"calibrate must be True, False or one of {', '.join(map(repr, CALIBRATIONS))}, got "
                             f"{self.calibrate!r}")
        return self.calibrate

    def _unscale(self, z: np.ndarray) -> np.ndarray:
        v = z * self.y_std_ + self.y_mean_
        return _TRANSFORMS[self.transform_][1](v)

    def _forward(self, y: np.ndarray, where: str) -> np.ndarray:
        function, _, domain, words = _TRANSFORMS[self.transform_]
        if not np.all(domain(y)):
            raise ValueError(f"{where}: transform {self.transform_!r} needs {words} targets, got a minimum of "
                             f"{np.nanmin(y):.6g}; use transform='none'")
        return function(y)

    # -- saving ----------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the fitted forecaster (weights, parameters, scaling, the series' last lookback steps)
        to one safetensors file, atomically; ``LSTMForecaster.load(path)`` reads it back."""
        if not hasattr(self, "nets_"):
            raise RuntimeError("this LSTMForecaster is not fitted yet: call fit(y) first")
        s = self.series_
        tail = s.head(s.n)
        keep = slice(max(0, s.n - self.lookback), s.n)
        tensors = {f"model{m}": dict(net.state_dict()) for m, net in enumerate(self.nets_)}
        tensors["series"] = {"y": torch.from_numpy(tail.y[keep].copy()), "x": torch.from_numpy(tail.x[keep].copy())}
        meta = {"forecaster": {"class": "LSTMForecaster", "params": self.get_params()},
                "fitted": {"transform": self.transform_, "y_mean": self.y_mean_.tolist(), "y_std": self.y_std_.tolist(),
                           "x_mean": self.x_mean_.tolist(), "x_std": self.x_std_.tolist(), "season": self.season_,
                           "features": int(self.nets_[0].lstm.input_size), "windows": self.windows_,
                           "calibration": self.calibration_, "interval": self.interval_,
                           "calendar": self.calendar_},
                "series": _index_meta(s, keep), "history": self.history_}
        save(path, Checkpoint(tensors, meta))

    @classmethod
    def load(cls, path: str | Path) -> "LSTMForecaster":
        ckpt = load(path)
        info = ckpt.meta.get("forecaster")
        if not isinstance(info, dict) or info.get("class") != "LSTMForecaster":
            raise ValueError(f"{str(path)!r} is an lstmkit checkpoint but not a saved LSTMForecaster "
                             "(it holds no 'forecaster' entry); was it written by LSTMForecaster.save?")
        params = {k: v for k, v in info["params"].items() if k in cls.PARAMS}
        self = cls(**params)
        fitted = ckpt.meta["fitted"]
        self.transform_ = fitted["transform"]
        self.y_mean_, self.y_std_ = np.array(fitted["y_mean"]), np.array(fitted["y_std"])
        self.x_mean_, self.x_std_ = np.array(fitted["x_mean"]), np.array(fitted["x_std"])
        self.season_, self.windows_ = fitted["season"], fitted["windows"]
        self.calibration_ = fitted["calibration"]
        self.calendar_ = fitted.get("calendar", 0)
        self.interval_ = fitted.get("interval", "scaled")
        self.history_ = ckpt.meta.get("history", [])
        self.series_ = _series_from_meta(ckpt.meta["series"], ckpt.tensors["series"])
        self.series_list_, self.many_ = [self.series_], False
        k = self.series_.y.shape[1]
        self.n_features_in_ = k + self.series_.x.shape[1]
        self.nets_ = []
        for m in range(self.n_models):
            net = _Net(fitted["features"], k, self.horizon, self._outputs(), self.hidden_size, self.num_layers,
                       self.dropout, self.cell)
            load_state(net, ckpt.tensors.get(f"model{m}", {}), str(path))
            net.eval()
            self.nets_.append(net)
        return self


def fold_blocks(windows: int, folds: int, horizon: int) -> list[tuple[int, int, np.ndarray]]:
    """The cross-fitting blocks of a series' ``windows`` (consecutive, as equal as can be): per
    fold, (first, end, train), ``train`` a boolean mask of the windows its networks train on: all
    outside the block except the ``horizon`` - 1 windows on each side of it, whose targets overlap
    the block's targets."""
    edges = np.linspace(0, windows, folds + 1).round().astype(int)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        train = np.ones(windows, bool)
        train[max(0, lo - horizon + 1): min(windows, hi + horizon - 1)] = False
        out.append((int(lo), int(hi), train))
    return out


def _std(a: np.ndarray) -> np.ndarray:
    sd = a.std(0)
    return np.where(sd > 0, sd, 1.0)


def _index_meta(s: _series.Series, keep: slice) -> dict[str, Any]:
    meta: dict[str, Any] = {"names": s.names, "x_names": s.x_names, "univariate": s.univariate, "kind": "none"}
    if s.index is not None:
        idx = s.index[keep]
        if isinstance(idx, pd.PeriodIndex):
            meta.update(kind="period", freq=idx.freqstr, values=[str(p) for p in idx])
        elif isinstance(idx, pd.DatetimeIndex):
            meta.update(kind="datetime", freq=idx.freqstr, values=[t.isoformat() for t in idx])
        else:
            meta.update(kind="range", values=[int(v) for v in idx])
        meta["index_name"] = s.index.name
    return meta


def _series_from_meta(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> _series.Series:
    kind = meta["kind"]
    if kind == "period":
        index: pd.Index | None = pd.PeriodIndex(meta["values"], freq=meta["freq"], name=meta.get("index_name"))
    elif kind == "datetime":
        index = pd.DatetimeIndex(pd.to_datetime(meta["values"]), freq=meta["freq"], name=meta.get("index_name"))
    elif kind == "range":
        index = pd.Index(meta["values"], name=meta.get("index_name"))
    else:
        index = None
    return _series.Series(tensors["y"].numpy().astype(np.float64), tensors["x"].numpy().astype(np.float64), index,
                          meta["names"], meta["x_names"], meta["univariate"])


__all__ = ["LSTMForecaster"]
