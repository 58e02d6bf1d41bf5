"""Attention of a decoder state over an encoder's outputs, chosen by name from ``ATTENTIONS``.

Every scorer is built as ``ATTENTIONS[name](query_size, key_size)`` and has two calls:
``keys(memory)`` prepares the encoder outputs ``memory`` (B, T, K) once per source (the part of the
score that does not depend on the query), and ``scores(query, keys)`` gives the scores (B, T) of
a decoder state ``query`` (B, Q). ``attend`` turns them into weights and a context vector:

- ``additive`` (Bahdanau et al. 2015, appendix A.1.2): ``score_t = v^T tanh(W_q q + W_k k_t)``.
- ``dot`` (Luong et al. 2015, eq. 8): ``score_t = q^T k_t`` (needs Q = K).
- ``general`` (Luong et al. 2015, eq. 8): ``score_t = q^T W_a k_t``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class AdditiveAttention(nn.Module):
    def __init__(self, query_size: int, key_size: int, size: int | None = None) -> None:
        super().__init__()
        size = size or query_size
        self.query = nn.Linear(query_size, size, bias=False)     # W_q
        self.key = nn.Linear(key_size, size)                     # W_k (its bias: the b inside tanh)
        self.v = nn.Linear(size, 1, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        return self.key(memory)                                  # (B, T, K) -> (B, T, A)

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        return self.v(torch.tanh(keys + self.query(query)[:, None, :])).squeeze(-1)   # (B, T, A) -> (B, T)


class DotAttention(nn.Module):
    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        if query_size != key_size:
            raise ValueError(f"attention='dot' needs the decoder state and the encoder outputs to have the same "
                             f"size, got {query_size} and {key_size}; use attention='general' or 'additive'")

    def keys(self, memory: Tensor) -> Tensor:
        return memory

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(keys, query[:, :, None]).squeeze(-1)   # (B, T, K) @ (B, K, 1) -> (B, T)


class GeneralAttention(nn.Module):
    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.weight = nn.Linear(key_size, query_size, bias=False)   # W_a

    def keys(self, memory: Tensor) -> Tensor:
        return self.weight(memory)                               # (B, T, K) -> (B, T, Q)

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(keys, query[:, :, None]).squeeze(-1)   # (B, T, Q) @ (B, Q, 1) -> (B, T)


ATTENTIONS: dict[str, type[nn.Module]] = {"additive": AdditiveAttention, "dot": DotAttention,
                                          "general": GeneralAttention}


def make_attention(name: str, query_size: int, key_size: int) -> nn.Module:
    if name not in ATTENTIONS:
        raise ValueError(f"attention must be one of {', '.join(map(repr, ATTENTIONS))}, got {name!r}")
    return ATTENTIONS[name](query_size, key_size)


def attend(scorer: nn.Module, query: Tensor, keys: Tensor, memory: Tensor, pad: Tensor | None) -> tuple[Tensor, Tensor]:
    """(context (B, K), weights (B, T)): ``softmax`` of the scores over the real steps (``pad`` (B, T)
    True at padding, which gets weight 0) and the weighted sum of ``memory`` (B, T, K)."""
    scores = scorer.scores(query, keys)
    if pad is not None:
        scores = scores.masked_fill(pad, float("-inf"))
    weights = torch.softmax(scores, dim=1)
    return torch.bmm(weights[:, None, :], memory).squeeze(1), weights   # (B, 1, T) @ (B, T, K) -> (B, K)


__all__ = ["ATTENTIONS", "AdditiveAttention", "DotAttention", "GeneralAttention", "attend", "make_attention"]
