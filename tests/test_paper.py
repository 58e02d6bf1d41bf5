"""The 1997 paper's adding and multiplication tasks, its networks and stopping rule, and
``lstmkit reproduce`` end to end."""

from __future__ import annotations

import json

import pytest
import torch

import lstmkit
from lstmkit.cli import main
from lstmkit.paper import get
from lstmkit.paper.faithful import ST3, Network, Trial, count_weights
from lstmkit.tasks.adding import adding_batch


@pytest.mark.parametrize("multiply", [False, True])
def test_adding_sequences_follow_the_papers_text(multiply):
    T = 100
    x, lengths, target = adding_batch(4000, T, multiply=multiply, generator=torch.Generator().manual_seed(1))
    assert lengths.min() >= T and lengths.max() <= T + T // 10
    assert set(lengths.unique().tolist()) == set(range(T, T + T // 10 + 1))      # uniform over the range
    values, markers = x[..., 0], x[..., 1]
    rows = torch.arange(len(x))
    steps = torch.arange(x.shape[1])[None, :]
    pad = steps >= lengths[:, None]
    assert (values[pad] == 0).all() and (markers[pad] == 0).all()
    assert (markers[:, 0] == -1).all() and (markers[rows, lengths - 1] == -1).all()
    assert ((markers == -1).sum(1) == 2).all()
    real = values[~pad]
    assert real.min() >= (0.0 if multiply else -1.0) and real.max() <= 1.0
    assert real.min() < (0.01 if multiply else -0.99) and real.max() > 0.99
    marked = markers == 1
    count = marked.sum(1)
    assert ((count == 1) | (count == 2)).all()
    first_was_first_pair = count == 1                    # X1 fell on the first pair: it keeps −1, X1 = 0
    assert 0.07 < first_was_first_pair.float().mean() < 0.13        # 1 in 10
    pos = torch.where(marked, steps.expand_as(marked), x.shape[1])
    earliest, latest = pos.min(1).values, torch.where(marked, steps, -1).max(1).values
    assert (earliest[count == 2] < 10).all()             # X1 among the first ten pairs
    assert (latest <= T // 2).all() and (latest >= 1).all()   # X2 early enough: lag >= T/2
    assert (lengths - 1 - latest >= T // 2 - 1).all()
    if multiply:
        want = torch.where(marked, values, torch.ones_like(values)).prod(1)
    else:
        want = 0.5 + (values * marked).sum(1) / 4.0
    torch.testing.assert_close(target, want)


def test_adding_rejects_sequences_too_short_for_its_markers():
    with pytest.raises(ValueError, match=r"T must be .*>= 12"):
        adding_batch(3, 10)


def test_the_adding_network_has_the_papers_93_weights_and_initialisation():
    net = get("adding").settings[0].network
    assert count_weights(net) == 93
    torch.manual_seed(0)
    trial = Trial(net)
    bias = trial.lstm.bias_ih_l0
    assert bias[:2].tolist() == [-3.0, -6.0]                     # input gates, block by block
    others = [p for n, p in trial.named_parameters() if n != "lstm.bias_ih_l0"] + [bias[2:]]
    assert all(p.abs().max() <= 0.1 for p in others)
    assert trial.lstm.cells[0].config["truncated"] and trial.lstm.cells[0].config["recurrent_gates"]
    # outputs see the cells only, in the same step: the output is the logistic of a linear map of
    # the cell outputs at each sequence's last step
    x, lengths, _ = adding_batch(3, 20, generator=torch.Generator().manual_seed(0))
    out, _ = trial.lstm(x.transpose(0, 1), lengths=lengths)
    last = out[lengths - 1, torch.arange(3)]
    torch.testing.assert_close(trial(x, lengths), torch.sigmoid(last @ trial.out.weight.t() + trial.out.bias))


@pytest.mark.parametrize("net,weights", [
    (Network(7, 7, 4, 1, 0.2, None, (-1.0, -2.0, -3.0, -4.0), cell_bias=False, output_bias=False), 264),
    (Network(7, 7, 3, 2, 0.2, None, (-1.0, -2.0, -3.0), cell_bias=False, output_bias=False), 276),
    (Network(1, 1, 3, 1, 0.1, (-1.0, -3.0, -5.0), (-2.0, -4.0, -6.0), output_bias=False), 102),
    (Network(8, 4, 2, 2, 0.1, (-2.0, -4.0), None), 156),
    (Network(8, 8, 3, 2, 0.1, (-2.0, -4.0, -6.0), None), 308),
])
def test_other_experiments_networks_have_the_papers_weight_counts(net, weights):
    assert count_weights(net) == weights


def test_st3_stops_only_when_the_whole_window_is_right_and_its_mean_error_low():
    rule = ST3(window=4, beta=0.01)
    assert not any(rule.add(0.001, True) for _ in range(3))      # window not full yet
    assert rule.add(0.001, True)
    assert not rule.add(0.001, False)                             # one wrong sequence in the window
    assert not any(rule.add(0.001, True) for _ in range(3))      # still in the window
    assert rule.add(0.001, True)                                  # pushed out
    rule = ST3(window=2, beta=0.01)
    rule.add(0.005, True)
    assert not rule.add(0.02, True)                               # mean 0.0125 >= β
    assert not rule.add(0.0, True)                                # mean 0.01: not below β
    assert rule.mean == pytest.approx(0.01)
    assert rule.add(0.0, True)


def test_reproduce_adding_end_to_end(tmp_path, capsys):
    path = tmp_path / "r.json"
    assert main(["reproduce", "adding", "--T", "20", "--trials", "2", "--quick", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "adding T=20" in out and "paper: % solved" in out and "sequences" in out
    rows = json.loads(path.read_text())
    assert len(rows) == 1 and len(rows[0]["trials"]) == 2
    assert rows[0]["config"]["mode"] == "faithful" and rows[0]["config"]["network"]["blocks"] == 2
    for trial in rows[0]["trials"]:
        assert trial["sequences"] <= 2000 and trial["test_size"] == 2560 and 0 <= trial["wrong"] <= 2560


def test_reproduce_lists_and_names_bad_input(capsys):
    assert main(["reproduce", "--list"]) == 0
    assert "adding" in capsys.readouterr().out
    assert main(["reproduce", "adding", "--T", "5"]) == 2
    assert "T must be" in capsys.readouterr().err
    assert main(["reproduce", "nonsense"]) == 2
    assert "unknown experiment 'nonsense'" in capsys.readouterr().err


def test_the_python_api_returns_the_same_results():
    results = lstmkit.tasks.get("adding").reproduce(trials=1, T=16, max_sequences=50)
    assert results[0].setting == "T=16" and results[0].trials[0].sequences == 50
    assert results[0].trials[0].solved is False


def test_tasks_are_reachable_from_a_bare_import():
    import subprocess
    import sys
    code = "import lstmkit; print(lstmkit.tasks.names(), lstmkit.tasks.get('adding').number)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == "['adding'] 4"
