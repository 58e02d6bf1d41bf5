"""Shared test tables: every registered cell with the options it must be tested under."""

from __future__ import annotations

import pytest
import torch

import lstmkit

#: Every registered cell, each with option sets that together exercise every option. The vanilla
#: cell's ``truncated`` is left out here: its gradient is deliberately not the exact one, so it has
#: its own tests (test_vanilla.py) against the paper's formulas.
CELL_CONFIGS: dict[str, list[dict]] = {
    "vanilla": [{}, {"block_size": 2, "recurrent_gates": True}, {"cell_input_bias": False, "block_size": 3}],
    "forget": [{}],
    "peephole": [{}],
    "cifg": [{}],
    "layernorm": [{}],
}

CASES = [pytest.param(name, opts, id=f"{name}-{'-'.join(f'{k}={v}' for k, v in opts.items()) or 'default'}")
         for name, configs in CELL_CONFIGS.items() for opts in configs]


def tolerances(dtype: torch.dtype) -> dict:
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-10}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_every_registered_cell_has_a_test_config():
    assert sorted(CELL_CONFIGS) == sorted(lstmkit.cells())
