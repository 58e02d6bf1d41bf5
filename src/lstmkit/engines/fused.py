"""The fused CPU engine: the whole recurrence of one direction, forward and backward, in one
compiled call (numba), with no Python work per time step.

The input projection of all steps is one matrix product done by torch (so its gradient is torch's
too); the kernel then runs the recurrent product and one fused pointwise pass per step, keeping
the gate activations and cell states that backward needs. The weight gradients that sum over
steps (recurrent and projection weights) are one matrix product each after the backward kernel.

Runs every registered cell on the CPU, in float32 and float64.
"""

from __future__ import annotations


import threading
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..cells.base import Cell, Params, State
from ..cells.cifg import CIFGCell
from ..cells.forget import ForgetCell
from ..cells.layernorm import LayerNormCell
from ..cells.peephole import PeepholeCell
from ..cells.vanilla import VanillaCell
from ._zoneout import NO_ZONEOUT, Zoneout
from .reference import reverse_padded

_KINDS = {VanillaCell: 0, ForgetCell: 1, PeepholeCell: 2, CIFGCell: 3}


#: backend="auto" runs the forget cell here rather than on torch's own kernel while B·G·R, the
#: multiply-adds of one step's recurrent product, is at most AUTO_MAX_FORGET_WORK (the tiny
#: networks, where torch's per-step overhead dominates), and for training (grad enabled) from batch
#: AUTO_MIN_FORGET_TRAIN_BATCH on, where this engine's backward beats torch's (measured:
#: benchmarks/fused_crossover.md and the engine benchmark). Every other cell runs here on the CPU
#: whatever its size: it beats the reference loop at every size.
AUTO_MAX_FORGET_WORK = 2 ** 12
AUTO_MIN_FORGET_TRAIN_BATCH = 32
#: Sequences shorter than this go to the other engines: a call here has a fixed cost (about two
#: reference steps: measured for T=1, H=128, B=1, every cell, in benchmarks/streaming.md).
AUTO_MIN_STEPS = 3


def supports(cell: Cell) -> bool:
    return type(cell) in _KINDS or type(cell) is LayerNormCell


#: This engine takes ``recurrent_masks`` (recurrent dropout) and ``zoneout``.
TAKES_MASKS = True


def prefers(cell: Cell, x: Tensor, native: bool = True) -> bool:
    """Whether backend="auto" should run ``cell`` on ``x`` (T, B, I) here; ``native``: whether
    torch's kernel could run it instead (not with recurrent dropout or zoneout)."""
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64) or x.shape[0] < AUTO_MIN_STEPS:
        return False
    if type(cell) is ForgetCell and native:
        batch = x.shape[1]
        return (batch * cell.preactivation_size() * cell.recurrent_size <= AUTO_MAX_FORGET_WORK
                or (torch.is_grad_enabled() and batch >= AUTO_MIN_FORGET_TRAIN_BATCH))
    return True


#: The per-step product goes to OpenBLAS once it has at least this many multiply-adds (batch x
#: pre-activations x recurrent size) and the batch (of one network or chunk) at least
#: BLAS_MIN_BATCH rows; below either, numba's loop is faster (measured: 4x at batch 1, H=256;
#: even at batch 4; BLAS 2x faster from batch 16).
BLAS_MIN_STEP_WORK = 2 ** 12
BLAS_MIN_BATCH = 8


def _kernels() -> Any:
    from . import _kernels                      # numba compiles on first use, not at import
    return _kernels


def _ln_kernels() -> Any:
    from . import _kernels_layernorm
    return _kernels_layernorm


def _np(t: Tensor) -> Any:
    return (t.detach() if t.requires_grad else t).contiguous().numpy()


def _empty(like: Tensor) -> Tensor:
    """A new C-contiguous tensor of ``like``'s shape and dtype (empty_like keeps odd strides)."""
    return torch.empty(like.shape, dtype=like.dtype)


def _zeros(like: Tensor) -> Tensor:
    return torch.zeros(like.shape, dtype=like.dtype)


def _use_blas(batch: int, whh: Tensor) -> bool:
    """Whether this call's per-step products go to OpenBLAS.

    OpenBLAS runs on one thread: each step's product is small, and a second OpenBLAS thread costs
    more than it gives: it spins between the steps on the core that the pointwise pass and torch's
    own threads need (measured: the fused engine twice as slow at (32, 128, 32, 100) with two).
    """
    from . import _blas
    if (not _blas.AVAILABLE or batch < BLAS_MIN_BATCH
            or batch * whh.shape[-2] * whh.shape[-1] < BLAS_MIN_STEP_WORK):
        return False
    _blas.set_threads(1)
    return True


