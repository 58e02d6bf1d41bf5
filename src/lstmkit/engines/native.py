"""torch's own LSTM kernel (oneDNN on the CPU, cuDNN on CUDA) for the forget cell.

It computes what the reference engine computes for ``cell="forget"``, through ``torch._VF.lstm``,
the call ``torch.nn.LSTM.forward`` itself makes. One layer per call: the layer applies dropout
between layers itself, so every engine draws the same dropout masks.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..cells.base import Cell, Params, State
from ..cells.forget import ForgetCell

_ORDER = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


def supports(cell: Cell) -> bool:
    return type(cell) is ForgetCell


def run_layer(cell: Cell, params: list[Params], x: Tensor, lengths: Tensor | None,
              states: list[State]) -> tuple[Tensor, list[State]]:
    flat = [p[name] for p in params for name in _ORDER if name in p]
    h0 = torch.stack([s[0] for s in states])                         # (D, B, O)
    c0 = torch.stack([s[1] for s in states])                         # (D, B, H)
    bidirectional = len(params) == 2
    with warnings.catch_warnings():
        # torch notes that oneDNN lacks projections and falls back to its own kernel: nothing to do.
        warnings.filterwarnings("ignore", "LSTM with projections is not supported with oneDNN")
        return _run(cell, flat, x, lengths, (h0, c0), bidirectional)


def _run(cell: Cell, flat: list[Tensor], x: Tensor, lengths: Tensor | None, hx: State,
         bidirectional: bool) -> tuple[Tensor, list[State]]:
    h0, c0 = hx
    # train=True: dropout is 0 here, and a kernel in eval mode could not backpropagate on cuDNN.
    if lengths is None:
        out, h, c = torch._VF.lstm(x, (h0, c0), flat, cell.bias, 1, 0.0, True, bidirectional, False)
    else:
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        order = packed.sorted_indices.to(x.device)
        data, h, c = torch._VF.lstm(packed.data, packed.batch_sizes, (h0[:, order], c0[:, order]),
                                    flat, cell.bias, 1, 0.0, True, bidirectional)
        out, _ = pad_packed_sequence(packed._replace(data=data), total_length=x.shape[0])
        undo = packed.unsorted_indices.to(x.device)
        h, c = h[:, undo], c[:, undo]
    return out, [(h[d], c[d]) for d in range(h.shape[0])]
