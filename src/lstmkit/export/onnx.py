"""LSTM layers as ONNX graphs built with ``onnx.helper`` (not ``torch.onnx``), verified in onnxruntime.

Each layer becomes one ONNX ``LSTM`` node (both directions in the same node), so batch and length
stay dynamic by construction and none of torch.onnx's LSTM bugs apply (``../shared/reference/
onnx.md`` §1: a dynamic length is silently fixed by the dynamo exporter). The operator expresses:

- ``forget`` (``torch.nn.LSTM``'s cell): gates reordered from torch's i, f, g, o to ONNX's
  i, o, f, c; ``B`` = [b_ih; b_hh];
- ``peephole``: the same plus ``P`` = [w_ci; w_co; w_cf] (ONNX's peephole order i, o, f; its
  output peephole sees the new cell state, as lstmkit's does);
- ``cifg``: ``input_forget=1`` (f = 1 − i), the forget rows left at zero;
- ``vanilla`` (the 1997 cell) without ``recurrent_gates``: the forget gate held at 1 (its rows 0,
  its bias 30, where onnxruntime's sigmoid is exactly 1.0), g = 4σ − 2 and h = 2σ − 1 as
  ``ScaledTanh`` (α 2 and 1, β 0.5), and a block's gates copied to each of its cells (the same
  values, ``block_size`` times the gate rows).

Graph interface: inputs ``x`` (T, B, I), or (B, T, I) for a ``batch_first`` module, ``h0`` and
``c0`` (layers·directions, B, H); outputs ``y`` (T, B, directions·H) (or batch first), ``h_n`` and
``c_n``, as the module returns them. T and B are free. The other cells (the 1997 cell with its
blocks and gate-to-gate links, layer norm) and projections, zoneout and per-sequence lengths need a
loop over time in the graph, which is not written yet: they are refused with a clear error, as are
the 1997 cell's gate-to-gate links (``recurrent_gates``: the gates' activations are state).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

#: Cells the ONNX LSTM operator expresses.
NATIVE_CELLS = ("forget", "peephole", "cifg", "vanilla")
#: The forget gate's bias that holds it at 1 for the 1997 cell (onnxruntime's sigmoid is 1.0f from 18).
HOLD = 30.0
#: The opset written (LSTM-14, LayerNormalization-17; onnxruntime runs it).
OPSET = 17


class ExportError(RuntimeError):
    """An exported graph that onnxruntime runs differently from PyTorch (or cannot run)."""


def _onnx() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError as e:                                      # pragma: no cover - the extra is installed in CI
        raise ImportError("ONNX export needs onnx and onnxruntime: pip install 'lstmkit[export]'") from e
    return onnx, onnxruntime


def _describe(module: nn.Module) -> dict[str, Any]:
    """The structure of a supported module, or a clear error naming what is not supported."""
    from ..layer import LSTM

    if isinstance(module, LSTM):
        if module.cell not in NATIVE_CELLS:
            raise ValueError(f"to_onnx: cell={module.cell!r} is not expressible by the ONNX LSTM operator; the cells "
                             f"it exports are {', '.join(NATIVE_CELLS)} (the others need a loop over time in the "
                             "graph, not written yet)")
        if module.zoneout:
            raise ValueError(f"to_onnx: zoneout={module.zoneout!r} keeps an expectation of the old state in eval, "
                             "which the ONNX LSTM operator cannot express; export a layer without zoneout")
        cell, proj = module.cell, module.proj_size
        if cell == "vanilla" and module.cells[0].config["recurrent_gates"]:
            raise ValueError("to_onnx: cell='vanilla' with recurrent_gates=True feeds the gates' activations back as "
                             "state, which the ONNX LSTM operator cannot express; export a layer without them")
    elif isinstance(module, nn.LSTM):
        cell, proj = "forget", module.proj_size
    else:
        raise TypeError(f"to_onnx: module must be an lstmkit.LSTM or a torch.nn.LSTM, got {type(module).__name__}")
    if proj:
        raise ValueError(f"to_onnx: proj_size={proj} feeds h back through a projection, which the ONNX LSTM "
                         "operator cannot express; export a layer without proj_size")
    weight = module.weight_ih_l0
    if weight.is_complex() or not weight.is_floating_point():
        raise TypeError(f"to_onnx: the module's parameters must be real floating point, got {weight.dtype}")
    block = module.cells[0].block_size if cell == "vanilla" else 1
    return {"cell": cell, "block_size": block, "layers": module.num_layers, "directions": 2 if module.bidirectional else 1,
            "hidden": module.hidden_size, "input": module.input_size, "batch_first": module.batch_first,
            "bias": bool(module.bias)}


def _weights(module: nn.Module, spec: dict[str, Any], layer: int) -> dict[str, np.ndarray]:
    """W (nd, 4H, I_l), R (nd, 4H, H), B (nd, 8H), P (nd, 3H) for peepholes, in ONNX's i, o, f, c order."""
    H = spec["hidden"]
    suffixes = [f"_l{layer}", f"_l{layer}_reverse"][: spec["directions"]]

    def get(name: str, suffix: str) -> np.ndarray:
        return getattr(module, f"{name}{suffix}").detach().to("cpu", torch.float64).numpy()

    def reorder(a: np.ndarray) -> np.ndarray:            # rows by gate blocks -> [i, o, f, c]
        if spec["cell"] == "vanilla":                    # [in (C) | cells (H) | out (C)], a gate per cell
            C, S = H // spec["block_size"], spec["block_size"]
            i, c, o = a[:C].repeat(S, axis=0), a[C:C + H], a[C + H:].repeat(S, axis=0)
            return np.concatenate([i, o, np.zeros_like(c), c], axis=0)
        blocks = np.split(a, a.shape[0] // H, axis=0)
        if spec["cell"] == "cifg":                       # lstmkit's cifg: i, g, o; f = 1 − i is ONNX's input_forget
            i, g, o = blocks
            return np.concatenate([i, o, np.zeros_like(i), g], axis=0)
        i, f, g, o = blocks
        return np.concatenate([i, o, f, g], axis=0)

    out: dict[str, list[np.ndarray]] = {"W": [], "R": [], "B": [], "P": []}
    for s in suffixes:
        out["W"].append(reorder(get("weight_ih", s)))
        out["R"].append(reorder(get("weight_hh", s)))
        if spec["cell"] == "vanilla":                    # one bias vector; the forget gate held open
            C = H // spec["block_size"]
            b = np.zeros(H + 2 * C)
            if spec["bias"]:
                given = get("bias_ih", s)
                if given.shape[0] == 2 * C:                   # gates only: [in | out]
                    b[:C], b[C + H:] = given[:C], given[C:]
                else:
                    b[:] = given
            wb = reorder(b[:, None])[:, 0]
            wb[2 * H:3 * H] = HOLD
            out["B"].append(np.concatenate([wb, np.zeros(4 * H)]))
        elif spec["bias"]:
            out["B"].append(np.concatenate([reorder(get("bias_ih", s)[:, None])[:, 0],
                                            reorder(get("bias_hh", s)[:, None])[:, 0]]))
        if spec["cell"] == "peephole":
            out["P"].append(np.concatenate([get("weight_ci", s), get("weight_co", s), get("weight_cf", s)]))
    return {k: np.stack(v).astype(np.float32) for k, v in out.items() if v}


def _lstm_nodes(module: nn.Module, spec: dict[str, Any], x: str, *, lens: str = "", states: bool = True,
                prefix: str = "") -> tuple[list[Any], list[Any], str, list[str], list[str]]:
    """The ONNX nodes and initialisers of every layer of ``module`` on the time-major input ``x``
    (T, B, I); ``lens``: the name of an int32 (B,) input of sequence lengths ("": all full);
    ``states``: take the initial states from the graph inputs h0/c0 (else zeros). Returns (nodes,
    initialisers, the last layer's output (T, B, nd·H), each layer's h and c names)."""
    from onnx import helper, numpy_helper

    L, nd, H = spec["layers"], spec["directions"], spec["hidden"]
    nodes, inits = [], []

    def const(name: str, values: Any, dtype: Any = np.int64) -> str:
        inits.append(numpy_helper.from_array(np.asarray(values, dtype=dtype), prefix + name))
        return prefix + name

    flat = const("flat", [0, 0, -1])
    axis0 = const("axis0", [0]) if states else ""
    hs, cs = [], []
    for k in range(L):
        w = _weights(module, spec, k)
        for name, value in w.items():
            inits.append(numpy_helper.from_array(value, f"{prefix}{name}_l{k}"))
        initial = ["", ""]
        if states:
            start, end = const(f"start_l{k}", [k * nd]), const(f"end_l{k}", [(k + 1) * nd])
            for j, state in enumerate(("h0", "c0")):
                nodes.append(helper.make_node("Slice", [state, start, end, axis0], [f"{prefix}{state}_l{k}"]))
                initial[j] = f"{prefix}{state}_l{k}"
        inputs = [x, f"{prefix}W_l{k}", f"{prefix}R_l{k}", f"{prefix}B_l{k}" if "B" in w else "", lens, *initial]
        if "P" in w:
            inputs.append(f"{prefix}P_l{k}")
        while inputs and inputs[-1] == "":
            inputs.pop()
        attrs: dict[str, Any] = {"hidden_size": H, "direction": "bidirectional" if nd == 2 else "forward"}
        if spec["cell"] == "cifg":
            attrs["input_forget"] = 1
        if spec["cell"] == "vanilla":                        # f = σ, g = 2·tanh(x/2), h = tanh(x/2)
            attrs.update(activations=["Sigmoid", "ScaledTanh", "ScaledTanh"] * nd,
                         activation_alpha=[2.0, 1.0] * nd, activation_beta=[0.5, 0.5] * nd)
        y, h, c = f"{prefix}Y_l{k}", f"{prefix}h_l{k}", f"{prefix}c_l{k}"
        nodes.append(helper.make_node("LSTM", inputs, [y, h, c], name=f"{prefix}lstm_l{k}", **attrs))
        nodes.append(helper.make_node("Transpose", [y], [f"{y}t"], perm=[0, 2, 1, 3]))        # (T, B, nd, H)
        x = f"{prefix}out_l{k}"
        nodes.append(helper.make_node("Reshape", [f"{y}t", flat], [x]))
        hs.append(h)
        cs.append(c)
    return nodes, inits, x, hs, cs


def _model(onnx: Any, nodes: list[Any], inits: list[Any], inputs: list[Any], outputs: list[Any],
           props: dict[str, str]) -> Any:
    from onnx import helper

    from .. import __version__
    graph = helper.make_graph(nodes, "lstmkit", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="lstmkit")
    helper.set_model_props(model, {"lstmkit_version": str(__version__), **props})
    onnx.checker.check_model(model)
    return model


def build(module: nn.Module, *, streaming: bool = False) -> Any:
    """The module as an ``onnx.ModelProto`` (not checked; ``to_onnx`` writes and verifies it).
    ``streaming``: the one-step graph, x (B, I) and y (B, H) with the states in and out, to call once
    per new time step (one direction only: the reverse one would need the future)."""
    onnx, _ = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    spec = _describe(module)
    L, nd, H, I = spec["layers"], spec["directions"], spec["hidden"], spec["input"]
    if streaming and nd == 2:
        raise ValueError("to_onnx: streaming=True steps one direction forward in time; a bidirectional layer's "
                         "reverse direction needs the whole sequence")
    nodes: list[Any] = []
    x = "x"
    if streaming:
        more, inits, out, hs, cs = _lstm_nodes(module, spec, "x_1bi")
        inits.append(numpy_helper.from_array(np.array([0], np.int64), "time_axis"))
        nodes = [helper.make_node("Unsqueeze", ["x", "time_axis"], ["x_1bi"]), *more,
                 helper.make_node("Squeeze", [out, "time_axis"], ["y"]),
                 helper.make_node("Concat", hs, ["h_n"], axis=0), helper.make_node("Concat", cs, ["c_n"], axis=0)]
        f32, state = TensorProto.FLOAT, [L, "B", H]
        return _model(onnx, nodes, inits,
                      [helper.make_tensor_value_info("x", f32, ["B", I]), helper.make_tensor_value_info("h0", f32, state),
                       helper.make_tensor_value_info("c0", f32, state)],
                      [helper.make_tensor_value_info("y", f32, ["B", H]), helper.make_tensor_value_info("h_n", f32, state),
                       helper.make_tensor_value_info("c_n", f32, state)],
                      {"cell": spec["cell"], "layers": str(L), "directions": "1", "hidden_size": str(H),
                       "streaming": "true"})
    if spec["batch_first"]:
        nodes.append(helper.make_node("Transpose", ["x"], ["x_tbi"], perm=[1, 0, 2]))
        x = "x_tbi"
    more, inits, out, hs, cs = _lstm_nodes(module, spec, x)
    nodes += more
    nodes.append(helper.make_node("Transpose", [out], ["y"], perm=[1, 0, 2]) if spec["batch_first"]
                 else helper.make_node("Identity", [out], ["y"]))
    nodes.append(helper.make_node("Concat", hs, ["h_n"], axis=0))
    nodes.append(helper.make_node("Concat", cs, ["c_n"], axis=0))
    f32 = TensorProto.FLOAT
    x_shape = ["B", "T", I] if spec["batch_first"] else ["T", "B", I]
    y_shape = ["B", "T", nd * H] if spec["batch_first"] else ["T", "B", nd * H]
    state = [L * nd, "B", H]
    return _model(onnx, nodes, inits,
                  [helper.make_tensor_value_info("x", f32, x_shape), helper.make_tensor_value_info("h0", f32, state),
                   helper.make_tensor_value_info("c0", f32, state)],
                  [helper.make_tensor_value_info("y", f32, y_shape), helper.make_tensor_value_info("h_n", f32, state),
                   helper.make_tensor_value_info("c_n", f32, state)],
                  {"cell": spec["cell"], "layers": str(L), "directions": str(nd), "hidden_size": str(H),
                   "batch_first": str(spec["batch_first"]).lower()})


def build_last_step(model: nn.Module) -> Any:
    """A ``lstmkit.models.LastStep`` with an LSTM encoder (what ``lstmkit compare --save-dir`` and
    ``lstmkit explain --save`` write) as ONNX: inputs x (B, T, I) and lengths (B,) int64, output
    y (B, O), the head on each sequence's last real step (the LSTM op's ``sequence_lens``)."""
    onnx, _ = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    encoder = getattr(model, "encoder", None)
    if getattr(encoder, "kind", None) != "lstm":
        raise ValueError(f"export: this model's encoder is {getattr(encoder, 'kind', None)!r}; only an 'lstm' "
                         "encoder exports (gru, hybrid and transformer encoders are not written yet)")
    spec = _describe(encoder.rnn)
    nodes = [helper.make_node("Transpose", ["x"], ["x_tbi"], perm=[1, 0, 2]),
             helper.make_node("Cast", ["lengths"], ["lens32"], to=TensorProto.INT32)]
    more, inits, out, _, _ = _lstm_nodes(encoder.rnn, spec, "x_tbi", lens="lens32", states=False)
    nodes += more
    D = spec["directions"] * spec["hidden"]
    head = model.head
    inits += [numpy_helper.from_array(head.weight.detach().float().numpy(), "head_w"),
              numpy_helper.from_array(head.bias.detach().float().numpy(), "head_b"),
              numpy_helper.from_array(np.array([1], np.int64), "one"),
              numpy_helper.from_array(np.array([1, D], np.int64), "one_d")]
    nodes += [helper.make_node("Transpose", [out], ["y_btd"], perm=[1, 0, 2]),                  # (B, T, D)
              helper.make_node("Sub", ["lengths", "one"], ["last"]),                               # (B,)
              helper.make_node("Unsqueeze", ["last", "one"], ["last_b1"]),
              helper.make_node("Unsqueeze", ["last_b1", "one"], ["last_b11"]),                     # (B, 1, 1)
              helper.make_node("Shape", ["lengths"], ["b"]),
              helper.make_node("Concat", ["b", "one_d"], ["index_shape"], axis=0),                 # [B, 1, D]
              helper.make_node("Expand", ["last_b11", "index_shape"], ["index"]),
              helper.make_node("GatherElements", ["y_btd", "index"], ["picked"], axis=1),          # (B, 1, D)
              helper.make_node("Squeeze", ["picked", "one"], ["last_out"]),
              helper.make_node("Gemm", ["last_out", "head_w", "head_b"], ["y"], transB=1)]
    f32 = TensorProto.FLOAT
    return _model(onnx, nodes, inits,
                  [helper.make_tensor_value_info("x", f32, ["B", "T", spec["input"]]),
                   helper.make_tensor_value_info("lengths", TensorProto.INT64, ["B"])],
                  [helper.make_tensor_value_info("y", f32, ["B", head.out_features])],
                  {"model": "LastStep", "cell": spec["cell"], "layers": str(spec["layers"]),
                   "directions": str(spec["directions"]), "hidden_size": str(spec["hidden"])})


def _compare(name: str, got: np.ndarray, ref: np.ndarray, T: int, B: int, tolerance: float) -> float:
    """The largest |got − ref|, or ``ExportError`` naming it when over ``tolerance`` · max(1, |ref|)
    or when the shapes differ."""
    if got.shape != ref.shape:
        raise ExportError(f"onnxruntime's {name} has shape {tuple(got.shape)}, PyTorch's {tuple(ref.shape)} "
                          f"(T={T}, B={B})")
    diff = float(np.abs(got - ref).max()) if ref.size else 0.0
    bound = tolerance * max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
    if not diff <= bound:
        raise ExportError(f"onnxruntime's {name} differs from PyTorch's by {diff:.3g} at T={T}, B={B} "
                          f"(tolerance {bound:.3g})")
    return diff


def verify(module: nn.Module, path: str | os.PathLike[str], *, shapes: tuple[tuple[int, int], ...] = ((5, 3), (1, 1), (11, 2)),
           tolerance: float = 1e-5, seed: int = 0, streaming: bool = False) -> float:
    """Run the ONNX file at ``path`` in onnxruntime and ``module`` in PyTorch (eval mode, no
    gradient) on the same random inputs at each (T, B) of ``shapes``; return the largest absolute
    difference over y, h_n and c_n, or raise ``ExportError`` naming it (and where) when it exceeds
    ``tolerance`` · max(1, |PyTorch's output|), or when a shape differs. ``streaming``: a one-step
    graph, checked at T = 1 (each shape's B) against the module's step."""
    _, ort = _onnx()
    spec = _describe(module)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(seed)
    was_training = module.training
    module.eval()
    worst = 0.0
    try:
        for T, B in shapes:
            T = 1 if streaming else T
            dims = (B, T, spec["input"]) if spec["batch_first"] else (T, B, spec["input"])
            x = torch.randn(dims, generator=g, dtype=torch.float64)
            h0 = 0.5 * torch.randn(spec["layers"] * spec["directions"], B, spec["hidden"], generator=g, dtype=torch.float64)
            c0 = 0.5 * torch.randn(h0.shape, generator=g, dtype=torch.float64)
            dtype = module.weight_ih_l0.dtype
            device = module.weight_ih_l0.device
            with torch.no_grad():
                y, (h, c) = module(x.to(device, dtype), (h0.to(device, dtype), c0.to(device, dtype)))
            want = {"y": y.reshape(B, -1) if streaming else y, "h_n": h, "c_n": c}
            feed = x.reshape(B, -1) if streaming else x
            got = dict(zip(("y", "h_n", "c_n"), session.run(None, {"x": feed.float().numpy(), "h0": h0.float().numpy(),
                                                                   "c0": c0.float().numpy()})))
            for name, ref in want.items():
                worst = max(worst, _compare(name, got[name], ref.detach().to("cpu", torch.float64).numpy(), T, B,
                                            tolerance))
    finally:
        module.train(was_training)
    return worst


def verify_last_step(model: nn.Module, path: str | os.PathLike[str], *,
                     shapes: tuple[tuple[int, int], ...] = ((5, 3), (1, 1), (11, 4)), tolerance: float = 1e-5,
                     seed: int = 0) -> float:
    """``verify`` for a ``build_last_step`` graph: random x and random lengths in 1..T (one of them
    T) through onnxruntime and through ``model(x, lengths)``; the largest difference, or
    ``ExportError`` naming it."""
    _, ort = _onnx()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(seed)
    inputs = model.encoder.rnn.input_size
    was_training = model.training
    model.eval()
    worst = 0.0
    try:
        for T, B in shapes:
            x = torch.randn(B, T, inputs, generator=g)
            lengths = torch.randint(1, T + 1, (B,), generator=g)
            lengths[0] = T
            with torch.no_grad():
                want = model(x, lengths).double().numpy()
            got = session.run(None, {"x": x.numpy(), "lengths": lengths.numpy()})[0]
            worst = max(worst, _compare("y", got, want, T, B, tolerance))
    finally:
        model.train(was_training)
    return worst


def _write(proto: Any, path: Path, check: Any) -> float | None:
    """Save ``proto`` next to ``path``, run ``check(tmp)`` (None: no check), then move it into place:
    a file that fails its check is never left behind."""
    if not path.parent.is_dir():
        raise ValueError(f"export: directory {str(path.parent)!r} does not exist")
    onnx, _ = _onnx()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        onnx.save(proto, tmp)
        worst = None if check is None else check(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return worst


def to_onnx(module: nn.Module, path: str | os.PathLike[str], *, verify_shapes: tuple[tuple[int, int], ...] | None = None,
            tolerance: float = 1e-5, check: bool = True, streaming: bool = False) -> float | None:
    """Write ``module`` (an ``lstmkit.LSTM`` with a cell in ``NATIVE_CELLS``, or a
    ``torch.nn.LSTM``) to ``path`` as ONNX with dynamic batch and length, and (``check``) verify it
    in onnxruntime against PyTorch (``verify``): the file appears only if it passes, written
    atomically. Returns the largest difference measured (None without ``check``). ``streaming``:
    the one-step graph instead (``build``)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"to_onnx: directory {str(path.parent)!r} does not exist")
    shapes = {} if verify_shapes is None else {"shapes": verify_shapes}
    return _write(build(module, streaming=streaming), path,
                  (lambda tmp: verify(module, tmp, tolerance=tolerance, streaming=streaming, **shapes)) if check else None)


def export_checkpoint(checkpoint: str | os.PathLike[str], path: str | os.PathLike[str], *,
                      tolerance: float = 1e-5) -> float:
    """``lstmkit export``: a model checkpoint to ONNX, verified. Today: the ``LastStep`` models that
    ``lstmkit compare --save-dir`` and ``lstmkit explain --save`` write, with an LSTM encoder
    (inputs x (B, T, I) and lengths (B,), output (B, O))."""
    from ..models.compare import LastStep
    from ..train.checkpoint import CheckpointError, load

    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise ValueError(f"export: no checkpoint file {str(checkpoint)!r}")
    meta = load(checkpoint).meta
    if "compare" not in meta:
        kinds = ", ".join(sorted(k for k in meta if isinstance(meta.get(k), dict))) or "none"
        raise ValueError(f"export: {str(checkpoint)!r} is not a model export handles yet (its sections: {kinds}); "
                         "it exports models saved by lstmkit compare --save-dir or lstmkit explain --save, and "
                         "lstmkit.export.to_onnx exports an lstmkit.LSTM layer from Python")
    try:
        model = LastStep.load(checkpoint)
    except CheckpointError as e:
        raise ValueError(f"export: {e}") from None
    proto = build_last_step(model)
    return _write(proto, Path(path), lambda tmp: verify_last_step(model, tmp, tolerance=tolerance))


__all__ = ["NATIVE_CELLS", "OPSET", "ExportError", "build", "build_last_step", "export_checkpoint", "to_onnx", "verify",
           "verify_last_step"]
