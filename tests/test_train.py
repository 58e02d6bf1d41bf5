"""The trainer (lstmkit.train): against hand-written torch loops, and at the level of processes
(SIGKILL and resume, torchrun with 2 processes)."""

from __future__ import annotations

import io
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

import lstmkit
from lstmkit.train import (CheckpointError, NonFiniteLossError, TrainConfig, Trainer, fit, load, load_weights)
from lstmkit.train.checkpoint import write_atomic
from lstmkit.train.monitor import Progress
from lstmkit.train.optim import lr_factor as _lr_factor

SCRIPT = Path(__file__).with_name("train_script.py")


class Last(nn.Module):
    """LSTM + linear head on the last step: (B, T, I) -> (B, 1)."""

    def __init__(self, inputs: int = 2, hidden: int = 6, dropout: float = 0.0) -> None:
        super().__init__()
        self.lstm = lstmkit.LSTM(inputs, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.lstm(x)[0][:, -1]))


class Stream(nn.Module):
    """LSTM + linear head at every step, state in and out: for truncated BPTT."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = lstmkit.LSTM(1, 5, batch_first=True)
        self.head = nn.Linear(5, 1)

    def forward(self, x, state=None):
        out, state = self.lstm(x, state)
        return self.head(out), state


def data(n: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, 2, generator=g)
    return x, x[:, :, :1].sum(1) * 0.5


def model(seed: int = 1, **kw) -> Last:
    torch.manual_seed(seed)
    return Last(**kw)


def same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


# -- the loop against a hand-written one ----------------------------------------------------------------

def test_sgd_in_order_equals_a_hand_written_loop():
    x, y = data()
    ours, ref = model(), model()
    Trainer(ours, epochs=3, batch_size=8, lr=0.05, optimizer="sgd", clip=None, shuffle=False, progress=False).fit((x, y))
    opt = torch.optim.SGD(ref.parameters(), lr=0.05)
    for _ in range(3):
        for i in range(0, 40, 8):
            opt.zero_grad()
            nn.functional.mse_loss(ref(x[i:i + 8]), y[i:i + 8]).backward()
            opt.step()
    assert same(ours, ref)


def test_adam_clipping_and_a_ragged_last_batch_equal_a_hand_written_loop():
    x, y = data(37)
    ours, ref = model(), model()
    Trainer(ours, epochs=2, batch_size=10, lr=0.01, clip=0.1, shuffle=False, progress=False).fit((x, y))
    opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    for _ in range(2):
        for i in range(0, 37, 10):
            opt.zero_grad()
            nn.functional.mse_loss(ref(x[i:i + 10]), y[i:i + 10]).backward()
            torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.1)
            opt.step()
    assert same(ours, ref)


def test_the_loss_falls_and_the_history_has_a_row_per_epoch():
    x, y = data(64)
    result = Trainer(model(), epochs=15, batch_size=8, lr=0.02, val_fraction=0.25, progress=False).fit((x, y))
    assert result.epochs == 15 and result.steps == 15 * 6
    assert result.history[-1]["train_loss"] < 0.5 * result.history[0]["train_loss"]
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]


def test_same_seed_same_weights_other_seed_other_weights():
    x, y = data()
    runs = []
    for seed in (0, 0, 1):
        m = model(dropout=0.3)
        Trainer(m, epochs=2, batch_size=8, seed=seed, progress=False).fit((x, y))
        runs.append(m)
    assert same(runs[0], runs[1]) and not same(runs[0], runs[2])


def test_numpy_float64_inputs_become_the_models_dtype_and_a_dataset_works():
    x, y = data()
    a, b = model(), model()
    Trainer(a, epochs=1, batch_size=8, shuffle=False, progress=False).fit((x.double().numpy(), y.double().numpy()))
    Trainer(b, epochs=1, batch_size=8, shuffle=False, progress=False).fit(torch.utils.data.TensorDataset(x, y))
    assert same(a, b)


def test_a_custom_step_replaces_the_loss():
    x, y = data()
    calls = []

    def step(net, batch):
        calls.append(len(batch[0]))
        return (net(batch[0]) - batch[1]).abs().mean()

    Trainer(model(), epochs=1, batch_size=16, step=step, progress=False).fit((x, y))
    assert calls == [16, 16, 8]


# -- schedules and early stopping -----------------------------------------------------------------------

def test_learning_rate_schedules_by_hand():
    cfg = TrainConfig(schedule="cosine", warmup_steps=0)
    assert _lr_factor(cfg, 0, 0, 100) == 1.0
    assert _lr_factor(cfg, 50, 0, 100) == pytest.approx(0.5)
    assert _lr_factor(cfg, 100, 0, 100) == pytest.approx(0.0)
    warm = TrainConfig(schedule="linear", warmup_steps=10)
    assert _lr_factor(warm, 4, 0, 110) == pytest.approx(0.5)          # (4 + 1) / 10
    assert _lr_factor(warm, 60, 0, 110) == pytest.approx(0.5)         # half-way through the 100 after it
    steps = TrainConfig(schedule="step", lr_step_epochs=2, lr_gamma=0.1)
    assert [_lr_factor(steps, 0, e, 10) for e in range(5)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])


def test_plateau_lowers_the_rate_when_the_validation_loss_stalls():
    x, y = data()
    # validation targets the opposite of the training ones: the validation loss rises as training goes on
    result = Trainer(model(), epochs=6, batch_size=8, lr=0.02, schedule="plateau", lr_patience=2, lr_gamma=0.5,
                     progress=False).fit((x, y), val=(x, -y))
    lrs = [row["lr"] for row in result.history]
    assert lrs[0] == lrs[1] == 0.02 and lrs[3] == pytest.approx(0.01) and lrs[5] == pytest.approx(0.005)


def test_early_stopping_stops_and_restores_the_best_epoch():
    x, y = data()
    cfg = dict(batch_size=8, lr=0.02, patience=2, progress=False)
    m = model()
    result = Trainer(m, epochs=20, **cfg).fit((x, y), val=(x, -y))
    assert result.stopped_early and result.epochs == 3 and result.best_epoch == 0
    one_epoch = model()
    Trainer(one_epoch, epochs=1, **cfg).fit((x, y), val=(x, -y))
    assert same(m, one_epoch)


def test_on_epoch_sees_every_row_can_stop_the_run_and_its_exceptions_propagate():
    x, y = data()
    seen = []
    stop_after_two = lambda row: seen.append(row) or row["epoch"] == 1        # noqa: E731
    m = model()
    result = Trainer(m, epochs=10, batch_size=8, progress=False, on_epoch=stop_after_two).fit((x, y), val=(x, y))
    assert [r["epoch"] for r in seen] == [0, 1] and result.epochs == 2 and result.stopped_early
    assert seen[1]["val_loss"] == result.history[1]["val_loss"]
    two = model()
    Trainer(two, epochs=2, batch_size=8, progress=False).fit((x, y), val=(x, y))
    assert same(m, two)                                                    # stopping is all it changed

    class Pruned(Exception):
        pass

    def prune(row):
        raise Pruned(row["epoch"])
    with pytest.raises(Pruned):
        Trainer(model(), epochs=3, batch_size=8, progress=False, on_epoch=prune).fit((x, y))
    with pytest.raises(TypeError, match="on_epoch must be a callable"):
        Trainer(model(), on_epoch=3)


# -- truncated BPTT -------------------------------------------------------------------------------------

def streams(B=4, N=24):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(B, N, 1, generator=g)
    return x, torch.cumsum(x, 1) * 0.2


def twins(seed: int) -> tuple[Stream, Stream]:
    torch.manual_seed(seed)
    a = Stream()
    torch.manual_seed(seed)
    return a, Stream()


def test_tbptt_k1_equals_k2_carries_the_detached_state_across_chunks():
    x, y = streams()
    ours, ref = twins(2)
    Trainer(ours, epochs=2, batch_size=2, lr=0.1, optimizer="sgd", clip=None, shuffle=False, tbptt=(6, 6),
            progress=False).fit((x, y))
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    for _ in range(2):
        for g in (slice(0, 2), slice(2, 4)):
            state = None
            for t in range(0, 24, 6):
                pred, state = ref(x[g, t:t + 6], state)
                state = tuple(s.detach() for s in state)
                opt.zero_grad()
                nn.functional.mse_loss(pred, y[g, t:t + 6]).backward()
                opt.step()
    assert same(ours, ref)


def test_tbptt_k2_reaches_back_over_earlier_steps():
    # with k2 = 3 k1 and 3 chunks every update's window starts at step 0: each update is the exact
    # gradient of its chunk's loss through the whole stream so far, with the current weights
    x, y = streams(B=2, N=12)
    ours, ref = twins(3)
    Trainer(ours, epochs=1, batch_size=2, lr=0.1, optimizer="sgd", clip=None, shuffle=False, tbptt=(4, 12),
            progress=False).fit((x, y))
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    for t in range(0, 12, 4):
        pred, _ = ref(x[:, : t + 4])
        opt.zero_grad()
        nn.functional.mse_loss(pred[:, t:], y[:, t: t + 4]).backward()
        opt.step()
    assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(ours.parameters(), ref.parameters()))
    torch.manual_seed(3)
    plain = Stream()
    Trainer(plain, epochs=1, batch_size=2, lr=0.1, optimizer="sgd", clip=None, shuffle=False, tbptt=(4, 4),
            progress=False).fit((x, y))
    assert not same(plain, ours)


def test_tbptt_k2_gradients_are_truncated_k2_steps_back():
    # with lr = 0 the weights never change, so the carried state is the exact state: each update's
    # gradient is that of its chunk's loss through the k2 steps before the chunk's end, the state
    # there detached (computed here from scratch for every update)
    x, y = streams(B=2, N=16)
    ours, ref = twins(4)
    result = Trainer(ours, epochs=1, batch_size=2, lr=0.0, optimizer="sgd", clip=None, shuffle=False, tbptt=(4, 8),
                     progress=False).fit((x, y))
    norms = []
    for t0 in range(0, 16, 4):
        start = max(0, t0 - 4)
        state = None if start == 0 else tuple(s.detach() for s in ref(x[:, :start])[1])
        pred, _ = ref(x[:, start: t0 + 4], state)
        ref.zero_grad()
        nn.functional.mse_loss(pred[:, t0 - start:], y[:, t0: t0 + 4]).backward()
        norms.append(torch.sqrt(sum((p.grad ** 2).sum() for p in ref.parameters())).item())
    assert result.history[0]["grad_norm"] == pytest.approx(np.mean(norms), rel=1e-5)


def test_tbptt_validation_splits_the_time_axis():
    x, y = streams(N=30)
    result = Trainer(Stream(), epochs=2, batch_size=4, tbptt=(5, 5), val_fraction=0.2, progress=False).fit((x, y))
    assert result.steps == 2 * 5 and result.history[-1]["val_loss"] is not None


# -- checkpoints ----------------------------------------------------------------------------------------

def test_checkpoint_holds_weights_config_and_metrics(tmp_path):
    x, y = data()
    m = model()
    Trainer(m, epochs=2, batch_size=8, checkpoint_dir=str(tmp_path), progress=False, val_fraction=0.2,
            extra={"note": "x"}).fit((x, y))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.safetensors", "config.json", "metrics.csv"]
    fresh = model(seed=9)
    meta = load_weights(fresh, tmp_path / "checkpoint.safetensors")
    assert same(fresh, m)
    assert TrainConfig.from_dict(meta["config"]) == TrainConfig.from_json_file(tmp_path / "config.json")
    assert meta["state"]["finished"] and meta["config"]["extra"] == {"note": "x"}
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert rows[0] == "epoch,step,train_loss,val_loss,lr,grad_norm,seconds" and len(rows) == 3


def test_resume_in_process_equals_the_uninterrupted_run(tmp_path):
    x, y = data(48)
    cfg = dict(epochs=4, batch_size=8, lr=0.01, schedule="cosine", val_fraction=0.25, val_split="random",
               checkpoint_every=4, progress=False)
    whole = model(dropout=0.3)
    Trainer(whole, checkpoint_dir=str(tmp_path / "a"), **cfg).fit((x, y))
    calls = []

    def crash_at_the_11th_batch(net, batch):
        calls.append(1)
        if len(calls) == 11:
            raise KeyboardInterrupt
        return nn.functional.mse_loss(net(batch[0]), batch[1])

    with pytest.raises(KeyboardInterrupt):
        Trainer(model(dropout=0.3), checkpoint_dir=str(tmp_path / "b"), step=crash_at_the_11th_batch, **cfg).fit((x, y))
    assert load(tmp_path / "b" / "checkpoint.safetensors").meta["state"]["step"] == 8
    with pytest.raises(ValueError, match="configured differently \\(the checkpoint's epochs: 4, not 2 now\\)"):
        Trainer(model(), checkpoint_dir=str(tmp_path / "b"), **{**cfg, "epochs": 2}).fit((x, y), resume=True)
    resumed = model(seed=5, dropout=0.3)                     # other initial weights: all come from the file
    result = Trainer(resumed, checkpoint_dir=str(tmp_path / "b"), **cfg).fit((x, y), resume=True)
    assert same(resumed, whole) and result.epochs == 4 and result.steps == 4 * 5
    again = model(dropout=0.3)                                 # a finished run resumes to its final weights
    assert Trainer(again, checkpoint_dir=str(tmp_path / "b"), **cfg).fit((x, y), resume=True).steps == 20
    assert same(again, whole)


def test_sigkill_mid_epoch_then_resume_gives_the_uninterrupted_weights(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(lstmkit.__file__).parents[1]))
    ref = tmp_path / "ref.st"
    subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "ref"), str(ref)], check=True, env=env, timeout=120)
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(run), str(tmp_path / "x.st"), "--sleep", "0.05"], env=env)
    ckpt = run / "checkpoint.safetensors"
    deadline = time.time() + 120
    try:
        while time.time() < deadline:             # wait for a mid-epoch checkpoint (9 steps per epoch)
            if ckpt.exists() and load(ckpt).meta["state"]["step"] >= 12:
                break
            time.sleep(0.02)
        time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    state = load(ckpt).meta["state"]                # still a good checkpoint after the kill
    assert proc.returncode == -signal.SIGKILL and not state["finished"] and 0 < state["step"] < 36
    out = tmp_path / "resumed.st"
    subprocess.run([sys.executable, str(SCRIPT), str(run), str(out), "--resume"], check=True, env=env, timeout=120)
    a, b = load_file(ref), load_file(out)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ref_rows = (tmp_path / "ref" / "metrics.csv").read_text().splitlines()
    run_rows = (run / "metrics.csv").read_text().splitlines()
    assert [r.rsplit(",", 1)[0] for r in ref_rows] == [r.rsplit(",", 1)[0] for r in run_rows]   # but seconds


def test_torchrun_two_processes_equal_one_process_on_the_same_global_batch(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(lstmkit.__file__).parents[1]))
    one, two = tmp_path / "one.st", tmp_path / "two.st"
    subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "a"), str(one), "--dropout", "0"], check=True,
                   env=env, timeout=120)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    str(SCRIPT), str(tmp_path / "b"), str(two), "--dropout", "0"], check=True, env=env, timeout=180,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    a, b = load_file(one), load_file(two)
    assert all(torch.allclose(a[k], b[k], atol=1e-6, rtol=0) for k in a)
    assert load(tmp_path / "b" / "checkpoint.safetensors").meta["state"]["world"] == 2


def test_write_atomic_leaves_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    write_atomic(path, b"old")

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, b"new content")
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "foreign"])
def test_a_damaged_checkpoint_is_a_clear_error(tmp_path, damage):
    x, y = data()
    cfg = dict(epochs=1, batch_size=8, checkpoint_dir=str(tmp_path), progress=False)
    Trainer(model(), **cfg).fit((x, y))
    path = tmp_path / "checkpoint.safetensors"
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)))
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        save_file({"w": torch.zeros(2)}, path)
    expected = "not an lstmkit checkpoint" if damage == "foreign" else "truncated or corrupted"
    with pytest.raises(CheckpointError, match=expected):
        load(path)
    with pytest.raises(CheckpointError, match=expected):
        Trainer(model(), **cfg).fit((x, y), resume=True)
    with pytest.raises(CheckpointError, match="does not exist"):
        load(tmp_path / "nope.safetensors")


def test_weights_that_do_not_fit_the_model_are_named(tmp_path):
    x, y = data()
    Trainer(model(), epochs=1, batch_size=8, checkpoint_dir=str(tmp_path), progress=False).fit((x, y))
    with pytest.raises(ValueError, match=r"do not fit this model.*lstm.weight_ih_l0: \(24, 2\) in the file, \(40, 2\)"):
        load_weights(Last(hidden=10), tmp_path / "checkpoint.safetensors")


# -- non-finite losses ------------------------------------------------------------------------------------

def test_a_nan_loss_stops_the_run_names_the_step_and_keeps_the_last_checkpoint(tmp_path):
    x, y = data()
    calls = []

    def step(net, batch):
        calls.append(1)
        loss = nn.functional.mse_loss(net(batch[0]), batch[1])
        return loss * float("nan") if len(calls) == 7 else loss

    m = model()
    trainer = Trainer(m, epochs=3, batch_size=8, checkpoint_dir=str(tmp_path), checkpoint_every=5, progress=False,
                      step=step)
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at step 7 \(epoch 2, batch 2\).*checkpoint.safetensors, is kept"):
        trainer.fit((x, y))
    state = load(tmp_path / "checkpoint.safetensors").meta["state"]
    assert state["step"] == 5 and not state["finished"]
    assert all(torch.isfinite(p).all() for p in m.parameters())


def test_an_infinite_gradient_stops_the_run():
    x, y = data()

    def step(net, batch):                 # a finite loss (the sqrt term is 0) whose gradient is not
        w = net.head.bias
        return nn.functional.mse_loss(net(batch[0]), batch[1]) + torch.sqrt((w - w.detach()).abs()).sum()

    with pytest.raises(NonFiniteLossError, match="gradient norm is nan at step 1 .*no checkpoint was written"):
        Trainer(model(), epochs=1, batch_size=8, step=step, progress=False).fit((x, y))


# -- progress, config, bad input -------------------------------------------------------------------------

def test_progress_prints_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    p = Progress(10, every=5, stream=stream)
    for s in range(1, 11):
        p.step(s, 0, 0.5, 1e-3)
    p.epoch({"epoch": 0, "step": 10, "train_loss": 0.5, "val_loss": 0.4, "lr": 1e-3, "seconds": 1.0})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and "step 5/10" in lines[0] and "eta" in lines[0] and "val_loss 0.4" in lines[2]


def test_fit_shows_progress_on_stderr(capsys):
    x, y = data()
    fit(model(), (x, y), epochs=2, batch_size=8, log_every=2)
    err = capsys.readouterr().err
    assert "epoch 2 step 10/10 train_loss" in err and "step 2/10" in err


def test_config_round_trips_and_fills_in_missing_fields():
    cfg = TrainConfig(epochs=3, tbptt=(5, 10), extra={"a": 1})
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig.from_dict({"epochs": 3}) == TrainConfig(epochs=3)
    with pytest.raises(ValueError, match=r"unknown TrainConfig field\(s\) \['epoch'\]"):
        TrainConfig.from_dict({"epoch": 3})


@pytest.mark.parametrize("kwargs, error, match", [
    ({"epochs": 0}, ValueError, "epochs must be >= 1, got 0"),
    ({"optimizer": "adagrad"}, ValueError, "optimizer must be one of 'adam', 'adamw', 'sgd', got 'adagrad'"),
    ({"tbptt": (10, 5)}, ValueError, "k2 >= k1.*k1 = 10, k2 = 5"),
    ({"tbptt": 5}, TypeError, r"tbptt must be None or a pair \(k1, k2\)"),
    ({"lr": "big"}, TypeError, "lr must be a float"),
    ({"val_fraction": 0.95}, ValueError, r"val_fraction must be in \[0.0, 0.9\]"),
])
def test_bad_config_values_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**kwargs)


def test_bad_data_is_named():
    x, y = data()
    t = Trainer(model(), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"same number of items \(dim 0\), got shapes \(40, 5, 2\), \(39, 1\)"):
        t.fit((x, y[:-1]))
    with pytest.raises(TypeError, match=r"train\[1\] must be numeric"):
        t.fit((x, np.array(["a"] * 40)))
    with pytest.raises(TypeError, match="must be a tuple"):
        t.fit(x)
    with pytest.raises(ValueError, match="train is empty"):
        t.fit((x[:0], y[:0]))
    with pytest.raises(ValueError, match="resume=True needs config.checkpoint_dir"):
        t.fit((x, y), resume=True)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        Trainer(lambda v: v)
    with pytest.raises(ValueError, match="loss= or step="):
        Trainer(model(), loss=nn.MSELoss(), step=lambda m, b: b)


def test_resume_with_other_data_is_refused(tmp_path):
    x, y = data()
    cfg = dict(epochs=2, batch_size=8, checkpoint_dir=str(tmp_path), progress=False)
    Trainer(model(), **cfg).fit((x, y))
    with pytest.raises(ValueError, match="its train data were"):
        Trainer(model(), **cfg).fit((x[:30], y[:30]), resume=True)


def test_resume_without_a_checkpoint_starts_a_new_run(tmp_path, capsys):
    x, y = data()
    a, b = model(), model()
    Trainer(a, epochs=1, batch_size=8, progress=False).fit((x, y))
    Trainer(b, epochs=1, batch_size=8, checkpoint_dir=str(tmp_path / "new")).fit((x, y), resume=True)
    assert same(a, b) and "starting a new run" in capsys.readouterr().err
    assert math.isfinite(Trainer(b, batch_size=8).evaluate((x, y)))


def test_tensorboard_scalars_when_installed(tmp_path):
    pytest.importorskip("tensorboard")
    x, y = data()
    Trainer(model(), epochs=2, batch_size=8, checkpoint_dir=str(tmp_path), tensorboard=True, progress=False,
            val_fraction=0.2).fit((x, y))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("val_loss")] == [4, 8]


def test_tensorboard_without_the_package_is_a_clear_error(tmp_path, monkeypatch):
    import builtins
    real = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard") or name.startswith("tensorboard"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ImportError, match="tensorboard=True needs the tensorboard package: pip install tensorboard"):
        Trainer(model(), epochs=1, checkpoint_dir=str(tmp_path), tensorboard=True, progress=False).fit(data())
