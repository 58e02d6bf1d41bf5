"""Polyphonic music: the bundled Bach chorales, PianoRollModel (NLL by hand, padding, causality,
learning, sampling, saving), the ``lstmkit music chorales`` command and the errors."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lstmkit.cli import music as music_cli
from lstmkit.data.music import chorales_table, keys_to_pitches, load_chorales
from lstmkit.models.encoders import KINDS
from lstmkit.models.music import PianoRollModel, frequency_nll, nll_of_probabilities
from lstmkit.train import Checkpoint, save

CHORDS = [[40, 47, 52], [41, 48, 53], [43, 50, 55], [45, 52, 57]]      # MIDI pitches, a 4-frame loop


def pattern(frames: int, phase: int = 0) -> np.ndarray:
    x = np.zeros((frames, 88), np.float32)
    for t in range(frames):
        x[t, [p - 21 for p in CHORDS[(t + phase) % 4]]] = 1
    return x


def random_pieces(lengths, seed=0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random((n, 88)) < 0.05).astype(np.float32) for n in lengths]


@pytest.fixture(scope="module")
def tiny() -> dict[str, PianoRollModel]:
    """One barely trained model of every kind (the tests below need weights, not skill)."""
    pieces = random_pieces([7, 5, 9, 6])
    return {kind: PianoRollModel(kind, 8, heads=2, epochs=1, batch_size=2, val_fraction=0).fit(pieces)
            for kind in KINDS}


# -- the data ----------------------------------------------------------------------------------------------

def test_chorales_shapes_and_splits():
    pieces = load_chorales()
    assert len(pieces) == 371
    assert all(p.ndim == 2 and p.shape[1] == 88 and p.dtype == np.float32 for p in pieces)
    assert set(np.unique(np.concatenate(pieces))) == {0.0, 1.0}
    table = chorales_table()
    assert sorted(table["number"]) == list(range(1, 372))                 # Riemenschneider 1..371
    splits = {name: set(chorales_table(name)["number"]) for name in ("train", "valid", "test")}
    train, valid, test = splits.values()
    assert not (train & valid or train & test or valid & test)
    assert splits["train"] | splits["valid"] | splits["test"] == set(range(1, 372))
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [223, 74, 74]
    for name in splits:
        assert [len(p) for p in load_chorales(name)] == list(chorales_table(name)["frames"])


def test_identical_chorales_share_a_split():
    by_content: dict[bytes, set[str]] = {}
    for piece, split in zip(load_chorales(), chorales_table()["split"]):
        by_content.setdefault(piece.tobytes() + bytes(str(piece.shape), "ascii"), set()).add(split)
    assert len(by_content) < 371                                           # the edition does repeat some
    assert all(len(s) == 1 for s in by_content.values())


def test_first_chorale_notes_by_hand():
    # Riemenschneider 1 = BWV 269 "Aus meines Herzens Grunde", read off the score: beat 1 is
    # G2 B3 D4 G4; beat 2 G3 B3 D4 G4 (soprano G4 held); beat 3 E3 C4 E4 G4, its second eighth B3 in the tenor.
    first = load_chorales()[0]
    assert chorales_table().loc[0, "file"] == "bwv269"
    assert keys_to_pitches(first[0]) == keys_to_pitches(first[1]) == [43, 59, 62, 67]
    assert keys_to_pitches(first[2]) == [55, 59, 62, 67]
    assert keys_to_pitches(first[4]) == [52, 60, 64, 67]
    assert keys_to_pitches(first[5]) == [52, 59, 64, 67]
    quarter = load_chorales(grid="quarter")[0]
    np.testing.assert_array_equal(quarter, first[::2])
    assert chorales_table(grid="quarter").loc[0, "frames"] == len(quarter) == 63


# -- the model ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_nll_equals_binary_cross_entropy_by_hand(tiny, kind):
    model = tiny[kind]
    pieces = random_pieces([6, 3, 8], seed=1)
    total = frames = 0.0
    with torch.no_grad():
        for p in pieces:                          # one piece at a time: no padding anywhere
            x = torch.from_numpy(p)
            logits, _ = model(x[None, :-1])
            total += float(F.binary_cross_entropy_with_logits(logits[0], x[1:], reduction="sum"))
            frames += len(p) - 1
    assert model.nll(pieces) == pytest.approx(total / frames, rel=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_padding_does_not_change_a_pieces_nll(tiny, kind):
    model = tiny[kind]
    short, long = random_pieces([4, 11], seed=2)
    alone = model.nll([short])
    together = model.nll([short, long], batch_size=2)               # short is padded to 11 frames
    assert together == pytest.approx((3 * alone + 10 * model.nll([long])) / 13, rel=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_predictions_ignore_later_frames(tiny, kind):
    model = tiny[kind]
    x = torch.from_numpy(random_pieces([9], seed=3)[0])[None]
    with torch.no_grad():
        before, _ = model(x)
        for t in (2, 6):
            y = x.clone()
            y[0, t] = 1 - y[0, t]
            after, _ = model(y)
            torch.testing.assert_close(after[:, :t], before[:, :t], rtol=0, atol=0)
            assert (after[:, t] - before[:, t]).abs().max() > 0            # frame t itself is read


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_learns_a_repeating_pattern(kind):
    pieces = [pattern(16 + 2 * i, i) for i in range(4)]
    model = PianoRollModel(kind, 16, epochs=40, lr=3e-2, batch_size=4, patience=None, val_fraction=0).fit(pieces)
    test = [pattern(20, 1), pattern(13, 3)]
    assert frequency_nll(pieces, test) > 6.0                  # each key on about 1/4 of the time: no model at all
    assert model.nll(test) < 0.5
    sampled = model.sample(12, seed=0, prime=pattern(1, 2), temperature=0.5)
    np.testing.assert_array_equal(sampled, pattern(12, 2))       # it plays the loop on


def test_same_seed_same_model_and_samples():
    pieces = random_pieces([6, 8, 5, 7], seed=4)
    a, b = (PianoRollModel("gru", 8, epochs=2, batch_size=2, val_fraction=0.25, seed=3).fit(pieces) for _ in range(2))
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    np.testing.assert_array_equal(a.sample(10, seed=5), b.sample(10, seed=5))
    assert not np.array_equal(a.sample(30, seed=5), a.sample(30, seed=6))


def test_sample_starts_with_the_prime_and_the_common_first_frame(tiny):
    model = tiny["lstm"]
    prime = pattern(3)
    out = model.sample(7, seed=0, prime=prime)
    assert out.shape == (7, 88) and set(np.unique(out)) <= {0.0, 1.0}
    np.testing.assert_array_equal(out[:3], prime)
    np.testing.assert_array_equal(model.sample(1)[0], model.first_frame_)


def test_recurrent_sampling_state_equals_rereading(tiny):
    # lstm/gru carry their state while sampling; it must give what re-reading the whole prefix gives
    model = tiny["gru"]
    out = torch.from_numpy(model.sample(8, seed=1, temperature=2.0))
    with torch.no_grad():
        logits, _ = model(out[None])
        _, state = model(out[None, :4])
        step, _ = model(out[None, 4:5], state=state)
    torch.testing.assert_close(step[0, 0], logits[0, 4], rtol=1e-5, atol=1e-5)


def test_save_and_load(tmp_path, tiny):
    model = tiny["hybrid"]
    path = tmp_path / "m.safetensors"
    model.save(path)
    back = PianoRollModel.load(path)
    pieces = random_pieces([5, 7], seed=5)
    assert back.nll(pieces) == model.nll(pieces)
    assert back.get_params() == model.get_params()
    np.testing.assert_array_equal(back.sample(6, seed=2), model.sample(6, seed=2))
    other = tmp_path / "other.safetensors"
    save(other, Checkpoint({"model": {"w": torch.zeros(1)}}, {}))
    with pytest.raises(ValueError, match="not a saved PianoRollModel"):
        PianoRollModel.load(other)


def test_nll_of_probabilities_by_hand():
    piece = np.zeros((3, 88), np.float32)
    piece[1, 0] = piece[2, 5] = 1
    probs = np.full((2, 88), 0.1)
    # each frame: one key on (-log 0.1) and 87 off (-log 0.9)
    assert nll_of_probabilities([probs], [piece]) == pytest.approx(-np.log(0.1) - 87 * np.log(0.9))


# -- the command -------------------------------------------------------------------------------------------

def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lstmkit")
    music_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.run(args)


def test_cli_quick(tmp_path, capsys):
    path = tmp_path / "chorales.safetensors"
    assert _run(["music", "chorales", "--quick", "--quiet", "--model", "gru", "--save", str(path)]) == 0
    out = capsys.readouterr().out
    assert "train 12" in out and "valid 4" in out and "test 4" in out
    row = next(line for line in out.splitlines() if line.startswith("gru "))
    test_nll = float(row.split()[4])
    model = PianoRollModel.load(path)
    assert model.nll(load_chorales("test", grid="quarter")[:4]) == pytest.approx(test_nll, abs=5e-4)


def test_cli_errors_are_named(tmp_path):
    with pytest.raises(ValueError, match="--save: directory .* does not exist"):
        _run(["music", "chorales", "--quick", "--save", str(tmp_path / "no" / "m.safetensors")])
    with pytest.raises(SystemExit):
        _run(["music", "chorales", "--model", "rnn"])


# -- errors ------------------------------------------------------------------------------------------------

def test_bad_pieces_are_named():
    good = random_pieces([4])[0]
    model = PianoRollModel(epochs=1)
    with pytest.raises(ValueError, match=r"pieces\[1\] must have shape \(frames, 88\) .* got shape \(4, 87\)"):
        model.fit([good, good[:, :87]])
    nan = good.copy()
    nan[2, 7] = np.nan
    with pytest.raises(ValueError, match=r"pieces\[0\] contains NaN or inf, first at frame 2, key 7"):
        model.fit([nan])
    with pytest.raises(ValueError, match="pieces is an empty list"):
        model.fit([])
    with pytest.raises(ValueError, match=r"pieces\[0\] has 1 frame\(s\); it needs at least 2"):
        model.fit([good[:1]])
    with pytest.raises(ValueError, match=r"must hold key values in \[0, 1\] .* got values in \[0, 3\]"):
        model.fit([good * 3])
    with pytest.raises(TypeError, match=r"wrap one piece in a list"):
        model.fit(good)
    with pytest.raises(ValueError, match=r"val\[0\] must have shape"):
        model.fit([good, good], val=[good[:, :5]])
    with pytest.raises(ValueError, match="model must be one of 'lstm', 'gru', 'hybrid', 'transformer', got 'rnn'"):
        PianoRollModel("rnn", epochs=1).fit([good, good])
    with pytest.raises(ValueError, match="val_fraction = 0.1 needs at least 2 pieces"):
        model.fit([good])


def test_bad_calls_are_named(tiny):
    with pytest.raises(RuntimeError, match="not fitted yet"):
        PianoRollModel().nll([pattern(3)])
    model = tiny["lstm"]
    with pytest.raises(ValueError, match="prime has 3 frames, more than n_frames = 2"):
        model.sample(2, prime=pattern(3))
    with pytest.raises(ValueError, match=r"prime\[0\] must have shape \(frames, 88\)"):
        model.sample(4, prime=np.zeros((2, 12)))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.sample(4, temperature=0.0)
    with pytest.raises(ValueError, match="n_frames must be >= 1, got 0"):
        model.sample(0)
    with pytest.raises(ValueError, match="split must be None or one of 'train', 'valid', 'test', got 'dev'"):
        load_chorales("dev")
    with pytest.raises(ValueError, match="grid must be one of 'eighth', 'quarter', got 'half'"):
        load_chorales(grid="half")
    with pytest.raises(ValueError, match=r"frame must have shape \(88,\)"):
        keys_to_pitches(np.zeros(12))
