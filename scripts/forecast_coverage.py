"""Interval coverage of the LSTM forecaster on the backtests of docs/forecasting.md, over seeds.

A backtest's coverage comes from few, correlated points (36 on the three sunspot folds), so one
seed says little; this runs the LSTM alone (no baselines) with the command's dataset defaults for
several seeds and prints each seed's coverage of the 90% interval, their mean and the RMSE::

    python scripts/forecast_coverage.py air24 air12 air1 --seeds 0,1,2
    python scripts/forecast_coverage.py sun3 --seeds 0,1,2 --set '{"calibration_folds": 0}'

Names: air24 air12 air1 sun3 sun20 co2 ele3 ele21 bj (see RUNS). ``--set`` takes a JSON object of
LSTMForecaster parameters that override the defaults.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from lstmkit.cli.forecast import DATASET_DEFAULTS
from lstmkit.data import DATASETS
from lstmkit.forecast import LSTMForecaster, backtest

#: name: (dataset, forecaster parameters, backtest arguments), as the commands in docs/forecasting.md.
RUNS = {
    "air24": ("airline", {"horizon": 24}, {"folds": 1}),
    "air12": ("airline", {"horizon": 12}, {"folds": 3}),
    "air1": ("airline", {"horizon": 1}, {"initial": 96, "step": 1, "refit": False}),
    "sun3": ("sunspots", {"horizon": 12}, {"folds": 3}),
    "sun20": ("sunspots", {"horizon": 12}, {"initial": 2580, "step": 12, "refit": False}),
    "co2": ("co2", {"horizon": 52}, {"folds": 3}),
    "ele3": ("electricity", {"horizon": 48}, {"folds": 3}),
    "ele21": ("electricity", {"horizon": 48}, {"initial": 3024, "step": 48, "refit": False}),
    "bj": ("beijing-pm25", {"horizon": 1}, {"initial": 8760, "step": 1, "refit": False}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", default=list(RUNS), metavar="RUN", help=f"of {', '.join(RUNS)} (default: all)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    parser.add_argument("--set", default="{}", help="JSON object of LSTMForecaster parameters")
    args = parser.parse_args()
    unknown = [r for r in args.runs if r not in RUNS]
    if unknown:
        parser.error(f"unknown run(s) {unknown}; choose from {', '.join(RUNS)}")
    extra = json.loads(args.set)
    for key in args.runs:
        name, params, where = RUNS[key]
        data = DATASETS[name].load()
        if isinstance(data, pd.DataFrame):
            target = DATASETS[name].target
            y, X = data[target], data[[c for c in data.columns if c != target]]
        else:
            y, X = data, None
        covered, rmse = [], []
        started = time.perf_counter()
        for seed in map(int, args.seeds.split(",")):
            model = LSTMForecaster(**{**DATASET_DEFAULTS.get(name, {}), **params, **extra, "seed": seed})
            row = backtest(model, y, X, baselines=(), **where).table.loc["LSTM"]
            covered.append(row["coverage"])
            rmse.append(row["RMSE"])
        print(f"{key:6s} coverage " + " ".join(f"{c:.0%}" for c in covered) + f"  mean {np.mean(covered):.1%}  RMSE "
              + " ".join(f"{v:.4g}" for v in rmse) + f"  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
