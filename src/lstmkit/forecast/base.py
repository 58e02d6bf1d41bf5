"""What every forecaster here shares: scikit-learn style ``fit`` / ``predict`` / ``predict_interval``,
pandas or numpy in and the same kind out, and forecasting from a new history without refitting."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from .._checks import check_float, check_int
from . import series as _series


class Forecaster:
    """Subclasses implement ``_fit(series)`` and ``_forecast(series, horizon, coverage)`` returning
    (point, lower, upper) arrays of shape (horizon, k), forecasting from the end of ``series``."""

    name = "forecaster"
    PARAMS: tuple[str, ...] = ("horizon", "season", "freq", "impute")

    def __init__(self, horizon: int = 1, *, season: int | None = None, freq: str | None = None,
                 impute: str | None = None) -> None:
        self.horizon, self.season, self.freq, self.impute = horizon, season, freq, impute

    # -- the public calls ------------------------------------------------------------------------------

    def fit(self, y: Any, X: Any = None) -> "Forecaster":
        """Fit on the series ``y`` (pandas Series/DataFrame with a time index, or numpy (n,)/(n, k)),
        with covariates ``X`` observed on the same steps (used up to each forecast origin)."""
        self._fit_series(_series.read("fit", y, X, freq=self.freq, impute=self.impute))
        return self

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.PARAMS}

    def _fit_series(self, s: _series.Series) -> None:
        check_int("horizon", self.horizon, minimum=1)
        if self.season is not None:
            check_int("season", self.season, minimum=1)
        self.season_ = _series.season_of(s, self.season)
        self.series_ = s
        self.n_features_in_ = s.y.shape[1] + s.x.shape[1]
        self._fit(s)

    def predict(self, horizon: int | None = None, *, y: Any = None, X: Any = None) -> Any:
        """Forecast ``horizon`` steps (default: the fitted ``horizon``) after the end of the fitted
        series (a list of forecasts when fitted on a list), or after the end of ``y`` (a newer
        history of the same series; no refit)."""
        out = [self._wrap(s, self._forecast(s, h, 0.9)[0]) for s, h in self._contexts(horizon, y, X)]
        return out if self._many(y) else out[0]

    def predict_interval(self, horizon: int | None = None, *, coverage: float = 0.9, y: Any = None,
                         X: Any = None) -> Any:
        """The central ``coverage`` prediction interval: a DataFrame with columns ``lower`` and
        ``upper`` (per target for several) on pandas input, a tuple (lower, upper) of arrays on numpy."""
        check_float("coverage", coverage, low=0.0, high=1.0)
        if not 0 < coverage < 1:
            raise ValueError(f"coverage must be strictly between 0 and 1, got {coverage}")
        out = []
        for s, h in self._contexts(horizon, y, X):
            _, lower, upper = self._forecast(s, h, coverage)
            out.append(self._wrap_interval(s, lower, upper))
        return out if self._many(y) else out[0]

    def _many(self, y: Any) -> bool:
        return y is None and getattr(self, "many_", False)

    @staticmethod
    def _wrap_interval(s: _series.Series, lower: np.ndarray, upper: np.ndarray) -> Any:
        h = len(lower)
        if s.index is None:
            return (lower[:, 0], upper[:, 0]) if s.univariate else (lower, upper)
        index = s.future_index(h)
        if s.univariate:
            return pd.DataFrame({"lower": lower[:, 0], "upper": upper[:, 0]}, index=index)
        cols = pd.MultiIndex.from_product([s.names, ["lower", "upper"]])
        return pd.DataFrame(np.stack([lower, upper], axis=2).reshape(h, -1), index=index, columns=cols)

    # -- helpers ---------------------------------------------------------------------------------------

    def _contexts(self, horizon: int | None, y: Any, X: Any) -> list[tuple[_series.Series, int]]:
        if not hasattr(self, "series_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit(y) first")
        h = self.horizon if horizon is None else check_int("horizon", horizon, minimum=1)
        if y is None:
            return [(s, h) for s in getattr(self, "series_list_", [self.series_])]
        s = _series.read("predict", y, X, freq=self.freq, impute=self.impute)
        if s.y.shape[1] != self.series_.y.shape[1] or s.x.shape[1] != self.series_.x.shape[1]:
            raise ValueError(f"predict: y/X have {s.y.shape[1]}/{s.x.shape[1]} columns, the fitted series had "
                             f"{self.series_.y.shape[1]}/{self.series_.x.shape[1]}")
        return [(s, h)]

    @staticmethod
    def _wrap(s: _series.Series, values: np.ndarray) -> Any:
        if s.index is None:
            return values[:, 0] if s.univariate else values
        index = s.future_index(len(values))
        if s.univariate:
            return pd.Series(values[:, 0], index=index, name=s.names[0])
        return pd.DataFrame(values, index=index, columns=s.names)

    def _forecast_from(self, full: _series.Series, origins: list[int], h: int, coverage: float):
        """Forecasts from each origin of ``full`` (its first ``origin`` steps as the history), without
        refitting: (point, lower, upper), each (len(origins), h, k)."""
        outs = [self._forecast(full.head(o), h, coverage) for o in origins]
        return tuple(np.stack([o[i] for o in outs]) for i in range(3))

    def _fit(self, s: _series.Series) -> None:     # pragma: no cover - abstract
        raise NotImplementedError

    def _forecast(self, s: _series.Series, h: int, coverage: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError                  # pragma: no cover - abstract


def z_of(coverage: float) -> float:
    return float(norm.ppf(0.5 + coverage / 2))
