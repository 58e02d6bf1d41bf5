"""numba kernels of the fused engine: a whole sequence forward, and its backward, in one call.

Every array has a leading network axis K: the kernels step K independent networks (their own
weights, their own data) in one call; an ordinary layer direction is K=1. Per network, shapes are
T steps, B batch, G pre-activations, R recurrent state, H cells, O output (P if projected).

The input's share of the pre-activations (xw) comes in precomputed. Each step does one matrix
product for the whole batch, z = h_{t-1} W_hh^T (``mm``: OpenBLAS when ``blas`` is true, else a
loop, which is faster for tiny networks), then one pointwise pass per sample. ``kind`` picks the
cell's pointwise math, written as one short loop per operation so that LLVM vectorises them
(float32 squashing is a rational function, see _math). error_model="numpy": no zero-division
checks, which would stop vectorisation (a division by zero gives inf/nan, as in torch).
"""

from __future__ import annotations

import numba
import numpy as np

from ._blas import NO_TRANS, ROW_MAJOR, TRANS, dgemm, sgemm
from ._math import sig, tanh
from ._rng import mix, split, weights
from ._zoneout import OFF

VANILLA, FORGET, PEEPHOLE, CIFG = 0, 1, 2, 3


@numba.njit(inline="always")
def gemm(trans_a, m, n, k, a, lda, b, ldb, beta, c):
    """OpenBLAS: c (m, n) = op(a) @ b + beta c, row-major, in a's precision (c's leading dim n)."""
    if a.itemsize == 4:
        sgemm(ROW_MAJOR, trans_a, NO_TRANS, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb,
              beta, c.ctypes.data, n)
    else:
        dgemm(ROW_MAJOR, trans_a, NO_TRANS, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb,
              beta, c.ctypes.data, n)


@numba.njit(inline="always")
def mm(a, w, wt, out, blas):
    """out (M, N) = a (M, Q) @ w (Q, N); wt is w transposed (N, Q); all C-contiguous. Without BLAS,
    a row is an axpy of w's rows (contiguous, it vectorises) or, when out is narrower than a
    vector, dot products with wt's rows; in the arrays' own precision, as BLAS does."""
    M, Q = a.shape
    N = out.shape[1]
    if M == 0 or N == 0:
        return
    if Q == 0:
        out[:] = 0.0
    elif blas:
        gemm(NO_TRANS, M, N, Q, a, Q, w, N, 0.0, out)
    elif N < 16 and Q > N:
        for i in range(M):
            for n in range(N):
                acc = a[i, 0] * wt[n, 0]
                for q in range(1, Q):
                    acc += a[i, q] * wt[n, q]
                out[i, n] = acc
    else:
        for i in range(M):
            d = a[i, 0]
            for n in range(N):
                out[i, n] = d * w[0, n]
            for q in range(1, Q):
                d = a[i, q]
                for n in range(N):
                    out[i, n] += d * w[q, n]


@numba.njit(inline="always")
def mm_tn(a, b, out, blas):
    """out (N1, N2) += a.T @ b for a (M, N1), b (M, N2): a weight's gradient summed over all steps
    and samples at once (a, b: the per-step arrays flattened over time and batch)."""
    M, N1 = a.shape
    N2 = b.shape[1]
    if M == 0 or N1 == 0 or N2 == 0:
        return
    if blas:
        gemm(TRANS, N1, N2, M, a, N1, b, N2, 1.0, out)
    else:
        for m in range(M):
            for i in range(N1):
                d = a[m, i]
                for j in range(N2):
                    out[i, j] += d * b[m, j]


@numba.njit(inline="always")
def copy(src, dst, n):
    """dst[:n] = src[:n] as a loop (a slice assignment checks for overlap and may allocate)."""
    for k in range(n):
        dst[k] = src[k]


@numba.njit(inline="always")
def copy2(src, dst):
    for i in range(src.shape[0]):
        for k in range(src.shape[1]):
            dst[i, k] = src[i, k]


