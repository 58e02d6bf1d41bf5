"""The character language model (lstmkit.models.language_model), its corpus and its CLI."""

from __future__ import annotations

import argparse
import math

import pytest
import torch
from torch.nn import functional as F

from lstmkit.cli import lm as lm_cli
from lstmkit.data.corpora import load_shakespeare, split_text
from lstmkit.data.tokenize import PAD, UNK
from lstmkit.models.encoders import KINDS
from lstmkit.models.language_model import LanguageModel

TEXT = "first line\nsecond one\nthird line here\nfourth\nfifth and last\n"
PERIOD = "abcabcabd\n"                      # 'ab' is followed by c, c, d: the model must count


@pytest.fixture(autouse=True)
def _one_thread():
    """One thread: on a busy 2-core machine torch's two threads mostly wait for each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(kind: str = "lstm", text: str = TEXT, steps: int = 1, **kw) -> LanguageModel:
    params = dict(hidden_size=8, num_layers=2, heads=2, bptt=5, batch_size=2, val_fraction=0.0, lr=1e-2)
    params.update(kw)
    return LanguageModel(kind, **params).fit(text, steps=steps)


def ids_of(lm: LanguageModel, text: str) -> torch.Tensor:
    return torch.tensor(lm.vocab_.encode(text), dtype=torch.long)


# -- the corpus --------------------------------------------------------------------------------------

def test_shakespeare_is_the_42_works_joined_by_blank_lines():
    text = load_shakespeare()
    assert len(text) == 5_057_198 + 41 * 2          # the works' characters + one blank line between each two
    assert text.count("by William Shakespeare") == 42
    assert text.startswith("ALL'S WELL THAT ENDS WELL\n\nby William Shakespeare")     # sorted by file name
    assert text.endswith("[Exeunt.]\n")


def test_split_text_holds_out_the_end_at_a_line_start():
    text = "".join(f"line {i:02d}\n" for i in range(40))          # 40 lines of 8 characters
    train, val = split_text(text, 0.1)
    assert train + val == text
    assert train.endswith("\n") and val.startswith("line ")
    assert abs(len(val) - 0.1 * len(text)) <= 8                    # within one line of the fraction
    assert split_text(text, 0.0) == (text, "")
    one_line = "x" * 100
    train, val = split_text(one_line, 0.2)
    assert (len(train), len(val)) == (80, 20)                      # no line start: cut inside the line


@pytest.mark.parametrize("args, error, match", [
    ((b"abc", 0.1), TypeError, "text must be a str, got bytes"),
    (("abc\n", 0.95), ValueError, r"val_fraction must be in \[0.0, 0.9\], got 0.95"),
    (("a", 0.1), ValueError, "text has 1 character"),
])
def test_split_text_errors(args, error, match):
    with pytest.raises(error, match=match):
        split_text(*args)


# -- the loss ----------------------------------------------------------------------------------------

def test_evaluate_is_the_cross_entropy_of_one_pass_in_nats():
    lm = tiny("lstm")
    ids = ids_of(lm, TEXT)
    with torch.no_grad():
        logits, _ = lm(ids[None, :-1])                             # the whole text in one call, no chunks
        by_hand = F.cross_entropy(logits[0], ids[1:]).item()
        m = (len(ids) - 1) // 2                                    # two streams, each from a fresh state
        halves = [F.cross_entropy(lm(ids[None, s * m: (s + 1) * m])[0][0], ids[s * m + 1: (s + 1) * m + 1],
                                  reduction="sum") for s in range(2)]
    assert lm.evaluate(TEXT, streams=1) == pytest.approx(by_hand, rel=1e-5)
    assert lm.evaluate(TEXT, streams=2) == pytest.approx(float(sum(halves)) / (2 * m), rel=1e-5)
    assert lm.bits_per_char(TEXT, streams=1) == pytest.approx(lm.evaluate(TEXT, streams=1) / math.log(2))


def test_bits_per_char_is_minus_log2_of_the_softmax():
    lm = tiny("gru")
    ids = ids_of(lm, TEXT)
    with torch.no_grad():
        probs = torch.softmax(lm(ids[None, :-1])[0][0].double(), -1)
    bits = -torch.log2(probs[torch.arange(len(ids) - 1), ids[1:]]).mean().item()
    assert lm.bits_per_char(TEXT, streams=1) == pytest.approx(bits, rel=1e-5)


def test_attention_kinds_are_scored_on_windows_without_history():
    lm = tiny("transformer", bptt=6)
    ids = ids_of(lm, TEXT)
    total, n = 0.0, len(ids) - 1
    with torch.no_grad():
        for t0 in range(0, n, 6):                                  # each window from scratch
            t1 = min(t0 + 6, n)
            total += F.cross_entropy(lm(ids[None, t0:t1])[0][0], ids[t0 + 1: t1 + 1], reduction="sum").item()
    assert lm.evaluate(TEXT, streams=1) == pytest.approx(total / n, rel=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_carried_state_gives_the_logits_of_one_pass(kind):
    lm = tiny(kind)
    ids = ids_of(lm, TEXT)[None]
    with torch.no_grad():
        whole, _ = lm(ids)
        first, state = lm(ids[:, :13])
        second, _ = lm(ids[:, 13:], state)
        fresh, _ = lm(ids[:, 13:])
    torch.testing.assert_close(torch.cat([first, second], 1), whole)
    assert not torch.allclose(fresh, second, atol=1e-4)           # the state matters


@pytest.mark.parametrize("kind", KINDS)
def test_a_later_token_never_changes_earlier_logits(kind):
    lm = tiny(kind)
    ids = ids_of(lm, TEXT[:20])[None]
    changed = ids.clone()
    t = 11
    changed[0, t] = ids[0, t] % (len(lm.vocab_) - 2) + 2          # another real token
    assert changed[0, t] != ids[0, t]
    with torch.no_grad():
        a, _ = lm(ids)
        b, _ = lm(changed)
    torch.testing.assert_close(a[:, :t], b[:, :t], rtol=0, atol=1e-6)
    assert (a[:, t] - b[:, t]).abs().max() > 1e-4                 # ... while the changed step itself does change


# -- learning and sampling ----------------------------------------------------------------------------

def test_a_small_lstm_learns_a_periodic_text_and_greedy_generation_reproduces_it():
    text = PERIOD * 40
    lm = LanguageModel("lstm", 32, 1, bptt=20, batch_size=4, lr=1e-2, val_fraction=0.0, schedule="constant")
    lm.fit(text, steps=150)
    assert lm.evaluate(text, streams=1) < 0.05                     # chance is ln 5 = 1.6 nats
    expected = PERIOD * 3
    assert lm.generate(PERIOD, len(expected), top_k=1) == PERIOD + expected
    assert lm.generate(PERIOD, len(expected), temperature=0) == PERIOD + expected


def test_top_k_1_is_the_greedy_argmax_of_a_hand_loop():
    lm = tiny("lstm", steps=3)
    prompt, n = "fir", 25
    ids = ids_of(lm, prompt).tolist()
    with torch.no_grad():
        for _ in range(n):                                         # no state: the whole text again each step
            logits = lm(torch.tensor([ids]))[0][0, -1]
            logits[[PAD, UNK]] = -math.inf
            ids.append(int(logits.argmax()))
    expected = lm.vocab_.decode(ids)
    assert lm.generate(prompt, n, top_k=1, temperature=1.7, seed=3) == expected
    assert lm.generate(prompt, n, top_k=1, seed=4) == expected


def test_top_k_draws_only_among_the_k_most_likely():
    lm = tiny("lstm")
    with torch.no_grad():
        logits = lm(ids_of(lm, "fi")[None])[0][0, -1]
    logits[[PAD, UNK]] = -math.inf
    top2 = {lm.vocab_.itos[i] for i in torch.topk(logits, 2).indices.tolist()}
    drawn = {lm.generate("fi", 1, top_k=2, temperature=5.0, seed=s)[-1] for s in range(40)}
    assert drawn == top2


def test_the_same_seed_gives_the_same_sample():
    lm = tiny("lstm")
    a = lm.generate("fi", 40, temperature=1.5, seed=7)
    assert a == lm.generate("fi", 40, temperature=1.5, seed=7)
    assert a != lm.generate("fi", 40, temperature=1.5, seed=8)
    assert len(a) == 42 and a.startswith("fi")


def test_the_same_seed_trains_the_same_model():
    a, b = tiny("lstm", steps=4, dropout=0.1), tiny("lstm", steps=4, dropout=0.1)
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(v, w, rtol=0, atol=0, msg=k)
    c = tiny("lstm", steps=4, dropout=0.1, seed=1)
    assert not torch.equal(a.head.weight, c.head.weight)


def test_the_best_validation_weights_are_kept():
    text = PERIOD * 30
    lm = LanguageModel("lstm", 16, 1, bptt=10, batch_size=2, lr=3e-2, val_fraction=0.2, eval_every=5,
                       eval_tokens=None)
    lm.fit(text, steps=30)
    vals = [row["val_loss"] for row in lm.history_]
    assert len(vals) == 6 and lm.best_val_loss_ == min(vals)
    assert lm.best_step_ == lm.history_[vals.index(min(vals))]["step"]
    _, val = split_text(text, 0.2)
    assert lm.evaluate(val) == pytest.approx(lm.best_val_loss_, rel=1e-6)   # the model now holds those weights


def test_a_time_budget_stops_the_run():
    lm = LanguageModel("lstm", 8, 1, bptt=5, batch_size=2, val_fraction=0.0)
    lm.fit(TEXT * 20, minutes=0.01)                                # 0.6 s
    assert lm.stopped_by_ == "minutes" and lm.steps_ > 0
    assert 0.6 <= lm.seconds_ < 5


def test_word_level_model_reads_and_writes_words():
    text = "the cat sat on the mat . " * 20
    lm = LanguageModel("lstm", 16, 1, level="word", bptt=6, batch_size=2, lr=3e-2, val_fraction=0.0)
    lm.fit(text, steps=60)
    assert len(lm.vocab_) == 2 + 6
    out = lm.generate("The cat", 5, top_k=1)
    assert out == "The cat sat on the mat ."


# -- saving --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, tie", [("lstm", False), ("transformer", False), ("gru", True)])
def test_save_and_load_give_the_same_logits_and_samples(tmp_path, kind, tie):
    lm = tiny(kind, steps=2, tie_weights=tie)
    path = tmp_path / "m.lm.safetensors"
    lm.save(path)
    back = LanguageModel.load(path)
    ids = ids_of(lm, TEXT)[None]
    with torch.no_grad():
        torch.testing.assert_close(back(ids)[0], lm(ids)[0], rtol=0, atol=0)
    assert back.vocab_.itos == lm.vocab_.itos and back.get_params() == lm.get_params()
    assert back.generate("fi", 20, seed=1) == lm.generate("fi", 20, seed=1)
    if tie:
        assert back.head.weight is back.embedding.weight


# -- errors ----------------------------------------------------------------------------------------------

def test_a_prompt_outside_the_vocabulary_is_an_error_naming_it():
    lm = tiny("lstm")
    with pytest.raises(ValueError, match=r"prompt 'fiéQ': 2 char\(s\) not in the vocabulary: 'Q', 'é'"):
        lm.generate("fiéQ", 5)


@pytest.mark.parametrize("call, error, match", [
    (lambda lm: lm.generate("", 5), ValueError, r"prompt has 0 character\(s\); it needs at least 1"),
    (lambda lm: lm.generate("fi", -1), ValueError, "n must be >= 0, got -1"),
    (lambda lm: lm.generate("fi", 5, temperature=-1.0), ValueError, "temperature must be in"),
    (lambda lm: lm.generate("fi", 5, top_k=-2), ValueError, "top_k must be >= 0, got -2"),
    (lambda lm: lm.generate(3, 5), TypeError, "prompt must be a str, got int"),
    (lambda lm: lm.evaluate("f"), ValueError, r"text has 1 character\(s\); it needs at least 2"),
    (lambda lm: lm.evaluate(TEXT, streams=0), ValueError, "streams must be >= 1, got 0"),
])
def test_bad_calls_are_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(tiny("lstm"))


@pytest.mark.parametrize("params, fit, error, match", [
    ({}, {"text": ""}, ValueError, r"text is empty \(0 characters\)"),
    ({}, {"text": b"abc"}, TypeError, "text must be a str, got bytes"),
    ({"model": "rnn"}, {}, ValueError, "model must be one of 'lstm', 'gru', 'hybrid', 'transformer', got 'rnn'"),
    ({"level": "byte"}, {}, ValueError, "level must be one of 'char', 'word', got 'byte'"),
    ({"bptt": 0}, {}, ValueError, "bptt must be >= 1, got 0"),
    ({"hidden_size": 2.5}, {}, TypeError, r"hidden_size must be an int, got float \(2.5\)"),
    ({"tie_weights": True, "embedding_size": 4}, {}, ValueError, "embedding_size must be None or hidden_size = 8, got 4"),
    ({"model": "transformer", "heads": 3}, {}, ValueError, r"must be a multiple of heads \(3\)"),
    ({}, {"minutes": 0}, ValueError, "minutes must be > 0"),
    ({}, {"steps": 0}, ValueError, "steps must be >= 1, got 0"),
    ({"schedule": "step"}, {}, ValueError, "schedule must be one of 'constant', 'cosine', got 'step'"),
])
def test_bad_parameters_are_clear_errors(params, fit, error, match):
    args = dict(hidden_size=8, num_layers=1, val_fraction=0.0)
    args.update(params)
    fit = dict(fit)
    text = fit.pop("text", TEXT)
    with pytest.raises(error, match=match):
        LanguageModel(**args).fit(text, **({"steps": 1} | fit))


def test_an_unfitted_model_and_a_foreign_checkpoint_are_clear_errors(tmp_path):
    with pytest.raises(RuntimeError, match="not fitted yet"):
        LanguageModel().generate("a", 3)
    from lstmkit.train.checkpoint import Checkpoint, save
    save(tmp_path / "other.safetensors", Checkpoint({"model": {"w": torch.zeros(2)}}, {"music": {}}))
    with pytest.raises(ValueError, match="not a saved LanguageModel"):
        LanguageModel.load(tmp_path / "other.safetensors")


# -- the CLI ---------------------------------------------------------------------------------------------

def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lstmkit")
    sub = p.add_subparsers()
    lm_cli.add_parser(sub)
    return p.parse_args(argv)


def test_cli_trains_quickly_on_a_text_file_and_generates_from_its_checkpoint(tmp_path, capsys):
    corpus = tmp_path / "poem.txt"
    corpus.write_text("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate.\n" * 30)
    save = tmp_path / "poem.lm.safetensors"
    args = parse(["lm", str(corpus), "--quick", "--steps", "8", "--save", str(save), "--no-progress",
                  "--sample-chars", "50"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "validation nats/char" in out and "validation bits/char" in out and "parameters" in out
    nats = float(out.split("validation nats/char")[1].split()[0])
    bits = float(out.split("validation bits/char")[1].split()[0])
    assert bits == pytest.approx(nats / math.log(2), abs=1e-3)
    model = LanguageModel.load(save)
    assert model.steps_ == 8 and model.hidden_size == lm_cli.QUICK["hidden_size"]
    args = parse(["generate", str(save), "--prompt", "Thou", "--chars", "30", "--seed", "1", "--top-k", "3"])
    assert args.run(args) == 0
    text = capsys.readouterr().out
    assert text == model.generate("Thou", 30, temperature=0.8, top_k=3, seed=1) + "\n"


def test_cli_rejects_a_file_that_is_not_utf8_and_an_empty_one(tmp_path):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café au lait\n".encode("latin-1"))
    args = parse(["lm", str(latin), "--quick", "--no-progress", "--save", str(tmp_path / "x.lm.safetensors")])
    with pytest.raises(ValueError, match=r"latin.txt' is not UTF-8 text: byte 0xe9 at offset 3"):
        args.run(args)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    args = parse(["lm", str(empty), "--quick", "--no-progress", "--save", str(tmp_path / "x.lm.safetensors")])
    with pytest.raises(ValueError, match=r"empty.txt' is empty \(0 characters\)"):
        args.run(args)
    args = parse(["lm", str(tmp_path / "missing.txt"), "--quick"])
    with pytest.raises(ValueError, match="neither 'shakespeare' nor an existing text file"):
        args.run(args)
