"""Sequence datasets (group "sequences"), all offline: first names and the user's own text for
a character language model, the language of a word, a noisy sum of sines to forecast,
MNIST-1D, the delay (memory) task and balanced brackets.

Token datasets hold int64 ids (N, T) with `vocab` (id 0 = PAD; classification pads on the
left, language models on the right) and are never rescaled; float sequences are (N, T, F)
float32 and standardised per feature. Language models: y is x shifted by one (IGNORE at
pads) and `baseline_loss` is a smoothed bigram's held-out loss on the same split.
"""
from __future__ import annotations

import functools
import random
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..spec import DataSpec                 # types only: the spec reads this registry when it parses
from . import Dataset, DatasetInfo, finish, register, split
from .textfile import read_text, text_ids
from .tokens import char_vocab, encode, lm_pairs, ngram_loss, windows

GROUP = "sequences"
MARKER = "."                    # names: start and end of every name (makemore's '.'), id 1
LANGUAGES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "fi": "Finnish"}
WORD_POOL = 10_000              # each language's most frequent words that are looked at
SINE_PERIODS = (23.0, 9.0, 61.0)        # steps per cycle of the three components
SINE_AMPLITUDES = (1.0, 0.5, 0.4)
DELAY_SYMBOLS = "ABCDEFGH"      # chance level 1/8
DELAY_LEAD = 4                  # symbols before the one to recall: sequences are lag + 5 long
_GLOBAL_RNG = threading.Lock()  # mnist1d seeds numpy's and random's global generators


def _tokens(spec: DataSpec, seed: int, x: np.ndarray, y: np.ndarray, task: str, vocab: list[str],
            class_names: list[str] | None = None) -> Dataset:
    """Split token ids (never preprocessed) and their targets into a Dataset."""
    x_tr, y_tr, x_te, y_te, _, _ = split(x, y, spec.test_fraction, seed)
    return Dataset(x_tr, y_tr, x_te, y_te, task, class_names or [], vocab=vocab)


def _language_model(x_tr, y_tr, x_te, y_te, vocab: list[str]) -> Dataset:
    return Dataset(x_tr, y_tr, x_te, y_te, "language_model", vocab=vocab,
                   baseline_loss=ngram_loss(x_tr, y_tr, x_te, y_te, len(vocab)))


# ---------------------------------------------------------------- names
@functools.lru_cache(maxsize=1)
def first_names() -> tuple[str, ...]:
    """The US census first names the `names` package ships (male and female), lower-cased,
    each once, sorted: 5,163 names of 2-11 letters a-z."""
    import names
    folder = Path(names.__file__).parent
    found = set()
    for file in ("dist.male.first", "dist.female.first"):
        for line in (folder / file).read_text(encoding="ascii").splitlines():
            if line.strip():
                found.add(line.split()[0].lower())
    return tuple(sorted(found))


def _load_names(spec: DataSpec, seed: int) -> Dataset:
    every = first_names()
    chosen = [every[i] for i in np.random.default_rng(seed + 1).permutation(len(every))[:spec.n_samples]]
    n_test = min(max(1, round(len(chosen) * spec.test_fraction)), len(chosen) - 1)
    test, train = chosen[:n_test], chosen[n_test:]                 # a name is in one part only
    vocab = char_vocab(every, (MARKER,))
    length = max(map(len, every)) + 1
    return _language_model(*lm_pairs(train, vocab, MARKER, length), *lm_pairs(test, vocab, MARKER, length), vocab)


# ---------------------------------------------------------------- language of a word
@functools.lru_cache(maxsize=1)
def language_words() -> dict[str, tuple[str, ...]]:
    """Per language, its words among the WORD_POOL most frequent (wordfreq's shipped lists),
    most frequent first: letters only, and no word that is in two languages' pools."""
    import wordfreq
    pools = {lang: [w for w in wordfreq.top_n_list(lang, WORD_POOL) if w.isalpha()] for lang in LANGUAGES}
    seen: dict[str, int] = {}
    for pool in pools.values():
        for w in set(pool):
            seen[w] = seen.get(w, 0) + 1
    return {lang: tuple(w for w in pool if seen[w] == 1) for lang, pool in pools.items()}


