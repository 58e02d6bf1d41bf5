"""lstmkit.models.tune and ``lstmkit tune``: the search finds a known optimum, prunes trials that
lag the median, never reads data past the validation split, and the CLI prints the best."""

from __future__ import annotations

import argparse
import builtins
import json

import pytest

from lstmkit.cli import tune as tune_cli
from lstmkit.models import tune as tuning


@pytest.fixture
def toy():
    """A task whose validation loss is (x - 0.3)^2, the same after each of 5 epochs."""
    def space(trial):
        return {"x": trial.suggest_float("x", 0.0, 1.0)}

    def objective(params, report, quick):
        loss = (params["x"] - 0.3) ** 2
        for epoch in range(5):
            report(epoch, loss)
        return loss
    tuning.register("toy", space, objective, "a parabola")
    yield "toy"
    del tuning.TUNABLE["toy"]


def test_the_search_finds_the_optimum_and_prunes_laggards(toy):
    result = tuning.tune(toy, trials=30, seed=0)
    assert abs(result.best_params["x"] - 0.3) < 0.05
    done = [t for t in result.trials if t["state"] == "COMPLETE"]
    pruned = [t for t in result.trials if t["state"] == "PRUNED"]
    assert result.best_value == min(t["value"] for t in done) and len(result.trials) == 30
    assert pruned, "trials far from the optimum should be pruned"
    for t in pruned:                                  # each was worse than the median of those before it
        earlier = sorted(d["value"] for d in done if d["number"] < t["number"])
        assert (t["params"]["x"] - 0.3) ** 2 > earlier[(len(earlier) - 1) // 2]
    again = tuning.tune(toy, trials=30, seed=0)
    assert again.best_params == result.best_params            # seeded


def test_airline_quick_tunes_on_the_validation_split_only(monkeypatch):
    seen = []
    from lstmkit.forecast import LSTMForecaster
    fit = LSTMForecaster.fit

    def spy(self, y, *a, **kw):
        seen.append(len(y))
        return fit(self, y, *a, **kw)
    monkeypatch.setattr(LSTMForecaster, "fit", spy)
    result = tuning.tune("airline", trials=2, quick=True)
    assert seen == [144 - 12, 144 - 12]                        # the last 12 months are never fitted on
    assert set(result.best_params) == {"hidden_size", "lookback", "lr", "dropout"}


def test_vowels_and_chorales_quick_tune_without_reading_the_test_split(monkeypatch):
    import lstmkit.data.music as music
    import lstmkit.data.sequences as sequences
    splits = []
    for module, name in ((sequences, "load_japanese_vowels"), (music, "load_chorales")):
        real = getattr(module, name)

        def spy(split, *a, _real=real, **kw):
            splits.append(split)
            return _real(split, *a, **kw)
        monkeypatch.setattr(module, name, spy)
    vowels = tuning.tune("japanese-vowels", trials=2, quick=True)
    assert set(vowels.best_params) == {"hidden_size", "pooling", "lr", "dropout"} and vowels.best_value > 0
    chorales = tuning.tune("chorales", trials=2, quick=True)
    assert set(chorales.best_params) == {"hidden_size", "lr", "dropout"}
    assert 0 < chorales.best_value < 88 * 0.6932             # below 88 coin flips (nats per frame)
    assert "test" not in splits and {"train", "valid"} <= set(splits)


def test_errors_are_named(toy, monkeypatch):
    with pytest.raises(ValueError, match="unknown task 'nope' for tuning; the tasks are airline, chorales, japanese-vowels"):
        tuning.tune("nope")
    with pytest.raises(ValueError, match="trials"):
        tuning.tune(toy, trials=0)
    real = builtins.__import__

    def no_optuna(name, *a, **kw):
        if name == "optuna":
            raise ImportError("no optuna")
        return real(name, *a, **kw)
    monkeypatch.setattr(builtins, "__import__", no_optuna)
    with pytest.raises(ValueError, match="pip install optuna"):
        tuning.tune(toy, trials=1)


def test_cli_prints_the_trials_and_writes_json(toy, tmp_path, capsys):
    p = argparse.ArgumentParser()
    tune_cli.add_parser(p.add_subparsers())
    args = p.parse_args(["tune", toy, "--trials", "4", "--json", str(tmp_path / "t.json")])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "best: validation loss" in out
    saved = json.loads((tmp_path / "t.json").read_text())
    assert len(saved["trials"]) == 4 and "x" in saved["best_params"]
