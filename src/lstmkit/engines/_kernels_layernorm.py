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
from ._kernels import copy, copy2, masked, mm, mm_tn, output_grad, zoned
from ._math import sig, tanh
from ._rng import mix, split, weights


@numba.njit(cache=True, error_model="numpy", fastmath=True)
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


@numba.njit(cache=True, error_model="numpy", fastmath=True)
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


@numba.njit(cache=True, error_model="numpy", fastmath=True, parallel=True)
def forward(xw, whh, g_hh, g_c, b_c, whr, h0, c0, lengths, blas, keep,
            y, h_all, c_all, act, m_all, xhat_hh, rstd_hh, chat, rstd_c, rmask, use_rmask, zone):
    """Per network k, as _kernels.forward (rmask and zone too), plus the layer norms' x̂ and
    reciprocal std (chat: of the ordinary, unzoned new cell)."""
    for k in numba.prange(xw.shape[0]):         # networks (or batch chunks) side by side
        _forward(xw[k], whh[k], g_hh[k], g_c[k], b_c[k], whr[k], h0[k], c0[k], lengths[k], blas, keep,
                 y[k], h_all[k], c_all[k], act[k], m_all[k], xhat_hh[k], rstd_hh[k], chat[k], rstd_c[k],
                 rmask[k], use_rmask, zone, k * xw.shape[2])


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def _forward(xw, whh, g_hh, g_c, b_c, whr, h0, c0, lengths, blas, keep,
             y, h_all, c_all, act, m_all, xhat_hh, rstd_hh, chat, rstd_c, rmask, use_rmask, zone, row0):
    T, B, G = xw.shape
    H = c0.shape[1]
    O = y.shape[2]
    R = h_all.shape[2]
    zc, zh = zoned(zone, 0), zoned(zone, 1)
    hw = np.empty((B, G), dtype=xw.dtype)
    hm = np.empty((B, R) if use_rmask else (0, 0), dtype=xw.dtype)
    w = np.empty(max(H, R) if zc or zh else 0, dtype=xw.dtype)     # one row's zoneout weights
    whh_t = np.ascontiguousarray(whh.T)
    whr_t = np.ascontiguousarray(whr.T)
    h_all[0] = h0
    c_all[0] = c0
    for t in range(T):
        s, s1, ta = (t, t + 1, t) if keep else (t & 1, (t + 1) & 1, 0)
        if use_rmask:
            masked(h_all[s], rmask, hm)
            mm(hm, whh_t, whh, hw, blas)
        else:
            mm(h_all[s], whh_t, whh, hw, blas)
        for b in range(B):
            c_prev = c_all[s, b]
            if t >= lengths[b]:
                copy(h_all[s, b], h_all[s1, b], h_all.shape[2])
                copy(c_prev, c_all[s1, b], H)
                m_all[ta, b] = 0.0
                continue
            rstd_hh[ta, b] = _normalise(hw[b], xhat_hh[ta, b])
            a = act[ta, b]
            xh = xhat_hh[ta, b]
            for g in range(G):
                a[g] = xw[t, b, g] + xh[g] * g_hh[g]        # z, turned into activations below
            c = c_all[s1, b]
            for g in range(2 * H):
                a[g] = sig(a[g])
            for j in range(H):
                a[2 * H + j] = tanh(a[2 * H + j])
            for j in range(H):
                a[3 * H + j] = sig(a[3 * H + j])
            for j in range(H):
                c[j] = a[H + j] * c_prev[j] + a[j] * a[2 * H + j]
            rstd_c[ta, b] = _normalise(c, chat[ta, b])
            m = m_all[ta, b]
            ch = chat[ta, b]
            for j in range(H):
                m[j] = a[3 * H + j] * tanh(ch[j] * g_c[j] + b_c[j])
            if zc:                                   # zoneout: the output above saw the ordinary c
                weights(zone, 0, row0 + b, t, T, w[:H])
                mix(w, c_prev, c)
        if whr.shape[0] > 0:
            mm(m_all[ta], whr_t, whr, y[t], blas)
        else:
            copy2(m_all[ta], y[t])
        for b in range(B):
            if t < lengths[b]:
                copy(y[t, b], h_all[s1, b], O)
                if zh:
                    weights(zone, 1, row0 + b, t, T, w[:R])
                    mix(w, h_all[s, b], h_all[s1, b])
                    copy(h_all[s1, b], y[t, b], O)