def _blas_sums() -> bool:
    """Whether the weight gradients' sums over all steps go to OpenBLAS (whenever it is there)."""
    from . import _blas
    if _blas.AVAILABLE:
        _blas.set_threads(1)
    return _blas.AVAILABLE


class _Recurrence(torch.autograd.Function):
    """(xw, w_hh, w_peep, w_hr, h0, c0) -> (y, h_n, c_n) for K networks at once, every tensor
    with a leading network axis; see _kernels."""

    @staticmethod
    def forward(ctx, xw, whh, wp, whr, h0, c0, lengths, config, rmask, zone):
        kind, block, rgates, _ = config
        K, T, B = xw.shape[:3]
        H = c0.shape[-1]
        O = whr.shape[1] or H
        keep = any(ctx.needs_input_grad)               # else inference: keep only what comes out
        steps, states = (T, T + 1) if keep else (1, 2)
        new = lambda *shape: torch.empty(shape, dtype=xw.dtype)     # the kernel writes every element
        y, h_all, c_all = new(K, T, B, O), new(K, states, B, h0.shape[-1]), new(K, states, B, H)
        act, m_all = new(K, steps, B, xw.shape[-1]), new(K, steps, B, H)
        use_rmask = rmask is not None
        _kernels().forward(_np(xw), _np(whh), _np(wp), _np(whr), _np(h0), _np(c0), lengths.numpy(),
                           kind, block, rgates, _use_blas(B, whh), keep, y.numpy(), h_all.numpy(),
                           c_all.numpy(), act.numpy(), m_all.numpy(), *_mask_args(rmask, xw), zone)
        if keep:
            ctx.save_for_backward(whh, wp, whr, lengths, h_all, c_all, act, m_all,
                                  rmask if use_rmask else None)
        ctx.config, ctx.zone = config, zone
        last = T if keep else T % 2                    # padding carried the state to the end
        return y, h_all[:, last], c_all[:, last]

    @staticmethod
    def backward(ctx, dy, dh_n, dc_n):
        whh, wp, whr, lengths, h_all, c_all, act, m_all, rmask = ctx.saved_tensors
        kind, block, rgates, truncated = ctx.config
        h_read = h_all if rmask is None else h_all * rmask[:, None]     # what the products read
        B = act.shape[2]
        dz, dy_all = _empty(act), _empty(dy)
        dh0, dc0 = _empty(h_all[:, 0]), _empty(c_all[:, 0])
        dwp, dwhh, dwhr = _zeros(wp), _zeros(whh), _zeros(whr)
        _kernels().backward(_np(dy), _np(dh_n), _np(dc_n), _np(whh), _np(wp), _np(whr), lengths.numpy(),
                            kind, block, rgates, truncated, _use_blas(B, whh), _blas_sums(), _np(h_read), c_all.numpy(),
                            act.numpy(), m_all.numpy(), dz.numpy(), dy_all.numpy(), dh0.numpy(), dc0.numpy(),
                            dwp.numpy(), dwhh.numpy(), dwhr.numpy(), *_mask_args(rmask, act), ctx.zone)
        return dz, dwhh, dwp if kind == 2 else None, dwhr if whr.shape[1] else None, dh0, dc0, None, None, None, None


