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
    assert set(vowels.best_params) == {"hidden_size", "pooling", "lr", "dropout", "recurrent_dropout", "weight_drop",
                                       "weight_decay"} and vowels.best_value > 0
    chorales = tuning.tune("chorales", trials=2, quick=True)
    assert set(chorales.best_params) == {"hidden_size", "lr", "dropout"}
    assert 0 < chorales.best_value < 88 * 0.6932             # below 88 coin flips (nats per frame)
    assert "test" not in splits and {"train", "valid"} <= set(splits)


def test_errors_are_named(toy, monkeypatch):
    with pytest.raises(ValueError, match="unknown task 'nope' for tuning; the tasks are airline, chorales, japanese-vowels, "
                                         "movie-reviews"):
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
    args = p.parse_args(["tune", toy, "--trials", "4", "--json", str(tmp_path / "t.json"),
                         "--storage", f"sqlite:///{tmp_path / 'cli.db'}"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "best: validation loss" in out
    saved = json.loads((tmp_path / "t.json").read_text())
    assert len(saved["trials"]) == 4 and "x" in saved["best_params"] and "x" in saved["importances"]
    assert "study kept in sqlite" in out
    args = p.parse_args(["tune", toy, "--trials", "6", "--resume", "--storage", f"sqlite:///{tmp_path / 'cli.db'}"])
    assert args.run(args) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if " COMPLETE " in line or " PRUNED " in line]
    assert len(rows) == 6                                         # the 4 stored trials and 2 more


def test_a_stored_study_resumes_after_its_process_was_killed(toy, tmp_path):
    import optuna
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    first = tuning.tune(toy, trials=3, seed=0, storage=url)
    assert len(first.trials) == 3
    study = optuna.load_study(study_name="toy", storage=url)
    study.ask()                                                   # a trial left RUNNING, as by a SIGKILL
    with pytest.raises(ValueError, match="a study named 'toy' already exists .* resume it"):
        tuning.tune(toy, trials=5, storage=url)
    resumed = tuning.tune(toy, trials=5, seed=0, storage=url, resume=True)
    finished = [t for t in resumed.trials if t["state"] in ("COMPLETE", "PRUNED")]
    assert len(finished) == 5 and [t["state"] for t in resumed.trials].count("RUNNING") == 1
    assert [t["params"] for t in resumed.trials[:3]] == [t["params"] for t in first.trials]   # kept, not redone
    xs = [t["params"]["x"] for t in finished]
    assert len(set(xs)) == 5                                      # the new trials are new configurations
    assert set(resumed.importances) == {"x"} and resumed.importances["x"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="cannot be opened"):
        tuning.tune(toy, trials=1, storage="nosuchdb://x")


def test_movie_reviews_quick_tune_searches_the_regularisers():
    result = tuning.tune("movie-reviews", trials=2, quick=True)
    assert {"embedding_dropout", "recurrent_dropout", "weight_drop", "weight_decay"} <= set(result.best_params)
    assert result.best_value > 0
