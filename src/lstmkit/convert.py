"""Keras LSTM models and weights into lstmkit, read with h5py (no Keras, no TensorFlow).

``from_keras(path)`` reads a Keras 3 ``.keras`` file (a zip of ``config.json`` and
``model.weights.h5``) or a legacy ``.h5`` model (``model_config`` + ``model_weights``, Keras 2's
``:0`` names included) whose layers form a chain of ``LSTM``, ``Bidirectional(LSTM)``, ``Dense``
and ``Dropout``, and returns a ``KerasModel`` that computes what Keras's ``model.predict`` does.
``from_keras(path, layer=NAME)`` returns that one LSTM layer as an ``lstmkit.LSTM``
(``batch_first=True``, as Keras), also from a bare ``.weights.h5`` file, which holds no
architecture (its activations are then taken to be Keras's defaults, tanh and sigmoid).

The mapping (``../shared/reference/onnx.md`` §4): Keras's gate order i, f, c, o is torch's
i, f, g, o, so per direction ``weight_ih = kernel.T``, ``weight_hh = recurrent_kernel.T``,
``bias_ih = bias`` and ``bias_hh = 0``; ``unit_forget_bias`` only initialises, so needs nothing.
``go_backwards`` runs on the time-reversed input and leaves the output reversed, as Keras does.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .layer import LSTM

ACTIVATIONS = {"linear": lambda x: x, "relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
               "softmax": lambda x: torch.softmax(x, dim=-1)}
MERGES = ("concat", "sum", "mul", "ave")


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as e:                                        # pragma: no cover - in the test extra
        raise ImportError("reading Keras files needs h5py: pip install 'lstmkit[convert]'") from e
    return h5py


class _Weights:
    """A Keras weights tree, by the user's layer names: ``get(name, part)`` -> [kernel, recurrent, bias]
    or [kernel, bias] (``part``: "" for the layer itself, "forward"/"backward" in a Bidirectional)."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.legacy = "model_weights" in f or "layer_names" in f.attrs
        self.names: dict[str, str] = {}
        if self.legacy:
            root = f["model_weights"] if "model_weights" in f else f
            for name in root:
                self.names[name] = root[name].name
        else:
            layers = f["layers"] if "layers" in f else {}
            for group in layers:
                vars_ = layers[group].get("vars")
                if vars_ is not None and "name" in vars_.attrs:
                    self.names[_text(vars_.attrs["name"])] = layers[group].name

    def get(self, name: str, part: str = "") -> list[np.ndarray]:
        if name not in self.names:
            raise ValueError(f"the Keras file has no weights for layer {name!r}; it has: {', '.join(sorted(self.names))}")
        g = self.f[self.names[name]]
        if self.legacy:
            wanted = [_text(w) for w in g.attrs.get("weight_names", [])]
            if part:
                wanted = [w for w in wanted if w.split("/")[-3].startswith(part)]
            return [np.asarray(g[w]) for w in wanted]
        if part:
            g = g[f"{part}_layer"]
        if "cell" in g:
            g = g["cell"]
        v = g["vars"]
        return [np.asarray(v[k]) for k in sorted(v, key=int)]


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _lstm_from(config: dict[str, Any], weights: list[list[np.ndarray]], input_size: int) -> LSTM:
    """One lstmkit.LSTM (batch_first) from a Keras LSTM config and each direction's [kernel, recurrent, bias]."""
    name = config.get("name", "?")
    for key, want in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
        got = config.get(key, want)
        if got != want:
            raise ValueError(f"Keras layer {name!r}: {key}={got!r} has no lstmkit cell (the forget cell is "
                             f"{key}={want!r}); only tanh/sigmoid LSTM layers convert")
    if config.get("return_state"):
        raise ValueError(f"Keras layer {name!r}: return_state=True is not converted; load the layer with "
                         f"from_keras(path, layer={name!r}) and take its states from lstmkit.LSTM")
    units, bias = int(config["units"]), bool(config.get("use_bias", True))
    lstm = LSTM(input_size, units, bias=bias, batch_first=True, bidirectional=len(weights) == 2)
    with torch.no_grad():
        for suffix, w in zip(("_l0", "_l0_reverse"), weights):
            kernel, recurrent = w[0], w[1]
            if kernel.shape != (input_size, 4 * units) or recurrent.shape != (units, 4 * units):
                raise ValueError(f"Keras layer {name!r}: kernel {kernel.shape} and recurrent kernel {recurrent.shape} "
                                 f"do not fit {units} units on {input_size} inputs")
            getattr(lstm, f"weight_ih{suffix}").copy_(torch.from_numpy(kernel.T.copy()))
            getattr(lstm, f"weight_hh{suffix}").copy_(torch.from_numpy(recurrent.T.copy()))
            if bias:
                getattr(lstm, f"bias_ih{suffix}").copy_(torch.from_numpy(w[2]))
                getattr(lstm, f"bias_hh{suffix}").zero_()
    return lstm.eval()


