"""``lstmkit plot-curves``: a trainer run's loss per epoch, from its metrics.csv."""

from __future__ import annotations

import torch

from lstmkit.cli import main
from lstmkit.cli.plot import read_curves
from lstmkit.train import TrainConfig, Trainer


def test_plot_curves_of_a_training_run(tmp_path, capsys):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    x, xv = torch.randn(32, 3), torch.randn(32, 3)
    data = (x, x.sum(1, keepdim=True) + torch.randn(32, 1))
    val = (xv, xv.sum(1, keepdim=True) + torch.randn(32, 1))
    result = Trainer(net, TrainConfig(epochs=6, batch_size=8, lr=1e-2, checkpoint_dir=str(tmp_path / "run"))).fit(data, val)
    epochs, train, valid = read_curves(tmp_path / "run" / "metrics.csv")
    assert epochs == [float(r["epoch"]) for r in result.history]                      # the trainer's own rows
    assert valid == [r["val_loss"] for r in result.history]
    assert main(["plot-curves", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    best = min(range(6), key=lambda i: valid[i])
    assert f"best validation loss {valid[best]:.4g} at epoch {best}" in capsys.readouterr().out
    assert main(["plot-curves", str(tmp_path / "run" / "metrics.csv"), "--out", str(tmp_path / "c.svg"), "--linear"]) == 0
    assert (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")


def test_plot_curves_errors(tmp_path, capsys):
    assert main(["plot-curves", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    assert main(["plot-curves", str(tmp_path / "bad.csv")]) == 2
    assert "not a metrics CSV" in capsys.readouterr().err
    (tmp_path / "nan.csv").write_text("epoch,train_loss,val_loss\n0,1.0,x\n")
    assert main(["plot-curves", str(tmp_path / "nan.csv")]) == 2
    assert "line 2: val_loss must be a number, got 'x'" in capsys.readouterr().err
