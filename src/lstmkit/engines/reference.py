"""The reference engine: a plain Python loop over time with autograd, for any cell on any device.

Slow and obvious on purpose: it is the oracle every faster engine is tested against.

Contract of ``run_layer`` (shared by every engine), T steps, B batch, D directions:
    x       (T, B, I), time-major, zero at padded steps
    lengths (B,) int64 on the CPU, or None when every sequence has T steps
    params  one parameter dict per direction (forward first)
    states  one (h, c) per direction, (B, R) and (B, H)
returns out (T, B, D*O), zero at padded steps, and each direction's state after its last real step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..cells.base import Cell, Params, State
from ._zoneout import Zoneout


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence within its own length, leaving the padding where it is: (T, B, F).
    Applying it twice gives back ``x``."""
    if lengths is None:
        return x.flip(0)
    t = torch.arange(x.shape[0], device=x.device)[:, None]          # (T, 1)
    n = lengths.to(x.device)[None, :]                                # (1, B)
    index = torch.where(t < n, n - 1 - t, t)                         # (T, B)
    return x.gather(0, index[..., None].expand_as(x))


def step_mask(lengths: Tensor | None, steps: int, device: torch.device) -> Tensor | None:
    """(T, B, 1) bool, True where step t is a real step of sequence b."""
    if lengths is None:
        return None
    return (torch.arange(steps, device=device)[:, None] < lengths.to(device)[None, :])[..., None]


def zone_out(new: State, old: State, w_h: Tensor | float | None, w_c: Tensor | float | None,
             out_size: int) -> tuple[Tensor, State]:
    """Zoneout of one step (Krueger et al. 2017): h = w_h ⊙ h_old + (1 − w_h) ⊙ h_new, the same for
    c, where w is the step's mask (B, R) / (B, H) or p (eval); None leaves that state alone.
    Returns the output (the first ``out_size`` of h) and the new state."""
    (h, c), (h_old, c_old) = new, old
    if w_c is not None:
        c = w_c * c_old + (1.0 - w_c) * c
    if w_h is not None:
        h = w_h * h_old + (1.0 - w_h) * h
    return h[:, :out_size], (h, c)


def _at(w: Tensor | float | None, t: int) -> Tensor | float | None:
    """Step t of zoneout weights: a mask's row, or p itself."""
    return w[t] if isinstance(w, Tensor) else w


def run_direction(cell: Cell, p: Params, x: Tensor, mask: Tensor | None, state: State,
                  record: list[dict[str, Tensor]] | None = None, rmask: Tensor | None = None,
                  zoneout: Zoneout | None = None) -> tuple[Tensor, State]:
    """One direction over the whole sequence: x (T, B, I) -> out (T, B, O), final state.
    ``record``, when given, gets one dict per computed step: the cell's gate values by name, the
    new cell state ``c`` and the output ``y`` (``lstmkit.explain.trace`` reads them).
    ``rmask`` (B, R): variational recurrent dropout, the recurrent state fed into every step is
    multiplied by it (the same mask at every step); the state carried and returned is unmasked.
    ``zoneout``: at every real step the new h (the whole recurrent state R, so the output too) and
    c mix with the previous ones by this direction's masks (mask step t at this direction's step
    t), or by p in eval; the gates see the state carried, the output the ordinary new cell."""
    xw = cell.project_input(p, x)                                    # (T, B, G), all steps at once
    steps = x.shape[0] if mask is None else int(mask.sum(0).max())   # nothing moves after the longest
    w_h = w_c = None
    if zoneout is not None:                                          # (T, B, R) and (T, B, H), or p
        r, h = cell.state_sizes
        w_h, w_c = (zoneout.weights(part, x.shape[0], x.shape[1], size, xw) for part, size in ((1, r), (0, h)))
    ys = []
    for t in range(steps):
        fed = state if rmask is None else (state[0] * rmask, state[1])
        y, new, gates = cell.step(p, xw[t], fed)
        if zoneout is not None:
            y, new = zone_out(new, state, _at(w_h, t), _at(w_c, t), y.shape[-1])
        if record is not None:
            record.append({**gates, "c": new[1], "y": y})
        if mask is not None:                                         # padded steps keep the state
            m = mask[t]
            new = tuple(torch.where(m, n, o) for n, o in zip(new, state))
            y = y.masked_fill(~m, 0.0)
        state = new
        ys.append(y)
    out = torch.stack(ys)
    if steps < x.shape[0]:
        out = torch.cat([out, out.new_zeros(x.shape[0] - steps, *out.shape[1:])])
    return out, state


def run_layer(cell: Cell, params: list[Params], x: Tensor, lengths: Tensor | None,
              states: list[State], records: list[list[dict[str, Tensor]]] | None = None,
              recurrent_masks: list[Tensor] | None = None,
              zoneout: list[Zoneout] | None = None) -> tuple[Tensor, list[State]]:
    """``records``, when given, gets one list per direction of what ``run_direction`` records
    (the reverse direction's in its own, reversed, time order); ``recurrent_masks``, one (B, R)
    recurrent dropout mask per direction, or None; ``zoneout``, one per direction, or None."""
    mask = step_mask(lengths, x.shape[0], x.device)
    outs, finals = [], []
    for direction, (p, state) in enumerate(zip(params, states)):
        reverse = direction == 1
        xd = reverse_padded(x, lengths) if reverse else x
        record = None if records is None else []
        out, final = run_direction(cell, p, xd, mask, state, record,
                                   None if recurrent_masks is None else recurrent_masks[direction],
                                   None if zoneout is None else zoneout[direction])
        if records is not None:
            records.append(record)
        outs.append(reverse_padded(out, lengths) if reverse else out)
        finals.append(final)
    return torch.cat(outs, dim=-1), finals


def supports(cell: Cell) -> bool:
    return True


#: This engine takes ``recurrent_masks`` (recurrent dropout) and ``zoneout``.
TAKES_MASKS = True
