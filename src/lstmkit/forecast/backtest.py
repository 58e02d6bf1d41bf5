"""Rolling-origin evaluation: forecast from several origins, score against what happened next, and
put the LSTM and the classical baselines in one table."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .._checks import check_float, check_int
from . import metrics
from . import series as _series
from .base import Forecaster
from .baselines import BASELINES

METRICS = ("MAE", "RMSE", "MASE", "sMAPE", "coverage")


@dataclass
class Backtest:
    """``table``: one row per model (MAE, RMSE, MASE, sMAPE, interval coverage, seconds), errors
    pooled over every origin and step; ``forecasts``: per model, a DataFrame of origin, step,
    actual, forecast, lower, upper (first target)."""

    table: pd.DataFrame
    forecasts: dict[str, pd.DataFrame] = field(default_factory=dict)
    origins: list[int] = field(default_factory=list)
    horizon: int = 1
    coverage: float = 0.9

    def __str__(self) -> str:
        return format_table(self.table)


def origins_of(n: int, horizon: int, *, folds: int | None, step: int | None, initial: int | None) -> list[int]:
    """The forecast origins (the number of steps of history each forecast sees)."""
    step = horizon if step is None else check_int("step", step, minimum=1)
    if initial is not None:
        check_int("initial", initial, minimum=1)
        out = list(range(initial, n - horizon + 1, step))
    else:
        folds = check_int("folds", 3 if folds is None else folds, minimum=1)
        out = [n - horizon - step * (folds - 1 - i) for i in range(folds)]
    if not out or out[0] < 2:
        raise ValueError(f"a series of {n} steps leaves no room for these origins (horizon {horizon}, "
                         f"step {step}, {'initial ' + str(initial) if initial else str(folds) + ' folds'})")
    return out


def backtest(model: Forecaster, y: Any, X: Any = None, *, horizon: int | None = None, folds: int | None = 3,
             step: int | None = None, initial: int | None = None, refit: bool = True, coverage: float = 0.9,
             baselines: tuple[str, ...] | list[str] = ("naive", "seasonal-naive", "ets", "arima"),
             progress: Callable[[str], None] | None = None) -> Backtest:
    """Evaluate ``model`` (and ``baselines``) from rolling origins over ``y``.

    Origins: the last ``folds`` ones ``step`` apart (default step: the horizon), or every ``step``
    from ``initial``. ``refit=True`` fits a fresh copy of each model on the history before each
    origin; ``refit=False`` fits once on the history before the first and then forecasts from each
    newer history without refitting (the way a deployed model is used)."""
    check_float("coverage", coverage, low=0.0, high=1.0)
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; the baselines are {', '.join(BASELINES)}")
    h = model.horizon if horizon is None else check_int("horizon", horizon, minimum=1)
    if h != model.horizon:
        model = clone(model, horizon=h)
    full = _series.read("backtest", y, X, freq=model.freq, impute=model.impute)
    origins = origins_of(full.n, h, folds=folds, step=step, initial=initial)
    season = _series.season_of(full, model.season)
    models = [model] + [BASELINES[b](horizon=h, season=season, freq=model.freq, impute=model.impute) for b in baselines]
    rows, forecasts = [], {}
    for m in models:
        started = time.perf_counter()
        try:
            frame = _run(m, full, origins, h, refit, coverage)
        except ValueError as err:            # a baseline that cannot fit this series is reported, not fatal
            if m is model:
                raise
            rows.append({"model": m.name, "note": str(err)})
            continue
        seconds = time.perf_counter() - started
        forecasts[m.name] = frame
        rows.append(_score(m.name, frame, full, origins, season, seconds))
        if progress is not None:
            progress(f"{m.name}: RMSE {rows[-1]['RMSE']:.4g} ({seconds:.1f} s)")
    table = pd.DataFrame(rows).set_index("model")
    return Backtest(table, forecasts, origins, h, coverage)


def clone(model: Forecaster, **changes: Any) -> Forecaster:
    return type(model)(**{**model.get_params(), **changes})


def _run(m: Forecaster, full: _series.Series, origins: list[int], h: int, refit: bool, coverage: float) -> pd.DataFrame:
    if refit:
        results = []
        for origin in origins:
            fitted = clone(m)
            fitted._fit_series(full.head(origin))
            results.append(fitted._forecast(full.head(origin), h, coverage))
        points, lowers, uppers = (np.stack([r[i] for r in results]) for i in range(3))
    else:
        fitted = clone(m)
        fitted._fit_series(full.head(origins[0]))
        points, lowers, uppers = fitted._forecast_from(full, origins, h, coverage)
    o = np.asarray(origins)
    at = o[:, None] + np.arange(h)[None, :]                                      # (O, h) the steps forecast
    observed = np.ones(at.shape, bool) if full.missing is None else ~full.missing[at, 0]
    return pd.DataFrame({"origin": np.repeat(o, h), "step": np.tile(np.arange(1, h + 1), len(o)),
                         "actual": full.y[at, 0].ravel(), "forecast": points[:, :, 0].ravel(),
                         "lower": lowers[:, :, 0].ravel(), "upper": uppers[:, :, 0].ravel(),
                         "observed": observed.ravel()})


def _score(name: str, frame: pd.DataFrame, full: _series.Series, origins: list[int], season: int,
           seconds: float) -> dict[str, Any]:
    frame = frame[frame["observed"]]                  # imputed values are not scored
    a, f = frame["actual"].to_numpy(), frame["forecast"].to_numpy()
    if len(origins) > 50:                             # many origins: one scale, from the first one's history
        scaled = [metrics.mase(a, f, full.y[:origins[0], 0], season)]
    else:
        scaled = [metrics.mase(g["actual"], g["forecast"], full.y[:o, 0], season) for o, g in frame.groupby("origin")]
    return {"model": name, "MAE": metrics.mae(a, f), "RMSE": metrics.rmse(a, f), "MASE": float(np.mean(scaled)),
            "sMAPE": metrics.smape(a, f), "coverage": metrics.coverage(a, frame["lower"], frame["upper"]),
            "points": len(frame), "seconds": seconds}


def format_table(table: pd.DataFrame) -> str:
    lines = [f"{'model':<16}{'MAE':>10}{'RMSE':>10}{'MASE':>8}{'sMAPE %':>9}{'coverage':>10}{'time':>9}"]
    for name, row in table.iterrows():
        if "note" in row and isinstance(row.get("note"), str):
            lines.append(f"{name:<16}  not fitted: {row['note']}")
            continue
        lines.append(f"{name:<16}{row['MAE']:>10.4g}{row['RMSE']:>10.4g}{row['MASE']:>8.3f}{row['sMAPE']:>9.2f}"
                     f"{row['coverage']:>10.0%}{row['seconds']:>8.1f}s")
    return "\n".join(lines)
