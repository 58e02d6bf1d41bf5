"""Forecasting (lstmkit.forecast, lstmkit.data, lstmkit forecast / predict): against hand-computed
values, the truth of synthetic series, and the classical baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit import data
from lstmkit.cli import main
from lstmkit.forecast import ETS, ARIMA, LSTMForecaster, Naive, SeasonalNaive, backtest, metrics
from lstmkit.forecast.backtest import origins_of
from lstmkit.forecast.lstm import fold_blocks
from lstmkit.train import CheckpointError

FAST = dict(epochs=40, patience=None, hidden_size=16, batch_size=16)


def sine(n=160, period=12, offset=0.0, start="2000-01"):
    t = np.arange(n)
    return pd.Series(offset + np.sin(2 * np.pi * t / period) + 0.5 * np.cos(2 * np.pi * t / 5),
                     index=pd.period_range(start, periods=n, freq="M"), name="y")


# -- the bundled data -----------------------------------------------------------------------------------

def test_bundled_datasets_have_their_documented_shapes():
    air = data.load_airline()
    assert len(air) == 144 and air.iloc[0] == 112 and air.iloc[-1] == 432 and air.index.freqstr == "M"
    assert len(data.load_sunspots()) == 2820
    co2 = data.load_co2()
    assert len(co2) == 2284 and int(co2.isna().sum()) == 59
    assert len(data.load_electricity()) == 4032 and data.load_electricity().index.freqstr == "30min"
    pm = data.load_beijing_pm25()
    assert pm.shape == (43824, 11) and int(pm["pm2.5"].isna().sum()) == 2067
    assert pm.filter(like="cbwd_").sum(axis=1).eq(1).all()                 # one wind direction per hour
    with pytest.raises(ValueError, match="unknown dataset 'air'"):
        data.get("air")


# -- metrics and the naive baselines by hand --------------------------------------------------------------

def test_metrics_by_hand():
    a, f = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0])
    assert metrics.mae(a, f) == pytest.approx(1.0)
    assert metrics.rmse(a, f) == pytest.approx(np.sqrt(5 / 3))
    assert metrics.smape(a, f) == pytest.approx(100 * np.mean([2 / 3, 0, 2 * 2 / 6]))
    assert metrics.mase(a, f, history=np.array([0.0, 2.0, 1.0, 3.0])) == pytest.approx(1.0 / (5 / 3))
    assert metrics.coverage(a, f - 1.5, f + 1.5) == pytest.approx(2 / 3)


def test_naive_and_seasonal_naive_by_hand():
    y = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0])
    naive = Naive(horizon=3).fit(y)
    assert np.array_equal(naive.predict(), [6, 6, 6])
    sigma = np.sqrt(np.mean(np.diff(y) ** 2))
    lower, upper = naive.predict_interval(coverage=0.9)
    assert upper - 6 == pytest.approx(1.6448536 * sigma * np.sqrt([1, 2, 3]))
    sn = SeasonalNaive(horizon=4, season=2).fit(y)
    assert np.array_equal(sn.predict(), [4, 6, 4, 6])
    lower, upper = sn.predict_interval(coverage=0.8)
    assert upper - sn.predict() == pytest.approx(1.2815516 * np.sqrt(np.mean((y[2:] - y[:-2]) ** 2)) * np.sqrt([1, 1, 2, 2]))


def test_ets_and_arima_extrapolate_a_trend_and_pick_the_log_scale_for_exponential_growth():
    rng = np.random.default_rng(0)
    t = np.arange(80)
    linear = 10 + 0.5 * t + rng.normal(0, 0.1, 80)
    truth = 10 + 0.5 * np.arange(80, 86)
    for cls in (ETS, ARIMA):
        m = cls(horizon=6).fit(linear)
        assert np.abs(m.predict() - truth).max() < 1.0
        lower, upper = m.predict_interval()
        assert np.all(lower < m.predict()) and np.all(m.predict() < upper)
    growth = np.exp(0.05 * t + rng.normal(0, 0.01, 80))
    assert ARIMA(horizon=3).fit(growth).spec_[0].startswith("log")


def test_backtest_of_the_naive_forecast_by_hand():
    y = np.arange(20.0) ** 1.5
    assert origins_of(20, 2, folds=3, step=None, initial=None) == [14, 16, 18]
    assert origins_of(20, 1, folds=None, step=5, initial=5) == [5, 10, 15]
    result = backtest(Naive(horizon=2), y, folds=3, baselines=())
    errors = np.concatenate([y[o:o + 2] - y[o - 1] for o in (14, 16, 18)])
    assert result.table.loc["naive", "RMSE"] == pytest.approx(np.sqrt(np.mean(errors ** 2)))
    assert result.table.loc["naive", "MAE"] == pytest.approx(np.mean(np.abs(errors)))


# -- the LSTM forecaster ---------------------------------------------------------------------------------

def test_lstm_learns_a_seasonal_series_far_better_than_naive():
    y = sine()
    train, test = y[:-6], y[-6:]
    lstm = LSTMForecaster(horizon=6, lookback=24, transform="none", epochs=60, patience=None, batch_size=8,
                          lr=1e-2, calibration_folds=0).fit(train)
    forecast = lstm.predict()
    assert isinstance(forecast, pd.Series) and forecast.index.equals(test.index)
    naive = Naive(horizon=6).fit(train).predict()
    assert metrics.rmse(test, forecast) < 0.25 * metrics.rmse(test, naive)
    interval = lstm.predict_interval(coverage=0.9)
    wide = lstm.predict_interval(coverage=0.99)
    assert (interval["lower"] < forecast).all() and (forecast < interval["upper"]).all()
    assert ((wide["upper"] - wide["lower"]) > (interval["upper"] - interval["lower"])).all()


def test_scaling_is_undone_a_shifted_series_gives_the_shifted_forecast():
    a = LSTMForecaster(horizon=3, lookback=12, transform="none", **FAST).fit(sine(80))
    b = LSTMForecaster(horizon=3, lookback=12, transform="none", **FAST).fit(sine(80, offset=1000.0))
    assert np.allclose(b.predict().to_numpy() - 1000.0, a.predict().to_numpy(), atol=1e-3)


def test_same_seed_same_forecast():
    kw = dict(horizon=2, lookback=12, dropout=0.2, **FAST)
    y = sine(60)
    assert np.array_equal(LSTMForecaster(**kw).fit(y).predict(), LSTMForecaster(**kw).fit(y).predict())


def test_numpy_multivariate_covariates_and_several_series():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 1))
    y = np.concatenate([[0.0], x[:-1, 0]])                   # y_t = x_(t-1): only the covariate tells
    with_x = LSTMForecaster(horizon=1, lookback=6, transform="none", **FAST).fit(y, x)
    without = LSTMForecaster(horizon=1, lookback=6, transform="none", **FAST).fit(y)
    assert isinstance(with_x.predict(), np.ndarray) and with_x.predict().shape == (1,)
    truth = backtest(with_x, y, x, initial=90, step=1, refit=False, baselines=()).table.loc["LSTM", "RMSE"]
    blind = backtest(without, y, initial=90, step=1, refit=False, baselines=()).table.loc["LSTM", "RMSE"]
    assert truth < 0.5 * blind
    two = pd.DataFrame({"a": sine(60).to_numpy(), "b": -sine(60).to_numpy()},
                       index=pd.date_range("2020-01-01", periods=60, freq="D"))
    f = LSTMForecaster(horizon=2, lookback=8, **FAST).fit(two)
    assert list(f.predict().columns) == ["a", "b"] and f.predict().index[0] == pd.Timestamp("2020-03-01")
    assert list(f.predict_interval().columns) == [("a", "lower"), ("a", "upper"), ("b", "lower"), ("b", "upper")]
    several = LSTMForecaster(horizon=2, lookback=8, **FAST).fit([sine(40), sine(50, start="1990-01")])
    out = several.predict()
    assert len(out) == 2 and str(out[1].index[0]) == "1994-03"


def test_no_validation_target_is_a_training_target():
    f = LSTMForecaster(horizon=3, lookback=4, val_fraction=0.2)
    n_val, gap = f._split(20)
    assert (n_val, gap) == (4, 2)
    train = range(20 - n_val - gap)                       # window i's targets are the steps i + 4 ... i + 6
    last_train_target = max(train) + 4 + 2
    first_val_target = (20 - n_val) + 4
    assert last_train_target < first_val_target
    assert f._split(4) == (0, 0)                          # too few windows: nothing held out


def test_calendar_features_by_hand():
    from lstmkit.forecast.series import calendar
    half_hours = pd.date_range("2000-06-05", periods=4, freq="6h")          # a Monday: 0h, 6h, 12h, 18h
    expected = np.array([[0, 1, 0, 1], [1, 0, 0, 1], [0, -1, 0, 1], [-1, 0, 0, 1]], float)
    assert np.allclose(calendar(half_hours), expected, atol=1e-12)
    days = calendar(pd.date_range("2000-06-07", periods=2, freq="D"))        # Wednesday, Thursday: no time of day
    assert np.allclose(days, [[np.sin(4 * np.pi / 7), np.cos(4 * np.pi / 7)], [np.sin(6 * np.pi / 7), np.cos(6 * np.pi / 7)]])
    assert calendar(pd.period_range("2000-01", periods=5, freq="M")).shape == (5, 0)
    assert calendar(None).shape == (0, 0)


def test_calendar_inputs_tell_the_weekday_and_need_a_time_index_later():
    index = pd.date_range("2021-01-04", periods=24 * 7 * 6, freq="h")
    y = pd.Series(np.where(index.day_of_week >= 5, 1.0, 0.0) + 0.01 * np.arange(len(index)) % 1, index=index)
    f = LSTMForecaster(horizon=1, lookback=6, transform="none", **FAST).fit(y)
    assert f.nets_[0].lstm.input_size == 1 + 4                # the target, time of day, day of week
    assert LSTMForecaster(horizon=1, lookback=6, calendar=False, **FAST).fit(y).nets_[0].lstm.input_size == 1
    with pytest.raises(ValueError, match="fitted with 4 calendar features .* pass y with the same kind of DatetimeIndex"):
        f.predict(y=y.to_numpy())


@pytest.mark.parametrize("mode", ["absolute", "scaled"])
def test_intervals_are_split_conformal_on_the_validation_windows(mode):
    rng = np.random.default_rng(3)
    y = pd.Series(rng.normal(size=200), index=pd.period_range("2000-01", periods=200, freq="M"))
    f = LSTMForecaster(horizon=2, lookback=6, transform="none", calibrate=mode, calibration_folds=0, **FAST).fit(y)
    a, b = f._windows(f.series_)
    n_val, _ = f._split(len(a))
    point, lower, upper = f._scaled_forecast(a[-n_val:].astype(np.float32), 0.9, f.calibration_)
    inside = ((b[-n_val:] >= lower - 1e-9) & (b[-n_val:] <= upper + 1e-9)).mean(0)[:, 0]   # the boundary point is in
    target = np.ceil((n_val + 1) * 0.9) / n_val                # the conformal quantile's level, per step
    assert np.all(inside >= target - 1e-9) and np.all(inside <= target + 2 / n_val)
    width = (upper - lower)[:, :, 0]
    assert np.allclose(width, width[0]) == (mode == "absolute")   # absolute: one width per step
    with pytest.raises(ValueError, match="calibrate must be True, False or one of"):
        LSTMForecaster(calibrate="wide").fit(y)


def test_fold_blocks_by_hand():
    (lo0, hi0, t0), (lo1, hi1, t1) = fold_blocks(10, 2, horizon=2)
    assert (lo0, hi0, lo1, hi1) == (0, 5, 5, 10)
    assert t0.tolist() == [False] * 6 + [True] * 4              # window 5's targets overlap window 4's
    assert t1.tolist() == [True] * 4 + [False] * 6              # window 4's targets overlap window 5's
    blocks = fold_blocks(10, 3, horizon=1)                      # horizon 1: nothing beyond the block is purged
    assert [(lo, hi) for lo, hi, _ in blocks] == [(0, 3), (3, 7), (7, 10)]
    assert [int(t.sum()) for _, _, t in blocks] == [7, 6, 7]


def test_cross_fitting_trains_each_fold_without_its_block_for_the_chosen_epochs(monkeypatch):
    calls = []
    train = LSTMForecaster._train

    def recording(self, m, x, t, val, **kw):
        net, result = train(self, m, x, t, val, **kw)
        calls.append((len(x), val is None, kw["epochs"], result))
        return net, result

    monkeypatch.setattr(LSTMForecaster, "_train", recording)
    y = sine(80)
    f = LSTMForecaster(horizon=3, lookback=8, calibration_folds=4, n_models=2,
                       **{**FAST, "patience": 3, "epochs": 60}).fit(y)
    windows = 80 - 8 - 3 + 1
    final, folds = calls[:2], calls[2:]
    assert len(folds) == 4 * 2 and all(none for _, none, _, _ in folds)       # no validation set: nothing chosen
    chosen = [r.best_epoch + 1 for _, _, _, r in final]
    assert [e for _, _, e, _ in folds] == chosen * 4
    assert [n for n, _, _, _ in folds] == [int(t.sum()) for _, _, t in fold_blocks(windows, 4, 3) for _ in range(2)]
    assert len(f.calibration_) == 3


def test_cross_fitted_intervals_cover_white_noise_as_the_truth_does():
    """i.i.d. N(0, 1): the best forecast is 0 and the true 90% interval +-1.645; the cross-fitted
    interval should be about that wide and cover about 90% of 1,000 fresh one-step forecasts."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=1400)
    model = LSTMForecaster(horizon=1, lookback=6, transform="none", **FAST)
    result = backtest(model, y, initial=400, step=1, refit=False, baselines=())
    frame = result.forecasts["LSTM"]
    assert 0.86 <= result.table.loc["LSTM", "coverage"] <= 0.94
    assert 2 * 1.5 <= float((frame["upper"] - frame["lower"]).mean()) <= 2 * 2.0


