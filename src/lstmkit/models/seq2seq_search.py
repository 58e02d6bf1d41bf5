"""Decoding a ``seq2seq_decoder.AttentionDecoder``: greedy, and beam search with length normalisation.

Both take the decoder, the first ``DecoderState`` of B sources and ``max_length`` (the most ids a
hypothesis may have, EOS included) and return one ``Hypothesis`` per source.

A hypothesis ends when it emits EOS or reaches ``max_length`` ids. Its score is the sum of the
log-probabilities of its ids (EOS included); beam search ranks ended hypotheses by
``score / length ** length_penalty`` (``length_penalty = 0``: no normalisation; 1: the mean
log-probability per id), which keeps it from preferring short outputs.

Beam search keeps ``beam_size`` live hypotheses per source (the scheme of fairseq's
``SequenceGenerator`` and Hugging Face's ``BeamSearchScorer``): each step extends every live one by
every id and ranks the extensions by score; those among the first ``beam_size`` that end go to the
source's ``beam_size`` best ended hypotheses (by normalised score), and the best ``beam_size`` that
do not end live on. A source is done when it holds ``beam_size`` ended hypotheses and the worst of
them scores at least as well as the best live one would if it ended now (Hugging Face's rule); the
answer is its best ended hypothesis. With ``beam_size = 1`` this is exactly greedy decoding; with a
beam as large as the number of possible outputs it is exhaustive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .seq2seq_decoder import BOS, EOS, AttentionDecoder, DecoderState


@dataclass
class Hypothesis:
    """Generated ``ids`` (EOS dropped), their log-probability ``score`` (EOS included), its
    ``normalised`` score, and the attention ``weights`` (steps, T_in) of every step, EOS's included."""

    ids: list[int]
    score: float
    normalised: float
    weights: np.ndarray


def greedy(decoder: AttentionDecoder, state: DecoderState, max_length: int,
           length_penalty: float = 1.0) -> list[Hypothesis]:
    """The most likely id at every step, until EOS or ``max_length`` ids (``length_penalty`` only
    sets the hypotheses' ``normalised`` score, as beam search would)."""
    rows = state.rows
    token = torch.full((rows,), BOS, dtype=torch.long, device=state.h.device)
    done = torch.zeros(rows, dtype=torch.bool, device=token.device)
    ids, weights, logps = [], [], []
    for _ in range(max_length):
        logits, state, w = decoder.step(token, state)
        logp = torch.log_softmax(logits.float(), dim=-1)
        token = logp.argmax(-1)
        ids.append(token)
        logps.append(logp.gather(1, token[:, None]).squeeze(1))
        weights.append(w)
        done = done | (token == EOS)
        if bool(done.all()):
            break
    ids_, logps_ = torch.stack(ids, 1).cpu(), torch.stack(logps, 1).double().cpu()     # (B, L)
    weights_ = torch.stack(weights, 1).double().cpu().numpy()                          # (B, L, T)
    out = []
    for b in range(rows):
        row = ids_[b].tolist()
        n = row.index(EOS) + 1 if EOS in row else len(row)          # ids up to and with EOS
        score = float(logps_[b, :n].sum())
        out.append(Hypothesis([i for i in row[:n] if i != EOS], score, score / float(n) ** length_penalty,
                              weights_[b, :n]))
    return out


def beam_search(decoder: AttentionDecoder, state: DecoderState, max_length: int, beam_size: int,
                length_penalty: float = 1.0) -> list[Hypothesis]:
    """The best hypothesis of each source found by a beam of ``beam_size`` (see the module's docstring)."""
    B, K = state.rows, beam_size
    device = state.h.device
    state = state.repeat(K)                                        # rows b * K + k
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0                                             # one live hypothesis to start from
    history = torch.zeros(B, K, 0, dtype=torch.long, device=device)
    attention = torch.zeros(B, K, 0, state.memory.shape[1], device=device)
    token = torch.full((B * K,), BOS, dtype=torch.long, device=device)
    ended: list[list[Hypothesis]] = [[] for _ in range(B)]        # each source's best K ended, best first
    done = torch.zeros(B, dtype=torch.bool, device=device)
    for t in range(max_length):
        logits, state, w = decoder.step(token, state)
        V = logits.shape[1]
        logp = torch.log_softmax(logits.float(), dim=-1).view(B, K, V)
        top, index = (scores[:, :, None] + logp).view(B, K * V).topk(min(2 * K, K * V), dim=1)   # (B, 2K)
        parent, ids = index // V, index % V
        rank = torch.arange(top.shape[1], device=device)
        last = t == max_length - 1
        finish = ((ids == EOS) | last) & (rank < K) & torch.isfinite(top) & ~done[:, None]
        norm = float(t + 1) ** length_penalty
        w = w.view(B, K, -1)
        for b, j in finish.nonzero().tolist():
            _keep(ended[b], K, history[b], attention[b], w[b], int(parent[b, j]), int(ids[b, j]), float(top[b, j]), norm)
        if last:
            break
        order = (rank + (ids == EOS) * top.shape[1]).argsort(dim=1)[:, :K]           # the best K that live on
        parent, ids, scores = parent.gather(1, order), ids.gather(1, order), top.gather(1, order)
        worst = torch.tensor([h[-1].normalised if len(h) == K else float("-inf") for h in ended], device=device)
        done |= worst >= scores.max(1).values / norm
        if bool(done.all()):
            break
        rows = (torch.arange(B, device=device)[:, None] * K + parent).view(-1)
        state = state.select(rows)
        pick = parent[:, :, None]
        history = torch.cat([history.gather(1, pick.expand(-1, -1, history.shape[2])), ids[:, :, None]], dim=2)
        chosen = w.gather(1, pick.expand(-1, -1, w.shape[2]))[:, :, None]               # (B, K, 1, T)
        attention = torch.cat([attention.gather(1, pick[:, :, :, None].expand(-1, -1, *attention.shape[2:])), chosen],
                              dim=2)
        token = ids.view(-1)
    return [h[0] for h in ended]          # at the last step every source's best live hypothesis ends


def _keep(kept: list[Hypothesis], k: int, history: Tensor, attention: Tensor, w: Tensor, parent: int, token: int,
          score: float, norm: float) -> None:
    """Add the hypothesis ``parent``'s history + ``token`` to ``kept`` if it is among the best ``k``."""
    normalised = score / norm
    if len(kept) == k and normalised <= kept[-1].normalised:
        return
    ids = history[parent].tolist() + ([] if token == EOS else [token])
    steps = torch.cat([attention[parent], w[parent][None]]).double().cpu().numpy()     # (steps, T)
    kept.append(Hypothesis(ids, score, normalised, steps))
    kept.sort(key=lambda h: -h.normalised)
    del kept[k:]


__all__ = ["Hypothesis", "beam_search", "greedy"]
