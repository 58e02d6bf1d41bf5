"""numba kernels of the fused engine: a whole sequence forward, and its backward, in one call.

Shapes: T steps, B batch, G pre-activations, R recurrent state, H cells, O output (P if projected).
The input's share of the pre-activations (xw) comes in precomputed, so each step here does only
the recurrent product and one pointwise pass. ``kind`` picks the cell's pointwise math:
"""

from __future__ import annotations

import math

import numba
import numpy as np

VANILLA, FORGET, PEEPHOLE, CIFG = 0, 1, 2, 3


@numba.njit(inline="always")
def _sig(x):
    return 1.0 / (1.0 + math.exp(-x))


@numba.njit(inline="always")
def matvec(w, v, out):
    """out = w @ v for w (N, M), v (M,)."""
    for n in range(w.shape[0]):
        acc = 0.0
        for k in range(w.shape[1]):
            acc += w[n, k] * v[k]
        out[n] = acc


@numba.njit(inline="always")
def matvec_t(w, v, out):
    """out = w.T @ v for w (N, M), v (N,): the gradient back through w."""
    out[:] = 0.0
    for n in range(w.shape[0]):
        d = v[n]
        for k in range(w.shape[1]):
            out[k] += d * w[n, k]


@numba.njit(inline="always")
def project(whr, m, out):
    """LSTMP's projection, out = whr @ m, or a copy when there is none (whr has no rows)."""
    if whr.shape[0] > 0:
        matvec(whr, m, out)
    else:
        out[:] = m


@numba.njit(inline="always")
def output_grad(dy_t, dh, whr, dyt, dm):
    """The whole gradient reaching one step's output, dyt = dy_t + dh[:O] (the next step's share),
    and through the projection to the unprojected output, dm."""
    for o in range(dyt.shape[0]):
        dyt[o] = dy_t[o] + dh[o]
    if whr.shape[0] > 0:
        matvec_t(whr, dyt, dm)
    else:
        dm[:] = dyt


@numba.njit(cache=True, fastmath=False)
def forward(xw, whh, wp, whr, h0, c0, lengths, kind, block, rgates,
            y, h_all, c_all, act, m_all):
    """xw (T,B,G), whh (G,R), wp (3,H) peepholes, whr (P,H) or (0,H), h0 (B,R), c0 (B,H).
    Writes y (T,B,O), h_all (T+1,B,R) and c_all (T+1,B,H) (index t is the state before step t),
    act (T,B,G) the gate activations, m_all (T,B,H) the unprojected outputs."""
    T, B, G = xw.shape
    H = c0.shape[1]
    C = H // block
    z = np.empty(G, dtype=xw.dtype)
    h_all[0] = h0
    c_all[0] = c0
    for t in range(T):
        for b in range(B):
            h_prev = h_all[t, b]
            c_prev = c_all[t, b]
            if t >= lengths[b]:                      # padding: the state stands still
                h_all[t + 1, b] = h_prev
                c_all[t + 1, b] = c_prev
                continue
            matvec(whh, h_prev, z)
            for g in range(G):
                z[g] += xw[t, b, g]
            a = act[t, b]
            c = c_all[t + 1, b]
            m = m_all[t, b]
            if kind == VANILLA:
                for k in range(C):
                    a[k] = _sig(z[k])
                    a[C + H + k] = _sig(z[C + H + k])
                for j in range(H):
                    k = j // block
                    a[C + j] = 4.0 * _sig(z[C + j]) - 2.0
                    c[j] = c_prev[j] + a[k] * a[C + j]
                    m[j] = a[C + H + k] * (2.0 * _sig(c[j]) - 1.0)
            elif kind == CIFG:
                for j in range(H):
                    i = _sig(z[j])
                    gg = math.tanh(z[H + j])
                    o = _sig(z[2 * H + j])
                    a[j], a[H + j], a[2 * H + j] = i, gg, o
                    c[j] = (1.0 - i) * c_prev[j] + i * gg
                    m[j] = o * math.tanh(c[j])
            else:                                    # FORGET, PEEPHOLE (wp is zero for FORGET)
                for j in range(H):
                    i = _sig(z[j] + wp[0, j] * c_prev[j])
                    f = _sig(z[H + j] + wp[1, j] * c_prev[j])
                    gg = math.tanh(z[2 * H + j])
                    c[j] = f * c_prev[j] + i * gg
                    o = _sig(z[3 * H + j] + wp[2, j] * c[j])
                    a[j], a[H + j], a[2 * H + j], a[3 * H + j] = i, f, gg, o
                    m[j] = o * math.tanh(c[j])
            h = h_all[t + 1, b]
            out = y[t, b]
            project(whr, m, out)
            O = out.shape[0]
            h[:O] = out
            if rgates:                               # the 1997 fully connected hidden layer
                for k in range(C):
                    h[O + k] = a[k]
                    h[O + C + k] = a[C + H + k]


