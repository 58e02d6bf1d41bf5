"""Forecasting with LSTMs (``LSTMForecaster``), the classical baselines in the same API, and
rolling-origin backtests that score them side by side."""

from .backtest import Backtest, backtest
from .baselines import ARIMA, ETS, BASELINES, Naive, SeasonalNaive
from .base import Forecaster
from .lstm import LSTMForecaster
from . import metrics

__all__ = ["ARIMA", "BASELINES", "Backtest", "ETS", "Forecaster", "LSTMForecaster", "Naive", "SeasonalNaive",
           "backtest", "metrics"]
