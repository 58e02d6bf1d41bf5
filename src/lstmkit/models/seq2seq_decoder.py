"""The decoder of ``Seq2Seq``: an lstmkit LSTM cell stepped one output character at a time, with
attention over the encoder's outputs and input feeding (Luong et al. 2015, sections 3 and 3.3).

One step, from the previous character ``y`` and the state (h, c, h~) of the step before:

    x_t  = [embed(y); h~_{t-1}]                       input feeding: the last attentional vector
    h_t, c_t = LSTMCell(x_t, (h_{t-1}, c_{t-1}))
    a_t  = softmax(score(h_t, memory)),  ctx_t = sum_s a_ts memory_s      (seq2seq_attention)
    h~_t = tanh(W_c [ctx_t; h_t])                     Luong eq. 5
    logits_t = W_o h~_t                               padding, unknown and start ids masked out

The first state is ``h_0 = tanh(W_h m)``, ``c_0 = W_c0 m`` with ``m`` the mean of the encoder's
outputs over the source's real characters, and ``h~_0 = 0``.

Target vocabularies are character ``Vocabulary``s with two ids added after ``PAD`` and ``UNK``:
``BOS`` (start of sequence, the first decoder input) and ``EOS`` (end of sequence, the last target).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Iterable

import torch
from torch import Tensor, nn

from ..cell_module import LSTMCell
from ..data.tokenize import PAD, SPECIALS, UNK, Vocabulary
from .pooling import padding_mask
from .seq2seq_attention import attend, make_attention

BOS, EOS = 2, 3
BOS_TOKEN, EOS_TOKEN = "<s>", "</s>"


def char_vocabulary(texts: Iterable[str]) -> Vocabulary:
    """A character vocabulary of ``texts`` with ids PAD, UNK, BOS, EOS, then the characters (most
    frequent first). The two added tokens are longer than one character, so no text can hold them."""
    base = Vocabulary.build(texts, level="char")
    return Vocabulary("char", list(SPECIALS) + [BOS_TOKEN, EOS_TOKEN] + base.itos[len(SPECIALS):])


def check_vocabulary(vocab: Vocabulary, where: str) -> None:
    if vocab.level != "char" or vocab.itos[BOS] != BOS_TOKEN or vocab.itos[EOS] != EOS_TOKEN:
        raise ValueError(f"{where}: expected a character vocabulary with {BOS_TOKEN!r} and {EOS_TOKEN!r} at ids "
                         f"{BOS} and {EOS}, got level {vocab.level!r} and {vocab.itos[:4]}")


def decode_ids(vocab: Vocabulary, ids: Iterable[int]) -> str:
    """The text of generated ids, up to the first EOS."""
    out = []
    for i in ids:
        if i == EOS:
            break
        if i not in (PAD, BOS):
            out.append(vocab.itos[i])
    return "".join(out)


@dataclass
class DecoderState:
    """The decoder's state for B rows: h, c (B, H), the attentional vector ``feed`` (B, H), and the
    source side: ``memory`` (B, T, K) encoder outputs, ``keys`` their attention keys, ``pad`` (B, T)."""

    h: Tensor
    c: Tensor
    feed: Tensor
    memory: Tensor
    keys: Tensor
    pad: Tensor

    def _map(self, f) -> "DecoderState":
        return DecoderState(*(f(getattr(self, k.name)) for k in fields(self)))

    def select(self, rows: Tensor) -> "DecoderState":
        """The state of ``rows`` (1-D indices; rows may repeat): how beam search reorders its beams."""
        return self._map(lambda t: t.index_select(0, rows))

    def repeat(self, k: int) -> "DecoderState":
        """Each row ``k`` times in a row: (B, ...) -> (B * k, ...)."""
        return self._map(lambda t: t.repeat_interleave(k, dim=0))

    @property
    def rows(self) -> int:
        return self.h.shape[0]


class AttentionDecoder(nn.Module):
    """``vocab_size`` output ids; an LSTM ``cell`` of ``hidden_size`` units; ``attention`` one of
    ``ATTENTIONS`` over encoder outputs of ``memory_size``; ``dropout`` on embeddings and outputs."""

    def __init__(self, vocab_size: int, embedding_size: int, memory_size: int, hidden_size: int, *,
                 attention: str = "additive", cell: str = "forget", dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=PAD)
        self.cell = LSTMCell(embedding_size + hidden_size, hidden_size, cell=cell)
        self.bridge = nn.Linear(memory_size, 2 * hidden_size)
        self.attention = make_attention(attention, hidden_size, memory_size)
        self.combine = nn.Linear(memory_size + hidden_size, hidden_size, bias=False)
        self.out = nn.Linear(hidden_size, vocab_size)
        self.drop = nn.Dropout(dropout)
        banned = torch.zeros(vocab_size, dtype=torch.bool)
        banned[[PAD, UNK, BOS]] = True                 # never generated
        self.register_buffer("banned", banned, persistent=False)

    def start(self, memory: Tensor, lengths: Tensor) -> DecoderState:
        """The first state for encoder outputs ``memory`` (B, T, K) of sources of ``lengths`` (B,)."""
        pad = padding_mask(lengths.to(memory.device), memory.shape[1])            # (B, T)
        keep = (~pad).to(memory.dtype)[:, :, None]
        mean = (memory * keep).sum(1) / keep.sum(1)                               # (B, K)
        h, c = self.bridge(mean).chunk(2, dim=-1)                                 # (B, 2H) -> 2 x (B, H)
        return DecoderState(torch.tanh(h), c, torch.zeros_like(h), memory, self.attention.keys(memory), pad)

    def step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState, Tensor]:
        """One step: previous ids ``tokens`` (B,) -> (logits (B, V), next state, attention weights (B, T))."""
        x = torch.cat([self.drop(self.embedding(tokens)), state.feed], dim=1)    # (B, E + H)
        h, c = self.cell(x, (state.h, state.c))
        context, weights = attend(self.attention, h, state.keys, state.memory, state.pad)
        feed = torch.tanh(self.combine(torch.cat([context, h], dim=1)))           # (B, K + H) -> (B, H)
        logits = self.out(self.drop(feed)).masked_fill(self.banned, float("-inf"))
        return logits, DecoderState(h, c, feed, state.memory, state.keys, state.pad), weights

    def forward(self, state: DecoderState, inputs: Tensor, teacher_forcing: float = 1.0) -> Tensor:
        """Logits (B, L, V) of every step for decoder inputs ``inputs`` (B, L) (BOS, then the target
        shifted right). With ``teacher_forcing`` < 1, each row's input at each step after the first is,
        with probability 1 - teacher_forcing, the previous step's most likely id instead."""
        steps, token = [], inputs[:, 0]
        for t in range(inputs.shape[1]):
            if t and teacher_forcing < 1.0:
                own = steps[-1].argmax(-1)
                token = torch.where(torch.rand(len(own), device=own.device) < teacher_forcing, inputs[:, t], own)
            elif t:
                token = inputs[:, t]
            logits, state, _ = self.step(token, state)
            steps.append(logits)
        return torch.stack(steps, dim=1)


__all__ = ["AttentionDecoder", "BOS", "BOS_TOKEN", "DecoderState", "EOS", "EOS_TOKEN", "char_vocabulary",
           "check_vocabulary", "decode_ids"]
