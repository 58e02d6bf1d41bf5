"""Sequence and text classification (lstmkit.models.classifier, .pooling, .validation,
lstmkit.data.sequences, lstmkit classify): poolings against hand computations and torch.nn.LSTM,
padding invariance, tasks a working model must learn, stratified folds, save/load, the CLI."""

from __future__ import annotations

import argparse
import re

import numpy as np
import pytest
import torch

from lstmkit.cli import classify as classify_cli
from lstmkit.data.sequences import load_japanese_vowels, load_movie_reviews, read_ts
from lstmkit.data.tokenize import UNK
from lstmkit.models.classifier import SequenceClassifier
from lstmkit.models.encoders import KINDS, Encoder
from lstmkit.models.pooling import POOLINGS, AttentionPool, LastPool, MeanPool
from lstmkit.models.validation import cross_val_score, stratified_folds, stratified_split
from lstmkit.train import CheckpointError, Checkpoint, save

@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny networks on a shared machine: one thread is faster and steadier than several."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TINY = dict(hidden_size=8, heads=2, embedding_size=8, epochs=1, val_fraction=0.0, dropout=0.0)


def sequences(n=12, features=3, low=2, high=9, seed=0):
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(int(rng.integers(low, high)), features)) for _ in range(n)]
    return X, np.array(["a", "b", "c"] * (n // 3))[:n]


def sum_sign(n, rng):
    X = [rng.normal(size=(int(rng.integers(2, 12)), 1)) for _ in range(n)]
    return X, np.where([x.sum() > 0 for x in X], "positive", "negative")


WORDS = "the a film movie plot actor scene long short story music ending".split()


def word_task(n, rng):
    """Label 1 iff the word 'great' is in the text, anywhere."""
    texts, labels = [], []
    for _ in range(n):
        words = list(rng.choice(WORDS, size=int(rng.integers(3, 9))))
        has = bool(rng.random() < 0.5)
        if has:
            words[int(rng.integers(len(words)))] = "great"
        texts.append(" ".join(words))
        labels.append(int(has))
    return texts, np.array(labels)


# -- the bundled data ---------------------------------------------------------------------------------

def test_japanese_vowels_has_the_documented_shape():
    X, y = load_japanese_vowels("train")
    Xt, yt = load_japanese_vowels("test")
    assert len(X) == 270 and len(Xt) == 370                                   # UCI: 270 train / 370 test
    lengths = [len(x) for x in X + Xt]
    assert min(lengths) == 7 and max(lengths) == 29
    assert all(x.shape[1] == 12 and x.dtype == np.float32 for x in X + Xt)
    assert sorted(set(y.tolist())) == [str(k) for k in range(1, 10)]
    assert all((y == str(k)).sum() == 30 for k in range(1, 10))             # 30 utterances per speaker
    counts = [(yt == str(k)).sum() for k in range(1, 10)]
    assert min(counts) == 24 and max(counts) == 88                          # "between 24 and 88"
    assert X[0][0, 0] == np.float32(1.860936) and X[0][1, 0] == np.float32(1.891651)   # the file's first values
    assert X[0][0, 1] == np.float32(-0.207383)                              # the second dimension starts here
    with pytest.raises(ValueError, match="split must be one of 'train', 'test', got 'dev'"):
        load_japanese_vowels("dev")


def test_movie_reviews_drop_the_neutral_sentences():
    texts, labels = load_movie_reviews()
    assert len(texts) == 10605 - 37 and len(labels) == len(texts)           # 10,605 snippets, 37 rated 0
    assert set(labels.tolist()) == {"positive", "negative"}
    assert texts[0].startswith("The Rock is destined to be the 21st Century's") and labels[0] == "positive"
    assert texts[2] == "Effective but too tepid biopic" and labels[2] == "negative"     # rated -0.6


def test_read_ts_parses_dimensions_labels_and_missing_values():
    text = "# comment\n@problemName x\n@data\n1,2,3:4,5,6:cat\n7,?:8,9:dog\n"
    X, y = read_ts(text)
    np.testing.assert_array_equal(X[0], [[1, 4], [2, 5], [3, 6]])
    assert np.isnan(X[1][1, 0]) and X[1][1, 1] == 9 and y.tolist() == ["cat", "dog"]
    with pytest.raises(ValueError, match="line 1: data before the @data line"):
        read_ts("1,2:a\n")
    with pytest.raises(ValueError, match="line 2: its dimensions have different lengths"):
        read_ts("@data\n1,2:3:a\n")
    with pytest.raises(ValueError, match="line 2: a value is not a number"):
        read_ts("@data\n1,x:a\n")
    with pytest.raises(ValueError, match="line 3: 1 dimensions, but the first case has 2"):
        read_ts("@data\n1:2:a\n3:b\n")
    with pytest.raises(ValueError, match="holds no cases"):
        read_ts("@data\n")
    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        read_ts(b"@data")


# -- poolings -----------------------------------------------------------------------------------------

LENGTHS = torch.tensor([3, 7, 1, 5])


def test_last_pooling_picks_each_sequences_final_real_step():
    out = torch.randn(4, 7, 6)
    pooled = LastPool(6, False)(out, LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(pooled[b], out[b, n - 1])


def test_bidirectional_last_pooling_is_torchs_final_state_of_each_direction():
    enc = Encoder("lstm", 3, 5, bidirectional=True)
    x = torch.randn(4, 7, 3)
    pooled = LastPool(10, True)(enc(x, LENGTHS)[0], LENGTHS)
    oracle = enc.rnn.to_torch()
    for b, n in enumerate(LENGTHS.tolist()):
        _, (h, _) = oracle(x[b: b + 1, :n])                                   # the sequence alone, unpadded
        torch.testing.assert_close(pooled[b], torch.cat([h[0, 0], h[1, 0]]), rtol=1e-5, atol=1e-5)


def test_mean_pooling_averages_the_real_steps_only():
    out = torch.randn(4, 7, 6)
    pooled = MeanPool(6, False)(out, LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(pooled[b], out[b, :n].sum(0) / n)


def test_attention_pooling_weights_sum_to_one_and_skip_padding():
    pool = AttentionPool(6, False)
    out = torch.randn(4, 7, 6)
    w = pool.weights(out, LENGTHS)
    torch.testing.assert_close(w.sum(1), torch.ones(4))
    pooled = pool(out, LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        assert (w[b, n:] == 0).all()
        alone = torch.softmax(pool.score(torch.tanh(pool.project(out[b, :n]))).squeeze(-1), dim=0)
        torch.testing.assert_close(w[b, :n], alone)
        torch.testing.assert_close(pooled[b], (alone[:, None] * out[b, :n]).sum(0))
    out2 = out.clone()
    out2[0, 3:] = 1e3                                                          # garbage in the padding
    torch.testing.assert_close(pool(out2, LENGTHS), pooled)


def test_the_classifier_heads_the_pooled_output():
    X, y = sequences()
    clf = SequenceClassifier(pooling="last", bidirectional=False, **TINY).fit(X, y)
    x, lengths = clf._batch(X[:4], "X")
    x, lengths = torch.from_numpy(x), torch.from_numpy(lengths)
    with torch.no_grad():
        out, _ = clf.encoder_(x[:, : int(lengths.max())], lengths)
        picked = torch.stack([out[b, n - 1] for b, n in enumerate(lengths.tolist())])
        torch.testing.assert_close(clf(x, lengths), clf.head_(picked))


# -- padding, probabilities, determinism ----------------------------------------------------------------

@pytest.mark.parametrize("pooling", list(POOLINGS))
@pytest.mark.parametrize("model", KINDS)
def test_padding_never_changes_a_prediction(model, pooling):
    X, y = sequences()
    short = [np.random.default_rng(1).normal(size=(2, 3))]
    longer = [np.random.default_rng(2).normal(size=(15, 3)), np.random.default_rng(3).normal(size=(9, 3))]
    clf = SequenceClassifier(model, pooling=pooling, **TINY).fit(X, y)
    alone = clf.predict_proba(short)[0]
    for batch, at in ((short + longer, 0), (longer + short, 2)):
        np.testing.assert_allclose(clf.predict_proba(batch)[at], alone, rtol=1e-5, atol=1e-6)


def test_text_padding_and_unknown_words():
    texts, labels = word_task(30, np.random.default_rng(0))
    clf = SequenceClassifier(pooling="mean", **TINY).fit(texts, labels)
    assert clf.vocabulary_.encode("zyzzyva great") == [UNK, clf.vocabulary_.stoi["great"]]
    p = clf.predict_proba(["zyzzyva great", "qwerty great", "the film was long and the plot was short " * 3])
    np.testing.assert_allclose(p[0], p[1], rtol=1e-6)                        # two unknown words: both UNK
    np.testing.assert_allclose(p[0], clf.predict_proba(["zyzzyva great"])[0], rtol=1e-5, atol=1e-6)


def test_probabilities_classes_and_determinism():
    X, y = sequences(n=15)
    a = SequenceClassifier(**TINY).fit(X, [{"a": 3, "b": 1, "c": 2}[v] for v in y])
    p = a.predict_proba(X)
    assert p.shape == (15, 3) and a.classes_.tolist() == [1, 2, 3]
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(a.predict(X), a.classes_[p.argmax(1)])
    b = SequenceClassifier(**TINY).fit(X, [{"a": 3, "b": 1, "c": 2}[v] for v in y])
    np.testing.assert_array_equal(b.predict_proba(X), p)                     # same seed, same model
    c = SequenceClassifier(**{**TINY, "seed": 1}).fit(X, [{"a": 3, "b": 1, "c": 2}[v] for v in y])
    assert not np.allclose(c.predict_proba(X), p)
    assert a.score(X, a.predict(X)) == 1.0


def test_a_3d_array_is_read_like_a_list_of_equal_length_sequences():
    X, y = sequences(n=12, low=5, high=6)
    clf = SequenceClassifier(**TINY).fit(np.stack(X), y)
    np.testing.assert_allclose(clf.predict_proba(np.stack(X)), clf.predict_proba(X), rtol=1e-6)
    u = SequenceClassifier(**TINY).fit(np.stack(X)[:, :, 0], y)              # (N, T): univariate
    assert u.n_features_in_ == 1


# -- learning -------------------------------------------------------------------------------------------

def test_learns_the_sign_of_a_variable_length_sum():
    rng = np.random.default_rng(0)
    X, y = sum_sign(256, rng)
    Xt, yt = sum_sign(200, rng)
    clf = SequenceClassifier(pooling="last", bidirectional=False, hidden_size=16, lr=1e-2, epochs=12, batch_size=16,
                             dropout=0.0, val_fraction=0.0).fit(X, y)
    assert clf.score(Xt, yt) > 0.9


def test_learns_whether_a_word_appears_with_attention_and_early_stopping():
    rng = np.random.default_rng(0)
    texts, labels = word_task(240, rng)
    test_texts, test_labels = word_task(200, rng)
    clf = SequenceClassifier(pooling="attention", bidirectional=False, hidden_size=16, embedding_size=16, lr=1e-2,
                             epochs=6, batch_size=16, dropout=0.0, val_fraction=0.2, patience=2).fit(texts, labels)
    assert clf.score(test_texts, test_labels) > 0.9
    weights = clf.attention_weights(["the great film", "a long story"])
    assert [len(w) for w in weights] == [3, 3]
    np.testing.assert_allclose([w.sum() for w in weights], 1.0, rtol=1e-6)
    assert weights[0].argmax() == 1                                           # it attends to "great"


# -- stratified folds and cross-validation ----------------------------------------------------------------

def test_stratified_folds_are_disjoint_stratified_and_cover_everything():
    y = np.array(["x"] * 23 + ["y"] * 11 + ["z"] * 6)
    parts = stratified_folds(y, 5, seed=3)
    everything = np.concatenate(parts)
    assert sorted(everything.tolist()) == list(range(40))                    # cover, and disjoint
    for c in "xyz":
        per_fold = [(y[p] == c).sum() for p in parts]
        assert max(per_fold) - min(per_fold) <= 1 and sum(per_fold) == (y == c).sum()
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    assert [p.tolist() for p in stratified_folds(y, 5, seed=3)] == [p.tolist() for p in parts]
    assert [p.tolist() for p in stratified_folds(y, 5, seed=4)] != [p.tolist() for p in parts]


def test_stratified_split_holds_out_each_class_in_proportion():
    y = ["a"] * 20 + ["b"] * 10 + ["c"]
    train, held = stratified_split(y, 0.2, seed=0)
    assert sorted(train.tolist() + held.tolist()) == list(range(31))
    assert [sum(y[i] == c for i in held) for c in "abc"] == [4, 2, 0]       # c's only item stays in training


class Majority:
    """Predicts the most common training label; records what it was trained on."""

    fitted: list[list] = []

    def __init__(self, tie: str = "first") -> None:
        self.tie = tie

    def get_params(self):
        return {"tie": self.tie}

    def fit(self, X, y):
        Majority.fitted.append(list(X))
        self.label = max(sorted(set(y)), key=list(y).count)
        return self

    def score(self, X, y):
        return float(np.mean([v == self.label for v in y]))


def test_cross_val_score_trains_on_the_other_folds_and_scores_the_held_out_one():
    y = np.array(["p"] * 14 + ["q"] * 6)
    X = list(range(20))
    Majority.fitted = []
    scores = cross_val_score(Majority(), X, y, folds=4, seed=0)
    parts = stratified_folds(y, 4, seed=0)
    for k, test in enumerate(parts):
        assert sorted(Majority.fitted[k]) == sorted(set(range(20)) - set(test.tolist()))
        assert scores[k] == pytest.approx(np.mean(y[test] == "p"))           # majority 'p' on every training set
    with pytest.raises(ValueError, match="folds = 7 needs at least 7 items of every class.*smallest class has 6"):
        cross_val_score(Majority(), X, y, folds=7)
    with pytest.raises(TypeError, match="estimator must have fit, score and get_params"):
        cross_val_score(object(), X, y)
    with pytest.raises(ValueError, match="X and y must have the same number of items, got 19 and 20"):
        cross_val_score(Majority(), X[:19], y)


# -- saving -------------------------------------------------------------------------------------------------

def test_save_and_load_give_identical_probabilities(tmp_path):
    X, y = sequences()
    clf = SequenceClassifier(pooling="attention", **TINY).fit(X, [int(ord(v)) for v in y])
    clf.save(tmp_path / "seq.safetensors")
    back = SequenceClassifier.load(tmp_path / "seq.safetensors")
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.classes_.tolist() == [97, 98, 99] and back.get_params() == clf.get_params()
    texts, labels = word_task(20, np.random.default_rng(1))
    txt = SequenceClassifier(model="gru", **TINY).fit(texts, np.where(labels == 1, "yes", "no"))
    txt.save(tmp_path / "txt.safetensors")
    back = SequenceClassifier.load(tmp_path / "txt.safetensors")
    probe = ["great unseenword film", "the plot"]
    np.testing.assert_array_equal(back.predict_proba(probe), txt.predict_proba(probe))
    assert back.predict(probe).tolist() == txt.predict(probe).tolist()
    txt.fit(X, y)                                           # refit on numbers: nothing of the text model is left
    assert not hasattr(txt, "embedding_") and not hasattr(txt, "vocabulary_")
    txt.save(tmp_path / "refit.safetensors")
    np.testing.assert_array_equal(SequenceClassifier.load(tmp_path / "refit.safetensors").predict_proba(X),
                                  txt.predict_proba(X))
    save(tmp_path / "other.safetensors", Checkpoint({"model": {"w": torch.zeros(1)}}, {}))
    with pytest.raises(ValueError, match="not a saved SequenceClassifier"):
        SequenceClassifier.load(tmp_path / "other.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        SequenceClassifier.load(tmp_path / "bad.safetensors")


# -- bad input ------------------------------------------------------------------------------------------------

def test_every_bad_input_is_named():
    X, y = sequences()
    fit = lambda *a, **kw: SequenceClassifier(**{**TINY, **kw}).fit(*a)        # noqa: E731
    cases = [
        (lambda: fit(X, y, model="rnn"), ValueError, "model must be one of 'lstm', 'gru', 'hybrid', 'transformer', got 'rnn'"),
        (lambda: fit(X, y, pooling="max"), ValueError, "pooling must be one of 'last', 'mean', 'attention', got 'max'"),
        (lambda: fit(X, y, hidden_size=2.5), TypeError, "hidden_size must be an int, got float"),
        (lambda: fit(X, y, val_fraction=0.7), ValueError, r"val_fraction must be in \[0.0, 0.5\], got 0.7"),
        (lambda: fit(X, y, bidirectional="yes"), TypeError, "bidirectional must be a bool, got str"),
        (lambda: fit([], []), ValueError, "X is empty"),
        (lambda: fit("a text", ["a"]), TypeError, "got a single str; wrap it in a list"),
        (lambda: fit({1: 2}, y), TypeError, "X must be a list of texts or of .* got dict"),
        (lambda: fit(X[:3] + [np.zeros((0, 3))], y[:4]), ValueError, r"X\[3\] is an empty sequence \(0 steps\)"),
        (lambda: fit(X[:3] + [np.zeros((4, 2))], y[:4]), ValueError, r"X\[3\] has 2 features but X\[0\] has 3"),
        (lambda: fit(X[:2] + [np.full((4, 3), np.nan)], y[:3]), ValueError, r"X\[2\] has a non-finite value \(nan\) at step 0"),
        (lambda: fit(X[:2] + [np.zeros((2, 3, 1))], y[:3]), ValueError, r"X\[2\] must be a \(steps, features\) array, got shape \(2, 3, 1\)"),
        (lambda: fit(X[:2] + [["a", "b"]], y[:3]), TypeError, r"X\[2\] must be a numeric"),
        (lambda: fit(["a text", np.zeros((2, 3))], ["a", "b"]), TypeError, r"X mixes texts and other items: X\[0\] is a str but X\[1\] is a ndarray"),
        (lambda: fit(np.zeros((3,)), y[:3]), ValueError, r"X must be a 3-D array .* got an array of shape \(3,\)"),
        (lambda: fit(X, y[:-1]), ValueError, "X and y must have the same number of items, got 12 and 11"),
        (lambda: fit(X, ["a"] * 12), ValueError, "y must hold at least 2 classes to classify, got only \\['a'\\]"),
        (lambda: fit(X, [1, "a"] * 6), TypeError, "labels in y must be sortable"),
        (lambda: fit(X, [None] + ["a"] * 11), ValueError, r"y\[0\] is a missing label \(None\)"),
        (lambda: fit(X, [[1]] * 12), TypeError, r"y\[0\] must be a hashable label"),
        (lambda: fit(["good film", "   "], ["a", "b"]), ValueError, r"X\[1\] has no words"),
        (lambda: SequenceClassifier().predict(X), RuntimeError, "not fitted yet: call fit"),
        (lambda: SequenceClassifier().save("x.safetensors"), RuntimeError, "not fitted yet"),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind, match=message):
            call()
    clf = fit(X, y)
    for call, kind, message in [
        (lambda: clf.score(X, ["a"] * 11 + ["zebra"]), ValueError, "y holds label\\(s\\) 'zebra' that were not among the classes seen in fit \\('a', 'b', 'c'\\)"),
        (lambda: clf.predict([np.zeros((3, 5))]), ValueError, "X has 5 features per step, but the classifier was fitted with 3"),
        (lambda: clf.predict(["some text"]), TypeError, "X holds text inputs but this classifier was fitted on numeric inputs"),
        (lambda: clf.attention_weights(X), ValueError, "attention_weights needs pooling='attention'"),
        (lambda: clf.set_params(hidden=3), ValueError, r"unknown parameter\(s\) \['hidden'\]"),
    ]:
        with pytest.raises(kind, match=message):
            call()
    tupled = fit(X, [(v,) for v in y.tolist()])
    assert tupled.predict(X[:2]).shape == (2,) and tupled.predict(X[:1])[0] in {("a",), ("b",), ("c",)}
    with pytest.raises(TypeError, match=r"labels .* must be str, int, float or bool; got tuple \(\('a',\)\)"):
        tupled.save("never-written.safetensors")


# -- the CLI --------------------------------------------------------------------------------------------------

def cli(argv):
    p = argparse.ArgumentParser(prog="lstmkit")
    sub = p.add_subparsers()
    classify_cli.add_parser(sub)
    args = p.parse_args(["classify", *argv])
    return args.run(args)


def test_cli_japanese_vowels_quick_reports_the_saved_models_test_accuracy(tmp_path, capsys):
    path = tmp_path / "jv.safetensors"
    assert cli(["japanese-vowels", "--quick", "--save", str(path)]) == 0
    out = capsys.readouterr().out
    assert "270 training items, 370 test items, 9 classes" in out
    header, row = [ln for ln in out.splitlines() if ln.startswith(("model ", "lstm"))][:2]
    assert header.split() == ["model", "parameters", "accuracy", "time"]
    printed = float(re.search(r"([\d.]+)% \(test\)", row).group(1)) / 100
    model = SequenceClassifier.load(path)
    assert model.hidden_size == classify_cli.QUICK["hidden_size"]
    assert printed == pytest.approx(model.score(*load_japanese_vowels("test")), abs=5e-5)


def test_cli_on_a_csv_of_texts_holdout_and_cross_validation(tmp_path, capsys):
    texts, labels = word_task(60, np.random.default_rng(0))
    rows = ["id,review,sentiment"] + [f'{i},"{t}",{"pos" if v else "neg"}' for i, (t, v) in enumerate(zip(texts, labels))]
    csv = tmp_path / "reviews.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    base = [str(csv), "--text-column", "review", "--label-column", "sentiment", "--quick", "--model", "gru"]
    assert cli(base + ["--save", str(tmp_path / "a.safetensors")]) == 0
    assert "48 training items, 12 test items, 2 classes" in capsys.readouterr().out
    assert cli(base + ["--cv", "3", "--save", str(tmp_path / "b.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "60 items, 2 classes; 3-fold cross-validation" in out and out.count("fold accuracy") == 3
    assert "(3-fold CV)" in out
    assert SequenceClassifier.load(tmp_path / "b.safetensors").classes_.tolist() == ["neg", "pos"]


def test_cli_flags_win_over_the_datasets_settings(tmp_path):
    p = argparse.ArgumentParser(prog="lstmkit")
    classify_cli.add_parser(p.add_subparsers())
    args = p.parse_args(["classify", "movie-reviews"])
    params = classify_cli._params(args, "movie-reviews")
    assert (params["pooling"], params["dropout"], params["patience"], params["hidden_size"]) == ("attention", 0.5, 2, 128)
    args = p.parse_args(["classify", "movie-reviews", "--dropout", "0.1", "--patience", "4", "--pooling", "mean"])
    params = classify_cli._params(args, "movie-reviews")
    assert (params["pooling"], params["dropout"], params["patience"]) == ("mean", 0.1, 4)
    assert SequenceClassifier(**params).dropout == 0.1


def test_cli_errors_name_the_problem(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("text,label\ngood film,pos\nbad film,neg\n", encoding="utf-8")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ncaf\xe9 film,pos\n".encode("latin-1"))
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    header = tmp_path / "header.csv"
    header.write_text("text,label\n", encoding="utf-8")
    holes = tmp_path / "holes.csv"
    holes.write_text("text,label\ngood film,pos\n,neg\nbad,\n", encoding="utf-8")
    for argv, message in [
        ([str(good), "--text-column", "review"], "--text-column 'review' is not a column of .*its columns are \\['text', 'label'\\]"),
        ([str(good), "--label-column", "y"], "--label-column 'y' is not a column"),
        ([str(latin)], "is not UTF-8 text: byte 0xe9"),
        ([str(empty)], "is empty: expected a header row"),
        ([str(header)], "has a header but no rows"),
        ([str(holes)], r"2 row\(s\) lack a 'text' or 'label' value \(line\(s\) 3, 4\)"),
        (["imdb"], "'imdb' is neither a dataset \\(japanese-vowels, movie-reviews\\) nor a CSV file"),
        ([str(tmp_path / "missing.csv")], "is not a file"),
        (["japanese-vowels", "--cv", "1"], "--cv must be at least 2 folds, got 1"),
        (["japanese-vowels", "--test-fraction", "1.5"], "--test-fraction must be between 0 and 1, got 1.5"),
        (["japanese-vowels", "--save", str(tmp_path / "no" / "x.safetensors")], "--save: directory .* does not exist"),
    ]:
        with pytest.raises(ValueError, match=message):
            cli(argv)


def test_embedding_dropout_drops_whole_word_types_in_training_only():
    texts = ["good good film", "bad film bad", "good", "bad bad"] * 3
    clf = SequenceClassifier(hidden_size=4, embedding_size=8, epochs=1, val_fraction=0.0,
                             embedding_dropout=0.5).fit(texts, ["p", "n", "p", "n"] * 3)
    x, _ = clf._batch(clf._inputs(texts), "X")
    ids = torch.from_numpy(x)
    clf.train()
    torch.manual_seed(3)
    got = clf._embed(ids)
    full = clf.embedding_(ids)
    for word in ids.unique().tolist():
        where = ids == word
        rows = got[where]
        if word == 0:                                                       # padding stays zero
            assert (rows == 0).all()
            continue
        dropped = (rows == 0).all(dim=1)
        assert dropped.all() or not dropped.any(), "a word type is dropped everywhere in the batch or nowhere"
        if not dropped.any():
            torch.testing.assert_close(rows, full[where] * 2.0)             # kept and scaled by 1 / (1 - p)
    clf.eval()
    torch.testing.assert_close(clf._embed(ids), full)                       # eval: no dropout
    with pytest.raises(ValueError, match="embedding_dropout drops words"):
        SequenceClassifier(embedding_dropout=0.1, epochs=1).fit([np.zeros((3, 2))] * 4, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="embedding_dropout"):
        SequenceClassifier(embedding_dropout=1.0, epochs=1).fit(texts, ["p", "n", "p", "n"] * 3)


def test_ensemble_averages_its_members_seeded_in_turn_and_saves_in_one_file(tmp_path):
    from lstmkit.models import EnsembleClassifier
    texts, labels = word_task(24, np.random.default_rng(0))
    ens = EnsembleClassifier(3, pooling="attention", seed=5, **TINY).fit(texts, labels)
    singles = [SequenceClassifier(pooling="attention", **{**TINY, "seed": s}).fit(texts, labels) for s in (5, 6, 7)]
    want = np.mean([m.predict_proba(texts) for m in singles], axis=0)        # three independent fits, averaged
    np.testing.assert_allclose(ens.predict_proba(texts), want, rtol=1e-12)
    assert not np.allclose(singles[0].predict_proba(texts), singles[1].predict_proba(texts))
    truth = np.array(labels)
    assert ens.score(texts, labels) == pytest.approx(float((ens.classes_[want.argmax(1)] == truth).mean()))
    ens.save(tmp_path / "ens.safetensors")
    back = EnsembleClassifier.load(tmp_path / "ens.safetensors")
    np.testing.assert_array_equal(back.predict_proba(texts), ens.predict_proba(texts))
    assert back.get_params() == ens.get_params()
    with pytest.raises(ValueError, match="not a saved EnsembleClassifier"):
        EnsembleClassifier.load(_saved_single(tmp_path, texts, labels))
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['seeds'\]"):
        EnsembleClassifier(2, seeds=3)
    with pytest.raises(RuntimeError, match="not fitted yet"):
        EnsembleClassifier(2).predict(texts)
    scores = cross_val_score(EnsembleClassifier(2, **TINY), texts, labels, folds=2)
    assert scores.shape == (2,)


def _saved_single(tmp_path, texts, labels):
    path = tmp_path / "single.safetensors"
    SequenceClassifier(**TINY).fit(texts, labels).save(path)
    return path


def test_cli_ensemble_reports_the_averaged_model(tmp_path, capsys):
    csv_path = tmp_path / "t.csv"
    texts, labels = word_task(40, np.random.default_rng(1))
    csv_path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in zip(texts, labels)))
    from lstmkit.cli import main
    assert main(["classify", str(csv_path), "--quick", "--ensemble", "2", "--save", str(tmp_path / "m.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "2 seeds averaged" in out and "EnsembleClassifier.load" in out
    assert main(["classify", str(csv_path), "--ensemble", "0"]) == 2
