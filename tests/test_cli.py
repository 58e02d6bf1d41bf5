"""The demo and the ``lstmkit`` command."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lstmkit
from lstmkit.cli import main
from lstmkit.demo import DemoConfig, run_demo
from lstmkit.tasks.latch import latch_batch


def test_latch_batch_encodes_the_bit_in_the_first_step():
    x, y = latch_batch(64, 7)
    assert x.shape == (7, 64, 1) and y.shape == (64,)
    assert ((x[0, :, 0] > 0).float() == y).all() and set(x[0, :, 0].tolist()) <= {-1.0, 1.0}


def test_demo_learns_a_short_latch_and_is_deterministic():
    cfg = DemoConfig(length=10, steps=300, eval_every=20, eval_size=128)
    seen = []
    first = run_demo(cfg, progress=seen.append)
    assert first.solved and first.accuracy == 1.0 and first.steps < cfg.steps
    assert [p["step"] for p in seen] == list(range(20, first.steps + 1, 20))
    again = run_demo(cfg)
    assert (again.steps, again.loss) == (first.steps, first.loss)


def test_cli_demo_prints_progress_and_result(capsys):
    assert main(["demo", "--length", "10", "--steps", "800"]) == 0        # solved after 350 batches here: room to spare
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "solved: 100.0%" in out


def test_cli_reports_bad_arguments_without_a_trace(capsys):
    assert main(["demo", "--hidden-size", "0"]) == 2
    err = capsys.readouterr().err
    assert "hidden_size must be >= 1, got 0" in err and "Traceback" not in err


def test_cli_cells_lists_the_registry(capsys):
    assert main(["cells"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in lstmkit.cells())


def test_console_script_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "lstmkit.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and lstmkit.__version__ in done.stdout


def test_cli_without_a_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_cli_rejects_an_unknown_cell(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--cell", "nope"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
