"""The benchmark: a row for every candidate, consistent numbers, the ``lstmkit bench`` command.

Speed itself is never asserted here (see benchmarks/README.md): only that what is reported is
complete and agrees with its own definitions.
"""

from __future__ import annotations

import json

import pytest
import torch

import lstmkit
from lstmkit import bench, engines
from lstmkit.cells import make_cell
from lstmkit.cli import main


def expected_candidates(shape: bench.Shape) -> set[str]:
    """torch.nn.LSTM, forget/auto, and every registered cell on every engine that supports it."""
    names = {"torch.nn.LSTM", "forget/auto"}
    for cell in lstmkit.cells():
        spec = make_cell(cell, shape.input_size, shape.hidden_size)
        names |= {f"{cell}/{name}" for name, engine in engines.ENGINES.items() if engine.supports(spec)}
    return names


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return bench.run_benchmark(bench.QUICK_SHAPES, repeats=1, warmup=0, include_compile=False)


def test_every_candidate_has_a_row_at_every_shape(rows):
    for shape in bench.QUICK_SHAPES:
        names = [r["candidate"] for r in rows if r["shape"] == shape]
        assert sorted(names) == sorted(expected_candidates(shape))
    assert len(rows) == sum(len(expected_candidates(s)) for s in bench.QUICK_SHAPES)


def test_times_are_positive_and_torch_is_the_unit_ratio(rows):
    for r in rows:
        assert r["error"] is None and r["compile_s"] is None
        for mode in bench.MODES:
            assert r[f"{mode}_ms"] > 0 and r[f"{mode}_ratio"] > 0
        assert r["saved_mib"] > 0
        if r["candidate"] == "torch.nn.LSTM":
            assert r["fwd_ratio"] == 1.0 and r["fwdbwd_ratio"] == 1.0


def test_ratios_throughput_and_gflops_follow_from_the_times(rows):
    anchor = {r["shape"]: r for r in rows if r["candidate"] == "torch.nn.LSTM"}
    for r in rows:
        i, h, b, t, layers, bidirectional = r["shape"]
        d = 2 if bidirectional else 1
        flops = sum(8 * h * ((i if k == 0 else d * h) + h) * d for k in range(layers)) * b * t
        for mode, factor in (("fwd", 1), ("fwdbwd", 3)):
            seconds = r[f"{mode}_ms"] / 1e3
            assert r[f"{mode}_gflops"] == pytest.approx(factor * flops / seconds / 1e9, rel=1e-9)
            assert r[f"{mode}_steps_per_s"] == pytest.approx(t * b / seconds, rel=1e-9)
            assert r[f"{mode}_ratio"] == pytest.approx(anchor[r["shape"]][f"{mode}_ms"] / r[f"{mode}_ms"], rel=1e-9)
            assert r[f"{mode}_peak_fraction"] == pytest.approx(r[f"{mode}_gflops"] / r["matmul_peak_gflops"], rel=1e-9)


def test_table_names_every_candidate_and_shape(rows):
    table = bench.format_table(rows)
    assert all(r["candidate"] in table for r in rows)
    assert all(shape.label() in table for shape in bench.QUICK_SHAPES)


def test_threads_are_restored_and_progress_is_called_per_shape():
    before = torch.get_num_threads()
    seen = []
    bench.run_benchmark([(1, 4, 1, 5)], cells=["forget"], backends=["reference"], repeats=1, warmup=0,
                        threads=1, include_compile=False, progress=seen.append)
    assert torch.get_num_threads() == before
    assert [(p["done"], p["total"]) for p in seen] == [(1, 1)]


def test_backends_select_the_candidates():
    rows = bench.run_benchmark([(1, 4, 1, 5)], cells=["forget", "cifg"], backends=["auto", "reference"],
                               repeats=1, warmup=0, include_compile=False)
    assert [r["candidate"] for r in rows] == ["torch.nn.LSTM", "forget/auto", "forget/reference", "cifg/reference"]


