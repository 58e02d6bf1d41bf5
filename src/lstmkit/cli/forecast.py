"""``lstmkit forecast`` (train, backtest against the baselines, forecast, plot, save) and
``lstmkit predict`` (forecast from a saved model)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ..data import DATASETS
from ..forecast import LSTMForecaster, backtest
from ..forecast.baselines import BASELINES
from ..forecast.series import IMPUTE

#: Per dataset: the forecaster's settings where the general defaults do not suit it.
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "airline": {"lookback": 24},
    "sunspots": {"lookback": 60, "season": 1, "batch_size": 64, "epochs": 60},
    "co2": {"lookback": 104, "impute": "interpolate", "batch_size": 64, "epochs": 60},
    "electricity": {"lookback": 96, "batch_size": 64, "epochs": 40},
    "beijing-pm25": {"lookback": 24, "impute": "interpolate", "batch_size": 256, "epochs": 20, "patience": 5},
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forecast", help="train an LSTM forecaster, backtest it against the classical baselines",
                       description="Train an LSTM forecaster on a bundled dataset or a CSV, backtest it from rolling "
                                   "origins beside naive, seasonal naive, ETS and ARIMA, forecast the next horizon "
                                   "with an interval, and save the model.")
    p.add_argument("data", help=f"a dataset ({', '.join(DATASETS)}) or a CSV file with a time column")
    p.add_argument("--target", help="the CSV column to forecast (default: the only numeric column)")
    p.add_argument("--time-column", help="the CSV's time column (default: the first column)")
    p.add_argument("--covariates", help="comma-separated covariate columns, observed up to each origin "
                                        "(default: none; for beijing-pm25 the weather)")
    p.add_argument("--freq", help="the series' frequency when the timestamps have none (pandas alias, e.g. h, D, MS)")
    p.add_argument("--impute", choices=IMPUTE, help="fill missing target/covariate values (default: an error)")
    p.add_argument("--horizon", type=int, default=12, help="steps to forecast (default %(default)s)")
    p.add_argument("--lookback", type=int, help="steps the LSTM reads (default: per dataset, else 2 seasons or 24)")
    p.add_argument("--season", type=int, help="seasonal period (default: from the frequency)")
    p.add_argument("--hidden-size", type=int, default=32, help="LSTM units (default %(default)s)")
    p.add_argument("--layers", type=int, default=1, help="LSTM layers (default %(default)s)")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout on the LSTM's output (default %(default)s)")
    p.add_argument("--epochs", type=int, help="training epochs at most (default 200; per dataset)")
    p.add_argument("--batch-size", type=int, help="windows per batch (default 32; per dataset)")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate (default %(default)s)")
    p.add_argument("--models", type=int, default=1, help="networks averaged, from consecutive seeds (default %(default)s)")
    p.add_argument("--head", choices=("gaussian", "quantile"), default="gaussian", help="interval head (default %(default)s)")
    p.add_argument("--coverage", type=float, default=0.9, help="interval coverage (default %(default)s)")
    p.add_argument("--calibrate", choices=("absolute", "scaled", "none"), default="absolute",
                   help="how the intervals are calibrated on the held-out windows: the absolute errors, the "
                        "network's spread scaled, or not at all (default %(default)s)")
    p.add_argument("--calibration-folds", type=int, default=5,
                   help="cross-fit the calibration on this many blocks of windows, each forecast by networks trained "
                        "without it (K more trainings); 0: calibrate on the validation windows only (default %(default)s)")
    p.add_argument("--no-calendar", action="store_true", help="leave the time of day and day of week out of the inputs")
    p.add_argument("--seed", type=int, default=0, help="seed (default %(default)s)")
    p.add_argument("--folds", type=int, default=3, help="backtest origins, a horizon apart, at the series' end (default %(default)s)")
    p.add_argument("--initial", type=int, help="backtest every --step from this origin instead of --folds")
    p.add_argument("--step", type=int, help="steps between backtest origins (default: the horizon)")
    p.add_argument("--no-refit", action="store_true", help="fit once before the first origin, then forecast each "
                                                          "origin from its history without refitting")
    p.add_argument("--baselines", default="naive,seasonal-naive,ets,arima",
                   help="comma-separated baselines, or none (default %(default)s)")
    p.add_argument("--plot", type=Path, metavar="PNG", help="draw the history, the forecast and its interval")
    p.add_argument("--save", type=Path, metavar="PATH", help="where to save the model (default: NAME.forecast.safetensors)")
    p.add_argument("--checkpoint-dir", type=Path, help="keep the trainer's checkpoints here (for --resume)")
    p.add_argument("--resume", action="store_true", help="continue a killed final fit from --checkpoint-dir")
    p.add_argument("--progress", action="store_true", help="show the trainer's progress")
    p.set_defaults(run=run)

    q = sub.add_parser("predict", help="forecast with a model saved by lstmkit forecast",
                       description="Forecast the next horizon with a saved LSTMForecaster, after the series it was "
                                   "trained on or after a newer history in a CSV.")
    q.add_argument("model", type=Path, help="a file written by lstmkit forecast (or LSTMForecaster.save)")
    q.add_argument("--csv", type=Path, help="a newer history: CSV with the time column and the model's columns")
    q.add_argument("--time-column", help="the CSV's time column (default: the first column)")
    q.add_argument("--freq", help="the frequency when the timestamps have none")
    q.add_argument("--coverage", type=float, help="interval coverage (default: the model's)")
    q.add_argument("--out", type=Path, metavar="CSV", help="also write the forecast to this CSV")
    q.set_defaults(run=run_predict)


def run(args: argparse.Namespace) -> int:
    for flag in ("plot", "save"):
        path = getattr(args, flag)
        if path is not None and not path.parent.is_dir():
            raise ValueError(f"--{flag}: directory {str(path.parent)!r} does not exist")
    if args.resume and args.checkpoint_dir is None:
        raise ValueError("--resume needs --checkpoint-dir (the folder the killed run wrote to)")
    baselines = [] if args.baselines == "none" else [b.strip() for b in args.baselines.split(",") if b.strip()]
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"--baselines: unknown {unknown}; choose from {', '.join(BASELINES)} or none")
    name, y, X = read_data(args)
    defaults = dict(DATASET_DEFAULTS.get(name, {}))
    params = dict(horizon=args.horizon, hidden_size=args.hidden_size, num_layers=args.layers, lr=args.lr,
                  dropout=args.dropout,
                  n_models=args.models, head=args.head, coverage=args.coverage, seed=args.seed,
                  calibrate=args.calibrate, calibration_folds=args.calibration_folds, calendar=not args.no_calendar,
                  freq=args.freq, progress=args.progress)
    for key, value in (("lookback", args.lookback), ("season", args.season), ("epochs", args.epochs),
                       ("batch_size", args.batch_size), ("impute", args.impute)):
        if value is not None:
            defaults[key] = value
    params.update(defaults)
    model = LSTMForecaster(**params)
    if "lookback" not in defaults:
        from ..forecast.series import read, season_of
        m = season_of(read("data", y, X, freq=args.freq, impute=model.impute), args.season)
        model.lookback = 2 * m if m > 1 else 24
    started = time.perf_counter()
    print(f"{name}: {len(y)} steps{'' if X is None else f', covariates {list(X.columns)}'}; "
          f"LSTM {model.hidden_size} units, lookback {model.lookback}, horizon {model.horizon}")
    result = backtest(model, y, X, folds=args.folds, initial=args.initial, step=args.step, refit=not args.no_refit,
                      coverage=args.coverage, baselines=baselines)
    origins = result.origins
    how = "refit at each" if not args.no_refit else "fitted once, no refit"
    print(f"\nbacktest: {len(origins)} origin(s) from step {origins[0]}, horizon {result.horizon} ({how}); "
          f"{args.coverage:.0%} intervals")
    print(result)
    model.checkpoint_dir = None if args.checkpoint_dir is None else str(args.checkpoint_dir)
    model.fit(y, X, resume=args.resume)
    forecast = model.predict()
    interval = model.predict_interval(coverage=args.coverage)
    print(f"\nforecast of the next {model.horizon} step(s):")
    print(_forecast_frame(forecast, interval).to_string(float_format=lambda v: f"{v:.4g}"))
    save = args.save or Path(f"{Path(name).stem}.forecast.safetensors")
    model.save(save)
    print(f"\nmodel saved to {save} (lstmkit predict {save})")
    if args.plot is not None:
        from ..forecast.plot import plot_forecast
        plot_forecast(y, forecast, interval, args.plot, title=f"{name}: LSTM forecast, {args.coverage:.0%} interval",
                      backtest=result.forecasts.get("LSTM"))
        print(f"plot saved to {args.plot}")
    print(f"total wall time {time.perf_counter() - started:.1f} s")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    model = LSTMForecaster.load(args.model)
    coverage = model.coverage if args.coverage is None else args.coverage
    y = X = None
    if args.csv is not None:
        frame = _read_csv(args.csv, args.time_column)
        names, x_names = model.series_.names, model.series_.x_names
        missing = [c for c in names + x_names if c not in frame.columns]
        if missing:
            raise ValueError(f"--csv {str(args.csv)!r} lacks the model's column(s) {missing}; it has {list(frame.columns)}")
        y = frame[names[0]] if model.series_.univariate else frame[names]
        X = frame[x_names] if x_names else None
    forecast = model.predict(y=y, X=X)
    interval = model.predict_interval(coverage=coverage, y=y, X=X)
    table = _forecast_frame(forecast, interval)
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    if args.out is not None:
        table.to_csv(args.out)
        print(f"written to {args.out}")
    return 0


def read_data(args: argparse.Namespace) -> tuple[str, Any, Any]:
    """(name, y, X) from a bundled dataset's name or a CSV path."""
    if args.data in DATASETS:
        ds = DATASETS[args.data]
        data = ds.load()
        if isinstance(data, pd.Series):
            if args.covariates:
                raise ValueError(f"--covariates: {args.data} is a single series with no other columns")
            return ds.name, data, None
        target = args.target or ds.target
        covariates = _columns(args.covariates) if args.covariates else [c for c in data.columns if c != target]
        return ds.name, _column(data, target, args.data), _frame(data, covariates, args.data)
    path = Path(args.data)
    if path.suffix.lower() not in (".csv", ".gz") and not path.exists():
        raise ValueError(f"{args.data!r} is neither a dataset ({', '.join(DATASETS)}) nor a CSV file")
    frame = _read_csv(path, args.time_column)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    if args.target is None:
        if len(numeric) != 1:
            raise ValueError(f"{str(path)!r} has {len(numeric)} numeric columns ({numeric}); name the one to forecast "
                             "with --target")
        target = numeric[0]
    else:
        target = args.target
    covariates = _columns(args.covariates) if args.covariates else []
    return path.stem, _column(frame, target, str(path)), _frame(frame, covariates, str(path))


