"""Forecast accuracy: MAE, RMSE, MASE, sMAPE and interval coverage (Hyndman & Koehler 2006)."""

from __future__ import annotations

import numpy as np


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast))))


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(actual) - np.asarray(forecast)) ** 2)))


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int = 1) -> float:
    """MAE scaled by the in-sample MAE of the seasonal naive forecast on ``history`` (lag ``season``)."""
    history = np.asarray(history, dtype=float)
    m = season if len(history) > season else 1
    scale = np.mean(np.abs(history[m:] - history[:-m]), axis=0)
    return float(np.mean(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast)), axis=0) / scale))


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent (0…200): mean of 200 |a − f| / (|a| + |f|), 0/0 counted as 0."""
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    den = np.abs(a) + np.abs(f)
    ratio = np.divide(2 * np.abs(a - f), den, out=np.zeros_like(den), where=den > 0)
    return float(100 * np.mean(ratio))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """The fraction of actual values inside [lower, upper]."""
    a = np.asarray(actual)
    return float(np.mean((a >= np.asarray(lower)) & (a <= np.asarray(upper))))
