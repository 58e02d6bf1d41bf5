"""The classical baselines in the same API: naive, seasonal naive, ETS and ARIMA (statsmodels).

Intervals: the naive methods' from their residual spread (Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice*, 5.5: σ√h and σ√(⌊(h − 1)/m⌋ + 1)); ETS's and ARIMA's from statsmodels.
ETS and ARIMA pick their form by AIC among a small grid, on the original values and (for positive
series) on their logarithm, the two made comparable by the log transform's Jacobian.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
# Imported here, not inside the fits: statsmodels' first import re-enables its ConvergenceWarning
# ("always"), which would undo the silencing of the candidate fits below.
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX

from .base import Forecaster, z_of
from .series import Series


class Naive(Forecaster):
    """Every future value is the last one."""

    name = "naive"

    def _fit(self, s: Series) -> None:
        d = np.diff(s.y, axis=0)
        self.sigma_ = np.sqrt(np.mean(d ** 2, axis=0)) if len(d) else np.zeros(s.y.shape[1])

    def _forecast(self, s: Series, h: int, coverage: float):
        point, lower, upper = self._forecast_from(s, [s.n], h, coverage)
        return point[0], lower[0], upper[0]

    def _forecast_from(self, full: Series, origins: list[int], h: int, coverage: float):
        point = np.repeat(full.y[np.asarray(origins) - 1][:, None], h, axis=1)             # (O, h, k)
        spread = z_of(coverage) * self.sigma_ * np.sqrt(np.arange(1, h + 1))[:, None]
        return point, point - spread, point + spread


class SeasonalNaive(Forecaster):
    """Every future value is the value one season earlier."""

    name = "seasonal naive"

    def _fit(self, s: Series) -> None:
        m = self.season_
        if s.n <= m:
            raise ValueError(f"seasonal naive needs more than one season ({m} steps) of history, got {s.n}")
        d = s.y[m:] - s.y[:-m]
        self.sigma_ = np.sqrt(np.mean(d ** 2, axis=0))

    def _forecast(self, s: Series, h: int, coverage: float):
        point, lower, upper = self._forecast_from(s, [s.n], h, coverage)
        return point[0], lower[0], upper[0]

    def _forecast_from(self, full: Series, origins: list[int], h: int, coverage: float):
        m = self.season_
        steps = np.arange(h)
        point = full.y[np.asarray(origins)[:, None] - m + steps % m]                       # (O, h, k)
        spread = z_of(coverage) * self.sigma_ * np.sqrt(steps // m + 1)[:, None]
        return point, point - spread, point + spread


class _Statsmodels(Forecaster):
    """Fits one model per target column; ``_candidates`` lists the specifications tried. The
    candidates' convergence warnings are silenced: the AIC judges them."""

    def _fit_one(self, data, spec):
        return self._model(data, spec).fit(disp=False)

    def _fit(self, s: Series) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._fit_quietly(s)

    def _fit_quietly(self, s: Series) -> None:
        self.fits_ = []
        for j in range(s.y.shape[1]):
            col = s.y[:, j]
            best = None
            for log in ([False, True] if np.all(col > 0) else [False]):
                data = np.log(col) if log else col
                jacobian = 2 * np.sum(np.log(col)) if log else 0.0
                for spec in self._candidates(len(col)):
                    try:
                        res = self._fit_one(data, spec)
                    except (ValueError, np.linalg.LinAlgError):
                        continue
                    aic = res.aic + jacobian
                    if math.isfinite(aic) and (best is None or aic < best[0]):
                        best = (aic, log, spec, res)
            if best is None:
                raise ValueError(f"{self.name}: no model specification could be fitted to {s.names[j]}")
            self.fits_.append(best[1:])

    def _forecast(self, s: Series, h: int, coverage: float):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._forecast_quietly(s, h, coverage)

    def _forecast_quietly(self, s: Series, h: int, coverage: float):
        points, lowers, uppers = [], [], []
        for j, (log, spec, res) in enumerate(self.fits_):
            if s is not self.series_:
                data = np.log(s.y[:, j]) if log else s.y[:, j]
                res = self._refilter(res, data, spec)
            mean, lo, hi = self._predict(res, h, coverage)
            f = np.exp if log else (lambda v: v)
            points.append(f(mean))
            lowers.append(f(lo))
            uppers.append(f(hi))
        return np.stack(points, 1), np.stack(lowers, 1), np.stack(uppers, 1)

    @property
    def spec_(self) -> list[str]:
        return [("log " if log else "") + str(spec) for log, spec, _ in self.fits_]


class ETS(_Statsmodels):
    """Exponential smoothing state-space models (statsmodels ``ETSModel``): additive or multiplicative
    error, no or damped additive trend, no, additive or multiplicative season."""

    name = "ETS"

    def _candidates(self, n: int):
        seasons = [None]
        if 1 < self.season_ <= 60 and n >= 2 * self.season_ + 2:
            seasons += ["add", "mul"]
        for error in ("add", "mul"):
            for trend in (None, "add"):
                for seasonal in seasons:
                    yield (error, trend, seasonal)

    def _model(self, data, spec):
        error, trend, seasonal = spec
        if (error == "mul" or seasonal == "mul") and np.any(data <= 0):
            raise ValueError("multiplicative components need positive data")
        return ETSModel(pd.Series(data), error=error, trend=trend, damped_trend=trend is not None, seasonal=seasonal,
                        seasonal_periods=self.season_ if seasonal else None)

    def _refilter(self, res, data, spec):
        return self._model(data, spec).smooth(res.params)

    def _predict(self, res, h, coverage):
        frame = res.get_prediction(start=res.nobs, end=res.nobs + h - 1).summary_frame(alpha=1 - coverage)
        return (np.asarray(frame["mean"], dtype=float), np.asarray(frame["pi_lower"], dtype=float),
                np.asarray(frame["pi_upper"], dtype=float))


class ARIMA(_Statsmodels):
    """Seasonal ARIMA (statsmodels ``SARIMAX``): (p, 1, q) with (p, q) in a small grid, and for a
    season m <= 24 with at least three seasons of data a seasonal (0, 1, 1)m or (1, 1, 0)m part."""

    name = "ARIMA"
    ORDERS = ((0, 1, 1), (1, 1, 0), (1, 1, 1), (2, 1, 2))

    def _candidates(self, n: int):
        m = self.season_
        seasonal = [(0, 1, 1, m), (1, 1, 0, m)] if 1 < m <= 24 and n >= 3 * m + 4 else [(0, 0, 0, 0)]
        for order in self.ORDERS:
            for s in seasonal:
                yield (order, s)

    def _model(self, data, spec):
        order, seasonal = spec
        trend = "c" if seasonal == (0, 0, 0, 0) else "n"      # a drift for the non-seasonal models
        return SARIMAX(data, order=order, seasonal_order=seasonal, trend=trend)

    def _refilter(self, res, data, spec):
        return res.apply(data)

    def _predict(self, res, h, coverage):
        fc = res.get_forecast(h)
        ci = np.asarray(fc.conf_int(alpha=1 - coverage))
        return np.asarray(fc.predicted_mean), ci[:, 0], ci[:, 1]


BASELINES = {"naive": Naive, "seasonal-naive": SeasonalNaive, "ets": ETS, "arima": ARIMA}
