"""Sequence to sequence with attention: the attention against hand computations, the search against
brute force, a model that must learn to reverse strings, the task generators against the standard
library's date parser and a hand-written table, saving, the CLI and the error messages."""

from __future__ import annotations

import argparse
import datetime
import itertools
import math
import random
import re
import sys

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lstmkit.data.strings import make_pairs, make_split, part_of, spell_number, split_pairs
from lstmkit.models.seq2seq import Seq2Seq, plot_attention, plot_attentions
from lstmkit.models.seq2seq_attention import AdditiveAttention, DotAttention, GeneralAttention, attend
from lstmkit.models.seq2seq_decoder import BOS, EOS
from lstmkit.train import CheckpointError


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Speed only (results do not depend on it): these models are tiny, and on a busy 2-core machine
    a second torch thread, or numba's OpenMP workers spinning beside the fused LSTM kernel, make
    every small op many times slower. The numba setting takes effect only if no parallel kernel
    has run yet in this process."""
    import numba
    if not getattr(numba.np.ufunc.parallel, "_is_initialized", False) and "NUMBA_THREADING_LAYER" not in __import__("os").environ:
        numba.config.THREADING_LAYER = "workqueue"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _strings(n: int, seed: int, alphabet: str = "abcd", longest: int = 5) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, longest))) for _ in range(n)]


@pytest.fixture(scope="module")
def reverser() -> tuple[Seq2Seq, list[str]]:
    """A small model trained to reverse strings of a..d, and held-out sources whose reversals it never saw."""
    train = [(s, s[::-1]) for s in _strings(400, 0)]
    seen = {t for _, t in train}
    test = [s for s in _strings(400, 1) if s[::-1] not in seen][:100]
    model = Seq2Seq(hidden_size=24, embedding_size=8, epochs=10, batch_size=32, lr=1e-2, val_fraction=0.0)
    return model.fit(train), test


@pytest.fixture(scope="module")
def untrained() -> Seq2Seq:
    """A barely trained model whose outputs are strings of 'a' and 'b' of at most 4 ids: every output
    can be enumerated."""
    pairs = [("xy", "ab"), ("yx", "ba"), ("xxy", "aab"), ("y", "b"), ("x", "a"), ("yyx", "bba")]
    model = Seq2Seq(hidden_size=6, embedding_size=4, epochs=1, batch_size=6, lr=1e-3, val_fraction=0.0,
                    max_length=4, seed=1).fit(pairs)
    with torch.no_grad():                     # sharper, more varied distributions: greedy then goes wrong
        for p in model.parameters():
            p.mul_(3.0)
    return model


# -- attention -------------------------------------------------------------------------------------------

def _softmax(scores: list[float]) -> list[float]:
    e = [math.exp(s) for s in scores]
    return [v / sum(e) for v in e]


def test_additive_attention_matches_a_hand_computation():
    att = AdditiveAttention(2, 2, size=2)
    with torch.no_grad():
        att.query.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, -1.0]]))
        att.key.weight.copy_(torch.tensor([[0.0, 2.0], [1.0, 1.0]]))
        att.key.bias.copy_(torch.tensor([0.1, -0.2]))
        att.v.weight.copy_(torch.tensor([[1.5, -0.5]]))
    q = [0.3, -0.4]
    keys = [[1.0, 0.0], [0.0, 1.0], [-1.0, 2.0]]
    wq = [1.0 * q[0] + 0.0 * q[1], 0.5 * q[0] - 1.0 * q[1]]
    scores = []
    for k in keys:
        wk = [0.0 * k[0] + 2.0 * k[1] + 0.1, 1.0 * k[0] + 1.0 * k[1] - 0.2]
        scores.append(1.5 * math.tanh(wq[0] + wk[0]) - 0.5 * math.tanh(wq[1] + wk[1]))
    memory = torch.tensor([keys])
    context, weights = attend(att, torch.tensor([q]), att.keys(memory), memory, None)
    expected = _softmax(scores)
    torch.testing.assert_close(weights[0], torch.tensor(expected))
    torch.testing.assert_close(context[0], torch.tensor([sum(w * k[i] for w, k in zip(expected, keys)) for i in range(2)]))


def test_dot_and_general_attention_match_hand_computations_and_mask_padding():
    q = torch.tensor([[1.0, 2.0], [1.0, 2.0]])
    memory = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [3.0, -1.0]]] * 2)
    pad = torch.tensor([[False, False, False], [False, False, True]])      # row 2: only 2 real steps
    dot = DotAttention(2, 2)
    _, weights = attend(dot, q, dot.keys(memory), memory, pad)
    torch.testing.assert_close(weights[0], torch.tensor(_softmax([1.0, 2.0, 1.0])))
    torch.testing.assert_close(weights[1], torch.tensor(_softmax([1.0, 2.0]) + [0.0]))
    assert weights[1, 2].item() == 0.0
    torch.testing.assert_close(weights.sum(1), torch.ones(2))
    general = GeneralAttention(2, 2)
    with torch.no_grad():
        general.weight.weight.copy_(torch.tensor([[0.0, 1.0], [2.0, 0.0]]))       # W_a k = (k1, 2 k0)
    _, weights = attend(general, q, general.keys(memory), memory, pad)
    hand = [1 * k[1] + 2 * 2 * k[0] for k in memory[0].tolist()]                  # q^T W_a k
    torch.testing.assert_close(weights[0], torch.tensor(_softmax(hand)))
    torch.testing.assert_close(weights[1], torch.tensor(_softmax(hand[:2]) + [0.0]))


def test_dot_attention_context_equals_torch_attention():
    torch.manual_seed(0)
    q, memory = torch.randn(3, 4), torch.randn(3, 5, 4)
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] + [True] * 4])
    context, _ = attend(DotAttention(4, 4), q, memory, memory, pad)
    ref = F.scaled_dot_product_attention(q[:, None], memory, memory, attn_mask=~pad[:, None], scale=1.0)[:, 0]
    torch.testing.assert_close(context, ref)


def test_model_attention_rows_sum_to_one_over_each_source_only(reverser):
    model, _ = reverser
    sources = ["a", "abcd", "dcbab"]                                     # padded together in one batch
    for source, h in zip(sources, model.decode(sources, beam_size=1)):
        assert h.weights.shape[1] == len(source)
        np.testing.assert_allclose(h.weights.sum(1), 1.0, atol=1e-6)    # nothing was left on the padding
    text, weights = model.attention("abcd")
    assert weights.shape == (len(text), 4)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    text_end, with_end = model.attention("abcd", end=True)               # plus the row that wrote EOS
    assert text_end == text and with_end.shape == (len(text) + 1, 4)
    np.testing.assert_allclose(with_end[:-1], weights)


# -- decoding --------------------------------------------------------------------------------------------

def test_beam_of_one_is_greedy(untrained, reverser):
    for model, sources in ((untrained, ["xy", "yyx", "x", "xyxy"]), (reverser[0], reverser[1][:20])):
        for source, g, b in zip(sources, model.decode(sources, beam_size=1), _beam(model, sources, 1)):
            assert g.ids == b.ids
            assert g.score == pytest.approx(b.score, abs=1e-5)
            np.testing.assert_allclose(g.weights, b.weights[:, : len(source)], atol=1e-6)


def _beam(model, sources, k):
    from lstmkit.models.seq2seq_search import beam_search
    with torch.no_grad():
        src, lengths = model._source_ids(sources, "sources")
        state = model.encode(torch.from_numpy(src), torch.from_numpy(lengths))
        return beam_search(model.decoder_, state, model.max_length_, k, model.length_penalty)


def _score(model: Seq2Seq, source: str, ids: list[int], ended: bool) -> float:
    """log p(ids [+ EOS] | source) by teacher forcing through the model's forward pass."""
    targets = ids + [EOS] if ended else ids
    inputs = [BOS] + targets[:-1]
    src = torch.tensor([model.source_vocabulary_.encode(source)])
    with torch.no_grad():
        logits = model(src, torch.tensor([src.shape[1]]), torch.tensor([inputs]))
    return float(F.log_softmax(logits[0].double(), -1).gather(1, torch.tensor(targets)[:, None]).sum())


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_beam_search_finds_the_best_sequence_found_by_brute_force(untrained, length_penalty):
    model = untrained
    model.length_penalty = length_penalty
    chars = [model.target_vocabulary_.stoi[c] for c in "ab"]
    longest = model.max_length_                                            # 4 ids, EOS included
    candidates = [(list(w), True) for n in range(longest) for w in itertools.product(chars, repeat=n)]
    candidates += [(list(w), False) for w in itertools.product(chars, repeat=longest)]    # cut at 4 ids
    beaten = 0
    try:
        for source in ["xy", "yx", "xxy", "y", "yyx", "xyxyx"]:
            scored = [(_score(model, source, ids, ended) / (len(ids) + ended) ** length_penalty, ids)
                      for ids, ended in candidates]
            best_score, best_ids = max(scored)
            hyp = model.decode([source], beam_size=len(candidates))[0]
            assert hyp.ids == best_ids
            assert hyp.normalised == pytest.approx(best_score, abs=1e-5)
            beaten += model.decode([source])[0].ids != best_ids
    finally:
        model.length_penalty = 1.0
    assert beaten, "greedy found the best sequence every time: this test would not notice a search that does not search"


