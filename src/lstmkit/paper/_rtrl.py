"""numba kernels of the paper's learning algorithm: K networks, each trained on-line on its own
sequences, with the truncated gradient computed forward in time (Appendix A.1), in one call.

Per network (float64): I inputs, C blocks of S cells (H = C·S), G = H + 2C hidden units in
lstmkit's ``vanilla`` order [input gates (C) | cells (H) | output gates (C)]. A hidden unit's sources
(NS = I + H + 2C + 1) are [x(t) (I) | y_cells(t−1) (H) | y_in(t−1) (C) | y_out(t−1) (C) | 1]: the
paper's three-stage order, where gates and cells see the current input. Output unit k sees
[y_cells(t) (H) | x(t) (I) | 1] (NO = H + I + 1). ``Wh`` (G, NS) and ``Wo`` (O, NO) hold the weights,
``Mh``/``Mo`` the connectivity (0 where a weight does not exist: its update is masked).

Truncation: errors at the net inputs stop there, so only the partials of the cell states with
respect to the weights into the cells and input gates are carried forward (``P_c``, ``P_in``), and
the output gates' weights learn from the present step. Updates are summed over a sequence and
applied at its end (α applied to −½ ∂E/∂w, E = Σ (t − y)²), activations start at zero per sequence.

Inputs come dense (``xs`` (n, T, I)) or, for one-hot inputs, as a symbol per step (``sym`` (n, T),
then the partials touch one input column per step, not I). Squashing: ``g_kind`` 0: g = 4σ − 2,
1: g = σ, 2: g = 2σ − 1; ``h_kind`` 0: h = 2σ − 1, 1: h = identity, 2: h = 4σ − 2; ``out_gate`` False: output gates fixed at 1.
``lin_out``: the output units are linear (y = net) instead of logistic.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(inline="always")
def _sig(x):
    return 1.0 / (1.0 + math.exp(-x))


@numba.njit(inline="always")
def _apply(Wh, Wo, Mh, Mo, dWh, dWo, lr):
    """W += lr · M · dW, then dW = 0 (M: 1 where a weight exists)."""
    for u in range(Wh.shape[0]):
        for m in range(Wh.shape[1]):
            Wh[u, m] += lr * Mh[u, m] * dWh[u, m]
            dWh[u, m] = 0.0
    for o in range(Wo.shape[0]):
        for m in range(Wo.shape[1]):
            Wo[o, m] += lr * Mo[o, m] * dWo[o, m]
            dWo[o, m] = 0.0


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _sequence(Wh, Wo, Mh, Mo, dWh, dWo, P_in, P_c, net, yprev, ycur, s, hs, eb, yo,
              C, S, I, O, g_kind, h_kind, out_gate, lin_out, dense, x, sym, L, tg, every, learn, correct,
              yout_store, lr, step_update):
    """One sequence through one network. learn: accumulate the update −½ ∂E/∂w into dWh/dWo;
    with ``step_update`` it is applied (scaled by lr, masked) at every step that has an error, as
    real-time on-line RTRL does; otherwise the caller applies the sum at the sequence end.
    Not learning, the outputs at the error steps go to ``yout_store``. Returns (E, right)."""
    H = C * S
    G = H + 2 * C
    NS = Wh.shape[1]
    NO = Wo.shape[1]
    bias = NS - 1
    for u in range(G + 0):
        yprev[u] = 0.0
    for v in range(H):
        s[v] = 0.0
    if learn:
        P_in[:, :] = 0.0
        P_c[:, :] = 0.0
        dWh[:, :] = 0.0
        dWo[:, :] = 0.0
    E = 0.0
    right = True
    for t in range(L):
        sy = 0
        if not dense:
            sy = sym[t]
        # hidden net inputs
        for u in range(G):
            acc = Wh[u, bias]
            if dense:
                for i in range(I):
                    acc += Wh[u, i] * x[t, i]
            elif sy >= 0:
                acc += Wh[u, sy]
            for r in range(G):
                acc += Wh[u, I + r] * yprev[r]
            net[u] = acc
        for j in range(C):
            ycur[H + j] = _sig(net[j])
            ycur[H + C + j] = _sig(net[C + H + j]) if out_gate else 1.0
        for v in range(H):
            j = v // S
            yin = ycur[H + j]
            zc = net[C + v]
            if g_kind == 0:
                th = math.tanh(0.5 * zc)
                gv = 2.0 * th
                dg = 1.0 - th * th
            elif g_kind == 2:
                th = math.tanh(0.5 * zc)
                gv = th
                dg = 0.5 * (1.0 - th * th)
            else:
                gv = _sig(zc)
                dg = gv * (1.0 - gv)
            s[v] += yin * gv
            if learn:
                ci = gv * yin * (1.0 - yin)
                cc = dg * yin
                if dense:
                    for i in range(I):
                        P_in[v, i] += ci * x[t, i]
                        P_c[v, i] += cc * x[t, i]
                elif sy >= 0:
                    P_in[v, sy] += ci
                    P_c[v, sy] += cc
                for r in range(G):
                    P_in[v, I + r] += ci * yprev[r]
                    P_c[v, I + r] += cc * yprev[r]
                P_in[v, bias] += ci
                P_c[v, bias] += cc
            if h_kind == 0:
                hs[v] = math.tanh(0.5 * s[v])
            elif h_kind == 2:
                hs[v] = 2.0 * math.tanh(0.5 * s[v])
            else:
                hs[v] = s[v]
            ycur[v] = ycur[H + C + j] * hs[v]
        if every or t == L - 1:
            te = t if every else 0
            for k in range(O):
                acc = Wo[k, NO - 1]
                for v in range(H):
                    acc += Wo[k, v] * ycur[v]
                if dense:
                    for i in range(I):
                        acc += Wo[k, H + i] * x[t, i]
                elif sy >= 0:
                    acc += Wo[k, H + sy]
                yk = acc if lin_out else _sig(acc)
                yo[k] = yk
                d = tg[te, k] - yk
                E += d * d
                if not abs(d) < correct:
                    right = False
                if not learn:
                    yout_store[te, k] = yk
                else:
                    ek = d if lin_out else yk * (1.0 - yk) * d
                    yo[k] = ek
                    for v in range(H):
                        dWo[k, v] += ek * ycur[v]
                    if dense:
                        for i in range(I):
                            dWo[k, H + i] += ek * x[t, i]
                    elif sy >= 0:
                        dWo[k, H + sy] += ek
                    dWo[k, NO - 1] += ek
            if learn:
                for v in range(H):
                    acc = 0.0
                    for k in range(O):
                        acc += Wo[k, v] * yo[k]
                    eb[v] = acc
                for j in range(C):
                    yout = ycur[H + C + j]
                    if out_gate:
                        acc = 0.0
                        for v in range(j * S, (j + 1) * S):
                            acc += hs[v] * eb[v]
                        eo = yout * (1.0 - yout) * acc
                        u = C + H + j
                        if dense:
                            for i in range(I):
                                dWh[u, i] += eo * x[t, i]
                        elif sy >= 0:
                            dWh[u, sy] += eo
                        for r in range(G):
                            dWh[u, I + r] += eo * yprev[r]
                        dWh[u, bias] += eo
                    for v in range(j * S, (j + 1) * S):
                        if h_kind == 0:
                            dh = 0.5 * (1.0 - hs[v] * hs[v])
                        elif h_kind == 2:
                            dh = 1.0 - 0.25 * hs[v] * hs[v]
                        else:
                            dh = 1.0
                        es = yout * dh * eb[v]
                        for m in range(NS):
                            dWh[C + v, m] += es * P_c[v, m]
                            dWh[j, m] += es * P_in[v, m]
                if step_update:
                    _apply(Wh, Wo, Mh, Mo, dWh, dWo, lr)
        for u in range(G):
            yprev[u] = ycur[u]
    return E, right


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _sequence_full(Wh, Wo, Mh, dWh, dWo, A, GV, DG, HS, EK, D, dy, dyn, ds, C, S, I, O, g_kind, h_kind,
                   out_gate, lin_out, dense, x, sym, L, tg, every, correct, cut_cells, cut_gates):
    """One sequence through one network, then its gradient by backpropagation through time into
    dWh/dWo (−½ ∂E/∂w summed over the sequence; the caller applies it). ``cut_cells``/``cut_gates``:
    the errors at the cells' / gates' net inputs stop there instead of flowing on to the step
    before (both: the paper's truncation, the same update as ``_sequence``; neither: the full
    gradient). A (L + 1, G) holds y(t) in row t + 1; GV, DG, HS (L, H): g, g', h; EK (L, O): the
    output errors. Returns (E, right)."""
    H = C * S
    G = H + 2 * C
    NS = Wh.shape[1]
    NO = Wo.shape[1]
    bias = NS - 1
    for u in range(G):
        A[0, u] = 0.0
    for v in range(H):
        ds[v] = 0.0                                   # here: the cell states going forward
    dWh[:, :] = 0.0
    dWo[:, :] = 0.0
    E = 0.0
    right = True
    for t in range(L):
        sy = 0
        if not dense:
            sy = sym[t]
        for u in range(G):
            acc = Wh[u, bias]
            if dense:
                for i in range(I):
                    acc += Wh[u, i] * x[t, i]
            elif sy >= 0:
                acc += Wh[u, sy]
            for r in range(G):
                acc += Wh[u, I + r] * A[t, r]
            D[u] = acc
        for j in range(C):
            A[t + 1, H + j] = _sig(D[j])
            A[t + 1, H + C + j] = _sig(D[C + H + j]) if out_gate else 1.0
        for v in range(H):
            j = v // S
            zc = D[C + v]
            if g_kind == 0:
                th = math.tanh(0.5 * zc)
                gv = 2.0 * th
                dg = 1.0 - th * th
            elif g_kind == 2:
                th = math.tanh(0.5 * zc)
                gv = th
                dg = 0.5 * (1.0 - th * th)
            else:
                gv = _sig(zc)
                dg = gv * (1.0 - gv)
            GV[t, v] = gv
            DG[t, v] = dg
            ds[v] += A[t + 1, H + j] * gv
            if h_kind == 0:
                hv = math.tanh(0.5 * ds[v])
            elif h_kind == 2:
                hv = 2.0 * math.tanh(0.5 * ds[v])
            else:
                hv = ds[v]
            HS[t, v] = hv
            A[t + 1, v] = A[t + 1, H + C + j] * hv
        for k in range(O):
            EK[t, k] = 0.0
        if every or t == L - 1:
            te = t if every else 0
            for k in range(O):
                acc = Wo[k, NO - 1]
                for v in range(H):
                    acc += Wo[k, v] * A[t + 1, v]
                if dense:
                    for i in range(I):
                        acc += Wo[k, H + i] * x[t, i]
                elif sy >= 0:
                    acc += Wo[k, H + sy]
                yk = acc if lin_out else _sig(acc)
                d = tg[te, k] - yk
                E += d * d
                if not abs(d) < correct:
                    right = False
                EK[t, k] = d if lin_out else yk * (1.0 - yk) * d
    for r in range(G):
        dyn[r] = 0.0
    for v in range(H):
        ds[v] = 0.0                                   # now: the error at the cell states
    for t in range(L - 1, -1, -1):
        sy = 0
        if not dense:
            sy = sym[t]
        if every or t == L - 1:
            for k in range(O):
                ek = EK[t, k]
                for v in range(H):
                    dWo[k, v] += ek * A[t + 1, v]
                if dense:
                    for i in range(I):
                        dWo[k, H + i] += ek * x[t, i]
                elif sy >= 0:
                    dWo[k, H + sy] += ek
                dWo[k, NO - 1] += ek
        for v in range(H):
            acc = dyn[v]
            for k in range(O):
                acc += Wo[k, v] * EK[t, k]
            dy[v] = acc
        for j in range(C):
            yin = A[t + 1, H + j]
            yout = A[t + 1, H + C + j]
            acc_in = dyn[H + j]
            acc_out = dyn[H + C + j]
            for v in range(j * S, (j + 1) * S):
                hv = HS[t, v]
                if h_kind == 0:
                    dh = 0.5 * (1.0 - hv * hv)
                elif h_kind == 2:
                    dh = 1.0 - 0.25 * hv * hv
                else:
                    dh = 1.0
                ds[v] += yout * dh * dy[v]
                acc_out += hv * dy[v]
                acc_in += ds[v] * GV[t, v]
                D[C + v] = ds[v] * yin * DG[t, v]
            D[j] = acc_in * yin * (1.0 - yin)
            D[C + H + j] = acc_out * yout * (1.0 - yout) if out_gate else 0.0
        for u in range(G):
            du = D[u]
            if du == 0.0:
                continue
            if dense:
                for i in range(I):
                    dWh[u, i] += du * x[t, i]
            elif sy >= 0:
                dWh[u, sy] += du
            for r in range(G):
                dWh[u, I + r] += du * A[t, r]
            dWh[u, bias] += du
        for r in range(G):
            acc = 0.0
            for u in range(G):
                cell = C <= u < C + H
                if (cut_cells and cell) or (cut_gates and not cell):
                    continue
                acc += Mh[u, I + r] * Wh[u, I + r] * D[u]
            dyn[r] = acc
    return E, right


@numba.njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def train(Wh, Wo, Mh, Mo, C, S, g_kind, h_kind, out_gate, lin_out, dense, xs, syms, lengths, tgs, every, lr, correct,
          active, window, beta, max_wrong, ring_e, ring_w, ring_state, ring_sum, E_out, right_out, used,
          step_update, gradient):
    """Train each active network k (weights Wh[k], Wo[k], connectivity masks Mh[k], Mo[k]) on its sequences (xs[k] or syms[k], lengths[k], tgs[k]) in order.

    After every sequence the window rule is checked (``window`` > 0): the mean E of the last
    ``window`` sequences < ``beta`` and fewer than ``max_wrong`` of them wrong; when it holds, the
    network stops there. ``used[k]``: sequences consumed; ``E_out``/``right_out`` per sequence.
    ``ring_state[k]`` = (position, filled, wrong count); ``ring_sum[k]`` the sum of the window's E.
    ``gradient`` 0: the paper's truncated gradient forward in time (``_sequence``); 1: the full
    gradient, 2: only the cells' recurrent error cut, 3: only the gates', 4: both (the paper's
    truncation again, by backpropagation) (``_sequence_full``, one update per sequence whatever
    ``step_update`` says).
    """
    K, G, NS = Wh.shape
    O, NO = Wo.shape[1], Wo.shape[2]
    H = C * S
    I = NS - G - 1
    n = lengths.shape[1]
    for k in numba.prange(K):
        used[k] = 0
        if not active[k]:
            continue
        dWh = np.empty((G, NS))
        dWo = np.empty((O, NO))
        P_in = np.empty((H, NS))
        P_c = np.empty((H, NS))
        net = np.empty(G)
        yprev = np.empty(G)
        ycur = np.empty(G)
        s = np.empty(H)
        hs = np.empty(H)
        eb = np.empty(H)
        yo = np.empty(O)
        dummy = np.empty((1, 1))
        T = xs.shape[2] if dense else syms.shape[2]
        F = T if gradient > 0 else 1
        A = np.empty((F + 1, G))
        GV = np.empty((F, H))
        DG = np.empty((F, H))
        HS = np.empty((F, H))
        EK = np.empty((F, O))
        dy = np.empty(H)
        cut_cells = gradient == 2 or gradient == 4
        cut_gates = gradient == 3 or gradient == 4
        for q in range(n):
            if gradient > 0:
                E, right = _sequence_full(Wh[k], Wo[k], Mh[k], dWh, dWo, A, GV, DG, HS, EK, net, dy, yprev, s,
                                          C, S, I, O, g_kind, h_kind, out_gate, lin_out, dense, xs[k, q],
                                          syms[k, q], lengths[k, q], tgs[k, q], every, correct, cut_cells, cut_gates)
            else:
                E, right = _sequence(Wh[k], Wo[k], Mh[k], Mo[k], dWh, dWo, P_in, P_c, net, yprev, ycur, s, hs, eb,
                                     yo, C, S, I, O, g_kind, h_kind, out_gate, lin_out, dense, xs[k, q],
                                     syms[k, q], lengths[k, q], tgs[k, q], every, True, correct, dummy, lr, step_update)
            if gradient > 0 or not step_update:
                _apply(Wh[k], Wo[k], Mh[k], Mo[k], dWh, dWo, lr)
            E_out[k, q] = E
            right_out[k, q] = right
            used[k] = q + 1
            if window > 0:
                pos = ring_state[k, 0]
                if ring_state[k, 1] == window:
                    ring_sum[k] -= ring_e[k, pos]
                    ring_state[k, 2] -= ring_w[k, pos]
                else:
                    ring_state[k, 1] += 1
                ring_e[k, pos] = E
                ring_w[k, pos] = 0 if right else 1
                ring_sum[k] += E
                ring_state[k, 2] += ring_w[k, pos]
                ring_state[k, 0] = (pos + 1) % window
                if (ring_state[k, 1] == window and ring_sum[k] / window < beta
                        and ring_state[k, 2] < max_wrong):
                    break


@numba.njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def predict(Wh, Wo, Mh, Mo, C, S, g_kind, h_kind, out_gate, lin_out, dense, xs, syms, lengths, tgs, every, correct,
            E_out, right_out, Y):
    """Forward only: each network k on its sequences; per sequence E and right, and the outputs
    at the error steps into Y (K, n, T or 1, O)."""
    K, G, NS = Wh.shape
    O = Wo.shape[1]
    H = C * S
    I = NS - G - 1
    n = lengths.shape[1]
    for k in numba.prange(K):
        dummy2 = np.empty((1, 1))
        net = np.empty(G)
        yprev = np.empty(G)
        ycur = np.empty(G)
        s = np.empty(H)
        hs = np.empty(H)
        eb = np.empty(H)
        yo = np.empty(O)
        for q in range(n):
            E, right = _sequence(Wh[k], Wo[k], Mh[k], Mo[k], dummy2, dummy2, dummy2, dummy2, net, yprev, ycur, s, hs,
                                 eb, yo, C, S, I, O, g_kind, h_kind, out_gate, lin_out, dense, xs[k, q],
                                 syms[k, q], lengths[k, q], tgs[k, q], every, False, correct, Y[k, q], 0.0, False)
            E_out[k, q] = E
            right_out[k, q] = right
