"""Finite differences (float64 gradcheck) for every cell with every option, through the layer."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

import lstmkit
from conftest import CASES
from lstmkit import engines
from lstmkit.cells import make_cell

I, H, B, T = 2, 6, 3, 3
LAYOUTS = {
    "1layer": dict(num_layers=1, bidirectional=False, proj_size=0, bias=True, lengths=None),
    "2layer-bidir-proj-lengths": dict(num_layers=2, bidirectional=True, proj_size=2, bias=True, lengths=[3, 1, 2]),
    "bidir-nobias-lengths": dict(num_layers=1, bidirectional=True, proj_size=0, bias=False, lengths=[2, 3, 1]),
}


def _backends(cell):
    spec = make_cell(cell, I, H)
    return [name for name, engine in engines.ENGINES.items() if engine.supports(spec)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("cell,options", CASES)
def test_gradcheck_through_layer(cell, options, layout):
    cfg = dict(LAYOUTS[layout])
    lengths = cfg.pop("lengths")
    for backend in _backends(cell):
        m = lstmkit.LSTM(I, H, cell=cell, dtype=torch.float64, backend=backend, **cfg, **options)
        names = [n for n, _ in m.named_parameters()]
        d = m.num_directions * m.num_layers
        r, h = m.cells[0].state_sizes
        x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
        h0 = torch.randn(d, B, r, dtype=torch.float64, requires_grad=True)
        c0 = torch.randn(d, B, h, dtype=torch.float64, requires_grad=True)
        params = [p.detach().clone().requires_grad_() for p in m.parameters()]

        def f(x, h0, c0, *ps):
            out, (hn, cn) = functional_call(m, dict(zip(names, ps)), (x, (h0, c0)), {"lengths": lengths})
            return out, hn, cn

        assert torch.autograd.gradcheck(f, (x, h0, c0, *params), fast_mode=layout != "1layer"), backend


@pytest.mark.parametrize("cell,options", CASES)
def test_gradcheck_lstmcell(cell, options):
    m = lstmkit.LSTMCell(I, H, cell=cell, proj_size=2, dtype=torch.float64, **options)
    names = [n for n, _ in m.named_parameters()]
    r, h = m.spec.state_sizes
    args = (torch.randn(B, I, dtype=torch.float64, requires_grad=True),
            torch.randn(B, r, dtype=torch.float64, requires_grad=True),
            torch.randn(B, h, dtype=torch.float64, requires_grad=True),
            *[p.detach().clone().requires_grad_() for p in m.parameters()])

    def f(x, h0, c0, *ps):
        return functional_call(m, dict(zip(names, ps)), (x, (h0, c0)))

    assert torch.autograd.gradcheck(f, args)
