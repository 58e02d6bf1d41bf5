"""The fused CPU engine: the whole recurrence of one direction, forward and backward, in one
compiled call (numba), with no Python work per time step.

The input projection of all steps is one matrix product done by torch (so its gradient is torch's
too); the kernel then runs the recurrent product and one fused pointwise pass per step, keeping
the gate activations and cell states that backward needs. The weight gradients that sum over
steps (recurrent and projection weights) are one matrix product each after the backward kernel.

Runs every registered cell on the CPU, in float32 and float64.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..cells.base import Cell, Params, State
from ..cells.cifg import CIFGCell
from ..cells.forget import ForgetCell
from ..cells.layernorm import LayerNormCell
from ..cells.peephole import PeepholeCell
from ..cells.vanilla import VanillaCell
from .reference import reverse_padded

_KINDS = {VanillaCell: 0, ForgetCell: 1, PeepholeCell: 2, CIFGCell: 3}


#: backend="auto" runs a cell here while B·G·R, the multiply-adds of one step's recurrent product, is
#: at most this: above ~2e5 the reference loop's BLAS product wins (benchmarks/fused_crossover.md).
AUTO_MAX_STEP_WORK = 2 ** 17


def supports(cell: Cell) -> bool:
    return type(cell) in _KINDS or type(cell) is LayerNormCell


def prefers(cell: Cell, x: Tensor) -> bool:
    """Whether backend="auto" should run ``cell`` on ``x`` (T, B, I) here."""
    work = x.shape[1] * cell.preactivation_size() * cell.recurrent_size
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and work <= AUTO_MAX_STEP_WORK


def _kernels() -> Any:
    from . import _kernels                      # numba compiles on first use, not at import
    return _kernels


def _ln_kernels() -> Any:
    from . import _kernels_layernorm
    return _kernels_layernorm


def _np(t: Tensor) -> Any:
    return t.detach().contiguous().numpy()


class _Recurrence(torch.autograd.Function):
    """(xw, w_hh, w_peep, w_hr, h0, c0) -> (y, h_n, c_n) for one direction; see _kernels."""

    @staticmethod
    def forward(ctx, xw, whh, wp, whr, h0, c0, lengths, config):
        kind, block, rgates, _ = config
        T, B = xw.shape[0], xw.shape[1]
        H = c0.shape[1]
        O = whr.shape[0] or H
        new = lambda *shape: torch.zeros(shape, dtype=xw.dtype)
        y, h_all, c_all = new(T, B, O), new(T + 1, B, h0.shape[1]), new(T + 1, B, H)
        act, m_all = new(*xw.shape), new(T, B, H)
        _kernels().forward(_np(xw), _np(whh), _np(wp), _np(whr), _np(h0), _np(c0), lengths.numpy(),
                           kind, block, rgates, y.numpy(), h_all.numpy(), c_all.numpy(),
                           act.numpy(), m_all.numpy())
        ctx.save_for_backward(whh, wp, whr, lengths, h_all, c_all, act, m_all)
        ctx.config = config
        return y, h_all[T], c_all[T]                  # padding carried the state to the end

    @staticmethod
    def backward(ctx, dy, dh_n, dc_n):
        whh, wp, whr, lengths, h_all, c_all, act, m_all = ctx.saved_tensors
        kind, block, rgates, truncated = ctx.config
        T, B = act.shape[0], act.shape[1]
        dz, dy_all = torch.zeros_like(act), torch.zeros_like(dy)
        dh0, dc0, dwp = torch.zeros_like(h_all[0]), torch.zeros_like(c_all[0]), torch.zeros_like(wp)
        _kernels().backward(_np(dy), _np(dh_n), _np(dc_n), _np(whh), _np(wp), _np(whr), lengths.numpy(),
                            kind, block, rgates, truncated, c_all.numpy(), act.numpy(),
                            dz.numpy(), dy_all.numpy(), dh0.numpy(), dc0.numpy(), dwp.numpy())
        flat = lambda v: v.reshape(T * B, v.shape[-1])
        dwhh = flat(dz).t() @ flat(h_all[:T])                           # Σ_t dz_t^T h_{t-1}: (G, R)
        dwhr = flat(dy_all).t() @ flat(m_all) if whr.shape[0] else None  # Σ_t dy_t^T m_t: (P, H)
        return dz, dwhh, dwp if kind == 2 else None, dwhr, dh0, dc0, None, None


class _LayerNormRecurrence(torch.autograd.Function):
    """(xw, w_hh, γ_hh, γ_c, β_c, w_hr, h0, c0) -> (y, h_n, c_n); see _kernels_layernorm."""

    @staticmethod
    def forward(ctx, xw, whh, g_hh, g_c, b_c, whr, h0, c0, lengths):
        T, B = xw.shape[0], xw.shape[1]
        H = c0.shape[1]
        new = lambda *shape: torch.zeros(shape, dtype=xw.dtype)
        y, h_all, c_all = new(T, B, whr.shape[0] or H), new(T + 1, B, h0.shape[1]), new(T + 1, B, H)
        act, m_all, xhat, rstd, chat, rstd_c = new(*xw.shape), new(T, B, H), new(*xw.shape), new(T, B), new(T, B, H), new(T, B)
        _ln_kernels().forward(_np(xw), _np(whh), _np(g_hh), _np(g_c), _np(b_c), _np(whr), _np(h0), _np(c0),
                              lengths.numpy(), y.numpy(), h_all.numpy(), c_all.numpy(), act.numpy(),
                              m_all.numpy(), xhat.numpy(), rstd.numpy(), chat.numpy(), rstd_c.numpy())
        ctx.save_for_backward(whh, g_hh, g_c, b_c, whr, lengths, h_all, c_all, act, m_all, xhat, rstd, chat, rstd_c)
        return y, h_all[T], c_all[T]

    @staticmethod
    def backward(ctx, dy, dh_n, dc_n):
        whh, g_hh, g_c, b_c, whr, lengths, h_all, c_all, act, m_all, xhat, rstd, chat, rstd_c = ctx.saved_tensors
        T, B = act.shape[0], act.shape[1]
        dz, dhw, dy_all = torch.zeros_like(act), torch.zeros_like(act), torch.zeros_like(dy)
        dh0, dc0 = torch.zeros_like(h_all[0]), torch.zeros_like(c_all[0])
        dg_hh, dg_c, db_c = torch.zeros_like(g_hh), torch.zeros_like(g_c), torch.zeros_like(b_c)
        _ln_kernels().backward(_np(dy), _np(dh_n), _np(dc_n), _np(whh), _np(g_hh), _np(g_c), _np(b_c),
                               _np(whr), lengths.numpy(), c_all.numpy(), act.numpy(), xhat.numpy(),
                               rstd.numpy(), chat.numpy(), rstd_c.numpy(), dz.numpy(), dhw.numpy(),
                               dy_all.numpy(), dh0.numpy(), dc0.numpy(), dg_hh.numpy(), dg_c.numpy(),
                               db_c.numpy())
        flat = lambda v: v.reshape(T * B, v.shape[-1])
        dwhh = flat(dhw).t() @ flat(h_all[:T])
        dwhr = flat(dy_all).t() @ flat(m_all) if whr.shape[0] else None
        return dz, dwhh, dg_hh, dg_c, db_c, dwhr, dh0, dc0, None


def _run_direction(cell: Cell, p: Params, xw: Tensor, h0: Tensor, c0: Tensor, steps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    whr = p.get("weight_hr", xw.new_zeros(0, cell.hidden_size))
    if type(cell) is LayerNormCell:
        b_c = p.get("bias_ln_c", xw.new_zeros(cell.hidden_size))
        return _LayerNormRecurrence.apply(xw, p["weight_hh"], p["weight_ln_hh"], p["weight_ln_c"], b_c,
                                          whr, h0, c0, steps)
    kind = _KINDS[type(cell)]
    opts = cell.config
    config = (kind, opts.get("block_size", 1), bool(opts.get("recurrent_gates", False)),
              bool(opts.get("truncated", False)))
    wp = (torch.stack([p["weight_ci"], p["weight_cf"], p["weight_co"]]) if kind == 2
          else xw.new_zeros(3, cell.hidden_size))
    return _Recurrence.apply(xw, p["weight_hh"], wp, whr, h0, c0, steps, config)


def run_layer(cell: Cell, params: list[Params], x: Tensor, lengths: Tensor | None,
              states: list[State]) -> tuple[Tensor, list[State]]:
    if x.device.type != "cpu":
        raise ValueError(f"backend 'fused' runs on the CPU, got input on {x.device}; use backend='reference'")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"backend 'fused' runs float32 and float64, got {x.dtype}; use backend='reference'")
    T, B = x.shape[0], x.shape[1]
    steps = lengths if lengths is not None else torch.full((B,), T, dtype=torch.int64)
    outs, finals = [], []
    for direction, (p, (h0, c0)) in enumerate(zip(params, states)):
        reverse = direction == 1
        xd = reverse_padded(x, lengths) if reverse else x
        y, h_n, c_n = _run_direction(cell, p, cell.project_input(p, xd), h0, c0, steps)
        outs.append(reverse_padded(y, lengths) if reverse else y)
        finals.append((h_n, c_n))
    return torch.cat(outs, dim=-1), finals
