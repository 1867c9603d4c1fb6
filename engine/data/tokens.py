"""Text as token ids: a character vocabulary, padded id arrays, next-character pairs for a
language model, and the n-gram baselines a language model has to beat.

Id 0 is always PAD. Language-model targets are the input shifted by one, with IGNORE at pad
positions, so `F.cross_entropy(logits.reshape(-1, V), y.reshape(-1), ignore_index=IGNORE)`
averages over the real next characters only; `ngram_loss` counts exactly those.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import IGNORE, PAD


def char_vocab(texts: Sequence[str], reserved: Sequence[str] = ()) -> list[str]:
    """[PAD, *reserved, every character of `texts` in sorted order]: vocab[i] is id i's text."""
    chars = sorted(set().union(*map(set, texts)) - set(reserved))
    return [PAD, *reserved, *chars]


def encode(texts: Sequence[str], vocab: Sequence[str], length: int, left: bool) -> np.ndarray:
    """(N, length) int64 ids of `texts` (each at most `length` characters), padded with 0 on the
    left (`left`: the last column is every text's last character) or on the right."""
    index = {c: i for i, c in enumerate(vocab)}
    out = np.zeros((len(texts), length), np.int64)
    for row, text in zip(out, texts):
        ids = [index[c] for c in text]
        if left:
            row[length - len(ids):] = ids
        else:
            row[:len(ids)] = ids
    return out


def lm_pairs(texts: Sequence[str], vocab: Sequence[str], marker: str, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Next-character pairs as in makemore: x = marker + text, y = text + marker (the framed
    text shifted by one), right-padded to `length` (>= longest text + 1); y is IGNORE where x
    is padding. Both (N, length) int64."""
    x = encode([marker + t for t in texts], vocab, length, left=False)
    y = encode([t + marker for t in texts], vocab, length, left=False)
    y[x == 0] = IGNORE
    return x, y


def windows(ids: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """A long id stream cut into (N, length) inputs and the (N, length) next ids: window i reads
    ids[i*length : (i+1)*length] and predicts one step later, so every id is a target once."""
    n = (len(ids) - 1) // length
    x = ids[:n * length].reshape(n, length)
    y = ids[1:n * length + 1].reshape(n, length)
    return x.astype(np.int64), y.astype(np.int64)


def ngram_loss(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
               n_vocab: int, order: int = 2, alpha: float = 1.0) -> float:
    """Held-out mean cross-entropy (nats per predicted token, IGNORE targets left out) of an
    add-alpha smoothed unigram (order 1) or bigram (order 2: next token given the current
    input token) fitted on the training pairs. Probabilities spread over ids 1..V-1 (a real
    next token is never PAD), as a model's softmax can learn to."""
    tr, te = y_train != IGNORE, y_test != IGNORE
    if order == 1:
        counts = np.bincount(y_train[tr], minlength=n_vocab)[None].astype(np.float64)     # (1, V)
        ctx_tr, ctx_te = np.zeros(tr.sum(), np.int64), np.zeros(te.sum(), np.int64)
    elif order == 2:
        ctx_tr, ctx_te = x_train[tr], x_test[te]
        counts = np.bincount(ctx_tr * n_vocab + y_train[tr], minlength=n_vocab * n_vocab)
        counts = counts.reshape(n_vocab, n_vocab).astype(np.float64)                     # (context, next)
    else:
        raise ValueError(f"order must be 1 or 2, got {order}")
    counts[:, 1:] += alpha
    counts[:, 0] = 0.0                                                 # PAD is never a target
    probs = counts / counts.sum(1, keepdims=True)
    return float(-np.log(probs[ctx_te, y_test[te]]).mean())