def test_a_compile_failure_is_a_row_not_a_crash(monkeypatch):
    def broken() -> object:
        def step(*args: object) -> None:
            raise RuntimeError("no C++ compiler\nSet TORCHDYNAMO_VERBOSE=1 for more")
        return step

    monkeypatch.setattr(bench, "_compile_step", broken)
    rows = bench.run_benchmark([(1, 4, 1, 5)], cells=[], repeats=1, warmup=0)
    failed = rows[-1]
    assert failed["candidate"] == bench.COMPILED and failed["fwd_ms"] is None
    assert failed["error"] == "RuntimeError: no C++ compiler"
    assert f"{bench.COMPILED:22s} failed: RuntimeError: no C++ compiler" in bench.format_table(rows)


def test_a_slow_compile_is_reported_as_over_the_limit(monkeypatch):
    monkeypatch.setattr(bench, "_compile_step", lambda: bench._lstm_step)      # eager: no compiling here
    monkeypatch.setattr(bench, "COMPILE_TIMEOUT_S", 0.0)
    failed = bench.run_benchmark([(1, 4, 1, 5)], cells=[], repeats=1, warmup=0)[-1]
    assert failed["candidate"] == bench.COMPILED and failed["compile_s"] > 0
    assert "over the 0 s limit" in failed["error"]


def test_the_step_loop_computes_torch_lstm():
    shape = bench.Shape(3, 5, 2, 4, layers=2, bidirectional=True)
    loop = bench.CompiledStepLoop(shape, torch.float64, bench._lstm_step)
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    out, (h, c) = loop(x)
    want, (h_want, c_want) = loop.lstm(x)
    torch.testing.assert_close(out, want)
    torch.testing.assert_close(h, h_want)
    torch.testing.assert_close(c, c_want)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"cells": ["nope"]}, ValueError, "unknown cell 'nope' in cells"),
    ({"cells": "forget"}, TypeError, "cells must be a list of cell names"),
    ({"backends": ["fast"]}, ValueError, "unknown backend 'fast' in backends"),
    ({"repeats": 0}, ValueError, "repeats must be >= 1, got 0"),
    ({"threads": 1.5}, TypeError, "threads must be an int"),
    ({"dtype": torch.float16}, TypeError, "dtype must be torch.float32 or torch.float64"),
    ({"shapes": [(1, 8, 1)]}, TypeError, r"shapes\[0\] must be a tuple"),
    ({"shapes": [(1, 0, 1, 5)]}, ValueError, r"shapes\[0\].hidden_size must be >= 1, got 0"),
    ({"shapes": []}, ValueError, "at least one shape"),
    ({"progress": 3}, TypeError, "progress must be callable"),
])
def test_bad_arguments_are_named(kwargs, error, message):
    args = {"shapes": [(1, 4, 1, 5)], **kwargs}
    with pytest.raises(error, match=message):
        bench.run_benchmark(args.pop("shapes"), **args)


def test_cli_bench_quick_prints_the_table_and_writes_json(capsys, tmp_path):
    path = tmp_path / "rows.json"
    assert main(["bench", "--quick", "--repeats", "1", "--warmup", "0", "--no-compile", "--cells", "forget",
                 "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2/2" in out and "matmul peak" in out and "forget/native" in out and "torch.nn.LSTM" in out
    saved = json.loads(path.read_text())
    assert saved["meta"]["threads"] == 2 and {r["candidate"] for r in saved["rows"]} >= {"torch.nn.LSTM", "forget/auto"}


@pytest.mark.parametrize("argv, message", [
    (["--cells", "nope"], "unknown cell 'nope' in cells; known cells: vanilla"),
    (["--repeats", "0"], "repeats must be >= 1, got 0"),
    (["--json", "/no/such/dir/rows.json"], "--json: directory '/no/such/dir' does not exist"),
])
def test_cli_bench_rejects_bad_arguments(capsys, argv, message):
    assert main(["bench", "--quick", "--no-compile", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err and captured.out == ""