@numba.njit(cache=True, error_model="numpy", fastmath=True, parallel=True)
def backward(dy, dh_T, dc_T, whh, g_hh, g_c, b_c, whr, lengths, blas, blas_sum, h_all, c_all, act, m_all,
             xhat_hh, rstd_hh, chat, rstd_c, dz_all, dhw_all, dy_all, dh0, dc0, dg_hh, dg_c, db_c,
             dwhh, dwhr, rmask, use_rmask, zone):
    """Per network k. dz_all (T,B,G) is the gradient of xw, dhw_all (T,B,G) that of W_hh h;
    dg_hh, dg_c, db_c, dwhh (G,R) = Σ_t dhw_t^T h_{t-1} and dwhr (P,H) = Σ_t dy_t^T m_t accumulate
    (zeroed by the caller); every other output is written here. Zoneout as in _kernels.backward."""
    T, B = dz_all.shape[1], dz_all.shape[2]
    for k in numba.prange(dy.shape[0]):
        _backward(dy[k], dh_T[k], dc_T[k], whh[k], g_hh[k], g_c[k], b_c[k], whr[k], lengths[k], blas,
                  c_all[k], act[k], xhat_hh[k], rstd_hh[k], chat[k], rstd_c[k], dz_all[k], dhw_all[k],
                  dy_all[k], dh0[k], dc0[k], dg_hh[k], dg_c[k], db_c[k], rmask[k], use_rmask, zone, k * B)
        if T * B > 0:
            mm_tn(dhw_all[k].reshape((T * B, dhw_all.shape[3])),
                  h_all[k, :T].reshape((T * B, h_all.shape[3])), dwhh[k], blas_sum)
            if whr.shape[1] > 0:
                mm_tn(dy_all[k].reshape((T * B, dy_all.shape[3])),
                      m_all[k].reshape((T * B, m_all.shape[3])), dwhr[k], blas_sum)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def _backward(dy, dh_T, dc_T, whh, g_hh, g_c, b_c, whr, lengths, blas, c_all, act, xhat_hh, rstd_hh,
              chat, rstd_c, dz_all, dhw_all, dy_all, dh, dc, dg_hh, dg_c, db_c, rmask, use_rmask, zone, row0):
    T, B, G = act.shape
    H = c_all.shape[2]
    R = dh.shape[1]
    zc, zh = zoned(zone, 0), zoned(zone, 1)
    ck = np.empty(H if zc else 0, dtype=dy.dtype)    # the share of dc_t that goes straight to c_{t-1}
    hk = np.empty((B, R) if zh else (0, 0), dtype=dy.dtype)
    w = np.empty(max(H, R) if zc or zh else 0, dtype=dy.dtype)     # one row's zoneout weights
    dh[:] = dh_T
    dc[:] = dc_T
    dm = np.zeros((B, H), dtype=dy.dtype)
    back = np.empty(dh.shape, dtype=dy.dtype)
    whh_t = np.ascontiguousarray(whh.T)
    whr_t = np.ascontiguousarray(whr.T)
    dch = np.empty(H, dtype=dy.dtype)
    tq = np.empty(H, dtype=dy.dtype)
    dcl = np.empty(H, dtype=dy.dtype)
    dxh = np.empty(G, dtype=dy.dtype)
    for t in range(T - 1, -1, -1):
        output_grad(t, dy, dh, lengths, whr, whr_t, dy_all, dm, blas, zone, row0, hk, w)
        for b in range(B):
            if t >= lengths[b]:
                dz_all[t, b] = 0.0
                dhw_all[t, b] = 0.0                  # the product below reads every row
                continue
            dmb = dm[b]
            dcb = dc[b]
            if zc:                                   # dc_t splits: d_c to c_{t-1}, 1 − d_c to c̃_t
                weights(zone, 0, row0 + b, t, T, w[:H])
                split(w, dcb, ck)
            a = act[t, b]
            ch = chat[t, b]
            dz = dz_all[t, b]
            for j in range(H):
                tq[j] = tanh(ch[j] * g_c[j] + b_c[j])
            for j in range(H):
                tcn = tq[j]
                o = a[3 * H + j]
                dz[3 * H + j] = dmb[j] * tcn * o * (1.0 - o)
                dcn = dmb[j] * o * (1.0 - tcn * tcn)
                dg_c[j] += dcn * ch[j]
                db_c[j] += dcn
                dch[j] = dcn * g_c[j]
            _normalise_backward(dch, ch, rstd_c[t, b], dcl)
            c_prev = c_all[t, b]
            for j in range(H):
                i, f, gg = a[j], a[H + j], a[2 * H + j]
                dcj = dcb[j] + dcl[j]
                dz[j] = dcj * gg * i * (1.0 - i)
                dz[H + j] = dcj * c_prev[j] * f * (1.0 - f)
                dz[2 * H + j] = dcj * i * (1.0 - gg * gg)
                dcb[j] = dcj * f
            if zc:
                for j in range(H):
                    dcb[j] += ck[j]
            xh = xhat_hh[t, b]
            for g in range(G):
                dg_hh[g] += dz[g] * xh[g]
                dxh[g] = dz[g] * g_hh[g]
            _normalise_backward(dxh, xh, rstd_hh[t, b], dhw_all[t, b])
        mm(dhw_all[t], whh, whh_t, back, blas)       # padded rows of dhw are zero
        for b in range(B):
            if t < lengths[b]:
                if use_rmask:
                    for r in range(R):
                        dh[b, r] = back[b, r] * rmask[b, r]
                else:
                    copy(back[b], dh[b], R)
                if zh:                               # zoneout's straight path to h_{t-1}
                    for r in range(R):
                        dh[b, r] += hk[b, r]