def test_decoder_forward_without_teacher_forcing_is_greedy(reverser):
    model, sources = reverser
    sources = sources[:8]
    hyps = model.decode(sources)
    src, lengths = model._source_ids(sources, "sources")
    inputs = torch.full((len(sources), model.max_length_), BOS)
    with torch.no_grad():
        state = model.encode(torch.from_numpy(src), torch.from_numpy(lengths))
        logits = model.decoder_(state, inputs, teacher_forcing=0.0)             # feeds its own argmax
    for row, h in zip(logits.argmax(-1).tolist(), hyps):
        assert row[: len(h.ids) + 1] == h.ids + [EOS]


# -- learning --------------------------------------------------------------------------------------------

def test_a_small_model_learns_to_reverse_unseen_strings(reverser):
    model, test = reverser
    targets = [s[::-1] for s in test]
    assert len(test) >= 50
    assert model.score(test, targets) >= 0.97
    assert model.score(test, targets, beam_size=3) >= 0.97
    text, weights = model.attention("abcd")
    assert text == "dcba"
    assert list(weights.argmax(1)) == [3, 2, 1, 0]          # each output character looks at its source


def test_same_seed_same_model():
    pairs = [(s, s[::-1]) for s in _strings(40, 5)]
    a, b = (Seq2Seq(hidden_size=8, embedding_size=4, epochs=1, batch_size=8, teacher_forcing=0.5).fit(pairs)
            for _ in range(2))
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        torch.testing.assert_close(x, y, rtol=0, atol=0, msg=name)
    assert a.history_[0]["val_loss"] == b.history_[0]["val_loss"]