def _read_csv(path: Path, time_column: str | None) -> pd.DataFrame:
    if not path.is_file():
        raise ValueError(f"CSV file {str(path)!r} does not exist")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read {str(path)!r} as CSV ({err})") from None
    if frame.empty:
        raise ValueError(f"{str(path)!r} has no rows")
    column = time_column or frame.columns[0]
    if column not in frame.columns:
        raise ValueError(f"--time-column {column!r} is not a column of {str(path)!r}; its columns are {list(frame.columns)}")
    try:
        times = pd.to_datetime(frame[column])
    except (ValueError, TypeError) as err:
        raise ValueError(f"the time column {column!r} of {str(path)!r} does not parse as dates ({err}); "
                         "name the right one with --time-column") from None
    return frame.drop(columns=[column]).set_index(pd.DatetimeIndex(times, name=column))


def _columns(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _column(frame: pd.DataFrame, name: str, where: str) -> pd.Series:
    if name not in frame.columns:
        raise ValueError(f"--target {name!r} is not a column of {where}; its columns are {list(frame.columns)}")
    return frame[name]


def _frame(frame: pd.DataFrame, names: list[str], where: str) -> pd.DataFrame | None:
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValueError(f"--covariates {missing} are not columns of {where}; its columns are {list(frame.columns)}")
    return frame[names] if names else None


def _forecast_frame(forecast: Any, interval: pd.DataFrame) -> pd.DataFrame:
    if isinstance(forecast, pd.Series):
        return pd.DataFrame({"forecast": forecast, "lower": interval["lower"], "upper": interval["upper"]})
    parts = {}
    for col in forecast.columns:
        parts[(col, "forecast")] = forecast[col]
        parts[(col, "lower")] = interval[(col, "lower")]
        parts[(col, "upper")] = interval[(col, "upper")]
    return pd.DataFrame(parts)
