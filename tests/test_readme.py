"""The README's example runs as written and its comments tell the truth about shapes."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    out, h, c = namespace["out"], namespace["h"], namespace["c"]
    assert tuple(out.data.shape) == (29, 64)                   # the packed output: 10+7+3+9 steps
    assert tuple(h.shape) == (4, 32) and tuple(c.shape) == (4, 32)   # the LSTMCell's last step
    assert namespace["lstmkit"].cells() == ["vanilla", "forget", "peephole", "cifg", "layernorm"]


def test_readme_test_command_is_what_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in README.read_text()


def test_readme_parallel_example_runs():
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S) if "ParallelLSTM(16" in b)
    namespace: dict = {}
    exec(compile("import torch, lstmkit\n" + block, "README.md", "exec"), namespace)
    assert tuple(namespace["out"].shape) == (16, 100, 1, 4)
    assert namespace["pair"].num_networks == 2 and namespace["pair"].networks[0] is namespace["net_a"]


def _block(marker: str) -> str:
    return next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S) if marker in b)


def test_readme_trainer_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_block("TrainConfig("), "README.md", "exec"), namespace)
    assert namespace["result"].epochs >= 1 and (tmp_path / "runs" / "demo" / "checkpoint.safetensors").is_file()


def test_readme_forecast_example_runs(capsys):
    namespace: dict = {}
    exec(compile(_block("LSTMForecaster("), "README.md", "exec"), namespace)
    forecast = namespace["model"].predict()
    assert str(forecast.index[0]) == "1959-01" and str(forecast.index[-1]) == "1960-12"
    out = capsys.readouterr().out
    assert all(name in out for name in ("LSTM", "naive", "seasonal naive", "ETS", "ARIMA"))


def test_readme_models_example_runs(capsys):
    namespace: dict = {}
    exec(compile(_block("SequenceClassifier("), "README.md", "exec"), namespace)
    assert namespace["clf"].predict_proba(namespace["X_test"][:3]).shape == (3, 9)
    assert namespace["clf"].score(namespace["X_test"], namespace["y_test"]) > 0.9
    assert namespace["weights"].shape == (len(namespace["output"]), len("3 March 1999"))   # output x input characters
    out = capsys.readouterr().out
    assert "ROMEO:" in out


def test_readme_explain_example_runs():
    namespace: dict = {}
    exec(compile(_block("from lstmkit.explain import trace"), "README.md", "exec"), namespace)
    cells, marked = namespace["cells"], namespace["marked"]
    assert cells["forget"].shape == (32, namespace["x"].shape[1], 8)     # sequence, step, unit
    assert namespace["x"].shape[1] == 22                                 # lengths 20..22 for T = 20
    from lstmkit.explain import jump_ratio
    assert jump_ratio(cells, marked)[namespace["writer"][0]] > 3.0
    a = namespace["a"]
    assert a.per_step.shape == (32, 22) and abs(a.delta).max() < 1e-3
