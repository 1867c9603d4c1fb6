"""Sequence datasets (issue 14): shapes and dtypes, splits that share no word or name,
language-model targets, the bigram baseline against torch's cross-entropy, the delay and
brackets labels against reference checks, the user's text file and its refusals, per-feature
standardisation over (N, T, F), and MNIST-1D made without the network."""
import math
import random
import socket

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.data import DATASETS, IGNORE, PAD, DataError, make_dataset, preprocess
from engine.data import sequences as seq
from engine.data.textfile import text_ids
from engine.data.tokens import ngram_loss
from engine.spec import DataSpec, LayerSpec, RunSpec
from engine.tasks import problems


@pytest.fixture(autouse=True)
def data_folder_is_the_test_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))


def texts(x: np.ndarray, vocab: list[str]) -> list[str]:
    """Token rows back to strings, pads dropped."""
    return ["".join(vocab[i] for i in row if i) for row in x]


# ---------------------------------------------------------------- registry and shapes
def test_the_sequence_datasets_are_registered_in_their_group():
    names = {n for n, d in DATASETS.items() if d.group == "sequences"}
    assert names == {"names", "language", "sines", "mnist1d", "delay", "brackets", "text_file"}
    assert {DATASETS[n].task for n in names} == {"language_model", "classification", "regression"}


@pytest.mark.parametrize("spec, x_shape, y_shape, x_dtype, y_dtype, n_out", [
    (DataSpec("names", 1000, test_fraction=0.2), (800, 12), (800, 12), np.int64, np.int64, 28),
    (DataSpec("language", 1000, test_fraction=0.2), (800, 21), (800,), np.int64, np.int64, 5),
    (DataSpec("sines", 300, test_fraction=0.2, window=24, horizon=5), (240, 24, 1), (240, 5), np.float32,
     np.float32, 5),
    (DataSpec("mnist1d", 200, test_fraction=0.2), (160, 40, 1), (160,), np.float32, np.int64, 10),
    (DataSpec("delay", 300, test_fraction=0.2, lag=7), (240, 12), (240,), np.int64, np.int64, 8),
    (DataSpec("brackets", 300, test_fraction=0.2, window=17), (240, 16), (240,), np.int64, np.int64, 2),
])
def test_shapes_dtypes_outputs_and_seed(spec, x_shape, y_shape, x_dtype, y_dtype, n_out):
    d = make_dataset(spec, 0)
    assert d.x_train.shape == x_shape and d.y_train.shape == y_shape
    assert len(d.x_test) == spec.n_samples - x_shape[0] or spec.name == "language"
    assert d.x_train.dtype == x_dtype and d.y_train.dtype == y_dtype and d.x_test.dtype == x_dtype
    assert d.n_outputs == n_out and d.token_input == (x_dtype == np.int64)
    assert bool(d.vocab) == d.token_input and (not d.vocab or d.vocab[0] == PAD)
    again, other = make_dataset(spec, 0), make_dataset(spec, 1)
    np.testing.assert_array_equal(d.x_train, again.x_train)
    np.testing.assert_array_equal(d.y_test, again.y_test)
    assert not np.array_equal(d.x_train, other.x_train)


def test_tokens_are_never_rescaled():
    plain = make_dataset(DataSpec("names", 200), 0)
    asked = make_dataset(DataSpec("names", 200, preprocessing="standardize"), 0)
    np.testing.assert_array_equal(plain.x_train, asked.x_train)


def test_a_token_dataset_with_a_dense_network_gets_one_sentence():
    spec = RunSpec.make(task="classification", data=DataSpec("delay", 100),
                        layers=(LayerSpec.make("linear", units=8),))
    assert problems(spec) == ["layer 1 (Linear 8) gets an input of 15 and Linear cannot read token ids (whole "
                              "numbers naming characters or words); put an Embedding layer first"]


def test_the_playground_refuses_a_spec_with_a_sequence_dataset():
    from ui.playground import not_offered
    assert not_offered(RunSpec()) == []
    [msg] = not_offered(RunSpec(data=DataSpec("names")))
    assert msg.startswith("data.name: First names") and "2-d points, tables, images, your files" in msg


# ---------------------------------------------------------------- names: a character language model
def test_names_are_census_first_names_split_by_name():
    every = seq.first_names()
    assert len(every) == 5163 and every[:3] == ("aaron", "abbey", "abbie") and len(set(every)) == len(every)
    d = make_dataset(DataSpec("names", 100_000, test_fraction=0.2), 0)
    train, test = texts(d.x_train, d.vocab), texts(d.x_test, d.vocab)
    assert all(t.startswith(".") for t in train + test)                  # every input starts with the marker
    train, test = [t[1:] for t in train], [t[1:] for t in test]
    assert len(train) == 4130 and len(test) == 1033 and set(train) | set(test) == set(every)
    assert not set(train) & set(test)
    assert d.vocab == [PAD, "."] + list("abcdefghijklmnopqrstuvwxyz")


