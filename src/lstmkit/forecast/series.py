"""Series at the door: pandas or numpy in, checked, as float arrays with their time index out.

Every check names the problem and the fix: empty or too short, non-numeric, duplicated or unsorted
timestamps, an irregular frequency without ``freq=``, NaN without ``impute=``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

IMPUTE = ("interpolate", "ffill")

#: The usual seasonal period of a frequency (pandas' offset names, without multiples).
SEASONS = {"M": 12, "ME": 12, "MS": 12, "Q": 4, "QE": 4, "QS": 4, "W": 52, "D": 7, "B": 5, "h": 24, "H": 24,
           "30min": 48, "30T": 48, "15min": 96, "min": 60, "T": 60, "Y": 1, "A": 1, "YE": 1}


@dataclass
class Series:
    """One series: ``y`` (n, k) float64 targets, ``x`` (n, c) float64 covariates (c may be 0), the
    ``index`` (pandas, or None for numpy input), the target and covariate ``names``, and where
    target values were ``missing`` before imputation (they are never scored)."""

    y: np.ndarray
    x: np.ndarray
    index: pd.Index | None
    names: list[str]
    x_names: list[str]
    univariate: bool              # given as a Series or 1-D array: forecasts come back the same way
    missing: np.ndarray | None = None    # (n, k) True where a target value was imputed

    @property
    def n(self) -> int:
        return len(self.y)

    def future_index(self, horizon: int) -> pd.Index | None:
        """The ``horizon`` timestamps after the last one."""
        if self.index is None:
            return None
        if isinstance(self.index, pd.PeriodIndex):
            return pd.period_range(self.index[-1] + 1, periods=horizon, freq=self.index.freq, name=self.index.name)
        if isinstance(self.index, pd.DatetimeIndex):
            return pd.date_range(self.index[-1] + self.index.freq, periods=horizon, freq=self.index.freq,
                                 name=self.index.name)
        start = self.index[-1] + 1
        return pd.RangeIndex(start, start + horizon, name=self.index.name)

    def head(self, n: int) -> "Series":
        return Series(self.y[:n], self.x[:n], None if self.index is None else self.index[:n], self.names,
                      self.x_names, self.univariate, None if self.missing is None else self.missing[:n])


def calendar(index: pd.Index | None) -> np.ndarray:
    """Calendar features of each step, (n, f) in [-1, 1]: the time of day (as a sine and cosine)
    when the steps are shorter than a day, and the day of the week when they are at most a day
    apart; (n, 0) for other steps and for an index that is not of times."""
    n = 0 if index is None else len(index)
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    if not isinstance(index, pd.DatetimeIndex) or n < 2:
        return np.zeros((n, 0))
    gap = (index[0] + index.freq if index.freq is not None else index[1]) - index[0]
    if gap > pd.Timedelta(days=1):
        return np.zeros((n, 0))
    cols = []
    if gap < pd.Timedelta(days=1):
        day = (index.hour * 3600 + index.minute * 60 + index.second).to_numpy() / 86400.0
        cols += [np.sin(2 * np.pi * day), np.cos(2 * np.pi * day)]
    week = index.day_of_week.to_numpy() / 7.0
    cols += [np.sin(2 * np.pi * week), np.cos(2 * np.pi * week)]
    return np.stack(cols, axis=1)


def read(name: str, y: Any, x: Any = None, *, freq: str | None = None, impute: str | None = None) -> Series:
    """Check and convert one target series ``y`` (and covariates ``x`` on the same index)."""
    if impute is not None and impute not in IMPUTE:
        raise ValueError(f"impute must be None or one of {', '.join(map(repr, IMPUTE))}, got {impute!r}")
    if isinstance(y, (pd.Series, pd.DataFrame)):
        frame = y.to_frame() if isinstance(y, pd.Series) else y
        univariate = isinstance(y, pd.Series)
        frame = _regular(name, frame, freq)
        if x is not None:
            if not isinstance(x, (pd.Series, pd.DataFrame)):
                raise TypeError(f"{name}: y is a pandas object, so X must be one too (a DataFrame on the same index), "
                                f"got {type(x).__name__}")
            xf = x.to_frame() if isinstance(x, pd.Series) else x
            xf = _regular(f"{name} X", xf, freq)
            if not xf.index.equals(frame.index):
                raise ValueError(f"{name}: X must have the same index as y ({len(frame)} rows from {frame.index[0]} "
                                 f"to {frame.index[-1]}), got {len(xf)} rows from {xf.index[0]} to {xf.index[-1]}")
        else:
            xf = pd.DataFrame(index=frame.index)
        values = _numeric(f"{name} y", frame)
        covariates = _numeric(f"{name} X", xf) if xf.shape[1] else np.zeros((len(frame), 0))
        out = Series(values, covariates, frame.index, [str(c) for c in frame.columns], [str(c) for c in xf.columns],
                     univariate)
    else:
        arr = _array(f"{name} y", y)
        univariate = arr.ndim == 1
        values = arr.reshape(len(arr), -1)
        if x is None:
            covariates = np.zeros((len(values), 0))
        else:
            covariates = _array(f"{name} X", x)
            covariates = covariates.reshape(len(covariates), -1)
            if len(covariates) != len(values):
                raise ValueError(f"{name}: X must have one row per step of y ({len(values)}), got {len(covariates)}")
        k = values.shape[1]
        out = Series(values, covariates, None, ["y"] if k == 1 else [f"y{i}" for i in range(k)],
                     [f"x{i}" for i in range(covariates.shape[1])], univariate)
    if out.n == 0:
        raise ValueError(f"{name}: y is empty; a forecaster needs a series of at least lookback + horizon values")
    return _fill(name, out, impute)


def season_of(series: Series, season: int | None) -> int:
    """The seasonal period: ``season`` if given, else the index frequency's usual one, else 1."""
    if season is not None:
        return season
    if series.index is None or getattr(series.index, "freq", None) is None:
        return 1
    freq = series.index.freqstr
    return SEASONS.get(freq, SEASONS.get(freq.split("-")[0], 1))


