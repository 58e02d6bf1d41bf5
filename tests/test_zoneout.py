"""Zoneout in lstmkit.LSTM (Krueger et al. 2017). Oracles: torch.nn.LSTMCell in a hand-written
loop with the masks applied by hand (masks from a pure-Python SplitMix64, the published
generator), the expectation formula in eval, and the reference engine for the fused one (forward
and gradients, every cell config)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import lstmkit
from lstmkit import engines
from lstmkit.cells import make_cell
from lstmkit.engines import fused
from lstmkit.engines._zoneout import masks

from conftest import CASES

F64 = torch.float64
LENGTHS = torch.tensor([6, 4, 1])
_M64 = 2 ** 64 - 1


def splitmix64(seed: int, i: int) -> int:
    """Output number i (from 0) of SplitMix64 (Steele, Lea & Flood 2014), in Python integers."""
    z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def hand_mask(seed: int, p: float, steps: int, batch: int, size: int) -> torch.Tensor:
    """The documented mask: with P = ceil(F/2), element (t, b, j) is 1 iff u < p, u a 32-bit half of
    output (b·T + t)·P + (j mod P) as a uniform in [0, 1): the low half for j < P, else the high."""
    half = (size + 1) // 2

    def keeps(t: int, b: int, j: int) -> bool:
        z = splitmix64(seed, (b * steps + t) * half + j % half)
        return ((z >> (0 if j < half else 32)) & 0xFFFFFFFF) / 2.0 ** 32 < p
    return torch.tensor([[[float(keeps(t, b, j)) for j in range(size)] for b in range(batch)]
                         for t in range(steps)], dtype=F64)


def test_the_generator_is_splitmix64():
    want = [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431]
    assert [splitmix64(1234567, i) for i in range(4)] == want               # the published test vector
    for size in (5, 6):                                                  # odd and even rows
        torch.testing.assert_close(torch.from_numpy(masks(1234567, 0.3, 4, 3, size)), hand_mask(1234567, 0.3, 4, 3, size))


def test_masks_keep_with_probability_p_fresh_at_every_step():
    p, (steps, batch, size) = 0.3, (40, 50, 100)
    m = torch.from_numpy(masks(7, p, steps, batch, size))
    sd = math.sqrt(p * (1 - p) / m.numel())
    assert abs(float(m.mean()) - p) < 5 * sd
    per_step = m.mean(dim=(1, 2))                                        # every step draws afresh
    assert float((per_step - p).abs().max()) < 5 * math.sqrt(p * (1 - p) / (batch * size))
    a, b = m[:-1].flatten(), m[1:].flatten()                             # step t vs t + 1: independent
    assert abs(float(torch.corrcoef(torch.stack([a, b]))[0, 1])) < 5 / math.sqrt(a.numel())
    assert not torch.equal(m, torch.from_numpy(masks(8, p, steps, batch, size)))


def _layer_draw(seed: int) -> tuple[int, int]:
    """The seeds the layer draws first after torch.manual_seed(seed): two from torch's generator
    (the cell's first) per layer and direction."""
    torch.manual_seed(seed)
    cell, hidden = torch.randint(0, 2 ** 63 - 1, (2,)).tolist()
    return cell, hidden


def _torch_copy(m: lstmkit.LSTM) -> nn.LSTMCell:
    cell = nn.LSTMCell(m.input_size, m.hidden_size, dtype=F64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(m, f"{name}_l0"))
    return cell


def _hand_loop(cell: nn.LSTMCell, x: torch.Tensor, lengths: torch.Tensor, w_c, w_h):
    """torch's cell over x (B, T, I); after each real step c = w_c c_old + (1 − w_c) c_new, the same
    for h (w: (T, B, H) masks or a float); padded steps keep the state and output zero."""
    batch, steps = x.shape[:2]
    h = c = torch.zeros(batch, cell.hidden_size, dtype=F64)
    outs = []
    for t in range(steps):
        h_new, c_new = cell(x[:, t], (h, c))
        wc = w_c[t] if isinstance(w_c, torch.Tensor) else w_c
        wh = w_h[t] if isinstance(w_h, torch.Tensor) else w_h
        c_z, h_z = wc * c + (1 - wc) * c_new, wh * h + (1 - wh) * h_new
        real = (t < lengths)[:, None]
        h, c = torch.where(real, h_z, h), torch.where(real, c_z, c)
        outs.append(torch.where(real, h_z, torch.zeros_like(h_z)))
    return torch.stack(outs, dim=1), h, c


def _loss(out, h, c):
    return (out ** 2).sum() + 0.5 * (c ** 2).sum() + h.sum()


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("backend", ["reference", "fused"])
def test_layer_is_torchs_cell_with_the_zoneout_applied_by_hand(backend, training):
    """Outputs, h_n, c_n and the gradients of input and weights, lengths included: the masks in
    training, the expectation p in eval."""
    p_cell, p_hidden = 0.5, 0.3
    torch.manual_seed(0)
    m = lstmkit.LSTM(3, 5, batch_first=True, backend=backend, zoneout=(p_cell, p_hidden), dtype=F64).train(training)
    cell = _torch_copy(m)
    x = torch.randn(3, 6, 3, dtype=F64, requires_grad=True)
    torch.manual_seed(7)
    out, (h_n, c_n) = m(x, lengths=LENGTHS)
    got = torch.autograd.grad(_loss(out, h_n[0], c_n[0]), [x, m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0])

    if training:
        seed_c, seed_h = _layer_draw(7)
        w_c, w_h = hand_mask(seed_c, p_cell, 6, 3, 5), hand_mask(seed_h, p_hidden, 6, 3, 5)
        assert 0 < int(w_c.sum()) < w_c.numel() and 0 < int(w_h.sum()) < w_h.numel()
    else:
        w_c, w_h = p_cell, p_hidden
    x2 = x.detach().clone().requires_grad_(True)
    want_out, h, c = _hand_loop(cell, x2, LENGTHS, w_c, w_h)
    want = torch.autograd.grad(_loss(want_out, h, c), [x2, cell.weight_ih, cell.weight_hh, cell.bias_ih])
    torch.testing.assert_close(out, want_out, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(h_n[0], h, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(c_n[0], c, rtol=1e-10, atol=1e-12)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def _run(backend: str, name: str, opts: dict, *, training: bool = True, dtype=F64, batch: int = 3, **kwargs):
    hidden = 6 if opts.get("block_size", 1) == 3 else 4              # the 1997 cell's blocks divide it
    torch.manual_seed(0)
    m = lstmkit.LSTM(3, hidden, 2, bidirectional=True, batch_first=True, cell=name, backend=backend,
                     dtype=dtype, **kwargs, **opts).train(training)
    x = torch.randn(batch, 6, 3, dtype=dtype, requires_grad=True)
    torch.manual_seed(1)
    out, (h, c) = m(x, lengths=LENGTHS[:batch])
    return out, (h, c), torch.autograd.grad(_loss(out, h, c), [x, *m.parameters()])


def _assert_same(a, b, rtol=1e-10, atol=1e-10):
    (out_a, (h_a, c_a), g_a), (out_b, (h_b, c_b), g_b) = a, b
    for u, v in zip((out_a, h_a, c_a), (out_b, h_b, c_b)):
        torch.testing.assert_close(u, v, rtol=rtol, atol=atol)
    for u, v in zip(g_a, g_b):
        torch.testing.assert_close(u, v, rtol=10 * rtol, atol=atol)


TRUNCATED = pytest.param("vanilla", {"truncated": True}, id="vanilla-truncated=True")
SETTINGS = [pytest.param((0.4, 0.3), True, id="train"), pytest.param((0.4, 0.3), False, id="eval"),
            pytest.param((0.5, 0.0), True, id="cell-only"), pytest.param((0.0, 0.4), True, id="hidden-only")]


@pytest.mark.parametrize("proj_size", [0, 2])
@pytest.mark.parametrize("zoneout,training", SETTINGS)
@pytest.mark.parametrize("name,opts", [*CASES, TRUNCATED])
def test_fused_equals_the_reference_with_the_same_masks(name, opts, zoneout, training, proj_size):
    """2 layers, both directions, lengths, projection: forward and every gradient."""
    if not fused.supports(make_cell(name, 3, 6, **opts)):
        pytest.skip(f"fused does not run {name}")
    kwargs = {"zoneout": zoneout, "proj_size": proj_size}
    _assert_same(_run("fused", name, opts, training=training, **kwargs),
                 _run("reference", name, opts, training=training, **kwargs))


@pytest.mark.parametrize("name,opts", CASES)
def test_fused_equals_the_reference_with_every_regulariser_at_once(name, opts):
    kwargs = {"zoneout": 0.3, "recurrent_dropout": 0.3, "input_dropout": 0.2, "weight_drop": 0.25}
    _assert_same(_run("fused", name, opts, **kwargs), _run("reference", name, opts, **kwargs))


def test_fused_equals_the_reference_in_float32():
    kwargs = {"zoneout": (0.5, 0.2), "proj_size": 2}
    _assert_same(_run("fused", "forget", {}, dtype=torch.float32, **kwargs),
                 _run("reference", "forget", {}, dtype=torch.float32, **kwargs), rtol=1e-5, atol=1e-5)


def test_fused_equals_the_reference_when_the_batch_runs_in_chunks(monkeypatch):
    """The chunks of one batch (one kernel network each) draw the rows of the whole batch's masks."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        monkeypatch.setattr(fused, "PARALLEL_MIN_STEP_WORK", 0)
        if fused.chunks(make_cell("forget", 3, 4), 3, fused._threads()) < 2:
            pytest.skip("numba has a single thread here: no chunks")
        for name, opts in (("forget", {}), ("layernorm", {})):
            _assert_same(_run("fused", name, opts, zoneout=0.3), _run("reference", name, opts, zoneout=0.3))
    finally:
        torch.set_num_threads(threads)


def test_eval_is_deterministic_and_a_seed_reproduces_training():
    torch.manual_seed(0)
    m = lstmkit.LSTM(3, 5, batch_first=True, zoneout=0.4, dtype=F64)
    x = torch.randn(3, 6, 3, dtype=F64)
    m.eval()
    with torch.no_grad():
        torch.testing.assert_close(m(x)[0], m(x)[0], rtol=0, atol=0)
    m.train()
    torch.manual_seed(5)
    first = m(x)[0]
    torch.manual_seed(5)
    torch.testing.assert_close(m(x)[0], first, rtol=0, atol=0)      # a seed reproduces the masks
    assert not torch.allclose(m(x)[0], first)                        # fresh masks otherwise


@pytest.mark.parametrize("off", [0.0, (0.0, 0.0)])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_zoneout_zero_is_no_zoneout(off, training):
    torch.manual_seed(0)
    plain = lstmkit.LSTM(3, 5, batch_first=True, dtype=F64).train(training)
    zoned = lstmkit.LSTM(3, 5, batch_first=True, zoneout=off, dtype=F64).train(training)
    zoned.load_state_dict(plain.state_dict())
    x = torch.randn(3, 6, 3, dtype=F64)
    torch.testing.assert_close(zoned(x, lengths=LENGTHS), plain(x, lengths=LENGTHS), rtol=0, atol=0)


def test_auto_never_sends_zoneout_to_torchs_kernel_in_training_or_eval():
    torch.manual_seed(0)
    spec = make_cell("forget", 16, 128)
    x = torch.randn(10, 64, 16)                                       # large: auto prefers native in eval
    with torch.no_grad():
        assert engines.select("auto", spec, x) is engines.native
        assert engines.select("auto", spec, x, masks="zoneout") is fused          # not the reference loop
    auto = lstmkit.LSTM(16, 128, zoneout=0.3).eval()
    ref = lstmkit.LSTM(16, 128, zoneout=0.3, backend="reference").eval()
    plain = lstmkit.LSTM(16, 128).eval()
    ref.load_state_dict(auto.state_dict())
    plain.load_state_dict(auto.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(auto(x)[0], ref(x)[0], rtol=1e-5, atol=1e-6)
        assert not torch.allclose(auto(x)[0], plain(x)[0], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("value,error,message", [
    (-0.1, ValueError, r"zoneout must be in \[0.0, 1.0\], got -0.1"),
    (1.0, ValueError, r"zoneout must be a probability in \[0, 1\), got 1.0"),
    (float("nan"), ValueError, "zoneout must be a number, got nan"),
    ("0.1", TypeError, r"zoneout must be a float or a \(p_cell, p_hidden\) tuple of floats, got str"),
    (True, TypeError, "zoneout must be a float or a .* got bool"),
    ((0.1, 0.2, 0.3), ValueError, r"zoneout must be a float or a \(p_cell, p_hidden\) pair, got 3 values"),
    ((0.1,), ValueError, "zoneout must be a float or a .* pair, got 1 values"),
    ((0.1, 1.0), ValueError, r"zoneout\[1\] \(p_hidden\) must be a probability in \[0, 1\)"),
    ((-0.5, 0.1), ValueError, r"zoneout\[0\] \(p_cell\) must be in \[0.0, 1.0\]"),
    ((0.1, "a"), TypeError, r"zoneout\[1\] \(p_hidden\) must be a float"),
])
def test_bad_zoneout_is_named(value, error, message):
    with pytest.raises(error, match=message):
        lstmkit.LSTM(3, 5, zoneout=value)


def test_native_backend_refuses_zoneout_and_says_why():
    with pytest.raises(ValueError, match="backend 'native' .* cannot apply zoneout; use one of: auto, reference, fused"):
        lstmkit.LSTM(3, 5, backend="native", zoneout=0.1)
    with pytest.raises(ValueError, match="cannot apply recurrent_dropout and zoneout"):
        lstmkit.LSTM(3, 5, backend="native", zoneout=(0.0, 0.1), recurrent_dropout=0.2)
    lstmkit.LSTM(3, 5, backend="native", zoneout=(0.0, 0.0))           # off: nothing to refuse


def test_zoneout_shows_in_the_repr_and_a_list_reads_as_a_pair():
    assert "zoneout=0.25" in repr(lstmkit.LSTM(3, 5, zoneout=0.25))
    m = lstmkit.LSTM(3, 5, zoneout=[0.5, 0.05])                        # as a config comes back from JSON
    assert (m.zoneout, m.zoneout_cell, m.zoneout_hidden) == ((0.5, 0.05), 0.5, 0.05)
    assert "zoneout=(0.5, 0.05)" in repr(m)
    assert "zoneout" not in repr(lstmkit.LSTM(3, 5))


def test_trace_records_the_zoned_state():
    from lstmkit.explain import trace
    torch.manual_seed(0)
    m = lstmkit.LSTM(3, 5, batch_first=True, zoneout=(0.5, 0.3)).eval()
    x = torch.randn(2, 6, 3)
    with torch.no_grad():
        out, (_, c_n) = m(x)
    tr = trace(m, x).layer(0)
    torch.testing.assert_close(torch.from_numpy(tr["hidden"]).float(), out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(torch.from_numpy(tr["cell"][:, -1]).float(), c_n[0], rtol=1e-5, atol=1e-6)


def test_models_and_encoders_pass_zoneout_on_or_refuse_it():
    from lstmkit.models import Encoder, SequenceClassifier
    with pytest.raises(ValueError, match="zoneout regularises lstmkit's LSTM layers.*model='gru' has none"):
        Encoder("gru", 3, 4, zoneout=0.1)
    with pytest.raises(ValueError, match=r"zoneout regularises .*model='transformer' has none \(got zoneout=\(0.0, 0.1\)\)"):
        Encoder("transformer", 3, 4, zoneout=(0.0, 0.1))
    enc = Encoder("hybrid", 3, 4, heads=2, zoneout=(0.5, 0.05))
    assert all(r.zoneout == (0.5, 0.05) for r in enc.rnns)
    clf = SequenceClassifier(hidden_size=4, epochs=1, val_fraction=0.0, zoneout=0.2)
    clf.fit([torch.randn(5, 2).numpy() for _ in range(6)], [0, 1] * 3)
    assert clf.encoder_.rnn.zoneout == 0.2


def test_language_model_keeps_zoneout_through_save_and_load(tmp_path):
    from lstmkit.models import LanguageModel
    lm = LanguageModel(hidden_size=8, num_layers=1, bptt=8, batch_size=2, eval_every=5, zoneout=(0.5, 0.05))
    lm.fit("the quick brown fox jumps over the lazy dog. " * 10, steps=2)
    assert lm.encoder.rnn.zoneout == (0.5, 0.05)
    lm.save(tmp_path / "lm.safetensors")
    assert LanguageModel.load(tmp_path / "lm.safetensors").encoder.rnn.zoneout == (0.5, 0.05)


def test_cli_zoneout_flag():
    from lstmkit.cli import build_parser, classify, lm
    parser = build_parser()
    assert lm.build(parser.parse_args(["lm", "shakespeare", "--zoneout", "0.5,0.05"])).zoneout == (0.5, 0.05)
    args = parser.parse_args(["classify", "japanese-vowels", "--zoneout", "0.1"])
    assert classify._params(args, "japanese-vowels")["zoneout"] == 0.1
    with pytest.raises(SystemExit):
        parser.parse_args(["lm", "shakespeare", "--zoneout", "0.1,0.2,0.3"])


def test_readme_zoneout_example_runs():
    import re
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "zoneout=(0.5, 0.05)" in b)
    namespace: dict = {}
    exec(compile("import torch, lstmkit\n" + block.replace("\n  ", "\n").strip(), "README.md", "exec"), namespace)
    rnn, x = namespace["rnn"], namespace["x"]
    assert not rnn.training and tuple(namespace["out"].shape) == (4, 20, 16)
    with torch.no_grad():
        torch.testing.assert_close(namespace["out"], rnn(x)[0], rtol=0, atol=0)
