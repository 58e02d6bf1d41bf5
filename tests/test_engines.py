"""Which engine backend="auto" runs: the choice changes speed only, never the result."""

from __future__ import annotations

import pytest
import torch

import lstmkit
from lstmkit import engines
from lstmkit.cells import make_cell
from lstmkit.engines import fused, native, reference


def _x(batch, features=8, dtype=torch.float32, device="cpu", steps=5):
    return torch.zeros(steps, batch, features, dtype=dtype, device=device)


@pytest.mark.parametrize("cell", [c for c in lstmkit.cells() if c != "forget"])
def test_auto_runs_every_other_cell_fused_on_the_cpu_and_the_reference_elsewhere(cell):
    spec = make_cell(cell, 8, 8)
    for batch in (1, 10_000):
        assert engines.select("auto", spec, _x(batch)) is fused
        assert engines.select("auto", spec, _x(batch, dtype=torch.float64)) is fused
    assert engines.select("auto", spec, _x(1, dtype=torch.bfloat16)) is reference
    assert engines.select("auto", spec, _x(1, device="meta")) is reference
    short = fused.AUTO_MIN_STEPS - 1                        # streaming: a call's fixed cost dominates
    assert engines.select("auto", spec, _x(1, steps=short)) is reference
    assert engines.select("auto", spec, _x(1, steps=short + 1)) is fused


def test_auto_runs_tiny_forget_networks_fused_and_the_rest_on_torchs_kernel():
    spec = make_cell("forget", 8, 8)
    big = fused.AUTO_MAX_FORGET_WORK // (spec.preactivation_size() * spec.recurrent_size)
    assert big + 1 < fused.AUTO_MIN_FORGET_TRAIN_BATCH
    with torch.no_grad():                                   # inference: torch's kernel unless tiny
        assert engines.select("auto", spec, _x(1)) is fused
        assert engines.select("auto", spec, _x(big)) is fused
        assert engines.select("auto", spec, _x(big + 1)) is native
        assert engines.select("auto", spec, _x(10_000)) is native
    assert engines.select("auto", spec, _x(big + 1)) is native          # training, small batch
    assert engines.select("auto", spec, _x(fused.AUTO_MIN_FORGET_TRAIN_BATCH)) is fused
    assert engines.select("auto", spec, _x(1, dtype=torch.bfloat16)) is native
    assert engines.select("auto", spec, _x(1, device="meta")) is native
    assert engines.select("auto", spec, _x(1, steps=fused.AUTO_MIN_STEPS - 1)) is native


def test_an_explicit_backend_is_never_second_guessed():
    spec = make_cell("vanilla", 8, 8)
    assert engines.select("reference", spec, _x(1)) is reference
    assert engines.select("fused", spec, _x(10_000)) is fused


def test_auto_gives_what_the_reference_gives():
    torch.manual_seed(0)
    ref = lstmkit.LSTM(2, 4, cell="vanilla", recurrent_gates=True, backend="reference", dtype=torch.float64)
    auto = lstmkit.LSTM(2, 4, cell="vanilla", recurrent_gates=True, dtype=torch.float64)
    auto.load_state_dict(ref.state_dict())
    x = torch.randn(20, 3, 2, dtype=torch.float64)
    assert engines.select("auto", auto.cells[0], x) is fused
    for a, b in zip(torch.nn.utils.rnn.unpad_sequence(auto(x)[0], torch.tensor([20] * 3)),
                    torch.nn.utils.rnn.unpad_sequence(ref(x)[0], torch.tensor([20] * 3))):
        torch.testing.assert_close(a, b)
