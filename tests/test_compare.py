"""lstmkit.models.compare and ``lstmkit compare``: budgets matched by brute force, the last-step
head read by hand, a long-lag task learned, the table and the CLI."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from lstmkit.cli import compare as compare_cli
from lstmkit.models import KINDS, count_parameters
from lstmkit.models.classifier import SequenceClassifier
from lstmkit.models.compare import TASKS, LastStep, Run, Settings, compare, format_runs, matched_hidden
from lstmkit.models.music import PianoRollModel


@pytest.mark.parametrize("kind", KINDS)
def test_matched_hidden_is_the_closest_parameter_count(kind):
    step = 4 if kind in ("hybrid", "transformer") else 1
    sizes = {h: count_parameters(LastStep(kind, 2, h, 1)) for h in range(step, 41, step)}
    best = min(sizes, key=lambda h: abs(sizes[h] - 3000))
    assert matched_hidden("adding", kind, 3000) == best


@pytest.mark.parametrize("kind", KINDS)
def test_the_head_reads_each_sequence_at_its_last_real_step(kind):
    torch.manual_seed(0)
    model = LastStep(kind, 3, 8, 2).eval()
    x, lengths = torch.randn(3, 6, 3), torch.tensor([6, 2, 4])
    out, _ = model.encoder(x, lengths)
    by_hand = model.head(torch.stack([out[0, 5], out[1, 1], out[2, 3]]))
    torch.testing.assert_close(model(x, lengths), by_hand)
    alone = model(x[1:2, :2], torch.tensor([2]))                    # the padding after step 2 is not read
    torch.testing.assert_close(model(x, lengths)[1:2], alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_dataset_budgets_match_the_whole_models_built_by_hand(kind):
    step = 4 if kind in ("hybrid", "transformer") else 1

    def classifier(h):
        model = SequenceClassifier(kind, hidden_size=h, bidirectional=True)
        model._build(12, 9, None)                      # 12 channels, 9 speakers
        return count_parameters(model)

    def piano_roll(h):
        model = PianoRollModel(kind, hidden_size=h)
        model._build()
        return count_parameters(model)

    for task, build, budget, top in (("japanese-vowels", classifier, 20_000, 64), ("chorales", piano_roll, 30_000, 96)):
        sizes = {h: build(h) for h in range(step, top + 1, step)}
        best = min(sizes, key=lambda h: abs(sizes[h] - budget))
        assert matched_hidden(task, kind, budget) == best, task


def test_the_dataset_tasks_run_their_models_and_report_the_metric_the_right_way_up():
    jv = compare("japanese-vowels", ["lstm", "transformer"], quick=True, budget=5_000)
    assert [r.model for r in jv] == ["lstm", "transformer"]
    assert all(r.higher and 0 <= r.value <= 100 and r.steps == 2 * 2 for r in jv)   # 54 items, batch 32, 2 epochs
    assert abs(jv[0].parameters - 5_000) < 400 and abs(jv[1].parameters - 5_000) < 1_000
    (chorales,) = compare("chorales", ["gru"], quick=True, budget=20_000)
    assert not chorales.higher and chorales.metric.startswith("test NLL")
    assert 0 < chorales.value < 88 * np.log(2)      # below 88 coin flips: the head starts at the key frequencies
    assert np.isfinite(chorales.extra["valid NLL"]) and abs(chorales.parameters - 20_000) < 300


def test_an_lstm_learns_the_adding_problem_at_a_short_lag():
    runs = compare("adding", ["lstm"], T=12, steps=600, minutes=5)
    (run,) = runs
    assert run.steps == 600 and run.parameters == count_parameters(LastStep("lstm", 2, run.hidden_size, 1))
    assert run.extra["test MSE"] < 0.01          # predicting the mean gives (1/3 + 1/3) / 16 = 0.042
    assert run.value > 50


def test_quick_runs_every_kind_and_the_table_marks_the_best():
    runs = compare("temporal-order", quick=True)
    assert [r.model for r in runs] == list(KINDS)
    assert all(0 <= r.value <= 100 and r.steps == 30 for r in runs)
    table = format_runs(runs)
    best = max(runs, key=lambda r: r.value)
    assert f"{best.value:>8.4g}*" in table and table.count("*") >= 1
    low = [Run("t", "a", 1, 1, "err", 2.0, higher=False), Run("t", "b", 1, 1, "err", 1.0, higher=False)]
    assert format_runs(low).splitlines()[2].split()[5] == "1*"


def test_errors_are_named():
    with pytest.raises(ValueError, match="unknown task 'sorting'; the tasks are adding, chorales, japanese-vowels, temporal-order"):
        compare("sorting")
    with pytest.raises(ValueError, match="models must be some of lstm, gru, hybrid, transformer"):
        compare("adding", ["rnn"])
    with pytest.raises(ValueError, match="budget"):
        compare("adding", budget=0)


def test_cli_quick_writes_the_table_and_json(tmp_path, capsys):
    p = argparse.ArgumentParser()
    compare_cli.add_parser(p.add_subparsers())
    args = p.parse_args(["compare", "adding", "--quick", "--models", "lstm,transformer", "--json",
                         str(tmp_path / "r.json")])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "adding T=20" in out and "transformer" in out
    rows = json.loads((tmp_path / "r.json").read_text())
    assert [r["model"] for r in rows] == ["lstm", "transformer"] and np.isfinite(rows[0]["value"])


def test_cli_all_runs_every_task_into_one_table(capsys):
    p = argparse.ArgumentParser()
    compare_cli.add_parser(p.add_subparsers())
    args = p.parse_args(["compare", "all", "--quick", "--models", "lstm"])
    assert args.run(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in table[1:]] == ["adding", "temporal", "japanese", "bach"]
    assert len(TASKS) == 4
    args = p.parse_args(["compare", "all", "--quick", "--budget", "100"])
    with pytest.raises(ValueError, match="--budget applies to one task"):
        args.run(args)


def test_save_dir_keeps_every_model_and_they_load_back(tmp_path, capsys):
    p = argparse.ArgumentParser()
    compare_cli.add_parser(p.add_subparsers())
    args = p.parse_args(["compare", "temporal-order", "--quick", "--models", "lstm,gru", "--save-dir",
                         str(tmp_path / "models")])
    assert args.run(args) == 0
    assert "models saved in" in capsys.readouterr().out
    assert sorted(f.name for f in (tmp_path / "models").iterdir()) == ["temporal-order-gru.safetensors",
                                                                      "temporal-order-lstm.safetensors"]
    model = LastStep.load(tmp_path / "models" / "temporal-order-gru.safetensors")
    x, lengths = torch.randn(3, 9, 8), torch.tensor([9, 4, 6])
    assert model(x, lengths).shape == (3, 4) and model.encoder.kind == "gru"
    torch.manual_seed(1)
    fresh = LastStep("hybrid", 8, 8, 4).eval()
    Settings(save_dir=tmp_path).save("t", "hybrid", fresh)
    torch.testing.assert_close(LastStep.load(tmp_path / "t-hybrid.safetensors")(x, lengths), fresh(x, lengths))
    (run,) = compare("japanese-vowels", ["lstm"], quick=True, budget=5_000, save_dir=tmp_path)
    from lstmkit.data.sequences import load_japanese_vowels
    X, y = load_japanese_vowels("test")
    again = SequenceClassifier.load(tmp_path / "japanese-vowels-lstm.safetensors")
    assert 100 * again.score(X[::5], y[::5]) == pytest.approx(run.value)
    with pytest.raises(ValueError, match="is not a directory"):
        compare("adding", ["lstm"], quick=True, save_dir=tmp_path / "missing")
    with pytest.raises(ValueError, match="not a model saved by lstmkit compare"):
        LastStep.load(tmp_path / "japanese-vowels-lstm.safetensors")


def test_cli_steps_caps_the_long_lag_training(capsys):
    p = argparse.ArgumentParser()
    compare_cli.add_parser(p.add_subparsers())
    args = p.parse_args(["compare", "adding", "--T", "12", "--steps", "7", "--models", "gru", "--minutes", "5"])
    assert args.run(args) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:3] == ["adding", "T=12", "gru"] and row[-5] == "7"        # steps, time, "test MSE" and its value
    args = p.parse_args(["compare", "adding", "--steps", "0"])
    with pytest.raises(ValueError, match="--steps must be at least 1, got 0"):
        args.run(args)