def _regular(name: str, frame: pd.DataFrame, freq: str | None) -> pd.DataFrame:
    index = frame.index
    if isinstance(index, pd.RangeIndex) or not isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)):
        if isinstance(index, (pd.RangeIndex,)) or pd.api.types.is_integer_dtype(index):
            return frame
        raise TypeError(f"{name}: the index must be a DatetimeIndex or PeriodIndex (or a plain integer index), "
                        f"got {type(index).__name__}; set one with df.set_index(pd.to_datetime(df['time']))")
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise ValueError(f"{name}: duplicated timestamps (first: {dup}); aggregate them (e.g. df.groupby(level=0).mean())")
    if not index.is_monotonic_increasing:
        raise ValueError(f"{name}: the timestamps are not sorted; sort them first (df.sort_index())")
    if freq is not None:
        try:
            frame = frame.asfreq(freq)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{name}: freq={freq!r} is not a pandas frequency ({err})") from None
        return frame
    if index.freq is None:
        with warnings.catch_warnings():      # pandas 3 warns that it will return an offset, not a string
            warnings.simplefilter("ignore")
            inferred = pd.infer_freq(index) if len(index) >= 3 else None
        if inferred is None:
            raise ValueError(f"{name}: the timestamps have no regular frequency (gaps or uneven steps); pass freq= "
                             "(e.g. freq='h'): missing steps then become NaN, filled if impute= is given")
        frame = frame.asfreq(inferred)
    return frame


def _numeric(name: str, frame: pd.DataFrame) -> np.ndarray:
    bad = [c for c in frame.columns if not (pd.api.types.is_numeric_dtype(frame[c]) or
                                            pd.api.types.is_bool_dtype(frame[c]))]
    if bad:
        raise TypeError(f"{name}: column(s) {[str(c) for c in bad]} are not numeric (dtypes "
                        f"{[str(frame[c].dtype) for c in bad]}); convert them or encode categories (pd.get_dummies)")
    return frame.to_numpy(dtype=np.float64)


def _array(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as err:
        raise TypeError(f"{name} cannot be read as an array ({err})") from None
    if arr.dtype == object or arr.dtype.kind in "USVM":
        raise TypeError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (n,) or 2-D (n, k), got shape {arr.shape}")
    return arr.astype(np.float64)


def _fill(name: str, s: Series, impute: str | None) -> Series:
    for what, names in (("y", s.names), ("X", s.x_names)):
        arr = s.y if what == "y" else s.x
        if np.isinf(arr).any():
            raise ValueError(f"{name} {what} contains infinite values; replace them (e.g. with NaN and impute=)")
        missing = np.isnan(arr)
        if what == "y":
            s.missing = missing.copy()
        if not missing.any():
            continue
        if impute is None:
            row, col = np.argwhere(missing)[0]
            where = s.index[row] if s.index is not None else row
            raise ValueError(f"{name} {what} has {int(missing.sum())} missing value(s) (NaN; first: {names[col]} at "
                             f"{where}); pass impute='interpolate' or impute='ffill', or clean the series")
        frame = pd.DataFrame(arr)
        frame = frame.interpolate(limit_direction="both") if impute == "interpolate" else frame.ffill().bfill()
        if frame.isna().any().any():
            raise ValueError(f"{name} {what}: a column is entirely missing, nothing to impute from")
        if what == "y":
            s.y = frame.to_numpy(dtype=np.float64)
        else:
            s.x = frame.to_numpy(dtype=np.float64)
    return s
