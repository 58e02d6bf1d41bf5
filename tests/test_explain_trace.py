"""lstmkit.explain.trace: the recorded gates and states against values computed by hand from the
weights, and the traced output against the untraced one for every cell, engine and layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import lstmkit
from lstmkit import engines
from lstmkit.cells import make_cell
from lstmkit.explain import trace
from lstmkit.models.compare import LastStep

from conftest import CASES


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def test_forget_cell_trace_equals_hand_computation():
    torch.manual_seed(1)
    m = nn.LSTM(3, 2, batch_first=True).double()                 # torch's own module, traced via a copy
    x = torch.randn(1, 5, 3, dtype=torch.float64)
    lt = trace(m, x).layer(0)
    W = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    h, c = np.zeros(2), np.zeros(2)
    for t in range(5):
        z = W["weight_ih_l0"] @ x[0, t].numpy() + W["weight_hh_l0"] @ h + W["bias_ih_l0"] + W["bias_hh_l0"]
        i, f, g, o = sigmoid(z[0:2]), sigmoid(z[2:4]), np.tanh(z[4:6]), sigmoid(z[6:8])
        c = f * c + i * g
        h = o * np.tanh(c)
        for name, want in (("input", i), ("forget", f), ("cell_input", g), ("output", o), ("cell", c), ("hidden", h)):
            np.testing.assert_allclose(lt[name][0, t], want, rtol=1e-12, atol=1e-12, err_msg=f"{name} at step {t}")


def test_vanilla_1997_cell_trace_equals_hand_computation():
    """Two blocks of two cells: a block's gates are shown for each of its cells; g = 4σ − 2,
    h = 2σ − 1, s' = s + in · g (the carousel), y = out · h(s')."""
    torch.manual_seed(2)
    m = lstmkit.LSTM(2, 4, cell="vanilla", block_size=2, batch_first=True, dtype=torch.float64)
    x = torch.randn(1, 6, 2, dtype=torch.float64)
    lt = trace(m, x).layer(0)
    assert "forget" not in lt.values
    W = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    y, s = np.zeros(4), np.zeros(4)
    for t in range(6):
        z = W["weight_ih_l0"] @ x[0, t].numpy() + W["weight_hh_l0"] @ y + W["bias_ih_l0"]
        gin, gc, gout = sigmoid(z[0:2]), 4 * sigmoid(z[2:6]) - 2, sigmoid(z[6:8])
        gin4, gout4 = np.repeat(gin, 2), np.repeat(gout, 2)
        s = s + gin4 * gc
        y = gout4 * (2 * sigmoid(s) - 1)
        for name, want in (("input", gin4), ("output", gout4), ("cell_input", gc), ("cell", s), ("hidden", y)):
            np.testing.assert_allclose(lt[name][0, t], want, rtol=1e-12, atol=1e-12, err_msg=f"{name} at step {t}")


#: Every cell config with every engine that runs it (and "auto").
ENGINE_CASES = [pytest.param(*case.values, backend, id=f"{case.id}-{backend}") for case in CASES
                for backend in ("auto", *engines.ENGINES)
                if backend == "auto" or engines.ENGINES[backend].supports(make_cell(case.values[0], 3, 6, **case.values[1]))]


@pytest.mark.parametrize("name,opts,backend", ENGINE_CASES)
def test_traced_output_equals_untraced_for_every_cell_and_engine(name, opts, backend):
    m = lstmkit.LSTM(3, 6, 2, bidirectional=True, batch_first=True, cell=name, backend=backend,
                     dtype=torch.float64, **opts).eval()
    x = torch.randn(3, 7, 3, dtype=torch.float64)
    n = torch.tensor([7, 4, 2])
    with torch.no_grad():
        want, (h, c) = m(x, lengths=n)
    tr = trace(m, x, n)
    got, (h2, c2) = tr.output
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(c2, c, rtol=1e-10, atol=1e-10)
    assert [t.name for t in tr.layers] == ["layer 0 forward", "layer 0 reverse", "layer 1 forward", "layer 1 reverse"]
    out = got.numpy()
    o = m.cells[0].output_size
    for lt, half in ((tr.layer(1, "forward"), slice(0, o)), (tr.layer(1, "reverse"), slice(o, 2 * o))):
        for b, length in enumerate(n.tolist()):                    # hidden = the layer's output, in input time order
            np.testing.assert_allclose(lt["hidden"][b, :length], out[b, :length, half], rtol=1e-12, atol=1e-12)
            assert np.isnan(lt["cell"][b, length:]).all()            # padding is NaN, never a fake value
    last = tr.layer(1, "forward")["cell"][np.arange(3), n - 1]       # the final state is the last real step's
    np.testing.assert_allclose(last, c[2].numpy(), rtol=1e-12)
    assert m._recorder is None                                     # nothing left attached


def test_trace_time_major_unbatched_and_torch_lstm_with_lengths():
    m = lstmkit.LSTM(2, 3)                                          # time-major
    x = torch.randn(5, 4, 2)
    tr = trace(m, x)
    assert tr.inputs.shape == (4, 5, 2) and tr.layer().values["cell"].shape == (4, 5, 3)
    np.testing.assert_allclose(tr.layer()["hidden"][:, :, :], tr.output[0].detach().numpy().transpose(1, 0, 2),
                               rtol=1e-6)
    tu = trace(m, x[:, 0])                                          # unbatched (T, I)
    assert tu.inputs.shape == (1, 5, 2) and tu.layer()["cell"].shape == (1, 5, 3)
    np.testing.assert_allclose(tu.layer()["cell"][0], tr.layer()["cell"][0], rtol=1e-6)
    t = nn.LSTM(2, 3, batch_first=True)
    xb, n = torch.randn(2, 6, 2), torch.tensor([6, 3])
    tl = trace(t, xb, n)
    assert np.isnan(tl.layer()["cell"][1, 3:]).all() and np.isfinite(tl.layer()["cell"][1, :3]).all()
    assert "forward" not in vars(t)                                 # the torch module is left as it was


def test_trace_of_a_model_containing_lstms_keeps_it_unchanged():
    model = LastStep("lstm", 2, 5, 1).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, n = torch.randn(3, 8, 2), torch.tensor([8, 5, 2])
    with torch.no_grad():
        want = model(x, n)
    tr = trace(model, x, n)
    torch.testing.assert_close(tr.output, want, rtol=1e-5, atol=1e-6)
    assert tr.layers[0].module == "encoder.rnn" and tr.layer().name == "encoder.rnn.layer 0 forward"
    assert not model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_trace_of_a_model_with_a_torch_lstm_inside():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(2, 3, batch_first=True, num_layers=2)
            self.head = nn.Linear(3, 1)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    net = Net().eval()
    x = torch.randn(2, 5, 2)
    with torch.no_grad():
        want = net(x)
    tr = trace(net, x)
    torch.testing.assert_close(tr.output, want, rtol=1e-5, atol=1e-6)
    assert [t.name for t in tr.layers] == ["rnn.layer 0 forward", "rnn.layer 1 forward"]
    assert "forward" not in vars(net.rnn)


def test_recorders_are_removed_when_the_model_fails():
    model = LastStep("lstm", 2, 5, 1)
    with pytest.raises(RuntimeError, match="boom"):
        trace(model, torch.randn(2, 4, 2), torch.tensor([4, 4]),
              forward=lambda m, x, n: (m(x, n), (_ for _ in ()).throw(RuntimeError("boom"))))
    assert model.encoder.rnn._recorder is None


def test_bad_models_and_lookups_get_clear_errors():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        trace(lambda x: x, torch.randn(2, 3, 1))
    with pytest.raises(ValueError, match="no lstmkit.LSTM or torch.nn.LSTM"):
        trace(nn.GRU(2, 3), torch.randn(3, 2, 2))
    tr = trace(lstmkit.LSTM(2, 3, cell="vanilla"), torch.randn(4, 2))
    with pytest.raises(KeyError, match="has no 'forget'"):
        tr.layer()["forget"]
    with pytest.raises(KeyError, match="no layer 1 forward"):
        tr.layer(1)