class _LayerNormRecurrence(torch.autograd.Function):
    """(xw, w_hh, γ_hh, γ_c, β_c, w_hr, h0, c0) -> (y, h_n, c_n) for K networks; see
    _kernels_layernorm."""

    @staticmethod
    def forward(ctx, xw, whh, g_hh, g_c, b_c, whr, h0, c0, lengths, rmask, zone):
        K, T, B = xw.shape[:3]
        H = c0.shape[-1]
        keep = any(ctx.needs_input_grad)
        steps, states = (T, T + 1) if keep else (1, 2)
        new = lambda *shape: torch.empty(shape, dtype=xw.dtype)
        y, h_all, c_all = new(K, T, B, whr.shape[1] or H), new(K, states, B, h0.shape[-1]), new(K, states, B, H)
        act, m_all, xhat = new(K, steps, B, xw.shape[-1]), new(K, steps, B, H), new(K, steps, B, xw.shape[-1])
        rstd, chat, rstd_c = new(K, steps, B), new(K, steps, B, H), new(K, steps, B)
        _ln_kernels().forward(_np(xw), _np(whh), _np(g_hh), _np(g_c), _np(b_c), _np(whr), _np(h0), _np(c0),
                              lengths.numpy(), _use_blas(B, whh), keep, y.numpy(), h_all.numpy(), c_all.numpy(),
                              act.numpy(), m_all.numpy(), xhat.numpy(), rstd.numpy(), chat.numpy(),
                              rstd_c.numpy(), *_mask_args(rmask, xw), zone)
        if keep:
            ctx.save_for_backward(whh, g_hh, g_c, b_c, whr, lengths, h_all, c_all, act, m_all, xhat, rstd,
                                  chat, rstd_c, rmask)
        ctx.zone = zone
        last = T if keep else T % 2
        return y, h_all[:, last], c_all[:, last]

    @staticmethod
    def backward(ctx, dy, dh_n, dc_n):
        whh, g_hh, g_c, b_c, whr, lengths, h_all, c_all, act, m_all, xhat, rstd, chat, rstd_c, rmask = ctx.saved_tensors
        h_read = h_all if rmask is None else h_all * rmask[:, None]
        B = act.shape[2]
        dz, dhw, dy_all = _empty(act), _empty(act), _empty(dy)
        dh0, dc0 = _empty(h_all[:, 0]), _empty(c_all[:, 0])
        dg_hh, dg_c, db_c = _zeros(g_hh), _zeros(g_c), _zeros(b_c)
        dwhh, dwhr = _zeros(whh), _zeros(whr)
        _ln_kernels().backward(_np(dy), _np(dh_n), _np(dc_n), _np(whh), _np(g_hh), _np(g_c), _np(b_c),
                               _np(whr), lengths.numpy(), _use_blas(B, whh), _blas_sums(), _np(h_read), c_all.numpy(),
                               act.numpy(), m_all.numpy(), xhat.numpy(), rstd.numpy(), chat.numpy(),
                               rstd_c.numpy(), dz.numpy(), dhw.numpy(), dy_all.numpy(), dh0.numpy(),
                               dc0.numpy(), dg_hh.numpy(), dg_c.numpy(), db_c.numpy(), dwhh.numpy(),
                               dwhr.numpy(), *_mask_args(rmask, act), ctx.zone)
        return dz, dwhh, dg_hh, dg_c, db_c, dwhr if whr.shape[1] else None, dh0, dc0, None, None, None


def _mask_args(rmask: Tensor | None, like: Tensor) -> tuple[Any, bool]:
    """The kernels' (rmask, use_rmask) arguments: a placeholder of ``like``'s dtype when unmasked."""
    if rmask is None:
        return np.zeros((like.shape[0], 0, 0), dtype=_np(like).dtype), False
    return _np(rmask.to(like.dtype)), True