class KerasModel(nn.Module):
    """A chain of converted Keras layers; ``forward(x)`` with x (B, T, I) gives Keras's output."""

    def __init__(self, steps: list[tuple[str, str, nn.Module, dict[str, Any]]]) -> None:
        super().__init__()
        self.kinds = [(name, kind, options) for name, kind, _, options in steps]
        self.layers = nn.ModuleDict({name: module for name, _, module, _ in steps})

    def forward(self, x: Tensor) -> Tensor:
        for name, kind, options in self.kinds:
            module = self.layers[name]
            if kind == "dense":
                x = ACTIVATIONS[options["activation"]](module(x))
                continue
            if options.get("go_backwards"):
                x = torch.flip(x, dims=[1])
            y, (h, _) = module(x)
            if kind == "bidirectional":
                H = module.hidden_size
                if options["return_sequences"]:
                    fwd, bwd = y[..., :H], y[..., H:]
                else:
                    fwd, bwd = h[0], h[1]
                merge = options["merge_mode"]
                x = (torch.cat([fwd, bwd], dim=-1) if merge == "concat" else fwd + bwd if merge == "sum"
                     else fwd * bwd if merge == "mul" else (fwd + bwd) / 2)
            else:
                x = y if options["return_sequences"] else h[0]
        return x


def _config_layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    inner = config.get("config", config)
    layers = inner.get("layers") if isinstance(inner, dict) else inner
    if not isinstance(layers, list):
        raise ValueError("the Keras model config holds no list of layers")
    return layers


def from_keras(path: str | Path, *, layer: str | None = None) -> KerasModel | LSTM:
    """Read a Keras file (``.keras``, legacy ``.h5`` or ``.weights.h5``) into lstmkit; see the module doc."""
    h5py = _h5py()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"from_keras: no file {str(path)!r}")
    name = path.name.lower()
    config: dict[str, Any] | None = None
    if name.endswith(".keras"):
        try:
            with zipfile.ZipFile(path) as z:
                config = json.loads(z.read("config.json"))
                f = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
        except (zipfile.BadZipFile, KeyError) as e:
            raise ValueError(f"from_keras: {str(path)!r} is not a Keras 3 .keras file (a zip of config.json and "
                             f"model.weights.h5): {e}") from None
    elif name.endswith(".h5"):
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise ValueError(f"from_keras: {str(path)!r} is not an HDF5 file: {e}") from None
        if "model_config" in f.attrs:
            config = json.loads(_text(f.attrs["model_config"]))
    else:
        raise ValueError(f"from_keras: expected a .keras, .h5 or .weights.h5 file, got {path.name!r}")
    with f:
        weights = _Weights(f)
        if config is None:
            if layer is None:
                raise ValueError(f"from_keras: {path.name!r} holds weights but no architecture; name one LSTM layer "
                                 f"(layer=...), one of: {', '.join(sorted(weights.names))}")
            return _bare_layer(weights, layer)
        layers = [spec for spec in _config_layers(config) if spec.get("class_name") != "InputLayer"]
        if layer is not None:
            for spec in layers:
                if spec["config"].get("name") == layer:
                    return _convert(spec, weights, None)[2]
            raise ValueError(f"from_keras: no layer {layer!r}; the model's layers: "
                             f"{', '.join(s['config'].get('name', '?') for s in layers)}")
        steps, width = [], None
        for spec in layers:
            step = _convert(spec, weights, width)
            if step is None:
                continue
            steps.append(step)
            width = step[3]["width"]
        return KerasModel(steps).eval()


