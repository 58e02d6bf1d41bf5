"""Regularisers of the ready models beyond the LSTM layer's own (``lstmkit.LSTM``'s
recurrent_dropout, input_dropout, weight_drop): embedding dropout and activation regularisation."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F


def embedding_dropout(embedding: nn.Embedding, ids: Tensor, p: float, training: bool) -> Tensor:
    """The embeddings of ``ids``; in training, each row of the vocabulary (a word or character
    type, all its occurrences in the batch) is dropped with probability ``p`` and the others
    scaled by 1 / (1 − p) (Gal & Ghahramani 2016, §4; AWD-LSTM's embedding dropout)."""
    if not training or p == 0:
        return embedding(ids)
    weight = embedding.weight
    keep = weight.new_empty(weight.shape[0], 1).bernoulli_(1 - p) / (1 - p)
    return F.embedding(ids, weight * keep, padding_idx=embedding.padding_idx)


def activation_penalty(dropped: Tensor, raw: Tensor, ar: float, tar: float) -> Tensor:
    """AR + TAR (Merity et al. 2018, §4.6): ``ar`` · mean(dropped²) on the (dropped-out) outputs
    plus ``tar`` · mean((h_t − h_{t−1})²) on the raw outputs, (B, T, D) each."""
    penalty = dropped.new_zeros(())
    if ar:
        penalty = penalty + ar * dropped.pow(2).mean()
    if tar and raw.shape[1] > 1:
        penalty = penalty + tar * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    return penalty


__all__ = ["activation_penalty", "embedding_dropout"]
