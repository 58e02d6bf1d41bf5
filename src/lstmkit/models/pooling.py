"""Poolings: one vector per sequence from an encoder's outputs at every step, padding ignored.

Every pooling is ``pool(out, lengths) -> (B, D)`` with ``out`` (B, T, D) and ``lengths`` (B,) the
real length of each sequence (steps ``lengths[b]`` … ``T - 1`` are padding and never read):

- ``last``: the output at the final real step. With two directions (``out`` = [forward,
  backward] halves, as a bidirectional LSTM/GRU writes it) the forward half is read at the last
  real step and the backward half at the first step, where the backward pass ends: both halves
  have then read the whole sequence.
- ``mean``: the mean over the real steps.
- ``attention``: additive attention (Bahdanau et al. 2015, eq. 6; as pooling: Yang et al. 2016,
  eqs. 8-10): ``score_t = v · tanh(W out_t + b)``, weights ``softmax`` over the real steps only
  (padding gets weight 0), the weighted sum of the outputs.

Chosen by name from ``POOLINGS``; each is built as ``POOLINGS[name](width, two_directions)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def padding_mask(lengths: Tensor, steps: int) -> Tensor:
    """(B, steps) True at the padded steps of each sequence."""
    return torch.arange(steps, device=lengths.device)[None, :] >= lengths[:, None]


class LastPool(nn.Module):
    def __init__(self, width: int, two_directions: bool) -> None:
        super().__init__()
        if two_directions and width % 2:
            raise ValueError(f"two directions need an even width (forward + backward halves), got {width}")
        self.two_directions = two_directions

    def forward(self, out: Tensor, lengths: Tensor) -> Tensor:
        rows = torch.arange(out.shape[0], device=out.device)
        last = out[rows, lengths.to(out.device) - 1]                  # (B, D) at each final real step
        if not self.two_directions:
            return last
        half = out.shape[2] // 2
        return torch.cat([last[:, :half], out[:, 0, half:]], dim=1)   # forward at the end, backward at step 0


class MeanPool(nn.Module):
    def __init__(self, width: int, two_directions: bool) -> None:
        super().__init__()

    def forward(self, out: Tensor, lengths: Tensor) -> Tensor:
        keep = (~padding_mask(lengths.to(out.device), out.shape[1])).to(out.dtype)   # (B, T)
        return (out * keep[:, :, None]).sum(1) / keep.sum(1, keepdim=True)


class AttentionPool(nn.Module):
    def __init__(self, width: int, two_directions: bool) -> None:
        super().__init__()
        self.project = nn.Linear(width, width)
        self.score = nn.Linear(width, 1, bias=False)

    def weights(self, out: Tensor, lengths: Tensor) -> Tensor:
        """(B, T) attention weights: each row sums to 1 over the real steps, 0 at padding."""
        scores = self.score(torch.tanh(self.project(out))).squeeze(-1)              # (B, T)
        scores = scores.masked_fill(padding_mask(lengths.to(out.device), out.shape[1]), float("-inf"))
        return torch.softmax(scores, dim=1)

    def forward(self, out: Tensor, lengths: Tensor) -> Tensor:
        return torch.einsum("bt,btd->bd", self.weights(out, lengths), out)


POOLINGS: dict[str, type[nn.Module]] = {"last": LastPool, "mean": MeanPool, "attention": AttentionPool}


def make_pooling(name: str, width: int, two_directions: bool) -> nn.Module:
    if name not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(map(repr, POOLINGS))}, got {name!r}")
    return POOLINGS[name](width, two_directions)


__all__ = ["AttentionPool", "LastPool", "MeanPool", "POOLINGS", "make_pooling", "padding_mask"]
