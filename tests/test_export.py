"""ONNX export (lstmkit.export): the graph run by onnxruntime against the module run by PyTorch."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from lstmkit import LSTM
from lstmkit.export import ExportError, to_onnx, verify

onnx = pytest.importorskip("onnx", reason="the export extra (onnx) is not installed")
ort = pytest.importorskip("onnxruntime", reason="the export extra (onnxruntime) is not installed")


def _randomise(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) - 0.5)
    return module


def _run(path, x, h0, c0):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x.numpy(), "h0": h0.numpy(), "c0": c0.numpy()})


MODULES = {
    "forget": lambda: LSTM(5, 7),
    "forget, 2 layers, bidirectional": lambda: LSTM(5, 6, num_layers=2, bidirectional=True),
    "peephole, 2 layers, bidirectional": lambda: LSTM(5, 6, num_layers=2, bidirectional=True, cell="peephole"),
    "cifg, batch first": lambda: LSTM(4, 6, batch_first=True, cell="cifg"),
    "cifg, 3 layers, bidirectional": lambda: LSTM(4, 5, num_layers=3, bidirectional=True, cell="cifg"),
    "forget, no bias": lambda: LSTM(4, 6, bias=False),
    "torch.nn.LSTM": lambda: torch.nn.LSTM(5, 7),
    "torch.nn.LSTM, 2 layers, bidirectional, batch first":
        lambda: torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True),
    "vanilla (1997), blocks of 2": lambda: LSTM(5, 6, cell="vanilla", block_size=2),
    "vanilla, gates-only bias, 2 layers, bidirectional":
        lambda: LSTM(5, 4, num_layers=2, bidirectional=True, cell="vanilla", cell_input_bias=False, truncated=True),
    "vanilla, no bias, batch first": lambda: LSTM(3, 4, bias=False, batch_first=True, cell="vanilla"),
    "forget, with the regularisers (identity in eval)":
        lambda: LSTM(5, 7, num_layers=2, dropout=0.3, recurrent_dropout=0.25, weight_drop=0.2),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_onnxruntime_gives_pytorchs_outputs_at_any_length_and_batch(name, tmp_path):
    module = _randomise(MODULES[name]())
    path = tmp_path / "m.onnx"
    worst = to_onnx(module, path)
    assert worst is not None and worst < 1e-5
    L = module.num_layers * (2 if module.bidirectional else 1)
    g = torch.Generator().manual_seed(1)
    module.eval()
    for T, B in ((1, 1), (40, 4), (3, 9)):                   # none of them the verification's shapes
        shape = (B, T, module.input_size) if module.batch_first else (T, B, module.input_size)
        x = torch.randn(shape, generator=g)
        h0, c0 = (torch.randn(L, B, module.hidden_size, generator=g) for _ in range(2))
        with torch.no_grad():
            y, (h, c) = module(x, (h0, c0))
        got = _run(path, x, h0, c0)
        for want, have in zip((y, h, c), got):
            assert have.shape == tuple(want.shape)
            scale = max(1.0, float(want.abs().max()))          # the 1997 cell's state grows: float32 error with it
            np.testing.assert_allclose(have, want.numpy(), atol=2e-6 * scale, rtol=0)
    assert np.abs(y.numpy()).max() > 0.05                 # the outputs are not trivially small


def test_the_graph_declares_free_length_and_batch_and_its_cell(tmp_path):
    path = tmp_path / "m.onnx"
    to_onnx(_randomise(LSTM(3, 4, num_layers=2, cell="peephole")), path)
    model = onnx.load(str(path))
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.input}
    assert dims == {"x": ["T", "B", 3], "h0": [2, "B", 4], "c0": [2, "B", 4]}
    assert [n.op_type for n in model.graph.node].count("LSTM") == 2
    props = {p.key: p.value for p in model.metadata_props}
    assert props["cell"] == "peephole" and props["layers"] == "2"


def test_verification_catches_a_wrong_graph(tmp_path):
    """A graph whose weights were changed after export is caught, the difference named."""
    module = _randomise(LSTM(4, 5))
    path = tmp_path / "m.onnx"
    to_onnx(module, path)
    model = onnx.load(str(path))
    for init in model.graph.initializer:
        if init.name == "R_l0":
            r = onnx.numpy_helper.to_array(init).copy()
            r[0, 0, 0] += 0.5
            init.CopyFrom(onnx.numpy_helper.from_array(r, "R_l0"))
    bad = tmp_path / "bad.onnx"
    onnx.save(model, str(bad))
    with pytest.raises(ExportError, match=r"onnxruntime's (y|h_n|c_n) differs from PyTorch's by [0-9.e-]+ at T=\d+, B=\d+"):
        verify(module, bad)
    assert verify(module, path) < 1e-5


def test_a_failed_verification_leaves_no_file_and_training_mode_is_kept(tmp_path):
    module = _randomise(LSTM(4, 5)).train()
    path = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match="tolerance"):
        to_onnx(module, path, tolerance=1e-12)           # float32 cannot be this close
    assert list(tmp_path.iterdir()) == [] and module.training


@pytest.mark.parametrize("module, message", [
    (lambda: LSTM(4, 5, cell="layernorm"), "cell='layernorm' is not expressible by the ONNX LSTM operator"),
    (lambda: LSTM(4, 5, cell="vanilla", recurrent_gates=True), "recurrent_gates=True feeds the gates' activations"),
    (lambda: LSTM(4, 5, proj_size=3), "proj_size=3 feeds h back through a projection"),
    (lambda: torch.nn.LSTM(4, 5, proj_size=2), "proj_size=2"),
    (lambda: LSTM(4, 5, zoneout=0.1), "zoneout=0.1"),
])
def test_what_the_operator_cannot_express_is_refused_by_name(module, message, tmp_path):
    with pytest.raises(ValueError, match=re.escape(message)):
        to_onnx(module(), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="must be an lstmkit.LSTM or a torch.nn.LSTM, got GRU"):
        to_onnx(torch.nn.GRU(3, 4), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="does not exist"):
        to_onnx(LSTM(3, 4), tmp_path / "missing" / "m.onnx")


def _saved_last_step(tmp_path, kind="lstm"):
    from lstmkit.explain.pipeline import save_task_model
    from lstmkit.models.compare import LastStep

    torch.manual_seed(0)
    model = _randomise(LastStep(kind, 2, 8, 3))
    path = tmp_path / "model.safetensors"
    save_task_model(model, "adding", 20, path)
    return model.eval(), path


def test_lstmkit_export_writes_a_saved_model_that_onnxruntime_runs_at_any_lengths(tmp_path, capsys):
    from lstmkit.cli import main

    model, path = _saved_last_step(tmp_path)
    out = tmp_path / "model.onnx"
    assert main(["export", str(path), str(out)]) == 0
    assert "onnxruntime agrees with PyTorch" in capsys.readouterr().out
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(3)
    for T, B in ((1, 1), (30, 5)):
        x = torch.randn(B, T, 2, generator=g)
        lengths = torch.randint(1, T + 1, (B,), generator=g)
        with torch.no_grad():
            want = model(x, lengths).numpy()
        got = session.run(None, {"x": x.numpy(), "lengths": lengths.numpy()})[0]
        np.testing.assert_allclose(got, want, atol=2e-6, rtol=0)
    assert np.abs(want).max() > 0.05


def test_lstmkit_export_names_what_it_cannot_export(tmp_path, capsys):
    from lstmkit.cli import main
    from lstmkit.train.checkpoint import Checkpoint, save

    _, gru = _saved_last_step(tmp_path, kind="gru")
    assert main(["export", str(gru), str(tmp_path / "g.onnx")]) == 2
    assert "only an 'lstm' encoder exports" in capsys.readouterr().err
    other = tmp_path / "other.safetensors"
    save(other, Checkpoint({"model": {"w": torch.zeros(2)}}, {"classifier": {"classes": 2}}))
    assert main(["export", str(other), str(tmp_path / "o.onnx")]) == 2
    assert "is not a model export handles yet (its sections: classifier)" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.safetensors"), str(tmp_path / "m.onnx")]) == 2
    assert "no checkpoint file" in capsys.readouterr().err
    _, path = _saved_last_step(tmp_path)
    assert main(["export", str(path), str(tmp_path / "m.onnx"), "--tolerance", "1e-12"]) == 1
    assert "verification failed, nothing written" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "g.onnx").exists()


@pytest.mark.parametrize("make", [lambda: LSTM(4, 6, num_layers=2, cell="peephole"), lambda: LSTM(4, 6, batch_first=True),
                                  lambda: LSTM(3, 4, cell="vanilla", block_size=2), lambda: torch.nn.LSTM(4, 5)])
def test_the_streaming_graph_steps_a_stream_as_the_module_runs_the_sequence(make, tmp_path):
    """One step per call, the states fed back: the same outputs as the module on the whole sequence."""
    module = _randomise(make()).eval()
    path = tmp_path / "step.onnx"
    to_onnx(module, path, streaming=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(5)
    B, T = 3, 25
    x = torch.randn(B, T, module.input_size, generator=g)
    with torch.no_grad():
        y, (h, c) = module(x if module.batch_first else x.transpose(0, 1))
    y = y if module.batch_first else y.transpose(0, 1)
    state = [np.zeros((module.num_layers, B, module.hidden_size), np.float32) for _ in range(2)]
    for t in range(T):
        out, *state = session.run(None, {"x": x[:, t].numpy(), "h0": state[0], "c0": state[1]})
        scale = max(1.0, float(y[:, t].abs().max()))
        np.testing.assert_allclose(out, y[:, t].numpy(), atol=2e-6 * scale, rtol=0)
    np.testing.assert_allclose(state[1], c.numpy(), atol=2e-6 * max(1.0, float(c.abs().max())), rtol=0)
    with pytest.raises(ValueError, match="streaming=True steps one direction"):
        to_onnx(LSTM(3, 4, bidirectional=True), tmp_path / "b.onnx", streaming=True)