def _load_language(spec: DataSpec, seed: int) -> Dataset:
    lists = language_words()
    per = min(max(1, spec.n_samples // len(LANGUAGES)), *map(len, lists.values()))
    words = [w for pool in lists.values() for w in pool[:per]]     # balanced: `per` words each
    y = np.repeat(np.arange(len(LANGUAGES)), per)
    vocab = char_vocab([w for pool in lists.values() for w in pool])   # the same ids and length for any size
    x = encode(words, vocab, max(len(w) for pool in lists.values() for w in pool), left=True)
    return _tokens(spec, seed, x, y, "classification", vocab, list(LANGUAGES.values()))


# ---------------------------------------------------------------- sum of sines
def sines(n: int, length: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """(n, length) series: the SINE_PERIODS components at random phases, plus Gaussian noise
    of standard deviation `noise` (the clean sum has std 0.8)."""
    t = np.arange(length)
    phase = rng.uniform(0, 2 * np.pi, (n, len(SINE_PERIODS), 1))
    waves = np.sin(2 * np.pi * t / np.array(SINE_PERIODS)[:, None] + phase)   # (n, K, length)
    series = (np.array(SINE_AMPLITUDES)[:, None] * waves).sum(1)
    return series + rng.normal(0, 1, series.shape) * noise


def _load_sines(spec: DataSpec, seed: int) -> Dataset:
    series = sines(spec.n_samples, spec.window + spec.horizon, spec.noise, np.random.default_rng(seed))
    x, y = series[:, :spec.window, None], series[:, spec.window:]       # (N, W, 1), (N, H)
    return finish(spec, SINES, x, y, seed, feature_names=["value"])


# ---------------------------------------------------------------- MNIST-1D
def mnist1d_arrays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-1D generated offline by its own `make_dataset` (never its download): (n // 10 * 10,
    40) signals, labels 0-9. It seeds numpy's and random's global generators; their states are
    put back afterwards."""
    from mnist1d.data import get_dataset_args, make_dataset
    args = get_dataset_args()
    args.num_samples, args.seed = max(10, n // 10 * 10), seed
    with _GLOBAL_RNG:
        saved = np.random.get_state(), random.getstate()
        try:
            d = make_dataset(args)
        finally:
            np.random.set_state(saved[0])
            random.setstate(saved[1])
    return np.concatenate([d["x"], d["x_test"]]), np.concatenate([d["y"], d["y_test"]])


def _load_mnist1d(spec: DataSpec, seed: int) -> Dataset:
    x, y = mnist1d_arrays(spec.n_samples, seed)
    return finish(spec, MNIST1D, x[:, :, None], y, seed, [str(d) for d in range(10)], ["value"])


# ---------------------------------------------------------------- delay (memory) task
def delay(n: int, lag: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n, lag + DELAY_LEAD + 1) random symbol ids 1..S and, per sequence, the class of the
    symbol `lag` steps before the last one (id - 1)."""
    x = rng.integers(1, len(DELAY_SYMBOLS) + 1, (n, lag + DELAY_LEAD + 1))
    return x, x[:, -1 - lag] - 1


def _load_delay(spec: DataSpec, seed: int) -> Dataset:
    x, y = delay(spec.n_samples, spec.lag, np.random.default_rng(seed))
    return _tokens(spec, seed, x, y, "classification", char_vocab(DELAY_SYMBOLS), list(DELAY_SYMBOLS))


# ---------------------------------------------------------------- balanced brackets
def balanced(steps: np.ndarray) -> np.ndarray:
    """Per row of +1 ('(') / -1 (')') / 0 (pad): whether the brackets are balanced."""
    depth = steps.cumsum(1)
    return (depth.min(1) >= 0) & (depth[:, -1] == 0)


def brackets(n: int, max_len: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n strings of '(' and ')' of even lengths 2..max_len as (n, max_len) left-padded steps
    +1 / -1 / 0, and labels 1 = balanced. Half are balanced; of the rest, half have as many
    '(' as ')' in a wrong order (a counter is not enough) and half one bracket flipped."""
    half = rng.integers(1, max_len // 2 + 1, n)                        # pairs per string
    label = np.arange(n) % 2                                           # 1 balanced, 0 not
    steps = np.zeros((n, max_len), np.int64)
    for m in np.unique(half):
        rows = np.flatnonzero(half == m)
        s = np.where(rng.random((len(rows), 2 * m)).argsort(1) < m, 1, -1)   # m '(' and m ')' in random order
        pos = label[rows] == 1
        # balanced: rotate each to start just after its lowest point (then no prefix goes below 0)
        low = s[pos].cumsum(1).argmin(1) + 1
        idx = (np.arange(2 * m) + low[:, None]) % (2 * m)
        s[pos] = np.take_along_axis(s[pos], idx, 1)
        # not balanced: reshuffle the few that came out balanced; flip one bracket in every other one
        neg = np.flatnonzero(~pos)
        while len(bad := neg[balanced(s[neg])]):
            s[bad] = s[bad][np.arange(len(bad))[:, None], rng.random((len(bad), 2 * m)).argsort(1)]
        flip = neg[rng.random(len(neg)) < 0.5]
        s[flip, rng.integers(0, 2 * m, len(flip))] *= -1
        steps[rows, max_len - 2 * m:] = s
    return steps, label


def _load_brackets(spec: DataSpec, seed: int) -> Dataset:
    steps, y = brackets(spec.n_samples, max(2, spec.window // 2 * 2), np.random.default_rng(seed))
    x = np.select([steps == 1, steps == -1], [1, 2], 0).astype(np.int64)     # ids: 0 pad, 1 '(', 2 ')'
    return _tokens(spec, seed, x, y, "classification", char_vocab("()"), ["unbalanced", "balanced"])


# ---------------------------------------------------------------- the user's text file
def _load_text_file(spec: DataSpec, seed: int) -> Dataset:
    """Windows of `window` characters; the last test_fraction of the text is the test part
    (held-out text that follows the training text, as nanoGPT splits)."""
    ids, vocab = text_ids(read_text(spec.path, 2 * spec.window + 1))
    x, y = windows(ids, spec.window)
    n_test = min(max(1, round(len(x) * spec.test_fraction)), len(x) - 1)
    return _language_model(x[:-n_test], y[:-n_test], x[-n_test:], y[-n_test:], vocab)


NAMES = register(DatasetInfo(
    "names", "First names (character language model)", GROUP, "language_model", _load_names,
    "5,163 US census first names; the model learns to spell new ones, one character at a time. "
    "Each name is framed by '.', which starts it and ends it; a name is in one split only.",
    ("n_samples", "test_fraction")))
LANGUAGE = register(DatasetInfo(
    "language", "Language of a word", GROUP, "classification", _load_language,
    "Frequent words of English, French, German, Spanish and Finnish (wordfreq's lists), read "
    "character by character; guess the language. Words shared by two languages are left out.",
    ("n_samples", "test_fraction")))
SINES = register(DatasetInfo(
    "sines", "Sum of sines (forecasting)", GROUP, "regression", _load_sines,
    "Three sine waves at random phases, plus noise: read `window` steps, predict the next `horizon`.",
    ("n_samples", "noise", "window", "horizon", "test_fraction", "preprocessing")))
MNIST1D = register(DatasetInfo(
    "mnist1d", "MNIST-1D (digits as 1-D signals)", GROUP, "classification", _load_mnist1d,
    "Ten digit templates as 40-step signals, shifted, scaled, sheared and noised (mnist1d, "
    "generated here): small, yet a plain linear model gets only about a third right.",
    ("n_samples", "test_fraction", "preprocessing")))
DELAY = register(DatasetInfo(
    "delay", "Delay (memory) task", GROUP, "classification", _load_delay,
    f"A random string of {len(DELAY_SYMBOLS)} symbols; at the end, name the symbol seen `lag` steps "
    f"earlier. Chance is 1 in {len(DELAY_SYMBOLS)}: a plain RNN forgets over long lags, an LSTM remembers.",
    ("n_samples", "lag", "test_fraction")))
BRACKETS = register(DatasetInfo(
    "brackets", "Balanced brackets", GROUP, "classification", _load_brackets,
    "Strings of ( and ) up to `window` long: balanced or not? Many wrong ones have as many ( as ), "
    "so counting them is not enough; the running depth must never go below zero.",
    ("n_samples", "window", "test_fraction")))
TEXT_FILE = register(DatasetInfo(
    "text_file", "Your text file (character language model)", GROUP, "language_model", _load_text_file,
    "A plain UTF-8 text file (at most 2 MB) from the data folder or an upload, cut into windows of "
    "`window` characters; the model learns to continue it.",
    ("path", "window", "test_fraction")))