@pytest.mark.parametrize("spec", [DataSpec("names", 300), DataSpec("text_file", path="t.txt", window=16)])
def test_language_model_targets_are_the_input_shifted_by_one(tmp_path, spec):
    (tmp_path / "t.txt").write_text("the cat sat on the mat.\nthe dog sat on the log.\n" * 20)
    d = make_dataset(spec, 0)
    for x, y in ((d.x_train, d.y_train), (d.x_test, d.y_test)):
        assert x.shape == y.shape and y.dtype == np.int64
        real, follows = y != IGNORE, x[:, 1:] != 0
        np.testing.assert_array_equal(y[:, :-1][follows], x[:, 1:][follows])            # the next character
        np.testing.assert_array_equal(real, x != 0)                                     # pads are ignored
        assert y[real].min() >= 1 and y.max() < len(d.vocab)
    if spec.name == "names":                  # each name ends by predicting the end marker
        last = (d.y_train != IGNORE).sum(1) - 1
        assert (d.y_train[np.arange(len(last)), last] == d.vocab.index(".")).all()


def test_bigram_baseline_equals_torch_cross_entropy_and_beats_a_unigram():
    d = make_dataset(DataSpec("names", 100_000, test_fraction=0.2), 0)
    v = len(d.vocab)
    assert math.isfinite(d.baseline_loss) and 2.30 < d.baseline_loss < 2.42 < math.log(v)
    # the same number from a bigram table written out with dicts, through torch's cross-entropy
    counts: dict = {}
    for x, y in zip(d.x_train.ravel(), d.y_train.ravel()):
        if y != IGNORE:
            counts[x, y] = counts.get((x, y), 0) + 1
    table = np.array([[0.0] + [counts.get((a, b), 0) + 1.0 for b in range(1, v)] for a in range(v)])
    table /= table.sum(1, keepdims=True)
    logits = torch.tensor(np.log(np.maximum(table, 1e-300)))[torch.as_tensor(d.x_test)]        # (N, T, V)
    loss = F.cross_entropy(logits.reshape(-1, v), torch.as_tensor(d.y_test).reshape(-1), ignore_index=IGNORE)
    assert d.baseline_loss == pytest.approx(float(loss), abs=1e-9)
    unigram = ngram_loss(d.x_train, d.y_train, d.x_test, d.y_test, v, order=1)
    assert unigram == pytest.approx(2.819, abs=0.001) and unigram > d.baseline_loss + 0.4


# ---------------------------------------------------------------- language of a word
def test_language_words_are_balanced_and_never_in_two_splits_or_languages():
    lists = seq.language_words()
    assert list(lists) == ["en", "fr", "de", "es", "fi"] and min(map(len, lists.values())) > 4000
    owners: dict = {}
    for lang, words in lists.items():
        assert len(set(words)) == len(words) and all(w.isalpha() for w in words)
        for w in words:
            owners.setdefault(w, []).append(lang)
    assert max(map(len, owners.values())) == 1                           # no word in two languages
    d = make_dataset(DataSpec("language", 10_000, test_fraction=0.2), 0)
    assert d.class_names == ["English", "French", "German", "Spanish", "Finnish"]
    assert np.bincount(np.concatenate([d.y_train, d.y_test])).tolist() == [2000] * 5
    train, test = texts(d.x_train, d.vocab), texts(d.x_test, d.vocab)
    assert not set(train) & set(test) and len(set(train)) == 8000
    assert all(owners[w] == [["en", "fr", "de", "es", "fi"][c]] for w, c in zip(test, d.y_test))
    assert (d.x_train[:, -1] != 0).all()                                 # left-padded: the last step is a letter
    assert "ich" in lists["de"] and "että" in lists["fi"] and "where" in lists["en"]
    assert "the" not in owners and "und" not in owners                  # in other languages' lists too


