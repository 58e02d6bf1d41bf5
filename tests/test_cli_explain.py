"""``lstmkit explain``: train-and-explain the adding problem, explain saved models (a task network,
text and numeric classifiers), and clear errors for bad requests."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from lstmkit.cli import main
from lstmkit.models import SequenceClassifier


def report_data(index) -> dict:
    html = index.read_text(encoding="utf-8")
    raw = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(raw.replace("<\\/", "</"))


@pytest.fixture(scope="module")
def adding_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("adding")
    rc = main(["explain", "--task", "adding", "--T", "20", "--steps", "1500", "--sequences", "4",
               "--out", str(out / "report"), "--save", str(out / "adding.safetensors")])
    return rc, out


def test_explain_task_adding_writes_a_report_that_finds_the_marker_unit(adding_run, capsys):
    rc, out = adding_run
    assert rc == 0
    data = report_data(out / "report" / "index.html")
    assert len(data["sequences"]) == 4 and data["sequences"][0]["input_names"] == ["value", "marker"]
    layer = data["layers"][0]
    assert layer["quantities"] == ["input", "forget", "output", "cell_input", "cell", "hidden"]
    jumps = np.array(layer["unit_stats"]["marker_jump"], dtype=float)
    assert jumps.max() > 3.0                                      # a unit writes at the markers
    assert any("jumps at the marked inputs" in h["why"] and h["unit"] == int(jumps.argmax())
               for h in data["highlights"])
    for s in data["sequences"]:                                   # attributions are there and complete-ish
        assert len(s["attribution"]) == s["length"]
        assert abs(sum(s["attribution"])) > 0
    for png in ("learning-curve.png", "attribution.png"):
        assert (out / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the saved network reads back and explains again, without retraining
    rc = main(["explain", str(out / "adding.safetensors"), "--out", str(out / "again"), "--no-attribution"])
    assert rc == 0
    again = report_data(out / "again" / "index.html")
    assert again["sequences"][0]["attribution"] is None
    assert np.array(again["layers"][0]["unit_stats"]["marker_jump"], dtype=float).max() > 3.0


def test_explain_a_text_classifier_shows_its_tokens_and_attention(tmp_path):
    texts = ["good fine great film", "bad awful film", "great good", "awful bad bad"] * 4
    clf = SequenceClassifier(hidden_size=6, embedding_size=6, epochs=2, pooling="attention",
                             val_fraction=0.0).fit(texts, ["pos", "neg", "pos", "neg"] * 4)
    clf.save(tmp_path / "clf.safetensors")
    rc = main(["explain", str(tmp_path / "clf.safetensors"), "--text", "a great good film", "--text", "bad",
               "--out", str(tmp_path / "r")])
    assert rc == 0
    data = report_data(tmp_path / "r" / "index.html")
    s = data["sequences"][0]
    assert s["tokens"][1:] == ["great", "good", "film"] and s["inputs"] == []
    assert s["prediction"].startswith(("pos", "neg"))
    assert abs(sum(s["attention"]) - 1) < 1e-3
    assert [lay["name"] for lay in data["layers"]] == ["encoder_.rnn.layer 0 forward", "encoder_.rnn.layer 0 reverse"]


def test_explain_a_numeric_classifier_from_npy_and_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(n), 2)) for n in rng.integers(5, 9, 16)]
    y = [int(a[:, 0].mean() > 0) for a in X]
    clf = SequenceClassifier(hidden_size=4, epochs=1, val_fraction=0.0, bidirectional=False).fit(X, y)
    clf.save(tmp_path / "num.safetensors")
    np.save(tmp_path / "x.npy", rng.normal(size=(3, 6, 2)))
    assert main(["explain", str(tmp_path / "num.safetensors"), "--input", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "a")]) == 0
    assert len(report_data(tmp_path / "a" / "index.html")["sequences"]) == 3
    (tmp_path / "x.csv").write_text("a,b,label\n0.1,0.2,x\n0.3,-0.1,y\n1.0,0.5,z\n")   # text columns are dropped
    assert main(["explain", str(tmp_path / "num.safetensors"), "--input", str(tmp_path / "x.csv"),
                 "--out", str(tmp_path / "b"), "--no-attribution"]) == 0
    assert report_data(tmp_path / "b" / "index.html")["sequences"][0]["length"] == 3


@pytest.mark.parametrize("argv,message", [
    (["explain"], "either a CHECKPOINT"),
    (["explain", "x.safetensors", "--task", "adding"], "either a CHECKPOINT"),
    (["explain", "missing.safetensors"], "does not exist"),
    (["explain", "--task", "reber"], "task must be one of 'adding'"),
    (["explain", "--task", "adding", "--steps", "0"], "--steps must be at least 1"),
])
def test_bad_requests_exit_2_with_a_message(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_inputs_for_a_saved_model(adding_run, tmp_path, capsys):
    _, out = adding_run
    ckpt = str(out / "adding.safetensors")
    bad = np.zeros((2, 5, 2))
    bad[1, 3, 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    assert main(["explain", ckpt, "--input", str(tmp_path / "nan.npy"), "--out", str(tmp_path / "r")]) == 2
    assert "sequence 1 has NaN or inf at step 3" in capsys.readouterr().err
    np.save(tmp_path / "three.npy", np.zeros((2, 5, 3)))
    assert main(["explain", ckpt, "--input", str(tmp_path / "three.npy"), "--out", str(tmp_path / "r")]) == 2
    assert "3 features per step, the model takes 2" in capsys.readouterr().err
    (tmp_path / "x.json").write_text("{}")
    assert main(["explain", ckpt, "--input", str(tmp_path / "x.json"), "--out", str(tmp_path / "r")]) == 2
    assert "must be a .npy, .csv or .txt file" in capsys.readouterr().err