def test_calibration_folds_are_checked():
    with pytest.raises(ValueError, match="calibration_folds must be 0 .* or at least 2"):
        LSTMForecaster(calibration_folds=1, **FAST).fit(sine(60))
    with pytest.raises(ValueError, match="calibration_folds must be"):
        LSTMForecaster(calibration_folds=-2, **FAST).fit(sine(60))
    with pytest.raises(ValueError, match="calibration_folds = 12 is too many for 5 windows.*calibration_folds=0"):
        LSTMForecaster(horizon=2, lookback=12, calibration_folds=12, **FAST).fit(sine(18))


def test_quantile_head_gives_its_own_coverage_only():
    f = LSTMForecaster(horizon=2, lookback=8, head="quantile", coverage=0.8, **FAST).fit(sine(60))
    iv = f.predict_interval(coverage=0.8)
    assert (iv["lower"] < iv["upper"]).all()
    with pytest.raises(ValueError, match="quantile head gives the 80% interval it was trained for, not 90%"):
        f.predict_interval(coverage=0.9)


def test_save_and_load_give_the_same_forecasts(tmp_path):
    f = LSTMForecaster(horizon=3, lookback=12, n_models=2, **FAST).fit(sine(60))
    f.save(tmp_path / "m.safetensors")
    g = LSTMForecaster.load(tmp_path / "m.safetensors")
    assert g.predict().equals(f.predict()) and g.predict_interval().equals(f.predict_interval())
    newer = sine(70)
    assert np.allclose(g.predict(y=newer), f.predict(y=newer))