# ---------------------------------------------------------------- float sequences
def test_sines_continue_the_window_and_noise_has_its_std():
    rng = lambda: np.random.default_rng(5)
    clean, noisy = seq.sines(2000, 40, 0.0, rng()), seq.sines(2000, 40, 0.2, rng())
    assert clean.std() == pytest.approx(math.sqrt((1 + 0.25 + 0.16) / 2), abs=0.02)
    assert (noisy - clean).std() == pytest.approx(0.2, abs=0.005)
    d = make_dataset(DataSpec("sines", 200, noise=0.0, test_fraction=0.5, window=30, horizon=10), 3)
    x, y = d.x_train[:, :, 0], d.y_train                                   # the sum of sines from window to horizon
    t = np.arange(40)
    basis = np.concatenate([np.stack([np.sin(2 * np.pi * t / p), np.cos(2 * np.pi * t / p)], 1)
                            for p in seq.SINE_PERIODS], 1)                   # (40, 6)
    coef, *_ = np.linalg.lstsq(basis[:30], x.T, rcond=None)
    np.testing.assert_allclose((basis[30:] @ coef).T, y, atol=1e-5)


def test_standardize_a_sequence_per_feature_over_examples_and_time():
    rng = np.random.default_rng(0)
    a = (rng.normal(size=(60, 9, 3)) * [1.0, 10.0, 0.5] + [5.0, -3.0, 20.0]).astype(np.float32)
    tr, te = preprocess(a[:50], a[50:], "standardize")
    np.testing.assert_allclose(tr.mean((0, 1)), 0, atol=1e-5)
    np.testing.assert_allclose(tr.std((0, 1)), 1, atol=1e-4)
    mean, std = a[:50].mean((0, 1)), a[:50].std((0, 1))                  # the test part uses train statistics
    np.testing.assert_allclose(te, (a[50:] - mean) / std, rtol=1e-4, atol=1e-4)
    assert tr.shape == (50, 9, 3) and not np.allclose(tr.std(0), 1, atol=0.05)   # not per time step
    d = make_dataset(DataSpec("sines", 400, noise=0.3, preprocessing="standardize", window=16), 0)
    assert d.x_train.mean() == pytest.approx(0, abs=1e-5) and d.x_train.std() == pytest.approx(1, abs=1e-4)


def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to open a network connection")
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_names_and_words_are_read_from_the_packages_without_the_network(monkeypatch):
    no_network(monkeypatch)
    seq.first_names.cache_clear()
    seq.language_words.cache_clear()
    assert len(seq.first_names()) == 5163 and len(seq.language_words()["fi"]) == 9283


def test_mnist1d_is_made_without_the_network_and_leaves_global_generators_alone(monkeypatch):
    no_network(monkeypatch)
    np.random.seed(123)
    random.seed(123)
    x, y = seq.mnist1d_arrays(300, 7)
    assert np.random.randint(1 << 30) == np.random.RandomState(123).randint(1 << 30)
    assert random.random() == random.Random(123).random()
    assert x.shape == (300, 40) and np.bincount(y).tolist() == [30] * 10
    assert abs(x.mean()) < 1e-6 and x.std() == pytest.approx(1, abs=1e-6)  # mnist1d standardises its signals
    again, _ = seq.mnist1d_arrays(300, 7)
    np.testing.assert_array_equal(x, again)
    d = make_dataset(DataSpec("mnist1d", 300, test_fraction=0.2), 7)
    assert d.class_names == [str(i) for i in range(10)] and d.x_test.shape == (60, 40, 1)


# ---------------------------------------------------------------- delay and brackets
@pytest.mark.parametrize("lag", [1, 10, 60])
def test_delay_labels_are_the_symbol_lag_steps_back(lag):
    d = make_dataset(DataSpec("delay", 4000, test_fraction=0.25, lag=lag), 2)
    assert d.x_train.shape == (3000, lag + 5) and d.vocab == [PAD, *"ABCDEFGH"] and d.class_names == list("ABCDEFGH")
    for x, y in ((d.x_train, d.y_train), (d.x_test, d.y_test)):
        assert [d.vocab[row[-1 - lag]] for row in x] == [d.class_names[c] for c in y]
    share = np.bincount(d.y_train, minlength=8) / len(d.y_train)
    assert np.abs(share - 1 / 8).max() < 0.02                            # chance is 1 in 8
    assert d.x_train.min() == 1                                          # no padding


def reference_balanced(s: str) -> bool:
    depth = 0
    for c in s:
        depth += 1 if c == "(" else -1
        if depth < 0:
            return False
    return depth == 0


