"""The sequence generators of Exps. 1, 2, 3 and 6 against the paper's text, checked with
independent computations (a hand-written regex and graph for the Reber grammar, counts, moments).
Every test is seeded; tolerances are at least 5 standard deviations of the statistic."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lstmkit.tasks.long_lag import ManyDistractorsTask, NoiseFreeTask, RandomMiddleTask
from lstmkit.tasks.reber import (ReberTask, embedded_reber_string, reber_legal, reber_sequences,
                                 reber_string)
from lstmkit.tasks.temporal_order import TemporalOrderTask
from lstmkit.tasks.two_sequence import TwoSequenceTask

# ---------------------------------------------------------------- Exp. 1: embedded Reber grammar

ABC = "BTPSXVE"
_R3 = "T*V(?:PXT*V)*(?:V|PS)"                         # from node 3 to node 6
INNER = f"B(?:TS*X(?:S|X{_R3})|P{_R3})E"
EMBEDDED = re.compile(f"^B([TP]){INNER}\\1E$")
PLAIN = re.compile(f"^{INNER}$")
# the graph again, written independently: (node, symbol) -> next node
EDGES = {(0, "B"): 1, (1, "T"): 2, (1, "P"): 3, (2, "S"): 2, (2, "X"): 4, (3, "T"): 3, (3, "V"): 5,
         (4, "X"): 3, (4, "S"): 6, (5, "P"): 4, (5, "V"): 6, (6, "E"): 7}


def decode(seqs, row):
    """The full string of one row: its input symbols plus the last target."""
    L = seqs.lengths[row]
    return "".join(ABC[i] for i in seqs.symbols[row, :L]) + ABC[int(seqs.targets[row, L - 1].argmax())]


def test_reber_strings_are_in_the_grammar():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        s = embedded_reber_string(rng)
        assert EMBEDDED.match(s), s
        assert s[1] == s[-2] and s[1] in "TP"
        assert PLAIN.match(reber_string(rng))


def test_reber_branch_probabilities_are_one_half():
    rng = np.random.default_rng(1)
    first = {node: 0 for node in range(1, 6)}
    visits = dict(first)
    outer_t = 0
    n = 4000
    for _ in range(n):
        s = embedded_reber_string(rng)
        outer_t += s[1] == "T"
        node = 0
        for c in s[2:-2]:
            if node in visits:
                visits[node] += 1
                first[node] += c == "TSTXP"[node - 1]       # the first edge listed for each node
            node = EDGES[(node, c)]
        assert node == 7
    assert outer_t / n == pytest.approx(0.5, abs=0.04)
    for node in visits:
        assert visits[node] > 1000
        assert first[node] / visits[node] == pytest.approx(0.5, abs=5 * 0.5 / np.sqrt(visits[node]))
    # the two shortest inner strings each have probability 1/8
    inner = [embedded_reber_string(rng)[2:-2] for _ in range(n)]
    for short in ("BTXSE", "BPVVE"):
        assert inner.count(short) / n == pytest.approx(1 / 8, abs=0.03)


@pytest.mark.parametrize("string, legal", [
    ("BTBTXSETE", ["TP", "B", "TP", "SX", "XS", "E", "T", "E"]),
    ("BPBPVVEPE", ["TP", "B", "TP", "TV", "PV", "E", "P", "E"]),
    ("BTBPTTVPXVVETE", ["TP", "B", "TP", "TV", "TV", "TV", "PV", "XS", "TV", "PV", "E", "T", "E"]),
    ("BPBTSSXXVPSEPE", ["TP", "B", "TP", "SX", "SX", "SX", "XS", "TV", "PV", "XS", "E", "P", "E"]),
])
def test_reber_legal_sets_hand_worked(string, legal):
    assert [set(x) for x in reber_legal(string)] == [set(x) for x in legal]
    seqs = reber_sequences([string, "BTBTXSETE"])
    L = len(string) - 1
    assert seqs.lengths[0] == L and seqs.steps == max(L, 8)
    for t, ok in enumerate(legal):
        assert {ABC[i] for i in np.flatnonzero(seqs.legal[0, t])} == set(ok)
    assert not seqs.legal[0, L:].any()


def test_reber_plain_legal():
    assert reber_legal("BTXSE", embedded=False) == ["TP", "SX", "XS", "E"]


@pytest.mark.parametrize("bad", ["BTBTXSETP", "BTBTXSEPE", "BTBTXSET", "BTBTXXETE", "TBTXSETE", "BTBTXSETEE", "B"])
def test_reber_rejects_strings_outside_the_grammar(bad):
    with pytest.raises(ValueError):
        reber_sequences([bad])


def test_reber_sequences_targets_are_the_next_symbol():
    rng = np.random.default_rng(2)
    strings = [embedded_reber_string(rng) for _ in range(300)]
    seqs = reber_sequences(strings)
    assert seqs.every_step and seqs.inputs == 7 and seqs.outputs == 7
    assert seqs.symbols.dtype == np.int32 and seqs.legal.dtype == bool
    for row, s in enumerate(strings):
        L = len(s) - 1
        assert seqs.lengths[row] == L
        assert decode(seqs, row) == s
        assert "".join(ABC[i] for i in seqs.symbols[row, :L]) == s[:-1]
        assert (seqs.symbols[row, L:] == -1).all()
        np.testing.assert_array_equal(seqs.targets[row, :L].sum(1), 1.0)
        assert [ABC[i] for i in seqs.targets[row, :L].argmax(1)] == list(s[1:])
        assert seqs.targets[row, L:].sum() == 0
        assert seqs.legal[row, np.arange(L), seqs.targets[row, :L].argmax(1)].all()   # the target is legal
        assert {ABC[i] for i in np.flatnonzero(seqs.legal[row, L - 1])} == {"E"}
        assert {ABC[i] for i in np.flatnonzero(seqs.legal[row, L - 2])} == {s[1]}


def test_reber_task_protocol():
    task = ReberTask(np.random.default_rng(3))
    assert (task.inputs, task.outputs, task.every_step) == (7, 7, True)
    train = [decode(task.train_set, r) for r in range(len(task.train_set))]
    test = [decode(task.test_set, r) for r in range(len(task.test_set))]
    assert len(train) == 256 and len(test) == 256
    assert not set(train) & set(test)
    assert all(EMBEDDED.match(s) for s in train + test)
    rng = np.random.default_rng(4)
    batch = task.train(500, rng)
    drawn = [decode(batch, r) for r in range(500)]
    assert set(drawn) <= set(train)
    assert len(set(drawn)) > 50                                 # random draws, not one string
    assert task.test(7, rng) is task.test_set
    other = ReberTask(np.random.default_rng(5), train_size=20, test_size=30)
    assert len(other.train_set) == 20 and len(other.test_set) == 30
    assert other.train_strings != task.train_strings[:20]


# ---------------------------------------------------------------- Exp. 2: long time lags

def test_noise_free_has_exactly_two_sequences():
    p, n = 5, 2000
    task = NoiseFreeTask(p=p)
    assert (task.inputs, task.outputs, task.every_step) == (p + 1, p + 1, True)
    seqs = task.train(n, np.random.default_rng(6))
    x_seq, y_seq = [p - 1, 0, 1, 2, 3, p - 1], [p, 0, 1, 2, 3, p]
    full = np.concatenate([seqs.symbols, seqs.targets[:, -1:].argmax(-1)], axis=1)
    for row in range(n):
        assert full[row].tolist() == (x_seq if seqs.labels[row] == 0 else y_seq)
    assert (seqs.lengths == p).all() and seqs.targets.shape == (n, p, p + 1)
    np.testing.assert_array_equal(seqs.targets.argmax(-1), full[:, 1:])
    np.testing.assert_array_equal(seqs.targets.sum(-1), 1.0)
    assert seqs.labels.mean() == pytest.approx(0.5, abs=0.06)
    assert NoiseFreeTask().train(3, np.random.default_rng(0)).targets.shape == (3, 100, 101)


def test_random_middle_is_uniform_and_ends_match():
    p, n = 10, 4000
    seqs = RandomMiddleTask(p=p).train(n, np.random.default_rng(7))
    middle = seqs.symbols[:, 1:]
    assert middle.min() >= 0 and middle.max() <= p - 2
    freq = np.bincount(middle.ravel(), minlength=p - 1) / middle.size
    np.testing.assert_allclose(freq, 1 / (p - 1), atol=0.01)
    np.testing.assert_array_equal(seqs.symbols[:, 0], p - 1 + seqs.labels)
    np.testing.assert_array_equal(seqs.targets[:, -1].argmax(-1), seqs.symbols[:, 0])
    np.testing.assert_array_equal(seqs.targets[:, :-1].argmax(-1), middle)
    assert seqs.labels.mean() == pytest.approx(0.5, abs=0.04)
    # symbols at different steps are not copies of each other
    assert (middle[:, 0] != middle[:, 1]).mean() == pytest.approx(1 - 1 / (p - 1), abs=0.04)


def test_many_distractors_generation():
    q, p, n = 20, 10, 5000
    task = ManyDistractorsTask(q=q, p=p)
    assert (task.inputs, task.outputs, task.every_step) == (p + 4, 2, False)
    seqs = task.train(n, np.random.default_rng(8))
    e, b, x, y = p, p + 1, p + 2, p + 3
    s, L = seqs.symbols, seqs.lengths
    assert seqs.targets.shape == (n, 1, 2)
    assert (s[:, 0] == b).all()
    assert np.isin(s[:, 1], [x, y]).all()
    np.testing.assert_array_equal(s[:, 1] - x, seqs.labels)
    np.testing.assert_array_equal(seqs.targets[:, 0].argmax(-1), seqs.labels)   # last symbol matches 2nd
    np.testing.assert_array_equal(seqs.targets.sum(-1), 1.0)
    assert (s == e).sum(1).tolist() == [1] * n
    assert (s[np.arange(n), L - 1] == e).all()                # e right before the last symbol
    assert ((s == b).sum(1) == 1).all() and (np.isin(s, [x, y]).sum(1) == 1).all()
    full = L + 1
    assert full.min() == q + 4
    extra = full - (q + 4)                                     # geometric: mean 9, variance 90
    assert full.mean() == pytest.approx(q + 13, abs=6 * np.sqrt(90 / n))
    assert (extra == 0).mean() == pytest.approx(0.1, abs=0.03)
    assert extra.var() == pytest.approx(90, rel=0.2)
    for row in range(200):
        assert (s[row, L[row]:] == -1).all()
        assert ((s[row, 2:L[row] - 1] >= 0) & (s[row, 2:L[row] - 1] < p)).all()
    distractors = s[(s >= 0) & (s < p)]
    assert distractors.size == (L - 3).sum()
    np.testing.assert_allclose(np.bincount(distractors, minlength=p) / distractors.size, 1 / p, atol=0.005)
    assert seqs.labels.mean() == pytest.approx(0.5, abs=0.04)


# ---------------------------------------------------------------- Exp. 3: two-sequence problem

def _noise(seqs, N):
    return np.concatenate([seqs.x[r, N:seqs.lengths[r], 0] for r in range(len(seqs))])


def test_two_sequence_3a():
    T, N, n = 100, 3, 4000
    seqs = TwoSequenceTask(T=T, N=N).train(n, np.random.default_rng(9))
    assert seqs.x.shape[2] == 1 and seqs.targets.shape == (n, 1, 1) and seqs.clean is None
    L = seqs.lengths
    assert L.min() == T and L.max() == T + T // 10
    np.testing.assert_allclose(np.bincount(L - T) / n, 1 / 11, atol=0.03)
    sign = np.where(seqs.labels == 0, 1.0, -1.0)
    np.testing.assert_array_equal(seqs.x[:, :N, 0], np.repeat(sign[:, None], N, 1))
    np.testing.assert_array_equal(seqs.targets[:, 0, 0], np.where(seqs.labels == 0, 1.0, 0.0))
    noise = _noise(seqs, N)
    assert noise.mean() == pytest.approx(0.0, abs=0.005)
    assert noise.var() == pytest.approx(0.2, abs=0.004)       # variance 0.2, not standard deviation 0.2
    for r in range(n):
        assert (seqs.x[r, L[r]:] == 0).all()
    assert seqs.labels.mean() == pytest.approx(0.5, abs=0.04)
    long = TwoSequenceTask(T=1000, N=1).train(4, np.random.default_rng(0))
    assert 1000 <= long.lengths.min() and long.lengths.max() <= 1100 and np.abs(long.x[:, 0, 0]).tolist() == [1.0] * 4


def test_two_sequence_3b_noise_on_information():
    T, N, n = 100, 3, 4000
    seqs = TwoSequenceTask(T=T, N=N, noisy_info=True).train(n, np.random.default_rng(10))
    sign = np.where(seqs.labels == 0, 1.0, -1.0)
    info_noise = seqs.x[:, :N, 0] - sign[:, None]
    assert info_noise.mean() == pytest.approx(0.0, abs=0.025)
    assert info_noise.var() == pytest.approx(0.2, abs=0.02)
    assert _noise(seqs, N).var() == pytest.approx(0.2, abs=0.004)
    np.testing.assert_array_equal(seqs.targets[:, 0, 0], np.where(seqs.labels == 0, 1.0, 0.0))


def test_two_sequence_3c_noisy_targets():
    T, N, n = 100, 1, 4000
    seqs = TwoSequenceTask(T=T, N=N, noisy_targets=True).train(n, np.random.default_rng(11))
    assert seqs.clean.shape == (n, 1, 1)
    np.testing.assert_array_equal(seqs.clean[:, 0, 0], np.where(seqs.labels == 0, 0.2, 0.8))
    target_noise = seqs.targets[:, 0, 0] - seqs.clean[:, 0, 0]
    assert target_noise.mean() == pytest.approx(0.0, abs=0.03)
    assert target_noise.var() == pytest.approx(0.1, abs=0.015)
    np.testing.assert_array_equal(np.abs(seqs.x[:, :N, 0]), 1.0)          # clean inputs in 3c


# ---------------------------------------------------------------- Exp. 6: temporal order

@pytest.mark.parametrize("relevant, ranges", [(2, [(10, 20), (50, 60)]), (3, [(10, 20), (33, 43), (66, 76)])])
def test_temporal_order(relevant, ranges):
    n = 4000
    task = TemporalOrderTask(relevant=relevant)
    assert (task.inputs, task.outputs, task.every_step) == (8, 2 ** relevant, False)
    seqs = task.train(n, np.random.default_rng(12 + relevant))
    s, L = seqs.symbols, seqs.lengths
    assert L.min() == 100 and L.max() == 110
    np.testing.assert_allclose(np.bincount(L - 100) / n, 1 / 11, atol=0.03)
    assert (s[:, 0] == 6).all() and (s[np.arange(n), L - 1] == 7).all()
    assert ((s == 6).sum(1) == 1).all() and ((s == 7).sum(1) == 1).all()
    rows, cols = np.nonzero((s == 4) | (s == 5))
    assert np.bincount(rows, minlength=n).tolist() == [relevant] * n
    cols = cols.reshape(n, relevant) + 1                       # 1-based positions, E at position 1
    for j, (low, high) in enumerate(ranges):
        assert cols[:, j].min() == low and cols[:, j].max() == high
        np.testing.assert_allclose(np.bincount(cols[:, j] - low) / n, 1 / (high - low + 1), atol=0.03)
    bits = (s[rows, cols.ravel() - 1] == 5).reshape(n, relevant)
    expected = sum(bits[:, j].astype(int) << (relevant - 1 - j) for j in range(relevant))
    np.testing.assert_array_equal(seqs.labels, expected)
    np.testing.assert_array_equal(seqs.targets[:, 0].argmax(-1), expected)
    np.testing.assert_array_equal(seqs.targets.sum(-1), 1.0)
    np.testing.assert_allclose(np.bincount(expected, minlength=2 ** relevant) / n, 1 / 2 ** relevant, atol=0.03)
    padding = np.arange(s.shape[1])[None, :] >= L[:, None]
    assert (s[padding] == -1).all()
    distractors = s[(s >= 0) & (s < 4)]
    assert distractors.size == (L - 2 - relevant).sum()
    np.testing.assert_allclose(np.bincount(distractors) / distractors.size, 0.25, atol=0.01)


def test_temporal_order_class_letters():
    from lstmkit.tasks.temporal_order import CLASS_NAMES
    assert CLASS_NAMES[2][0b01] == "R" and CLASS_NAMES[2][0b10] == "S"
    assert CLASS_NAMES[3][0b011] == "U" and CLASS_NAMES[3][0b101] == "A" and CLASS_NAMES[3][0b111] == "C"


# ---------------------------------------------------------------- argument checks

@pytest.mark.parametrize("make, name", [
    (lambda: NoiseFreeTask(p=1), "p"),
    (lambda: RandomMiddleTask(p=0), "p"),
    (lambda: ManyDistractorsTask(q=0, p=10), "q"),
    (lambda: ManyDistractorsTask(q=10, p=0), "p"),
    (lambda: TwoSequenceTask(T=1), "T"),
    (lambda: TwoSequenceTask(N=0), "N"),
    (lambda: TwoSequenceTask(T=10, N=10), "N"),
    (lambda: TemporalOrderTask(relevant=4), "relevant"),
    (lambda: TemporalOrderTask(relevant=1), "relevant"),
    (lambda: ReberTask(np.random.default_rng(0), train_size=0), "train_size"),
    (lambda: ReberTask(np.random.default_rng(0), test_size=0), "test_size"),
    (lambda: TemporalOrderTask().train(0, np.random.default_rng(0)), "n"),
    (lambda: ManyDistractorsTask(q=5, p=5).train(-1, np.random.default_rng(0)), "n"),
])
def test_bad_values_raise_value_error_naming_the_argument(make, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        make()


@pytest.mark.parametrize("make, name", [
    (lambda: NoiseFreeTask(p=2.5), "p"),
    (lambda: TwoSequenceTask(noisy_info=1), "noisy_info"),
    (lambda: TwoSequenceTask(noisy_targets="yes"), "noisy_targets"),
    (lambda: ReberTask(0), "rng"),
])
def test_bad_types_raise_type_error_naming_the_argument(make, name):
    with pytest.raises(TypeError, match=rf"\b{name}\b"):
        make()