def test_a_killed_fit_resumes_from_its_checkpoint(tmp_path):
    y = sine(60)
    kw = dict(horizon=2, lookback=8, **FAST)
    whole = LSTMForecaster(**kw, checkpoint_dir=str(tmp_path / "a")).fit(y)
    again = LSTMForecaster(**kw, checkpoint_dir=str(tmp_path / "a")).fit(y, resume=True)   # a finished run
    assert np.array_equal(whole.predict(), again.predict())


# -- bad input ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: pd.Series([], dtype=float), "empty"),
    (lambda: sine(10), "has 10 steps, fewer than lookback \\+ horizon = 12 \\+ 1 = 13"),
    (lambda: pd.Series(["a"] * 30, index=pd.period_range("2000-01", periods=30, freq="M")), "not numeric"),
    (lambda: pd.Series(1.0, index=pd.DatetimeIndex(["2020-01-01", "2020-01-01", "2020-01-02"] + [f"2020-01-{d:02d}" for d in range(3, 30)])), "duplicated timestamps"),
    (lambda: pd.Series(1.0, index=pd.DatetimeIndex([f"2020-01-{d:02d}" for d in range(29, 0, -1)])), "not sorted"),
    (lambda: pd.Series(1.0, index=pd.DatetimeIndex([f"2020-01-{d:02d}" for d in (1, 2, 4, 5, 9)] + [f"2020-02-{d:02d}" for d in range(1, 28)])), "no regular frequency.*pass freq="),
    (lambda: sine(40).where(lambda s: s.index != s.index[5]), "1 missing value.*at 2000-06.*impute="),
])
def test_bad_series_are_named(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        LSTMForecaster(horizon=1, lookback=12, **FAST).fit(make())


def test_freq_fills_missing_steps_and_impute_fills_nan():
    idx = pd.DatetimeIndex([f"2020-01-{d:02d}" for d in range(1, 31) if d != 10])
    y = pd.Series(np.arange(29.0), index=idx)
    with pytest.raises(ValueError, match="1 missing value.*2020-01-10"):
        Naive(freq="D").fit(y)
    assert Naive(freq="D", impute="interpolate").fit(y).predict().index[0] == pd.Timestamp("2020-01-31")


def test_unfitted_and_wrong_horizon_are_clear():
    with pytest.raises(RuntimeError, match="not fitted yet"):
        LSTMForecaster().predict()
    f = LSTMForecaster(horizon=2, lookback=8, **FAST).fit(sine(40))
    with pytest.raises(ValueError, match="fitted for horizon = 2, got horizon = 5"):
        f.predict(5)


# -- the command line ------------------------------------------------------------------------------------

def test_cli_forecast_a_dataset_then_predict(tmp_path, capsys):
    model, png = tmp_path / "air.safetensors", tmp_path / "air.png"
    assert main(["forecast", "airline", "--horizon", "6", "--folds", "2", "--epochs", "20", "--hidden-size", "8",
                 "--baselines", "naive,seasonal-naive", "--plot", str(png), "--save", str(model)]) == 0
    out = capsys.readouterr().out
    assert "backtest: 2 origin(s) from step 132, horizon 6" in out and "seasonal naive" in out and "LSTM" in out
    assert "1961-06" in out and png.stat().st_size > 10_000
    assert main(["predict", str(model)]) == 0
    assert "1961-01" in capsys.readouterr().out


def test_cli_forecast_a_csv_with_covariates(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"when": pd.date_range("2021-01-01", periods=80, freq="h").astype(str),
                          "load": 10 + np.sin(np.arange(80) / 3) + rng.normal(0, 0.1, 80), "temp": rng.normal(size=80)})
    csv = tmp_path / "my.csv"
    frame.to_csv(csv, index=False)
    assert main(["forecast", str(csv), "--target", "load", "--covariates", "temp", "--horizon", "3", "--folds", "1",
                 "--epochs", "5", "--baselines", "naive", "--save", str(tmp_path / "m.st")]) == 0
    assert "2021-01-04 08:00:00" in capsys.readouterr().out
    assert main(["predict", str(tmp_path / "m.st"), "--csv", str(csv), "--out", str(tmp_path / "f.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "f.csv")) == 3


def test_cli_errors_name_the_problem(tmp_path, capsys):
    csv = tmp_path / "a.csv"
    pd.DataFrame({"t": pd.date_range("2021-01-01", periods=30, freq="D").astype(str), "a": 1.0, "b": 2.0}).to_csv(csv, index=False)
    assert main(["forecast", str(csv), "--horizon", "2"]) == 2
    assert "has 2 numeric columns (['a', 'b']); name the one to forecast with --target" in capsys.readouterr().err
    assert main(["forecast", str(csv), "--target", "c"]) == 2
    assert "--target 'c' is not a column" in capsys.readouterr().err
    assert main(["forecast", "nowhere.csv"]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    assert main(["predict", str(bad)]) == 2
    assert "truncated or corrupted" in capsys.readouterr().err
    with pytest.raises(CheckpointError):
        LSTMForecaster.load(bad)