def test_brackets_labels_match_a_reference_check_and_half_are_balanced():
    d = make_dataset(DataSpec("brackets", 6000, test_fraction=0.2, window=20), 0)
    x, y = np.concatenate([d.x_train, d.x_test]), np.concatenate([d.y_train, d.y_test])
    strings = texts(x, d.vocab)
    assert [int(reference_balanced(s)) for s in strings] == y.tolist()
    assert y.sum() == 3000 and abs(d.y_train.mean() - 0.5) < 0.02
    lengths = np.array([len(s) for s in strings])
    assert lengths.min() == 2 and lengths.max() == 20 and (lengths % 2 == 0).all() and len(set(lengths)) == 10
    assert all((row[:20 - n] == 0).all() and (row[20 - n:] != 0).all() for row, n in zip(x, lengths))
    wrong = [s for s, label in zip(strings, y) if not label]
    hard = sum(s.count("(") == s.count(")") for s in wrong) / len(wrong)
    assert 0.45 < hard < 0.55                                           # as many ( as ), wrong order


# ---------------------------------------------------------------- the user's text file
def test_a_text_file_becomes_windows_with_a_held_out_tail(tmp_path):
    text = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(200))
    (tmp_path / "story.txt").write_bytes(("\ufeff" + text.replace("\n", "\r\n")).encode())   # BOM and CRLF
    d = make_dataset(DataSpec("text_file", path="story.txt", window=64, test_fraction=0.1), 0)
    n = (len(text) - 1) // 64
    assert len(d.x_train) + len(d.x_test) == n and len(d.x_test) == round(n * 0.1)
    assert "".join(texts(d.x_train, d.vocab) + texts(d.x_test, d.vocab)) == text[:n * 64]   # in order: the test is the tail
    assert d.vocab[0] == PAD and "\r" not in d.vocab and "\ufeff" not in d.vocab and d.n_outputs == len(d.vocab)
    assert math.isfinite(d.baseline_loss) and d.baseline_loss < math.log(len(d.vocab))
    np.testing.assert_array_equal(d.y_train[:-1, -1], d.x_train[1:, 0])   # windows follow each other


def test_a_text_with_too_many_characters_reads_the_rare_ones_as_unknown(tmp_path):
    text = "ab" * 3000 + "".join(chr(0x4E00 + i) for i in range(400))
    (tmp_path / "cjk.txt").write_text(text, encoding="utf-8")
    d = make_dataset(DataSpec("text_file", path="cjk.txt"), 0)
    assert len(d.vocab) == 256 and d.vocab[:4] == [PAD, "<unk>", "a", "b"] and d.vocab[-1] == chr(0x4E00 + 251)
    ids, vocab = text_ids(text)
    assert vocab == d.vocab and (ids == 1).sum() == 400 - 252 and (ids[-148:] == 1).all()


SECRET = "sEcReT-contents"


@pytest.mark.parametrize("content, says", [
    (SECRET.encode() + b"\xff\xfe rest", "t.txt is not UTF-8 text (byte 15 cannot be decoded): save it as plain UTF-8 text"),
    (b"", "t.txt is empty"),
    (b"  \n\t\n ", "t.txt holds only blank space"),
    (SECRET.encode() + b"\x00" * 10, "t.txt holds NUL bytes"),
    (SECRET.encode(), "t.txt has 15 characters; at least 65 are needed"),
])
def test_a_text_file_that_cannot_be_used_is_one_sentence_without_its_contents(tmp_path, content, says):
    (tmp_path / "t.txt").write_bytes(content)
    with pytest.raises(DataError) as e:
        make_dataset(DataSpec("text_file", path="t.txt"), 0)
    assert str(e.value).startswith(says) and SECRET not in str(e.value) and str(e.value).count(". ") == 0


def test_a_text_file_over_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    big = tmp_path / "big.txt"
    big.write_bytes(SECRET.encode() * (2 * 2**20 // len(SECRET) + 1))
    opened = []
    monkeypatch.setattr(type(big), "open", lambda *a, **k: opened.append(a) or pytest.fail("opened"))
    with pytest.raises(DataError, match=r"big.txt is 2.0 MB; the limit for a text file is 2 MB") as e:
        make_dataset(DataSpec("text_file", path=str(big)), 0)
    assert SECRET not in str(e.value) and not opened


def test_a_text_file_outside_the_data_folder_is_refused_before_it_is_opened(tmp_path):
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir(exist_ok=True)
    (outside / "diary.txt").write_text(SECRET * 100)
    (tmp_path / "link").symlink_to(outside)
    for path in (str(outside / "diary.txt"), f"../{outside.name}/diary.txt", "link/diary.txt"):
        with pytest.raises(DataError) as e:
            make_dataset(DataSpec("text_file", path=path), 0)
        assert "is outside the data folder" in str(e.value) and SECRET not in str(e.value)
    with pytest.raises(DataError, match="no text file given"):
        make_dataset(DataSpec("text_file"), 0)
    with pytest.raises(DataError, match="text file nope.txt does not exist in the data folder"):
        make_dataset(DataSpec("text_file", path="nope.txt"), 0)