def test_every_encoder_and_attention_trains_and_decodes():
    pairs = [(s, s[::-1]) for s in _strings(12, 6)]
    for kind, attention in (("gru", "dot"), ("hybrid", "general"), ("transformer", "additive")):
        model = Seq2Seq(kind, attention=attention, hidden_size=8, embedding_size=4, heads=2, epochs=1, batch_size=12,
                        val_fraction=0.0).fit(pairs)
        out = model.predict(["abc", "d"], beam_size=2)
        assert len(out) == 2 and all(isinstance(o, str) for o in out)


# -- saving ----------------------------------------------------------------------------------------------

def test_save_and_load_give_the_same_predictions(reverser, tmp_path):
    model, test = reverser
    model.save(tmp_path / "m.safetensors")
    back = Seq2Seq.load(tmp_path / "m.safetensors")
    assert back.get_params() == model.get_params()
    assert back.predict(test[:30]) == model.predict(test[:30])
    assert back.predict(test[:10], beam_size=3) == model.predict(test[:10], beam_size=3)
    np.testing.assert_allclose(back.attention("abc")[1], model.attention("abc")[1])
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        Seq2Seq.load(tmp_path / "bad.safetensors")


# -- the tasks -------------------------------------------------------------------------------------------

#: The test's own reading of every format (stdlib strptime, C locale; month-first with "/", day-first with ".").
PATTERNS = ["%d %B %Y", "%d %b %Y", "%b %d, %Y", "%B %d, %Y", "%A, %B %d, %Y", "%a, %d %b %Y", "%A %d %B %Y",
            "%d of %B %Y", "%d-%b-%Y", "%m/%d/%Y", "%m/%d/%y", "%Y.%m.%d", "%Y/%m/%d", "%d.%m.%Y", "%d.%m.%y", "%Y%m%d"]
DAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def test_date_pairs_name_the_same_date():
    pairs = make_pairs("dates", 3000, seed=11)
    assert pairs == make_pairs("dates", 3000, seed=11) and pairs != make_pairs("dates", 3000, seed=12)
    for source, target in pairs:
        day = datetime.date.fromisoformat(target)
        assert target == day.isoformat() and 1900 <= day.year <= 2099
        text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", source, flags=re.IGNORECASE)
        parsed = set()
        for pattern in PATTERNS:
            try:
                parsed.add(datetime.datetime.strptime(text, pattern).date())
            except ValueError:
                pass
        assert parsed == {day}, (source, target, parsed)
        words = re.findall(r"[a-z]+", source.lower())
        named = [i for i, name in enumerate(DAY_NAMES) if name in words or name[:3] in words]
        assert named in ([], [day.weekday()]), (source, target)
    assert len({s for s, _ in pairs}) > 2500                        # many formats, cases and days


def test_dates_use_many_formats_and_two_digit_years_only_where_unambiguous():
    pairs = make_pairs("dates", 4000, seed=2)
    shapes = {re.sub(r"[a-z]+", "w", re.sub(r"\d", "9", s.lower())) for s, _ in pairs}
    assert len(shapes) >= 15
    short = [(s, t) for s, t in pairs if re.fullmatch(r"\d\d[/.]\d\d[/.]\d\d", s)]
    assert short and all(1969 <= int(t[:4]) <= 2068 for _, t in short)


NUMBERS = {0: "zero", 7: "seven", 13: "thirteen", 19: "nineteen", 20: "twenty", 21: "twenty-one", 40: "forty",
           99: "ninety-nine", 100: "one hundred", 101: "one hundred and one", 110: "one hundred and ten",
           312: "three hundred and twelve", 999: "nine hundred and ninety-nine", 1000: "one thousand",
           1005: "one thousand and five", 1010: "one thousand and ten", 1100: "one thousand one hundred",
           2024: "two thousand and twenty-four",
           12345: "twelve thousand three hundred and forty-five", 100000: "one hundred thousand",
           101001: "one hundred and one thousand and one", 110200: "one hundred and ten thousand two hundred",
           999999: "nine hundred and ninety-nine thousand nine hundred and ninety-nine"}


@pytest.mark.parametrize("n", sorted(NUMBERS))
def test_number_speller_against_a_hand_written_table(n):
    assert spell_number(n) == NUMBERS[n]


def _read_words(text: str) -> int:
    """The test's own reader of English numbers."""
    small = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve "
                                        "thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split())}
    small.update({w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)})
    total = part = 0
    for word in text.replace("-", " ").split():
        if word == "and":
            continue
        if word == "hundred":
            part *= 100
        elif word == "thousand":
            total, part = (total + part) * 1000, 0
        else:
            part += small[word]
    return total + part


def test_number_pairs_both_ways_round_trip_through_an_independent_reader():
    for n in range(0, 1_000_000, 97):
        assert _read_words(spell_number(n)) == n
    words = make_pairs("numbers", 500, seed=4)
    digits = make_pairs("numbers-reverse", 500, seed=4)
    assert all(_read_words(s) == int(t) for s, t in words)
    assert all(_read_words(t) == int(s) and str(int(s)) == s for s, t in digits)
    assert {len(t) for _, t in words} == {1, 2, 3, 4, 5, 6}


def test_the_split_never_puts_a_test_target_in_training():
    split = make_split("dates", 2000, 200, 200, seed=1)
    assert (len(split.train), len(split.val), len(split.test)) == (2000, 200, 200)
    train = {t for _, t in split.train}
    assert not train & {t for _, t in split.test} and not train & {t for _, t in split.val}
    assert all(part_of(t) == "test" for _, t in split.test)
    again = make_split("dates", 100, 10, 10, seed=9)             # another seed: the same rule
    assert not {t for _, t in again.test} & train
    assert split_pairs(split.train + split.test).test == split.test


# -- the command line ------------------------------------------------------------------------------------

