"""A forecast plot: the history, the backtest forecasts, the forecast and its interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def plot_forecast(y: Any, forecast: Any, interval: Any, path: str | Path, *, title: str = "",
                  backtest: pd.DataFrame | None = None, last: int | None = None) -> None:
    """Save a PNG/SVG: ``y`` (its last ``last`` steps, default 5 horizons or all), the ``forecast``
    with its ``interval`` (pandas, as ``predict``/``predict_interval`` return them), and the
    backtest's forecasts (``Backtest.forecasts['LSTM']``) dotted."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from None
    series = y if isinstance(y, pd.Series) else pd.DataFrame(y).iloc[:, 0]
    point = forecast if isinstance(forecast, pd.Series) else pd.DataFrame(forecast).iloc[:, 0]
    lower, upper = (interval["lower"], interval["upper"]) if "lower" in interval else (interval.iloc[:, 1], interval.iloc[:, 2])
    keep = last or min(len(series), max(5 * len(point), 120))

    def x(index: pd.Index) -> Any:
        return index.to_timestamp() if isinstance(index, pd.PeriodIndex) else index

    fig, ax = plt.subplots(figsize=(9, 4))
    shown = series.iloc[-keep:]
    ax.plot(x(shown.index), shown.to_numpy(), color="black", lw=1, label="history")
    if backtest is not None and len(backtest) and backtest["origin"].nunique() <= 50:
        for i, (origin, g) in enumerate(backtest.groupby("origin")):
            idx = x(series.index[origin: origin + len(g)])
            if origin >= len(series) - keep:
                ax.plot(idx, g["forecast"].to_numpy()[: len(idx)], color="tab:orange", lw=1, ls=":",
                        label="backtest forecasts" if i == 0 else None)
    elif backtest is not None and len(backtest):        # rolling one-step forecasts: the shown stretch
        first = backtest[backtest["step"] == 1]
        first = first[first["origin"] >= len(series) - keep]
        at = x(series.index[first["origin"].to_numpy()])
        ax.fill_between(at, first["lower"].to_numpy(), first["upper"].to_numpy(), color="tab:orange", alpha=0.2)
        ax.plot(at, first["forecast"].to_numpy(), color="tab:orange", lw=1, ls=":", label="backtest, one step ahead")
    ax.fill_between(x(point.index), np.asarray(lower), np.asarray(upper), color="tab:blue", alpha=0.25,
                    label="interval")
    ax.plot(x(point.index), point.to_numpy(), color="tab:blue", lw=1.5, marker="o" if len(point) == 1 else None,
            ms=4, label="forecast")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
