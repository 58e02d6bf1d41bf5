"""Real datasets that ship inside lstmkit (``data/files``; sources and licences in its SOURCES.md).

Nothing is downloaded: every loader reads a file installed with the package and returns pandas
objects with a time index (PeriodIndex for monthly data, DatetimeIndex with a frequency otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Callable

import pandas as pd


def _file(name: str):
    return resources.files(__package__).joinpath("files", name)


def load_airline() -> pd.Series:
    """Monthly totals of international airline passengers (thousands), 1949-01 … 1960-12: 144 values
    (Box & Jenkins 1976, series G)."""
    df = pd.read_csv(_file("airline.csv"))
    return pd.Series(df["passengers"].to_numpy(float), index=pd.PeriodIndex(df["month"], freq="M", name="month"),
                     name="passengers")


def load_sunspots() -> pd.Series:
    """Monthly mean relative sunspot numbers, 1749-01 … 1983-12: 2,820 values (Andrews & Herzberg 1985)."""
    df = pd.read_csv(_file("sunspots_monthly.csv"))
    return pd.Series(df["sunspots"].to_numpy(float), index=pd.PeriodIndex(df["month"], freq="M", name="month"),
                     name="sunspots")


def load_co2() -> pd.Series:
    """Weekly atmospheric CO2 at Mauna Loa (ppm), 1958-03-29 … 2001-12-29: 2,284 weeks, 59 of them
    missing (NaN; pass ``impute=`` to a forecaster)."""
    df = pd.read_csv(_file("co2_weekly.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(df["week"]), freq="W-SAT", name="week")
    return pd.Series(df["co2_ppm"].to_numpy(float), index=index, name="co2_ppm")


def load_electricity() -> pd.Series:
    """Half-hourly electricity demand in England and Wales (MW), 2000-06-05 00:00 … 2000-08-27 23:30:
    4,032 values (Taylor 2003)."""
    df = pd.read_csv(_file("electricity_taylor.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(df["time"]), freq="30min", name="time")
    return pd.Series(df["demand_mw"].to_numpy(float), index=index, name="demand_mw")


def load_beijing_pm25(*, one_hot: bool = True) -> pd.DataFrame:
    """Hourly PM2.5 at the US Embassy in Beijing with the weather, 2010-01-01 00:00 … 2014-12-31 23:00:
    43,824 rows (Liang et al. 2015, UCI). Columns: ``pm2.5`` (µg/m³, 2,067 NaN), ``DEWP`` (dew point
    °C), ``TEMP`` (°C), ``PRES`` (hPa), the combined wind direction ``cbwd`` (one-hot as ``cbwd_NE``,
    ``cbwd_NW``, ``cbwd_SE``, ``cbwd_cv`` unless ``one_hot=False``), ``Iws`` (cumulated wind speed,
    m/s), ``Is`` and ``Ir`` (cumulated hours of snow and rain)."""
    df = pd.read_csv(_file("beijing_pm25.csv.gz"))
    index = pd.DatetimeIndex(pd.to_datetime(df[["year", "month", "day", "hour"]]), freq="h", name="time")
    out = df.drop(columns=["No", "year", "month", "day", "hour"]).set_index(index)
    if one_hot:
        dummies = pd.get_dummies(out["cbwd"], prefix="cbwd", dtype=float)
        out = pd.concat([out.drop(columns=["cbwd"]), dummies], axis=1)
    return out


@dataclass(frozen=True)
class Dataset:
    name: str
    load: Callable[[], pd.Series | pd.DataFrame]
    target: str
    season: int
    about: str


DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset("airline", load_airline, "passengers", 12, "monthly airline passengers, 1949-60 (144)"),
    Dataset("sunspots", load_sunspots, "sunspots", 132, "monthly sunspot numbers, 1749-1983 (2,820)"),
    Dataset("co2", load_co2, "co2_ppm", 52, "weekly CO2 at Mauna Loa, 1958-2001 (2,284, 59 missing)"),
    Dataset("electricity", load_electricity, "demand_mw", 48, "half-hourly electricity demand, England & Wales, 2000 (4,032)"),
    Dataset("beijing-pm25", load_beijing_pm25, "pm2.5", 24, "hourly Beijing PM2.5 and weather, 2010-14 (43,824 x 8)"),
)}


def get(name: str) -> Dataset:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; the datasets are {', '.join(DATASETS)}")
    return DATASETS[name]


__all__ = ["DATASETS", "Dataset", "get", "load_airline", "load_beijing_pm25", "load_co2", "load_electricity",
           "load_sunspots"]