def _cli(argv):
    from lstmkit.cli import seq2seq
    p = argparse.ArgumentParser(prog="lstmkit")
    sub = p.add_subparsers()
    seq2seq.add_parser(sub)
    return p.parse_args(argv)


def test_cli_quick(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    args = _cli(["seq2seq", "numbers", "--quick", "--no-progress", "--beam-size", "2", "--seed", "1",
                 "--save", str(tmp_path / "n.safetensors"), "--plot", str(tmp_path / "a.png")])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "exact match" in out and "greedy" in out and "beam 2" in out and "parameters" in out
    assert (tmp_path / "n.safetensors").stat().st_size > 0
    model = Seq2Seq.load(tmp_path / "n.safetensors")
    assert isinstance(model.predict(["seven"])[0], str)
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit):
        _cli(["seq2seq", "poems"])                                          # not a task


def test_plot_attention(tmp_path):
    pytest.importorskip("matplotlib")
    path = plot_attention("3 mar 1997", "1997-03-03", np.full((10, 10), 0.1), tmp_path / "a.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    path = plot_attention("abc", "", np.full((1, 3), 1 / 3), tmp_path / "end.png")     # only the EOS row
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"weights must have shape \(len\(target\), len\(source\)\) = \(2, 3\), or one"):
        plot_attention("abc", "xy", np.ones((3, 2)), tmp_path / "b.png")
    with pytest.raises(ValueError, match="directory"):
        plot_attentions([("a", "b", [[1.0]])], tmp_path / "nowhere" / "c.png")


def test_plot_without_matplotlib_names_the_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_attention("ab", "ba", [[0.5, 0.5], [0.5, 0.5]], tmp_path / "a.png")


# -- errors ----------------------------------------------------------------------------------------------

def test_bad_input_is_named(reverser):
    model, _ = reverser
    with pytest.raises(ValueError, match=r"data sources\[1\] is an empty string"):
        Seq2Seq(epochs=1).fit([("ab", "ba"), ("", "x")])
    with pytest.raises(ValueError, match=r"data targets\[0\] is an empty string"):
        Seq2Seq(epochs=1).fit(["ab"], [""])
    with pytest.raises(ValueError, match=r"sources\[1\] is an empty string"):
        model.predict(["ab", ""])
    with pytest.raises(ValueError, match=r"sources\[0\] \('abz!'\): 2 char\(s\) not in the vocabulary: '!', 'z'"):
        model.predict(["abz!"])
    with pytest.raises(TypeError, match="got a single str; wrap it in a list"):
        model.predict("abc")
    with pytest.raises(TypeError, match=r"sources\[0\] must be a str, got int"):
        model.predict([3])
    with pytest.raises(ValueError, match="beam_size must be >= 1, got 0"):
        model.predict(["ab"], beam_size=0)
    with pytest.raises(ValueError, match="sources and targets must have the same length, got 2 and 1"):
        model.score(["ab", "ba"], ["ba"])
    with pytest.raises(ValueError, match=r"task must be one of 'dates', 'numbers', 'numbers-reverse', got 'poems'"):
        make_pairs("poems", 3)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        make_pairs("dates", 0)
    with pytest.raises(ValueError, match="n must be <= 999999, got 1000000"):
        spell_number(1_000_000)
    with pytest.raises(ValueError, match="attention must be one of 'additive', 'dot', 'general', got 'luong'"):
        Seq2Seq(attention="luong").fit([("a", "b")])
    with pytest.raises(ValueError, match="unknown must be one of 'error', 'unk', got 'skip'"):
        Seq2Seq(unknown="skip").fit([("a", "b")])
    with pytest.raises(ValueError, match="teacher_forcing must be in"):
        Seq2Seq(teacher_forcing=1.5).fit([("a", "b")])
    with pytest.raises(RuntimeError, match="not fitted yet"):
        Seq2Seq().predict(["a"])
    with pytest.raises(TypeError, match=r"data\[0\] must be a \(source, target\) pair"):
        Seq2Seq().fit(["abc"])


def test_unknown_characters_can_be_read_as_unk(reverser):
    model, _ = reverser
    model.unknown = "unk"
    try:
        out = model.predict(["abz!", "ab?#", "ab"])
    finally:
        model.unknown = "error"
    assert out[0] == out[1]                     # any unseen character is the one unknown id
    assert out[0] != out[2]