def _bare_layer(weights: _Weights, layer: str) -> LSTM:
    first = weights.get(layer)                               # names the layers when it is missing
    g = weights.f[weights.names[layer]]
    if weights.legacy:
        bidirectional = any(_text(n).split("/")[-3].startswith("forward") for n in g.attrs.get("weight_names", [])
                            if _text(n).count("/") >= 2)
    else:
        bidirectional = "forward_layer" in g
    w = [weights.get(layer, "forward"), weights.get(layer, "backward")] if bidirectional else [first]
    units = w[0][1].shape[0]
    return _lstm_from({"name": layer, "units": units, "use_bias": len(w[0]) == 3}, w, w[0][0].shape[0])


def _convert(spec: dict[str, Any], weights: _Weights, width: int | None):
    """One config layer -> (name, kind, module, options) or None for a layer that does nothing at inference."""
    kind, cfg = spec.get("class_name"), spec.get("config", {})
    name = cfg.get("name", "?")
    if kind == "Dropout":
        return None
    if kind == "LSTM":
        w = [weights.get(name)]
        lstm = _lstm_from(cfg, w, w[0][0].shape[0])
        return name, "lstm", lstm, {"return_sequences": bool(cfg.get("return_sequences")),
                                    "go_backwards": bool(cfg.get("go_backwards")), "width": lstm.hidden_size}
    if kind == "Bidirectional":
        inner = cfg.get("layer", {})
        if inner.get("class_name") != "LSTM":
            raise ValueError(f"Keras layer {name!r}: Bidirectional({inner.get('class_name')}) is not converted; "
                             "only Bidirectional(LSTM)")
        merge = cfg.get("merge_mode", "concat")
        if merge not in MERGES:
            raise ValueError(f"Keras layer {name!r}: merge_mode={merge!r} is not converted; one of {', '.join(MERGES)}")
        inner_cfg = {**inner["config"], "name": name}
        if inner["config"].get("go_backwards"):
            raise ValueError(f"Keras layer {name!r}: a Bidirectional layer around go_backwards=True is not converted")
        w = [weights.get(name, "forward"), weights.get(name, "backward")]
        lstm = _lstm_from(inner_cfg, w, w[0][0].shape[0])
        H = lstm.hidden_size
        return name, "bidirectional", lstm, {"return_sequences": bool(inner["config"].get("return_sequences")),
                                             "merge_mode": merge, "width": 2 * H if merge == "concat" else H}
    if kind == "Dense":
        act = cfg.get("activation", "linear")
        if act not in ACTIVATIONS:
            raise ValueError(f"Keras layer {name!r}: Dense activation {act!r} is not converted; one of "
                             f"{', '.join(ACTIVATIONS)}")
        w = weights.get(name)
        dense = nn.Linear(w[0].shape[0], w[0].shape[1], bias=len(w) > 1)
        with torch.no_grad():
            dense.weight.copy_(torch.from_numpy(w[0].T.copy()))
            if len(w) > 1:
                dense.bias.copy_(torch.from_numpy(w[1]))
        return name, "dense", dense, {"activation": act, "width": w[0].shape[1]}
    raise ValueError(f"Keras layer {name!r} of class {kind!r} is not converted; a chain of LSTM, "
                     "Bidirectional(LSTM), Dense and Dropout layers is")


__all__ = ["KerasModel", "from_keras"]
