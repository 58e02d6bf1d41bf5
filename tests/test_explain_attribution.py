"""lstmkit.explain.attribution: integrated gradients' completeness against f(x) − f(baseline)
computed here, gradient × input against autograd, attention weights against the pooling's own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.explain.attribution import attention_weights, gradient_x_input, integrated_gradients
from lstmkit.models import SequenceClassifier
from lstmkit.models.compare import LastStep


@pytest.fixture
def regressor():
    torch.manual_seed(0)
    return LastStep("lstm", 2, 6, 3).double().eval()


def test_integrated_gradients_sum_to_the_change_of_the_prediction(regressor):
    x = torch.randn(4, 10, 2, dtype=torch.float64)
    n = torch.tensor([10, 7, 5, 3])
    a = integrated_gradients(regressor, x, n, steps=100)
    with torch.no_grad():
        fx, fb = regressor(x, n), regressor(torch.zeros_like(x), n)
    picked = fx.argmax(1)
    assert a.target == picked.tolist()                            # no target: the predicted column
    rows = torch.arange(4)
    want = (fx[rows, picked] - fb[rows, picked]).numpy()
    np.testing.assert_allclose(a.values.sum(axis=(1, 2)), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(a.per_step.sum(1), want, rtol=1e-6, atol=1e-8)
    assert np.abs(a.delta).max() < 1e-6
    assert (a.per_step[3, 3:] == 0).all() and (a.values[1, 7:] == 0).all()   # padding never counts
    b = integrated_gradients(regressor, x, n, target=2, baseline=torch.full_like(x, 0.5))
    with torch.no_grad():
        want = (fx[:, 2] - regressor(torch.full_like(x, 0.5), n)[:, 2]).numpy()
    np.testing.assert_allclose(b.values.sum(axis=(1, 2)), want, rtol=1e-5, atol=1e-7)


def test_gradient_x_input_equals_autograd(regressor):
    x = torch.randn(2, 6, 2, dtype=torch.float64, requires_grad=True)
    n = torch.tensor([6, 4])
    g = gradient_x_input(regressor, x.detach(), n, target=1)
    grad, = torch.autograd.grad(regressor(x, n)[:, 1].sum(), x)
    np.testing.assert_allclose(g.values, (grad * x).detach().numpy(), rtol=1e-10, atol=1e-12)
    assert g.delta is None and g.target == [1, 1]


def test_text_attribution_goes_through_the_embedding_and_is_complete():
    texts = ["good fine great film", "bad awful film", "great good", "awful bad bad"] * 4
    labels = ["pos", "neg", "pos", "neg"] * 4
    clf = SequenceClassifier(hidden_size=8, embedding_size=8, epochs=2, pooling="attention", seed=0,
                             val_fraction=0.0).fit(texts, labels)
    x, lengths = clf._batch(clf._inputs(texts[:4]), "X")
    x, lengths = torch.from_numpy(x), torch.from_numpy(lengths)
    clf.double()
    a = integrated_gradients(clf, x, lengths, target=0, steps=200)
    assert a.values.shape == x.shape                              # one number per token
    with torch.no_grad():
        want = (clf(x, lengths)[:, 0] - clf(torch.zeros_like(x), lengths)[:, 0]).numpy()
    np.testing.assert_allclose(a.per_step.sum(1), want, rtol=1e-4, atol=1e-6)
    w = attention_weights(clf, x, lengths)
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-12)
    pad = np.arange(x.shape[1])[None, :] >= lengths.numpy()[:, None]
    assert pad.any() and (w[pad] == 0).all()
    with torch.no_grad():
        out, _ = clf.encoder_(clf.embedding_(x), lengths)
        want = clf.pool_.weights(out, lengths).numpy()
    np.testing.assert_allclose(w, want, rtol=1e-12)


def test_bad_attribution_requests_get_clear_errors(regressor):
    x = torch.randn(2, 5, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"target must be an output column in 0..2, got 5"):
        integrated_gradients(regressor, x, torch.tensor([5, 5]), target=5)
    with pytest.raises(ValueError, match=r"lengths must be \(B,\)"):
        integrated_gradients(regressor, x, torch.tensor([5]))
    with pytest.raises(ValueError, match="no attention pooling"):
        attention_weights(regressor, x, torch.tensor([5, 5]))
    import lstmkit
    with pytest.raises(ValueError, match="an LSTM layer alone"):
        integrated_gradients(lstmkit.LSTM(2, 3), x)