def run_networks(cell: Cell, p: Params, xw: Tensor, h0: Tensor, c0: Tensor, steps: Tensor,
                 rmask: Tensor | None = None, zoneout: Zoneout | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """The recurrence of K networks of ``cell`` in one kernel call. Every tensor has a leading
    network axis: the parameters ``p`` (K, ...), xw = the input projection (K, T, B, G), h0
    (K, B, R), c0 (K, B, H), steps (K, B) int64, rmask (K, B, R) or None: the recurrent dropout
    mask (the state is multiplied by it before every step's product); ``zoneout``: network k
    takes rows k·B.. of its masks (the networks are chunks of one batch). Returns y (K, T, B, O),
    h_n and c_n. The networks run side by side on up to ``torch.get_num_threads()`` threads."""
    _threads()
    zone = NO_ZONEOUT if zoneout is None else zoneout.kernel_args()
    whr = p.get("weight_hr", xw.new_zeros(xw.shape[0], 0, cell.hidden_size))
    if type(cell) is LayerNormCell:
        b_c = p.get("bias_ln_c", xw.new_zeros(xw.shape[0], cell.hidden_size))
        return _LayerNormRecurrence.apply(xw, p["weight_hh"], p["weight_ln_hh"], p["weight_ln_c"], b_c,
                                          whr, h0, c0, steps, rmask, zone)
    kind = _KINDS[type(cell)]
    opts = cell.config
    config = (kind, opts.get("block_size", 1), bool(opts.get("recurrent_gates", False)),
              bool(opts.get("truncated", False)))
    wp = (torch.stack([p["weight_ci"], p["weight_cf"], p["weight_co"]], dim=1) if kind == 2
          else xw.new_zeros(xw.shape[0], 3, cell.hidden_size))
    return _Recurrence.apply(xw, p["weight_hh"], wp, whr, h0, c0, steps, config, rmask, zone)


#: A direction's batch is split into one chunk per thread (each chunk a "network" of the kernel,
#: run side by side) once a step has this many multiply-adds (batch x pre-activations x recurrent
#: size); below, one thread is faster than waking a second.
PARALLEL_MIN_STEP_WORK = 2 ** 15


_numba_threads = threading.local()


def _threads() -> int:
    """Threads for the kernels' parallel loop over networks: torch's thread count, within numba's
    (set in numba only when it changes: the call is thread-local and not free)."""
    import numba
    torch_threads = torch.get_num_threads()
    n = max(1, min(torch_threads, numba.config.NUMBA_NUM_THREADS))
    if getattr(_numba_threads, "n", None) != n:
        numba.set_num_threads(n)        # starts numba's OpenMP pool the first time, which sets the
        _numba_threads.n = n            # process's (torch's too) OpenMP thread count to all the cores:
        if torch.get_num_threads() != torch_threads:                 # give torch back its own
            torch.set_num_threads(torch_threads)
    return n


def chunks(cell: Cell, batch: int, threads: int) -> int:
    """How many batch chunks one direction of ``cell`` runs in, side by side."""
    work = batch * cell.preactivation_size() * cell.recurrent_size
    return max(1, min(threads, batch)) if work >= PARALLEL_MIN_STEP_WORK else 1


def _run_direction(cell: Cell, p: Params, x: Tensor, h0: Tensor, c0: Tensor, steps: Tensor,
                   rmask: Tensor | None = None, zoneout: Zoneout | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """One direction, x (T, B, I). The batch runs as n chunks of ceil(B/n) sequences (the last
    one filled up with zero-length sequences), each a kernel "network" with the same weights; the
    weights' gradients sum over the chunks through ``expand``."""
    T, B = x.shape[0], x.shape[1]
    n = chunks(cell, B, _threads())
    size = -(-B // n)
    fill = n * size - B

    def split(v: Tensor) -> Tensor:                 # (T, B, F) -> (n, T, size, F)
        v = torch.nn.functional.pad(v, (0, 0, 0, fill)) if fill else v
        return v.reshape(v.shape[0], n, size, v.shape[-1]).transpose(0, 1)

    def split_state(v: Tensor) -> Tensor:           # (B, F) -> (n, size, F)
        return split(v.unsqueeze(0))[:, 0]

    shared = {name: v.unsqueeze(0) if n == 1 else v.unsqueeze(0).expand(n, *v.shape) for name, v in p.items()}
    xw = cell.project_input(p, split(x) if n > 1 else x.unsqueeze(0))      # one product, shared weights
    lengths = (torch.nn.functional.pad(steps, (0, fill)) if fill else steps).reshape(n, size)
    one = lambda v: split_state(v) if n > 1 else v.unsqueeze(0)               # noqa: E731
    y, h_n, c_n = run_networks(cell, shared, xw, one(h0), one(c0), lengths,
                               None if rmask is None else one(rmask).contiguous(), zoneout)
    if n == 1:
        return y[0], h_n[0], c_n[0]
    y = y.transpose(0, 1).reshape(T, n * size, y.shape[-1])[:, :B]
    return y, h_n.reshape(n * size, -1)[:B], c_n.reshape(n * size, -1)[:B]


def run_layer(cell: Cell, params: list[Params], x: Tensor, lengths: Tensor | None,
              states: list[State], recurrent_masks: list[Tensor] | None = None,
              zoneout: list[Zoneout] | None = None) -> tuple[Tensor, list[State]]:
    """``recurrent_masks``: one (B, R) mask per direction, or None; ``zoneout``: one per direction,
    or None (see the reference engine). The kernels draw the zoneout masks themselves."""
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
        y, h_n, c_n = _run_direction(cell, p, xd, h0, c0, steps,
                                     None if recurrent_masks is None else recurrent_masks[direction],
                                     None if zoneout is None else zoneout[direction])
        outs.append(reverse_padded(y, lengths) if reverse else y)
        finals.append((h_n, c_n))
    return (torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]), finals
