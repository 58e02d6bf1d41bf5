"""Modern mode (``lstmkit.paper.modern``): the paper's tasks, rules and tests, trained with BPTT,
Adam, mini-batches and clipping. Small settings only: the whole file runs in well under a minute."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from lstmkit.layer import LSTM
from lstmkit.paper import get, rules, settings
from lstmkit.paper.faithful import TrialResult
from lstmkit.paper.modern import MODELS, _GRU, _LSTMGroup, _Transformer, _WindowTrack, train_modern
from lstmkit.paper.rules import Check, Stage, Window
from lstmkit.tasks.base import Sequences
from lstmkit.tasks.reber import ReberTask


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: these runs are tiny, and a second thread only waits on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def adding(T: int = 12, budget: int = 64, test: int = 200, stop=None):
    s = settings._adding_setting(T, None, None)
    training = dataclasses.replace(s.training, max_sequences=budget, test=rules.Test(test))
    if stop is not None:
        training = dataclasses.replace(training, stop=stop)
    return dataclasses.replace(s, training=training)


def well_formed(r: TrialResult, seed: int, budget: int, test: int) -> None:
    assert isinstance(r, TrialResult) and r.seed == seed
    assert isinstance(r.solved, bool) and 1 <= r.sequences <= budget
    assert r.test_size == test and 0 <= r.wrong <= test
    assert math.isfinite(r.test_mse) and math.isfinite(r.test_mean_abs) and r.seconds > 0
    assert r.curve and r.curve[-1][0] == r.sequences
    assert all(isinstance(c, int) and math.isfinite(e) for c, e in r.curve)


def test_lstm_training_lowers_the_error():
    untrained = train_modern(adding(budget=1, test=500), [0])[0]        # one step on one sequence
    trained = train_modern(adding(budget=3000, test=500), [0])[0]
    well_formed(trained, 0, 3000, 500)
    assert trained.sequences == 3000 and not trained.solved
    assert trained.test_mse < 0.8 * untrained.test_mse, (trained.test_mse, untrained.test_mse)
    assert trained.curve[-1][1] < trained.curve[0][1] or trained.test_mse < trained.curve[0][1]


@pytest.mark.parametrize("clip", [1.0, 1e-3])
def test_lstm_trials_at_once_match_each_trial_alone(clip):
    """ParallelLSTM, the batched heads, one Adam and clipping per network (1e-3: always active,
    where a global norm would couple the trials) train trial k as it trains alone."""
    s = adding(T=20, budget=96)                                          # three updates of 32
    together = train_modern(s, [3, 4, 5], clip=clip)
    alone = train_modern(s, [4], clip=clip)[0]
    k = together[1]
    assert (k.seed, k.sequences, k.wrong, k.test_size) == (alone.seed, alone.sequences, alone.wrong, alone.test_size)
    assert k.test_mse == pytest.approx(alone.test_mse, rel=1e-5, abs=1e-7)
    assert k.test_mean_abs == pytest.approx(alone.test_mean_abs, rel=1e-5, abs=1e-7)
    assert [c for c, _ in k.curve] == [c for c, _ in alone.curve]
    assert [e for _, e in k.curve] == pytest.approx([e for _, e in alone.curve], rel=1e-5, abs=1e-7)
    assert together[0].test_mse != pytest.approx(together[2].test_mse, rel=1e-3)     # own weights, own data


def test_lstm_group_computes_torch_lstm_and_a_linear_head():
    """The K networks' outputs at the error steps are torch.nn.LSTM's (each network's weights),
    through its head: at the last step, and at every real step."""
    torch.manual_seed(0)
    nets = [LSTM(2, 8) for _ in range(2)]
    heads = [torch.nn.Linear(8, 3) for _ in range(2)]
    group = _LSTMGroup(nets, heads, one_hot=False)
    rng = np.random.default_rng(0)
    for every in (False, True):
        batches = []
        for _ in range(2):
            lengths = rng.integers(3, 12, 5)
            x = rng.normal(size=(5, 11, 2)) * (np.arange(11)[None, :, None] < lengths[:, None, None])
            targets = rng.uniform(size=(5, 11 if every else 1, 3))
            batches.append(Sequences(lengths, targets, 2, x=x, every_step=every))
        for k, z in enumerate(group.logits([0, 1], batches)):
            b = batches[k]
            x = torch.from_numpy(b.x).float()
            lengths = torch.from_numpy(b.lengths)
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, (h, _) = nets[k].to_torch()(packed)
            if every:
                out = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=11)[0]
                real = (torch.arange(11)[None] < lengths[:, None])[..., None]
                torch.testing.assert_close(z * real, heads[k](out) * real, rtol=1e-5, atol=1e-6)
            else:
                torch.testing.assert_close(z, heads[k](h[-1]).unsqueeze(1), rtol=1e-5, atol=1e-6)


def test_lstm_one_hot_path_equals_the_dense_one_hot_input():
    """The indexed input weights give what ParallelLSTM gives on the one-hot tensor, gradients too."""
    task = ReberTask(np.random.default_rng(0))
    batches = [task.train(6, np.random.default_rng(s)) for s in (1, 2)]

    def build():
        torch.manual_seed(0)
        nets = [LSTM(7, 8) for _ in range(2)]
        heads = [torch.nn.Linear(8, 7) for _ in range(2)]
        return nets, heads

    got, want = _LSTMGroup(*build(), one_hot=True), _LSTMGroup(*build(), one_hot=False)
    dense = [dataclasses.replace(b, x=b.dense(), symbols=None) for b in batches]
    z1, z2 = got.logits([0, 1], batches), want.logits([0, 1], dense)
    for a, b in zip(z1, z2):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    sum(z.square().sum() for z in z1).backward()
    sum(z.square().sum() for z in z2).backward()
    for k in (0, 1):
        for p, q in zip(got.params(k), want.params(k)):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model", ["gru", "transformer"])
def test_gru_and_transformer_one_hot_input_is_the_dense_product(model):
    task = ReberTask(np.random.default_rng(0))
    seqs = task.train(5, np.random.default_rng(1))
    torch.manual_seed(0)
    net = _GRU(7, 7, 8, one_hot=True) if model == "gru" else _Transformer(7, 7, 8, one_hot=True)
    lengths = torch.from_numpy(seqs.lengths)
    got = net(torch.from_numpy(seqs.symbols.astype(np.int64)), lengths, True)
    x = torch.from_numpy(seqs.dense()).float()
    if model == "gru":                            # nn.GRU(7, 8) with the indexed weights as its input weights
        ref = torch.nn.GRU(7, 8, batch_first=True)
        ref.load_state_dict({**net.gru.state_dict(), "weight_ih_l0": net.weight_in.detach()})
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out = torch.nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=x.shape[1])[0]
        want = net.head(out)
    else:
        want = net.head(net.norm(net.encoder(net.embed(x) + net.positions(x.shape[1]),
                                             mask=torch.triu(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool), 1),
                                             is_causal=True)))
    real = (torch.arange(x.shape[1])[None] < lengths[:, None])[..., None]
    torch.testing.assert_close(got * real, want * real, rtol=1e-5, atol=1e-6)


def test_transformer_output_at_a_step_sees_only_steps_up_to_it():
    torch.manual_seed(0)
    net = _Transformer(2, 1, 8, one_hot=False)
    x = torch.randn(3, 10, 2)
    lengths = torch.tensor([10, 10, 10])
    y = net(x, lengths, True)
    x2 = x.clone()
    x2[:, 6:] = torch.randn(3, 4, 2) * 5                  # change the future (or the padding) only
    torch.testing.assert_close(net(x2, lengths, True)[:, :6], y[:, :6])
    assert not torch.allclose(net(x2, lengths, True)[:, 6:], y[:, 6:])


@pytest.mark.parametrize("model", ["gru", "transformer"])
def test_gru_and_transformer_runs_complete(model):
    reports = []
    out = train_modern(adding(T=12, budget=64, test=100), [0, 1], model=model, progress=reports.append, interval=0.0)
    assert len(out) == 2
    for seed, r in zip((0, 1), out):
        well_formed(r, seed, 64, 100)
        assert r.sequences == 64
    last = reports[-1]
    assert {"sequences", "errors", "solved", "trials", "seconds"} <= set(last)
    assert last["sequences"] == [64, 64] and last["errors"] == [None, None] and last["trials"] == 2


@pytest.mark.parametrize("model", ["lstm", "gru", "transformer"])
def test_one_hot_every_step_task_with_a_check_on_the_task_sets(model):
    s = get("reber").settings[0]                          # Check(100, task_sets): 256 + 256 strings, every step
    s = dataclasses.replace(s, training=dataclasses.replace(s.training, max_sequences=100))
    out = train_modern(s, [0], model=model)
    well_formed(out[0], 0, 100, 256)


def test_bad_model_raises():
    with pytest.raises(ValueError, match=r"model must be one of 'lstm', 'gru', 'transformer', got 'rnn'"):
        train_modern(adding(), [0], model="rnn")
    assert MODELS == ("lstm", "gru", "transformer")


@pytest.mark.parametrize("model", ["lstm", "gru"])
@pytest.mark.parametrize("size", [10, 50])
def test_window_stop_counts_sequences_exactly(model, size):
    """A window that holds as soon as it is full stops at exactly ``size`` sequences, inside the
    first batch (10) or the second (50)."""
    r = train_modern(adding(budget=1000, test=50, stop=Window(size, math.inf, size)), [0], model=model)[0]
    assert r.solved and r.sequences == size
    assert r.curve[-1][0] == size


def test_window_track_agrees_with_window_holds():
    """Fed batch by batch, the first sequence where the rule holds is the first prefix for which
    ``Window.holds`` is true."""
    rng = np.random.default_rng(0)
    for rule in (Window(20, 0.3, 2), Window(5, math.inf, 0), Window(33, 0.25, 5)):
        E = rng.uniform(0, 0.6, 400) * np.linspace(1.0, 0.2, 400)
        right = rng.uniform(size=400) < np.linspace(0.6, 1.0, 400)
        want = next((i for i in range(400) if rule.holds(E[: i + 1], right[: i + 1])), None)
        track, seen, got = _WindowTrack(rule), 0, None
        for n in (7, 32, 32, 1, 100, 300):
            held = track.add(E[seen: seen + n], right[seen: seen + n])
            if held is not None:
                got = seen + held
                break
            seen += n
            if seen >= 400:
                break
        assert got == want, rule


def test_check_runs_when_the_count_crosses_a_multiple_of_every():
    stop = Check(50, 20, (Stage("anything", max_wrong=10 ** 6),))
    r = train_modern(adding(budget=1000, test=50, stop=stop), [0])[0]
    assert r.solved and r.sequences == 64 and r.stages == {"anything": 64}    # batches of 32: 32, 64 > 50
    never = Check(50, 20, (Stage("never", max_wrong=-1),))
    r = train_modern(adding(budget=150, test=50, stop=never), [0])[0]
    assert not r.solved and r.sequences == 150 and r.stages == {}


@pytest.mark.parametrize("model", ["lstm", "transformer"])
def test_same_seeds_same_results(model):
    s = adding(T=12, budget=96, test=100)
    a = [dataclasses.asdict(r) for r in train_modern(s, [7, 8] if model == "lstm" else [7], model=model)]
    b = [dataclasses.asdict(r) for r in train_modern(s, [7, 8] if model == "lstm" else [7], model=model)]
    for r in a + b:
        r.pop("seconds")
    assert a == b
    state = torch.random.get_rng_state()
    train_modern(s, [7], model=model)
    assert torch.equal(torch.random.get_rng_state(), state)              # the global generator is left alone
