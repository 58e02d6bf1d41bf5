"""lstmkit.explain.analysis on hand-built traces (known answers) and on a trained adding network
(the unit that jumps at the marked inputs must be found)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lstmkit
from lstmkit.explain import trace
from lstmkit.explain.analysis import cell_changes, correlate, jump_ratio, memory, saturation, top_units
from lstmkit.explain.tasks import explain_inputs, train_adding
from lstmkit.explain.trace import LayerTrace


def layer(values: dict[str, np.ndarray], lengths: list[int], direction: str = "forward") -> LayerTrace:
    lengths_ = np.asarray(lengths)
    values = {k: np.asarray(v, dtype=np.float64).copy() for k, v in values.items()}
    for v in values.values():
        for b, n in enumerate(lengths_):
            v[b, n:] = np.nan
    return LayerTrace("", 0, direction, "forget", values, lengths_)


def test_memory_half_life_from_the_forget_gate():
    # unit 0 forgets by half each step (half-life 1), unit 1 alternates 0.25 / 1 (geometric mean 0.5
    # -> half-life 1, though the arithmetic mean is 0.625), unit 2 never forgets
    f = np.zeros((2, 4, 3))
    f[:, :, 0] = 0.5
    f[:, :, 1] = [0.25, 1.0, 0.25, 1.0]
    f[:, :, 2] = 1.0
    f[1, 2:] = 0.01                                     # padding of sequence 1: must not count
    lt = layer({"forget": f, "cell": np.zeros((2, 4, 3))}, [4, 2])
    m = memory(lt)
    np.testing.assert_allclose(m.half_life[:2], [1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(m.forget_mean[:2], [0.5, 0.625], rtol=1e-12)
    np.testing.assert_allclose(m.time_constant[0], 1 / np.log(2), rtol=1e-12)
    assert m.half_life[2] == np.inf and m.decay[2] == 1.0


def test_memory_of_the_1997_cell_is_infinite():
    tr = trace(lstmkit.LSTM(2, 3, cell="vanilla"), torch.randn(5, 2))
    assert np.isinf(memory(tr.layer()).half_life).all()


def test_saturation_fractions():
    i = np.array([[[0.05], [0.5], [0.95], [0.99]]])      # 1 shut, 2 open of 4
    lt = layer({"input": i, "cell": np.zeros_like(i)}, [4])
    s = saturation(lt)
    assert s["input"]["shut"][0] == 0.25 and s["input"]["open"][0] == 0.5 and s["input"]["saturated"][0] == 0.75
    with pytest.raises(ValueError, match="low < high"):
        saturation(lt, low=0.9, high=0.1)


def test_correlate_per_step_and_per_sequence_against_numpy():
    rng = np.random.default_rng(0)
    c = rng.normal(size=(3, 6, 2))
    lengths = [6, 4, 3]
    lt = layer({"cell": c}, lengths)
    signal = rng.normal(size=(3, 6))
    mask = lt.mask
    want = [np.corrcoef(c[..., u][mask], signal[mask])[0, 1] for u in range(2)]
    np.testing.assert_allclose(correlate(lt, signal), want, rtol=1e-12)
    target = np.array([1.0, -2.0, 0.5])
    last = c[np.arange(3), np.array(lengths) - 1]
    want = [np.corrcoef(last[:, u], target)[0, 1] for u in range(2)]
    np.testing.assert_allclose(correlate(lt, target), want, rtol=1e-12)
    with pytest.raises(ValueError, match=r"signal must be \(B,\)"):
        correlate(lt, np.zeros(5))


def test_jump_ratio_and_cell_changes():
    c = np.zeros((1, 6, 2))
    c[0, :, 0] = [0, 0, 1, 1, 1, 1]                     # unit 0 jumps once, at step 2, and holds
    c[0, :, 1] = [1, 2, 3, 4, 5, 6]                     # unit 1 counts: changes by 1 every step
    lt = layer({"cell": c}, [6])
    at = np.zeros((1, 6), bool)
    at[0, 2] = True
    np.testing.assert_allclose(cell_changes(lt)[0, :, 1], np.ones(6))
    r = jump_ratio(lt, at)
    assert r[0] > 1e6 and r[1] == pytest.approx(1.0)
    assert top_units(r, 1) == [0]
    # the reverse direction's previous step is the next one in input order
    rv = layer({"cell": c[:, ::-1]}, [6], direction="reverse")
    np.testing.assert_allclose(cell_changes(rv)[0, :, 1], np.ones(6))
    with pytest.raises(ValueError, match="mark some real steps"):
        jump_ratio(lt, np.zeros((1, 6), bool))


@pytest.fixture(scope="module")
def adding():
    trained = train_adding(20, hidden=8, steps=1500, seed=0)
    x, lengths, y, marked = explain_inputs(20, 32)
    return trained, trace(trained.model, x, lengths), marked, y


def test_the_trained_adding_network_has_a_unit_that_jumps_at_the_markers(adding):
    trained, tr, marked, y = adding
    assert trained.test_right > 0.9, f"the network did not learn adding (right {trained.test_right:.2f})"
    ratios = jump_ratio(tr.layer(), marked)
    best = top_units(ratios, 1)[0]
    assert ratios[best] > 3.0, f"no unit writes at the markers: jump ratios {np.round(ratios, 2)}"
    # and some unit's final cell state carries the answer
    r = correlate(tr.layer(), y.numpy())
    assert np.abs(r).max() > 0.8, f"no unit's final cell state tracks the target: r {np.round(r, 2)}"
