"""Recurrent regularisation in lstmkit.LSTM: recurrent_dropout (variational), input_dropout and
weight_drop (DropConnect). Oracles: torch.nn.LSTM / LSTMCell with the same masks applied by hand,
and the reference engine for every other engine (forward and gradients)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import lstmkit
from lstmkit import engines
from lstmkit.cells import make_cell

from conftest import CASES

MASKED_ENGINES = [n for n, e in engines.ENGINES.items() if getattr(e, "TAKES_MASKS", False)]
REGULARISERS = {"recurrent_dropout": 0.3, "input_dropout": 0.2, "weight_drop": 0.25}


def run(model: lstmkit.LSTM, x: torch.Tensor, lengths: torch.Tensor, seed: int = 1):
    torch.manual_seed(seed)
    out, (h, c) = model(x, lengths=lengths)
    loss = (out ** 2).sum() + (c ** 2).sum() + h.sum()
    return out, torch.autograd.grad(loss, [x, *model.parameters()])


@pytest.mark.parametrize("name,opts", CASES)
@pytest.mark.parametrize("backend", [b for b in MASKED_ENGINES if b != "reference"])
def test_every_engine_equals_the_reference_with_the_same_masks(name, opts, backend):
    if not engines.ENGINES[backend].supports(make_cell(name, 3, 6, **opts)):
        pytest.skip(f"{backend} does not run {name}")
    results = {}
    for b in ("reference", backend):
        torch.manual_seed(0)
        m = lstmkit.LSTM(3, 6, 2, bidirectional=True, batch_first=True, cell=name, backend=b,
                         dtype=torch.float64, **REGULARISERS, **opts)
        x = torch.randn(5, 8, 3, dtype=torch.float64, requires_grad=True)
        results[b] = run(m, x, torch.tensor([8, 6, 3, 8, 1]))
    (out_r, g_r), (out_f, g_f) = results["reference"], results[backend]
    torch.testing.assert_close(out_f, out_r, rtol=1e-10, atol=1e-10)
    for a, b in zip(g_f, g_r):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


def test_fused_equals_reference_when_the_batch_runs_in_chunks():
    results = {}
    for b in ("reference", "fused"):
        torch.manual_seed(0)
        m = lstmkit.LSTM(4, 64, batch_first=True, backend=b, dtype=torch.float64, recurrent_dropout=0.4)
        x = torch.randn(65, 7, 4, dtype=torch.float64, requires_grad=True)
        results[b] = run(m, x, torch.randint(1, 8, (65,), generator=torch.Generator().manual_seed(2)))
    torch.testing.assert_close(results["fused"][0], results["reference"][0], rtol=1e-10, atol=1e-10)
    for a, b in zip(results["fused"][1], results["reference"][1]):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("backend", ["reference", "fused", "auto"])
def test_recurrent_dropout_is_torchs_cell_fed_a_masked_state(backend):
    """One mask per sequence multiplies h before every step's recurrent product, the same at
    every step; the returned state is unmasked."""
    torch.manual_seed(0)
    m = lstmkit.LSTM(3, 5, batch_first=True, backend=backend, recurrent_dropout=0.4, dtype=torch.float64)
    cell = nn.LSTMCell(3, 5, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(m, f"{name}_l0"))
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    torch.manual_seed(7)
    out, (h_n, c_n) = m(x)
    torch.manual_seed(7)
    mask = torch.empty(4, 5, dtype=torch.float64).bernoulli_(0.6) / 0.6     # the layer's first draw
    assert 0 < (mask == 0).sum() < mask.numel()
    h, c = torch.zeros(4, 5, dtype=torch.float64), torch.zeros(4, 5, dtype=torch.float64)
    for t in range(6):
        h, c = cell(x[:, t], (h * mask, c))
        torch.testing.assert_close(out[:, t], h, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(h_n[0], h)
    torch.testing.assert_close(c_n[0], c)


def test_weight_drop_and_input_dropout_are_torch_lstm_with_masked_weights_and_inputs():
    torch.manual_seed(0)
    m = lstmkit.LSTM(3, 5, batch_first=True, weight_drop=0.5, input_dropout=0.3, dtype=torch.float64)
    ref = m.to_torch()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    torch.manual_seed(3)
    out, _ = m(x)
    torch.manual_seed(3)
    x_mask = torch.empty(1, 4, 3, dtype=torch.float64).bernoulli_(0.7) / 0.7      # (1, B, I): every step
    w = F.dropout(m.weight_hh_l0.detach(), 0.5, training=True)
    with torch.no_grad():
        ref.weight_hh_l0.copy_(w)
    want, _ = ref(x * x_mask.transpose(0, 1))
    torch.testing.assert_close(out, want, rtol=1e-10, atol=1e-12)


def test_native_backend_takes_weight_drop_but_not_recurrent_dropout():
    torch.manual_seed(0)
    a = lstmkit.LSTM(3, 5, backend="native", weight_drop=0.5, input_dropout=0.2)
    b = lstmkit.LSTM(3, 5, backend="reference", weight_drop=0.5, input_dropout=0.2)
    b.load_state_dict(a.state_dict())
    x = torch.randn(6, 4, 3)
    torch.manual_seed(1)
    ya, _ = a(x)
    torch.manual_seed(1)
    yb, _ = b(x)
    torch.testing.assert_close(ya, yb, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="backend 'native' .* cannot apply recurrent_dropout; use one of: auto, reference, fused"):
        lstmkit.LSTM(3, 5, backend="native", recurrent_dropout=0.1)


def test_auto_never_sends_recurrent_dropout_to_torchs_kernel_and_eval_is_deterministic():
    torch.manual_seed(0)
    m = lstmkit.LSTM(16, 128, batch_first=True, recurrent_dropout=0.5)     # large: auto prefers native in eval
    x = torch.randn(4, 10, 16)
    m.eval()
    plain = lstmkit.LSTM(16, 128, batch_first=True)
    plain.load_state_dict(m.state_dict())
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(m(x)[0], plain(x)[0])                     # eval: no masks at all
        torch.testing.assert_close(m(x)[0], m(x)[0])
    m.train()
    torch.manual_seed(5)
    first = m(x)[0]
    torch.manual_seed(5)
    again = m(x)[0]
    torch.testing.assert_close(first, again)                                 # a seed reproduces the masks
    assert not torch.allclose(first, m(x)[0])                                # fresh masks otherwise
    assert not torch.allclose(first, plain.train()(x)[0])


@pytest.mark.parametrize("name", ["recurrent_dropout", "input_dropout", "weight_drop"])
@pytest.mark.parametrize("value,error,message", [
    (1.0, ValueError, r"must be a probability in \[0, 1\), got 1.0"),
    (-0.1, ValueError, r"must be in \[0.0, 1.0\], got -0.1"),
    ("0.1", TypeError, "must be a float"),
])
def test_bad_probabilities_are_named(name, value, error, message):
    with pytest.raises(error, match=f"{name} {message}"):
        lstmkit.LSTM(3, 5, **{name: value})


def test_regularisers_show_in_the_repr():
    assert "recurrent_dropout=0.25" in repr(lstmkit.LSTM(3, 5, recurrent_dropout=0.25))


def test_activation_penalty_is_ar_plus_tar():
    from lstmkit.models._regularise import activation_penalty
    dropped = torch.tensor([[[1.0, -2.0], [0.0, 3.0]]])             # (1, 2, 2)
    raw = torch.tensor([[[1.0, 1.0], [2.0, 3.0]]])
    want = 0.5 * (1 + 4 + 0 + 9) / 4 + 2.0 * ((2 - 1) ** 2 + (3 - 1) ** 2) / 2
    assert float(activation_penalty(dropped, raw, 0.5, 2.0)) == pytest.approx(want)
    assert float(activation_penalty(dropped, raw, 0.0, 0.0)) == 0.0


def test_language_model_passes_its_regularisers_on_and_penalises_in_training_only(tmp_path):
    from lstmkit.models import LanguageModel
    text = "the quick brown fox jumps over the lazy dog. " * 40
    lm = LanguageModel(hidden_size=16, num_layers=1, bptt=16, batch_size=4, eval_every=5, recurrent_dropout=0.2,
                       weight_drop=0.3, embedding_dropout=0.1, ar=2.0, tar=1.0)
    lm.fit(text, steps=10)
    rnn = lm.encoder.rnn
    assert (rnn.recurrent_dropout, rnn.weight_drop) == (0.2, 0.3)
    ids = torch.randint(1, len(lm.vocab_), (2, 8))
    lm.train()
    out, _ = lm(ids)
    assert lm.penalty_ is not None and float(lm.penalty_.detach()) > 0
    lm.eval()
    lm(ids)
    assert lm.penalty_ is None
    lm.save(tmp_path / "lm.safetensors")
    back = LanguageModel.load(tmp_path / "lm.safetensors")
    assert (back.ar, back.tar, back.embedding_dropout, back.encoder.rnn.weight_drop) == (2.0, 1.0, 0.1, 0.3)


def test_encoders_without_lstm_layers_refuse_lstm_regularisers():
    from lstmkit.models import Encoder, SequenceClassifier
    with pytest.raises(ValueError, match="recurrent_dropout regularises lstmkit's LSTM layers.*model='gru' has none"):
        Encoder("gru", 3, 4, recurrent_dropout=0.1)
    with pytest.raises(ValueError, match="weight_drop regularises .*model='transformer'"):
        Encoder("transformer", 3, 4, weight_drop=0.1)
    enc = Encoder("hybrid", 3, 4, heads=2, recurrent_dropout=0.1, weight_drop=0.2)
    assert all((r.recurrent_dropout, r.weight_drop) == (0.1, 0.2) for r in enc.rnns)
    clf = SequenceClassifier(hidden_size=4, epochs=1, val_fraction=0.0, recurrent_dropout=0.25)
    clf.fit([torch.randn(5, 2).numpy() for _ in range(6)], [0, 1] * 3)
    assert clf.encoder_.rnn.recurrent_dropout == 0.25