@numba.njit(inline="always")
def new_cell(kind, block, a, c_prev, c):
    """c (H,) = the cell's ordinary new state from its activations a (G,) and c_prev (H,)."""
    H = c.shape[0]
    if kind == VANILLA:
        C = (a.shape[0] - H) // 2
        for j in range(H):
            c[j] = c_prev[j] + a[j // block] * a[C + j]
    elif kind == CIFG:
        one = c.dtype.type(1.0)                      # in the arrays' precision: a loop that vectorises
        for j in range(H):
            c[j] = (one - a[j]) * c_prev[j] + a[j] * a[H + j]
    else:
        for j in range(H):
            c[j] = a[H + j] * c_prev[j] + a[j] * a[2 * H + j]


@numba.njit(inline="always")
def masked(h, mask, out):
    """out = h * mask, elementwise (B, R)."""
    for i in range(h.shape[0]):
        for k in range(h.shape[1]):
            out[i, k] = h[i, k] * mask[i, k]


@numba.njit(inline="always")
def zoned(zone, part):
    """Whether zoneout acts on the cell (part 0) or the hidden state (1)."""
    return zone[0] != OFF and (zone[5] if part == 0 else zone[6]) > 0.0


@numba.njit(inline="always")
def output_grad(t, dy, dh, lengths, whr, whr_t, dy_all, dm, blas, zone, row0, hk, w):
    """The whole gradient reaching step t's outputs, dy_all[t] = dy[t] + dh[:, :O] (the next
    step's share; zero at padded rows), and through the projection to the unprojected output, dm.
    With zoneout of h (rows row0 + b of the batch), the whole gradient G reaching h_t splits:
    hk = d_h ⊙ G goes straight to h_{t-1}; dy_all[t] and dh[:, O:] keep (1 − d_h) ⊙ G, what
    reaches the cell's ordinary new state."""
    zh = zoned(zone, 1)
    O, R = dy.shape[2], dh.shape[1]
    for b in range(dy.shape[1]):
        if t >= lengths[b]:
            dy_all[t, b] = 0.0
            continue
        for o in range(O):
            dy_all[t, b, o] = dy[t, b, o] + dh[b, o]
        if zh:
            weights(zone, 1, row0 + b, t, dy.shape[0], w[:R])
            split(w, dy_all[t, b], hk[b, :O])
            if R > O:
                split(w[O:], dh[b, O:], hk[b, O:])
    if whr.shape[0] > 0:
        mm(dy_all[t], whr, whr_t, dm, blas)          # back through the projection
    else:
        copy2(dy_all[t], dm)


@numba.njit(cache=True, error_model="numpy", fastmath=True, parallel=True)
def forward(xw, whh, wp, whr, h0, c0, lengths, kind, block, rgates, blas, keep,
            y, h_all, c_all, act, m_all, rmask, use_rmask, zone):
    """Per network k: xw (T,B,G), whh (G,R), wp (3,H) peepholes, whr (P,H) or (0,H), h0 (B,R),
    c0 (B,H), lengths (B,). Writes y (T,B,O), h_all (T+1,B,R) and c_all (T+1,B,H) (index t is the
    state before step t), act (T,B,G) the gate activations, m_all (T,B,H) the unprojected outputs.
    Padded steps get y = 0 and m = 0; their act is left unwritten (backward never reads it).
    With keep false (inference: no backward to come) only y is kept whole: act and m_all have one
    step (T=1) and h_all, c_all two, used in turn; the final state is at index T % 2.
    use_rmask: the recurrent state is multiplied by rmask (B,R) (variational recurrent dropout: the
    same mask at every step) before each step's product; h_all keeps the unmasked state.
    zone: ``Zoneout.kernel_args()`` (see _zoneout): each real step's new c and h mix with the
    previous ones; network k's rows are rows k·B.. of the masks (the networks are batch chunks).
    c_all and h_all keep the zoned states, y the zoned output (the first O of h)."""
    for k in numba.prange(xw.shape[0]):         # networks (or batch chunks) side by side
        _forward(xw[k], whh[k], wp[k], whr[k], h0[k], c0[k], lengths[k], kind, block, rgates, blas, keep,
                 y[k], h_all[k], c_all[k], act[k], m_all[k], rmask[k], use_rmask, zone, k * xw.shape[2])


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def _forward(xw, whh, wp, whr, h0, c0, lengths, kind, block, rgates, blas, keep, y, h_all, c_all, act, m_all,
             rmask, use_rmask, zone, row0):
    T, B, G = xw.shape
    H = c0.shape[1]
    O = y.shape[2]
    R = h_all.shape[2]
    C = H // block
    zc, zh = zoned(zone, 0), zoned(zone, 1)
    z = np.empty((B, G), dtype=xw.dtype)
    hm = np.empty((B, R) if use_rmask else (0, 0), dtype=xw.dtype)
    w = np.empty(max(H, R) if zc or zh else 0, dtype=xw.dtype)     # one row's zoneout weights
    whh_t = np.ascontiguousarray(whh.T)              # (R, G): the products below are h @ W^T
    whr_t = np.ascontiguousarray(whr.T)
    h_all[0] = h0
    c_all[0] = c0
    for t in range(T):
        s, s1, ta = (t, t + 1, t) if keep else (t & 1, (t + 1) & 1, 0)
        if use_rmask:
            masked(h_all[s], rmask, hm)
            mm(hm, whh_t, whh, z, blas)
        else:
            mm(h_all[s], whh_t, whh, z, blas)
        for b in range(B):
            c_prev = c_all[s, b]
            if t >= lengths[b]:                      # padding: the state stands still
                copy(h_all[s, b], h_all[s1, b], h_all.shape[2])
                copy(c_prev, c_all[s1, b], H)
                m_all[ta, b] = 0.0
                continue
            zb = z[b]
            x = xw[t, b]
            a = act[ta, b]
            c = c_all[s1, b]
            m = m_all[ta, b]
            for g in range(G):                       # one short loop per operation: each vectorises
                a[g] = zb[g] + x[g]
            if kind == VANILLA:
                for k in range(C):
                    a[k] = sig(a[k])
                for j in range(H):
                    a[C + j] = 4.0 * sig(a[C + j]) - 2.0
                for k in range(C):
                    a[C + H + k] = sig(a[C + H + k])
                new_cell(kind, block, a, c_prev, c)
                for j in range(H):
                    m[j] = a[C + H + j // block] * (2.0 * sig(c[j]) - 1.0)
            elif kind == CIFG:
                for j in range(H):
                    a[j] = sig(a[j])
                for j in range(H):
                    a[H + j] = tanh(a[H + j])
                for j in range(H):
                    a[2 * H + j] = sig(a[2 * H + j])
                new_cell(kind, block, a, c_prev, c)
                for j in range(H):
                    m[j] = a[2 * H + j] * tanh(c[j])
            else:                                    # FORGET, PEEPHOLE
                if kind == PEEPHOLE:
                    for j in range(H):
                        a[j] += wp[0, j] * c_prev[j]
                        a[H + j] += wp[1, j] * c_prev[j]
                for g in range(2 * H):
                    a[g] = sig(a[g])
                for j in range(H):
                    a[2 * H + j] = tanh(a[2 * H + j])
                new_cell(kind, block, a, c_prev, c)
                if kind == PEEPHOLE:
                    for j in range(H):
                        a[3 * H + j] += wp[2, j] * c[j]
                for j in range(H):
                    a[3 * H + j] = sig(a[3 * H + j])
                for j in range(H):
                    m[j] = a[3 * H + j] * tanh(c[j])
            if zc:                                   # zoneout: the output above saw the ordinary c
                weights(zone, 0, row0 + b, t, T, w[:H])
                mix(w, c_prev, c)
        if whr.shape[0] > 0:                         # LSTMP: y = m W_hr^T (padded rows: m = 0)
            mm(m_all[ta], whr_t, whr, y[t], blas)
        else:
            copy2(m_all[ta], y[t])
        for b in range(B):
            if t >= lengths[b]:
                continue
            h = h_all[s1, b]
            copy(y[t, b], h, O)
            if rgates:                               # the 1997 fully connected hidden layer
                a = act[ta, b]
                for k in range(C):
                    h[O + k] = a[k]
                    h[O + C + k] = a[C + H + k]
            if zh:                                   # the whole recurrent state, output included
                weights(zone, 1, row0 + b, t, T, w[:R])
                mix(w, h_all[s, b], h)
                copy(h, y[t, b], O)


@numba.njit(cache=True, error_model="numpy", fastmath=True, parallel=True)
def backward(dy, dh_T, dc_T, whh, wp, whr, lengths, kind, block, rgates, truncated, blas, blas_sum,
             h_all, c_all, act, m_all, dz_all, dy_all, dh0, dc0, dwp, dwhh, dwhr, rmask, use_rmask, zone):
    """Gradients, per network k. dy (T,B,O), dh_T (B,R), dc_T (B,H) come in; dz_all (T,B,G) (the
    gradient of xw), dy_all (T,B,O) (the whole gradient reaching each output: from above and from
    the next step), dh0, dc0 and the weight gradients dwp (3,H), dwhh (G,R), dwhr (P,H) go out
    (those three zeroed by the caller: they accumulate). blas_sum: whether the sums over all steps
    (one product each, T·B deep) go to OpenBLAS, which pays even where the per-step ones do not.
    With use_rmask, h_all must hold the masked states (what the products read) and the gradient
    reaching each earlier state is masked by rmask. With zoneout (``zone``, as in forward), dy_all
    is the gradient reaching the ordinary (unzoned) output, and c_all holds the zoned cells: the
    ordinary ones are recomputed from act."""
    T, B = dz_all.shape[1], dz_all.shape[2]
    for k in numba.prange(dy.shape[0]):
        _backward(dy[k], dh_T[k], dc_T[k], whh[k], wp[k], whr[k], lengths[k], kind, block, rgates,
                  truncated, blas, c_all[k], act[k], dz_all[k], dy_all[k], dh0[k], dc0[k], dwp[k],
                  rmask[k], use_rmask, zone, k * B)
        if T * B > 0:                                # Σ_t dz_t^T h_{t-1} and Σ_t dy_t^T m_t
            mm_tn(dz_all[k].reshape((T * B, dz_all.shape[3])),
                  h_all[k, :T].reshape((T * B, h_all.shape[3])), dwhh[k], blas_sum)
            if whr.shape[1] > 0:
                mm_tn(dy_all[k].reshape((T * B, dy_all.shape[3])),
                      m_all[k].reshape((T * B, m_all.shape[3])), dwhr[k], blas_sum)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def _backward(dy, dh_T, dc_T, whh, wp, whr, lengths, kind, block, rgates, truncated, blas,
              c_all, act, dz_all, dy_all, dh, dc, dwp, rmask, use_rmask, zone, row0):
    T, B, G = act.shape
    H = c_all.shape[2]
    O = dy.shape[2]
    R = dh.shape[1]
    C = H // block
    zc, zh = zoned(zone, 0), zoned(zone, 1)
    ck = np.empty(H if zc else 0, dtype=dy.dtype)    # the share of dc_t that goes straight to c_{t-1}
    c_new = np.empty(H if zc else 0, dtype=dy.dtype)
    hk = np.empty((B, R) if zh else (0, 0), dtype=dy.dtype)
    w = np.empty(max(H, R) if zc or zh else 0, dtype=dy.dtype)     # one row's zoneout weights
    dh[:] = dh_T                                     # gradient w.r.t. h_{t+1} so far
    dc[:] = dc_T
    dm = np.zeros((B, H), dtype=dy.dtype)
    back = np.empty((B, R), dtype=dy.dtype)
    whh_t = np.ascontiguousarray(whh.T)
    whr_t = np.ascontiguousarray(whr.T)
    sq = np.empty(H, dtype=dy.dtype)
    for t in range(T - 1, -1, -1):
        output_grad(t, dy, dh, lengths, whr, whr_t, dy_all, dm, blas, zone, row0, hk, w)
        for b in range(B):
            if t >= lengths[b]:
                dz_all[t, b] = 0.0                   # the product below reads every row
                continue
            a = act[t, b]
            c = c_all[t + 1, b]
            c_prev = c_all[t, b]
            dz = dz_all[t, b]
            dmb = dm[b]
            dcb = dc[b]
            if zc:                                   # dc_t splits: d_c to c_{t-1}, 1 − d_c to c̃_t
                weights(zone, 0, row0 + b, t, T, w[:H])
                split(w, dcb, ck)
                new_cell(kind, block, a, c_prev, c_new)
                c = c_new
            for j in range(H):                       # the squashed cell state, recomputed
                sq[j] = sig(c[j]) if kind == VANILLA else tanh(c[j])
            if kind == VANILLA:
                for k in range(C):
                    dz[k] = dh[b, O + k] if rgates else 0.0              # d in_k, to be scaled
                    dz[C + H + k] = dh[b, O + C + k] if rgates else 0.0  # d out_k
                for j in range(H):
                    k = j // block
                    s = sq[j]
                    o = a[C + H + k]
                    dz[C + H + k] += dmb[j] * (2.0 * s - 1.0)
                    dcj = dcb[j] + dmb[j] * o * 2.0 * s * (1.0 - s)
                    gg = a[C + j]
                    dz[k] += dcj * gg
                    q = (gg + 2.0) * 0.25                                # σ(z) from g = 4σ(z) − 2
                    dz[C + j] = dcj * a[k] * 4.0 * q * (1.0 - q)
                    dcb[j] = dcj                                         # the CEC: ∂s_t/∂s_{t−1} = 1
                for k in range(C):
                    i, o = a[k], a[C + H + k]
                    dz[k] *= i * (1.0 - i)
                    dz[C + H + k] *= o * (1.0 - o)
            elif kind == CIFG:
                for j in range(H):
                    i, gg, o = a[j], a[H + j], a[2 * H + j]
                    tc = sq[j]
                    dcj = dcb[j] + dmb[j] * o * (1.0 - tc * tc)
                    dz[j] = dcj * (gg - c_prev[j]) * i * (1.0 - i)
                    dz[H + j] = dcj * i * (1.0 - gg * gg)
                    dz[2 * H + j] = dmb[j] * tc * o * (1.0 - o)
                    dcb[j] = dcj * (1.0 - i)
            else:
                for j in range(H):
                    i, f, gg, o = a[j], a[H + j], a[2 * H + j], a[3 * H + j]
                    tc = sq[j]
                    dzo = dmb[j] * tc * o * (1.0 - o)
                    dcj = dcb[j] + dmb[j] * o * (1.0 - tc * tc) + dzo * wp[2, j]
                    dzi = dcj * gg * i * (1.0 - i)
                    dzf = dcj * c_prev[j] * f * (1.0 - f)
                    dz[j], dz[H + j], dz[2 * H + j], dz[3 * H + j] = dzi, dzf, dcj * i * (1.0 - gg * gg), dzo
                    dcb[j] = dcj * f + dzi * wp[0, j] + dzf * wp[1, j]
                    if kind == PEEPHOLE:
                        dwp[0, j] += dzi * c_prev[j]
                        dwp[1, j] += dzf * c_prev[j]
                        dwp[2, j] += dzo * c[j]
            if zc:
                for j in range(H):
                    dcb[j] += ck[j]
        if not truncated:                            # truncation: no error back through the gates
            mm(dz_all[t], whh, whh_t, back, blas)    # padded rows of dz are zero
        for b in range(B):
            if t < lengths[b]:
                if truncated:
                    dh[b] = 0.0
                elif use_rmask:
                    for r in range(R):
                        dh[b, r] = back[b, r] * rmask[b, r]
                else:
                    copy(back[b], dh[b], R)
                if zh:                               # zoneout's straight path to h_{t-1}
                    for r in range(R):
                        dh[b, r] += hk[b, r]
