"""Keras LSTM files into lstmkit (lstmkit.convert.from_keras), against Keras's own predictions.

The Keras files are written by Keras 3 on its torch backend in a subprocess (so that importing
Keras cannot change this process's torch settings); the tests skip, saying why, without Keras.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from lstmkit import LSTM
from lstmkit.convert import KerasModel, from_keras

pytest.importorskip("h5py", reason="reading Keras files needs h5py (the convert extra)")
if importlib.util.find_spec("keras") is None:
    pytest.skip("Keras is not installed: the tests write their Keras files with it", allow_module_level=True)

WRITE = textwrap.dedent('''
    import os, sys
    os.environ["KERAS_BACKEND"] = "torch"
    import numpy as np, keras
    from keras import layers
    out = sys.argv[1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 9, 5)).astype("float32")
    np.save(os.path.join(out, "x.npy"), x)

    def save(model, name):
        for w in model.weights:
            w.assign(rng.normal(0, 0.4, w.shape).astype("float32"))
        model.save(os.path.join(out, name + ".keras"))
        model.save(os.path.join(out, name + ".h5"))
        model.save_weights(os.path.join(out, name + ".weights.h5"))
        np.save(os.path.join(out, name + ".y.npy"), model.predict(x, verbose=0))
        return model

    inp = keras.Input((None, 5))
    a = layers.LSTM(7, return_sequences=True, name="lstm_a")(inp)
    b = layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bidi")(a)
    c = layers.LSTM(3, name="lstm_c")(b)
    chain = save(keras.Model(inp, layers.Dense(2, activation="sigmoid", name="head")(c)), "chain")
    np.save(os.path.join(out, "chain.lstm_a.npy"), keras.Model(inp, a).predict(x, verbose=0))
    np.save(os.path.join(out, "chain.bidi.npy"), keras.Model(inp, b).predict(x, verbose=0))

    inp = keras.Input((None, 5))
    a = layers.LSTM(6, return_sequences=True, go_backwards=True, use_bias=False, name="back")(inp)
    a = layers.Dropout(0.5)(a)
    b = layers.Bidirectional(layers.LSTM(4), merge_mode="sum", name="bisum")(a)
    save(keras.Model(inp, layers.Dense(3, name="linear")(b)), "options")

    inp = keras.Input((None, 5))
    save(keras.Model(inp, layers.LSTM(4, activation="relu", name="relu_lstm")(inp)), "relu")
''')


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = tmp_path_factory.mktemp("keras")
    env = {**os.environ, "KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", WRITE, str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def _predict(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("name", ["chain", "options"])
@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_a_converted_model_predicts_what_keras_predicts(files, name, ext):
    model = from_keras(files / f"{name}{ext}")
    assert isinstance(model, KerasModel)
    x, want = np.load(files / "x.npy"), np.load(files / f"{name}.y.npy")
    got = _predict(model, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    assert np.abs(want).max() > 0.05


@pytest.mark.parametrize("path, layer", [("chain.keras", "lstm_a"), ("chain.h5", "lstm_a"), ("chain.weights.h5", "lstm_a"),
                                         ("chain.keras", "bidi"), ("chain.weights.h5", "bidi")])
def test_one_layer_comes_back_as_an_lstmkit_lstm(files, path, layer):
    lstm = from_keras(files / path, layer=layer)
    assert isinstance(lstm, LSTM) and lstm.batch_first and lstm.bidirectional == (layer == "bidi")
    x = np.load(files / "x.npy")
    if layer == "bidi":                                      # its input is lstm_a's output
        x = np.load(files / "chain.lstm_a.npy")
    with torch.no_grad():
        y, _ = lstm(torch.from_numpy(x))
    np.testing.assert_allclose(y.numpy(), np.load(files / f"chain.{layer}.npy"), atol=1e-5, rtol=0)


def test_what_does_not_convert_is_named(files, tmp_path):
    with pytest.raises(ValueError, match="activation='relu' has no lstmkit cell"):
        from_keras(files / "relu.keras")
    with pytest.raises(ValueError, match="holds weights but no architecture; name one LSTM layer .* lstm_a"):
        from_keras(files / "chain.weights.h5")
    with pytest.raises(ValueError, match="no layer 'nope'; the model's layers: lstm_a, bidi, lstm_c, head"):
        from_keras(files / "chain.keras", layer="nope")
    with pytest.raises(FileNotFoundError, match="no file"):
        from_keras(tmp_path / "missing.keras")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(ValueError, match="expected a .keras, .h5 or .weights.h5 file, got 'm.txt'"):
        from_keras(tmp_path / "m.txt")
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a Keras 3 .keras file"):
        from_keras(tmp_path / "bad.keras")
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="is not an HDF5 file"):
        from_keras(tmp_path / "bad.h5")