@numba.njit(cache=True, fastmath=False)
def backward(dy, dh_T, dc_T, whh, wp, whr, lengths, kind, block, rgates, truncated,
             c_all, act, dz_all, dy_all, dh0, dc0, dwp):
    """Gradients of one direction. dy (T,B,O), dh_T (B,R), dc_T (B,H) come in; dz_all (T,B,G)
    (the gradient of xw), dy_all (T,B,O) (the whole gradient reaching each output: from above and
    from the next step), dh0, dc0 and dwp (3,H) go out. The weight gradients that are sums over
    steps (whh, whr) are left to one matrix product each by the caller."""
    T, B, G = act.shape
    H = c_all.shape[2]
    O = dy.shape[2]
    C = H // block
    dh0[:] = dh_T
    dc0[:] = dc_T
    dm = np.empty(H, dtype=dy.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            if t >= lengths[b]:
                continue
            dh = dh0[b]                              # gradient w.r.t. h_{t+1} so far
            dc = dc0[b]
            output_grad(dy[t, b], dh, whr, dy_all[t, b], dm)
            a = act[t, b]
            c = c_all[t + 1, b]
            c_prev = c_all[t, b]
            dz = dz_all[t, b]
            if kind == VANILLA:
                for k in range(C):
                    dz[k] = dh[O + k] if rgates else 0.0              # d in_k, to be scaled
                    dz[C + H + k] = dh[O + C + k] if rgates else 0.0  # d out_k
                for j in range(H):
                    k = j // block
                    s = _sig(c[j])
                    o = a[C + H + k]
                    dz[C + H + k] += dm[j] * (2.0 * s - 1.0)
                    dcj = dc[j] + dm[j] * o * 2.0 * s * (1.0 - s)
                    gg = a[C + j]
                    dz[k] += dcj * gg
                    q = (gg + 2.0) * 0.25                             # σ(z) from g = 4σ(z) − 2
                    dz[C + j] = dcj * a[k] * 4.0 * q * (1.0 - q)
                    dc[j] = dcj                                       # the CEC: ∂s_t/∂s_{t−1} = 1
                for k in range(C):
                    i, o = a[k], a[C + H + k]
                    dz[k] *= i * (1.0 - i)
                    dz[C + H + k] *= o * (1.0 - o)
            elif kind == CIFG:
                for j in range(H):
                    i, gg, o = a[j], a[H + j], a[2 * H + j]
                    tc = math.tanh(c[j])
                    dcj = dc[j] + dm[j] * o * (1.0 - tc * tc)
                    dz[j] = dcj * (gg - c_prev[j]) * i * (1.0 - i)
                    dz[H + j] = dcj * i * (1.0 - gg * gg)
                    dz[2 * H + j] = dm[j] * tc * o * (1.0 - o)
                    dc[j] = dcj * (1.0 - i)
            else:
                for j in range(H):
                    i, f, gg, o = a[j], a[H + j], a[2 * H + j], a[3 * H + j]
                    tc = math.tanh(c[j])
                    dzo = dm[j] * tc * o * (1.0 - o)
                    dcj = dc[j] + dm[j] * o * (1.0 - tc * tc) + dzo * wp[2, j]
                    dzi = dcj * gg * i * (1.0 - i)
                    dzf = dcj * c_prev[j] * f * (1.0 - f)
                    dz[j], dz[H + j], dz[2 * H + j], dz[3 * H + j] = dzi, dzf, dcj * i * (1.0 - gg * gg), dzo
                    dc[j] = dcj * f + dzi * wp[0, j] + dzf * wp[1, j]
                    if kind == PEEPHOLE:
                        dwp[0, j] += dzi * c_prev[j]
                        dwp[1, j] += dzf * c_prev[j]
                        dwp[2, j] += dzo * c[j]
            if truncated:                            # truncation: no error back through the gates
                dh[:] = 0.0
            else:
                matvec_t(whh, dz, dh)
