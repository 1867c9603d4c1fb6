"""2-D datasets in the manner of TensorFlow Playground: points in [-6, 6]^2.

Classification labels are 0/1 (blue/orange); regression targets lie in [-1, 1].
`featurize` turns raw (x1, x2) points into the chosen input features; the decision
boundary view calls it on a grid so the model sees the plane as it saw its data.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..spec import DataSpec                 # types only: the spec reads this registry when it parses
from . import Dataset, DatasetInfo, register, split

RADIUS = 6.0                     # the plane shown is [-RADIUS, RADIUS]^2

FEATURE_FNS = {
    "x1": lambda p: p[:, 0],
    "x2": lambda p: p[:, 1],
    "x1^2": lambda p: p[:, 0] ** 2,
    "x2^2": lambda p: p[:, 1] ** 2,
    "x1*x2": lambda p: p[:, 0] * p[:, 1],
    "sin(x1)": lambda p: np.sin(p[:, 0]),
    "sin(x2)": lambda p: np.sin(p[:, 1]),
}


def featurize(points: np.ndarray, features: tuple[str, ...]) -> np.ndarray:
    """(N, 2) raw points -> (N, len(features)) float32 inputs."""
    return np.stack([FEATURE_FNS[f](points) for f in features], axis=1).astype(np.float32)


# ---------------------------------------------------------------- generators: (n, noise, rng) -> (points, y)
def circle(n: int, noise: float, rng: np.random.Generator):
    r_in = 0.5 * 5
    radius = np.concatenate([rng.uniform(0, r_in * 0.5, n // 2), rng.uniform(r_in * 0.7, 5, n - n // 2)])
    angle = rng.uniform(0, 2 * np.pi, n)
    pts = np.stack([radius * np.sin(angle), radius * np.cos(angle)], 1)
    y = (np.arange(n) >= n // 2).astype(np.int64)          # 0 inside (blue), 1 ring (orange)
    return pts + rng.uniform(-5, 5, (n, 2)) * noise, y


def xor(n: int, noise: float, rng: np.random.Generator):
    pts = rng.uniform(-5, 5, (n, 2))
    pts += np.where(pts > 0, 0.3, -0.3)                    # keep a gap on the axes
    y = (pts[:, 0] * pts[:, 1] < 0).astype(np.int64)
    return pts + rng.uniform(-5, 5, (n, 2)) * noise, y


def gaussian(n: int, noise: float, rng: np.random.Generator):
    std = np.sqrt(0.5 + 3.5 * noise / 0.5)                  # variance 0.5 .. 4 as noise goes 0 .. 50%
    y = (np.arange(n) >= n // 2).astype(np.int64)
    centres = np.where(y[:, None] == 1, 2.0, -2.0)
    return centres + rng.normal(0, std, (n, 2)), y


def spiral(n: int, noise: float, rng: np.random.Generator):
    half = n // 2
    pts, ys = [], []
    for label, delta in ((0, 0.0), (1, np.pi)):
        m = half if label == 0 else n - half
        r = np.arange(m) / m * 5
        t = 1.75 * np.arange(m) / m * 2 * np.pi + delta
        p = np.stack([r * np.sin(t), r * np.cos(t)], 1) + rng.uniform(-1, 1, (m, 2)) * noise
        pts.append(p)
        ys.append(np.full(m, label, np.int64))
    return np.concatenate(pts), np.concatenate(ys)


def moons(n: int, noise: float, rng: np.random.Generator):
    n0 = n // 2
    t0, t1 = rng.uniform(0, np.pi, n0), rng.uniform(0, np.pi, n - n0)
    a = np.stack([np.cos(t0), np.sin(t0)], 1)
    b = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)
    pts = (np.concatenate([a, b]) - [0.5, 0.25]) * 3.0          # centre and fill the plane
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])
    return pts + rng.normal(0, 1.0, (n, 2)) * noise * 2, y


def plane(n: int, noise: float, rng: np.random.Generator):
    pts = rng.uniform(-RADIUS, RADIUS, (n, 2))
    y = np.clip((pts[:, 0] + pts[:, 1]) / (2 * RADIUS) + rng.uniform(-1, 1, n) * noise, -1, 1)
    return pts, y.astype(np.float32)


_BUMPS = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]


def multi_gaussian(n: int, noise: float, rng: np.random.Generator):
    pts = rng.uniform(-RADIUS, RADIUS, (n, 2))
    y = np.zeros(n)
    for cx, cy, sign in _BUMPS:
        bump = sign * np.exp(-((pts[:, 0] - cx) ** 2 + (pts[:, 1] - cy) ** 2) / 2)
        y = np.where(np.abs(bump) > np.abs(y), bump, y)
    y = np.clip(y + rng.uniform(-1, 1, n) * noise, -1, 1)
    return pts, y.astype(np.float32)


def _register(name: str, label: str, gen, task: str, help: str) -> None:
    def load(spec: DataSpec, seed: int) -> Dataset:
        rng = np.random.default_rng(seed)
        pts, y = gen(spec.n_samples, spec.noise, rng)
        pts = pts.astype(np.float32)
        x = featurize(pts, spec.features)
        x_tr, y_tr, x_te, y_te, p_tr, p_te = split(x, y, spec.test_fraction, seed, pts)
        classes = ["blue (0)", "orange (1)"] if task == "classification" else []
        return Dataset(x_tr, y_tr, x_te, y_te, task, classes, list(spec.features), p_tr, p_te)
    register(DatasetInfo(name, label, "2d", task, load, help,
                         ("n_samples", "noise", "test_fraction", "features")))


def _load_xor_gate(spec: DataSpec, seed: int) -> Dataset:
    """The 4-row XOR truth table; training and test are the same four points."""
    pts = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 0], np.int64)
    x = featurize(pts, spec.features)
    return Dataset(x, y, x.copy(), y.copy(), "classification", ["0", "1"], list(spec.features),
                   pts, pts.copy(), extent=1.5)


register(DatasetInfo("xor_gate", "XOR truth table (4 points)", "2d", "classification", _load_xor_gate,
                     "The four rows of XOR: (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0. Train = test.",
                     ("features",)))
_register("circle", "Circle", circle, "classification", "A blue disc inside an orange ring.")
_register("xor", "XOR", xor, "classification", "Opposite quadrants share a class: not linearly separable.")
_register("gaussian", "Gaussian clusters", gaussian, "classification", "Two blobs; noise widens them until they overlap.")
_register("spiral", "Spiral", spiral, "classification", "Two interleaved spirals: the hard one.")
_register("moons", "Moons", moons, "classification", "Two interlocking half-moons.")
_register("plane", "Plane (regression)", plane, "regression", "Target rises linearly across the plane.")
_register("multi_gaussian", "Multi-gaussian (regression)", multi_gaussian, "regression",
          "Target is a patchwork of positive and negative bumps.")
