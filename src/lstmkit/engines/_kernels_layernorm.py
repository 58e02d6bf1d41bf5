"""numba kernels of the fused engine for the layer-normalised cell (see cells/layernorm.py).

Per step: z = xw + LN(W_hh h; γ_hh), c' = f c + i g, h' = o tanh(LN(c'; γ_c, β_c)). The input's
normalised share (xw) comes in precomputed. Shapes as in _kernels.py; the kernels also keep the
normalised values x̂ and the reciprocal standard deviations that the layer-norm backward needs.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..cells.layernorm import EPS
from ._kernels import _sig, matvec, matvec_t, output_grad, project


@numba.njit(cache=True)
def _normalise(v, out):
    """out = (v − mean) / sqrt(var + EPS); returns the reciprocal standard deviation."""
    n = v.shape[0]
    mean = 0.0
    for k in range(n):
        mean += v[k]
    mean /= n
    var = 0.0
    for k in range(n):
        var += (v[k] - mean) ** 2
    rstd = 1.0 / math.sqrt(var / n + EPS)
    for k in range(n):
        out[k] = (v[k] - mean) * rstd
    return rstd


@numba.njit(cache=True)
def _normalise_backward(dxhat, xhat, rstd, out):
    """out = the gradient w.r.t. v of LN's x̂ = (v − mean)·rstd, given dx̂ (gain already applied)."""
    n = dxhat.shape[0]
    s1 = 0.0
    s2 = 0.0
    for k in range(n):
        s1 += dxhat[k]
        s2 += dxhat[k] * xhat[k]
    for k in range(n):
        out[k] = rstd * (dxhat[k] - s1 / n - xhat[k] * s2 / n)


@numba.njit(cache=True)
def forward(xw, whh, g_hh, g_c, b_c, whr, h0, c0, lengths,
            y, h_all, c_all, act, m_all, xhat_hh, rstd_hh, chat, rstd_c):
    T, B, G = xw.shape
    H = c0.shape[1]
    hw = np.empty(G, dtype=xw.dtype)
    h_all[0] = h0
    c_all[0] = c0
    for t in range(T):
        for b in range(B):
            h_prev = h_all[t, b]
            c_prev = c_all[t, b]
            if t >= lengths[b]:
                h_all[t + 1, b] = h_prev
                c_all[t + 1, b] = c_prev
                continue
            matvec(whh, h_prev, hw)
            rstd_hh[t, b] = _normalise(hw, xhat_hh[t, b])
            a = act[t, b]
            xh = xhat_hh[t, b]
            for g in range(G):
                a[g] = xw[t, b, g] + xh[g] * g_hh[g]        # z, turned into activations below
            c = c_all[t + 1, b]
            for j in range(H):
                i, f = _sig(a[j]), _sig(a[H + j])
                gg, o = math.tanh(a[2 * H + j]), _sig(a[3 * H + j])
                a[j], a[H + j], a[2 * H + j], a[3 * H + j] = i, f, gg, o
                c[j] = f * c_prev[j] + i * gg
            rstd_c[t, b] = _normalise(c, chat[t, b])
            m = m_all[t, b]
            for j in range(H):
                m[j] = a[3 * H + j] * math.tanh(chat[t, b, j] * g_c[j] + b_c[j])
            out = y[t, b]
            project(whr, m, out)
            h_all[t + 1, b, :out.shape[0]] = out


@numba.njit(cache=True)
def backward(dy, dh_T, dc_T, whh, g_hh, g_c, b_c, whr, lengths, c_all, act, xhat_hh, rstd_hh,
             chat, rstd_c, dz_all, dhw_all, dy_all, dh0, dc0, dg_hh, dg_c, db_c):
    """dz_all (T,B,G) is the gradient of xw, dhw_all (T,B,G) that of W_hh h (for the caller's
    Σ_t dhw_t^T h_{t-1}); dg_hh, dg_c, db_c accumulate the layer-norm parameters' gradients."""
    T, B, G = act.shape
    H = c_all.shape[2]
    dh0[:] = dh_T
    dc0[:] = dc_T
    dm = np.empty(H, dtype=dy.dtype)
    dch = np.empty(H, dtype=dy.dtype)
    dcl = np.empty(H, dtype=dy.dtype)
    dxh = np.empty(G, dtype=dy.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            if t >= lengths[b]:
                continue
            dh = dh0[b]
            dc = dc0[b]
            output_grad(dy[t, b], dh, whr, dy_all[t, b], dm)
            a = act[t, b]
            ch = chat[t, b]
            dz = dz_all[t, b]
            for j in range(H):
                tcn = math.tanh(ch[j] * g_c[j] + b_c[j])
                o = a[3 * H + j]
                dz[3 * H + j] = dm[j] * tcn * o * (1.0 - o)
                dcn = dm[j] * o * (1.0 - tcn * tcn)
                dg_c[j] += dcn * ch[j]
                db_c[j] += dcn
                dch[j] = dcn * g_c[j]
            _normalise_backward(dch, ch, rstd_c[t, b], dcl)
            c_prev = c_all[t, b]
            for j in range(H):
                i, f, gg = a[j], a[H + j], a[2 * H + j]
                dcj = dc[j] + dcl[j]
                dz[j] = dcj * gg * i * (1.0 - i)
                dz[H + j] = dcj * c_prev[j] * f * (1.0 - f)
                dz[2 * H + j] = dcj * i * (1.0 - gg * gg)
                dc[j] = dcj * f
            xh = xhat_hh[t, b]
            for g in range(G):
                dg_hh[g] += dz[g] * xh[g]
                dxh[g] = dz[g] * g_hh[g]
            dhw = dhw_all[t, b]
            _normalise_backward(dxh, xh, rstd_hh[t, b], dhw)
            matvec_t(whh, dhw, dh)
