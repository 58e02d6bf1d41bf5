"""lstmkit.models.encoders: shapes, padding, causality, the transformer block against a hand
computation with scaled_dot_product_attention, the position codes against their formula, the
parameter budget against a brute-force search, and the errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from lstmkit.models.encoders import KINDS, Encoder, count_parameters, hidden_for_budget, positions

TOL = {"rtol": 1e-5, "atol": 1e-5}


def _encoder(kind: str, *, input_size: int = 3, hidden: int = 4, layers: int = 2, **kw) -> Encoder:
    torch.manual_seed(0)
    return Encoder(kind, input_size, hidden, layers, heads=2, **kw).eval()


# -- shapes ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_output_shape_and_size(kind, bidirectional):
    enc = _encoder(kind, bidirectional=bidirectional)
    out, state = enc(torch.randn(2, 5, 3))
    recurrent_dirs = 2 if bidirectional and kind != "transformer" else 1
    assert enc.output_size == 4 * recurrent_dirs
    assert out.shape == (2, 5, enc.output_size)
    assert (state is None) == (kind == "transformer")


def test_recurrent_states_have_torch_shapes():
    lstm_out, (h, c) = _encoder("lstm", bidirectional=True)(torch.randn(2, 5, 3))
    assert h.shape == c.shape == (2 * 2, 2, 4)                  # (layers x directions, batch, hidden)
    _, h = _encoder("gru")(torch.randn(2, 5, 3))
    assert h.shape == (2, 2, 4)
    _, states = _encoder("hybrid")(torch.randn(2, 5, 3))
    assert len(states) == 2 and states[0][0].shape == (1, 2, 4)  # one (h, c) per LSTM layer


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_state_carries_a_stream_across_chunks(kind):
    enc = _encoder(kind, causal=True)
    x = torch.randn(2, 7, 3)
    whole, _ = enc(x)
    first, state = enc(x[:, :3])
    second, _ = enc(x[:, 3:], state=state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, **TOL)


# -- padding -----------------------------------------------------------------------------------------------

PADDING_CASES = [pytest.param(k, False, c, id=f"{k}{'-causal' if c else ''}") for k in KINDS for c in (False, True)]
PADDING_CASES += [pytest.param(k, True, False, id=f"{k}-bidirectional") for k in ("lstm", "gru", "hybrid")]


@pytest.mark.parametrize("kind, bidirectional, causal", PADDING_CASES)
def test_padding_does_not_change_the_real_steps(kind, bidirectional, causal):
    enc = _encoder(kind, bidirectional=bidirectional, causal=causal)
    lengths = [6, 2, 4]
    batch = torch.randn(3, 6, 3) * 5                 # the padding is garbage, not zeros
    out, _ = enc(batch, torch.tensor(lengths))
    for i, n in enumerate(lengths):
        alone, _ = enc(batch[i: i + 1, :n])
        torch.testing.assert_close(out[i, :n], alone[0], **TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_padding_invariance_holds_in_training_mode_too(kind):
    enc = _encoder(kind).train()                     # dropout is 0: train mode takes the slow attention path
    batch = torch.randn(2, 5, 3)
    out, _ = enc(batch, torch.tensor([5, 3]))
    alone, _ = enc(batch[1:, :3])
    torch.testing.assert_close(out[1, :3], alone[0], **TOL)


# -- causality ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_causal_outputs_before_t_ignore_step_t(kind):
    enc = _encoder(kind, causal=True)
    x = torch.randn(2, 6, 3)
    out, _ = enc(x)
    for t in (0, 3, 5):
        y = x.clone()
        y[:, t] += 10.0
        perturbed, _ = enc(y)
        torch.testing.assert_close(perturbed[:, :t], out[:, :t], rtol=0, atol=0)
        assert (perturbed[:, t] - out[:, t]).abs().max() > 1e-3      # step t itself is read


@pytest.mark.parametrize("kind", ["transformer", "hybrid"])
def test_non_causal_attention_does_see_later_steps(kind):
    enc = _encoder(kind, causal=False)               # the causality test above could fail
    x = torch.randn(1, 6, 3)
    y = x.clone()
    y[:, 4] += 10.0
    assert (enc(y)[0][:, :4] - enc(x)[0][:, :4]).abs().max() > 1e-3


# -- the transformer against a hand computation -----------------------------------------------------------

def _block_by_hand(block: torch.nn.TransformerEncoderLayer, h: torch.Tensor, heads: int, causal: bool) -> torch.Tensor:
    """A pre-norm block on ONE unpadded sequence h (T, D): h + MHA(LN1 h); then + FF(LN2 .)."""
    T, D = h.shape
    attn = block.self_attn
    z = F.layer_norm(h, (D,), block.norm1.weight, block.norm1.bias, block.norm1.eps)
    q, k, v = (z @ attn.in_proj_weight.T + attn.in_proj_bias).split(D, dim=-1)        # 3 x (T, D)
    q, k, v = (t.view(T, heads, D // heads).transpose(0, 1) for t in (q, k, v))      # (heads, T, D/heads)
    a = F.scaled_dot_product_attention(q, k, v, is_causal=causal)                     # (heads, T, D/heads)
    h = h + a.transpose(0, 1).reshape(T, D) @ attn.out_proj.weight.T + attn.out_proj.bias
    z = F.layer_norm(h, (D,), block.norm2.weight, block.norm2.bias, block.norm2.eps)
    return h + block.linear2(torch.relu(block.linear1(z)))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("train_mode", [False, True])
def test_transformer_with_padding_equals_attention_by_hand(causal, train_mode):
    enc = _encoder("transformer", hidden=4, causal=causal).train(train_mode)
    lengths = [5, 3]
    x = torch.randn(2, 5, 3)
    out, _ = enc(x, torch.tensor(lengths))
    with torch.no_grad():
        for i, n in enumerate(lengths):
            h = enc.project(x[i, :n]) * math.sqrt(4) + positions(n, 4)
            for block in enc.blocks:
                h = _block_by_hand(block, h, heads=2, causal=causal)
            expected = F.layer_norm(h, (4,), enc.norm.weight, enc.norm.bias, enc.norm.eps)
            torch.testing.assert_close(out[i, :n].detach(), expected, **TOL)


def test_positions_follow_the_formula():
    for steps, width in ((5, 6), (4, 5)):
        by_hand = torch.tensor([[math.sin(p / 10000 ** (j / width)) if j % 2 == 0
                                 else math.cos(p / 10000 ** ((j - 1) / width)) for j in range(width)]
                                for p in range(steps)])
        torch.testing.assert_close(positions(steps, width), by_hand, rtol=1e-6, atol=1e-6)


# -- parameter budgets -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_hidden_for_budget_is_the_closest_count(kind):
    step = 2 if kind in ("hybrid", "transformer") else 1
    counts = {h: count_parameters(Encoder(kind, 3, h, heads=2)) for h in range(step, 41, step)}
    for budget in (150, 1234, 5000):
        best = min(counts, key=lambda h: (abs(counts[h] - budget), h))       # brute force over 1..40
        assert hidden_for_budget(kind, 3, budget, heads=2) == best


def test_hidden_for_budget_counts_the_extra_parameters():
    head = lambda width: width * 10 + 10                        # noqa: E731 - a linear head to 10 outputs
    counts = {h: count_parameters(Encoder("lstm", 3, h)) + head(h) for h in range(1, 41)}
    best = min(counts, key=lambda h: (abs(counts[h] - 3000), h))
    assert hidden_for_budget("lstm", 3, 3000, extra=head) == best


def test_count_parameters_by_hand():
    # torch.nn.LSTM: 4H(I + H) weights and 8H biases per layer and direction
    assert count_parameters(Encoder("lstm", 3, 5)) == 4 * 5 * (3 + 5) + 8 * 5
    assert count_parameters(Encoder("gru", 3, 5)) == 3 * 5 * (3 + 5) + 6 * 5


# -- errors ------------------------------------------------------------------------------------------------

def test_unknown_kind_is_named():
    with pytest.raises(ValueError, match=r"kind must be one of 'lstm', 'gru', 'hybrid', 'transformer', got 'rnn'"):
        Encoder("rnn", 3, 4)
    with pytest.raises(ValueError, match="got 'rnn'"):
        hidden_for_budget("rnn", 3, 100)


@pytest.mark.parametrize("kind, bidirectional, hidden", [("transformer", False, 6), ("hybrid", False, 6),
                                                         ("hybrid", True, 3)])
def test_hidden_not_a_multiple_of_heads_is_named(kind, bidirectional, hidden):
    with pytest.raises(ValueError, match=r"hidden_size \(\d+ with both directions\) must be a multiple of heads \(4\)"):
        Encoder(kind, 3, hidden, heads=4, bidirectional=bidirectional)
    Encoder("lstm", 3, hidden, heads=4)                          # recurrences have no heads


@pytest.mark.parametrize("kind", KINDS)
def test_causal_and_bidirectional_is_refused(kind):
    with pytest.raises(ValueError, match="bidirectional=True .* cannot be causal=True"):
        Encoder(kind, 3, 4, heads=2, causal=True, bidirectional=True)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lengths", [[3], [3, 0], [3, 6], [[3, 2]]], ids=["too-few", "zero", "too-long", "2-d"])
def test_bad_lengths_are_named(kind, lengths):
    enc = _encoder(kind)
    with pytest.raises(ValueError, match=r"lengths must be 2 values in 1\.\.5, got"):
        enc(torch.randn(2, 5, 3), torch.tensor(lengths))


def test_bad_input_and_sizes_are_named():
    enc = _encoder("lstm")
    with pytest.raises(ValueError, match=r"input must be \(batch, steps, features\), got shape \(5, 3\)"):
        enc(torch.randn(5, 3))
    with pytest.raises(ValueError, match="hidden_size must be >= 1, got 0"):
        Encoder("gru", 3, 0)
    with pytest.raises(TypeError, match="input_size must be an int"):
        Encoder("gru", 3.0, 4)
    with pytest.raises(ValueError, match=r"dropout must be in \[0.0, 1.0\], got 1.5"):
        Encoder("lstm", 3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="budget must be >= 1, got 0"):
        hidden_for_budget("lstm", 3, 0)


@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, False), (1, True)])
def test_gru_matches_torchs_packed_gru_on_every_path(layers, bidirectional):
    torch.manual_seed(0)
    enc = Encoder("gru", 3, 6, layers, bidirectional=bidirectional)
    x, h0 = torch.randn(4, 7, 3, requires_grad=True), torch.randn(layers * (1 + bidirectional), 4, 6)
    for lengths in (torch.tensor([7, 3, 5, 1]), torch.full((4,), 7)):
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        ref, ref_h = enc.rnn(packed, h0)
        ref, _ = nn.utils.rnn.pad_packed_sequence(ref, batch_first=True, total_length=7)
        out, h = enc(x, lengths, h0)
        torch.testing.assert_close(out, ref)
        torch.testing.assert_close(h, ref_h)
        g, = torch.autograd.grad(out.sum() + h.sum(), x)
        ref_g, = torch.autograd.grad(ref.sum() + ref_h.sum(), x)
        torch.testing.assert_close(g, ref_g)
