"""Target distributions for the GAN lab: 2-D point clouds a generator learns to imitate.

GAN Lab's targets and the mixtures of the GAN literature (the ring of 8 and the grid of 25
gaussians of the Unrolled-GAN and PacGAN papers), in a plane of about [-3, 3]^2. The
mixtures know their modes (`MODES`): the centres and the spread of each gaussian, from
which the lab counts how many modes the generated samples cover. Labels are the mode each
point was drawn from (0 for targets without modes); a GAN ignores them.
"""
from __future__ import annotations

import math

import numpy as np

from ..spec import DataSpec
from . import Dataset, DatasetInfo, register, split

MODE_STD = 0.05                  # each mixture component's standard deviation
EXTENT = 3.0                     # plots show [-EXTENT, EXTENT]^2


def ring_centres(k: int = 8, radius: float = 2.0) -> np.ndarray:
    a = 2 * math.pi * np.arange(k) / k
    return np.stack([radius * np.cos(a), radius * np.sin(a)], 1).astype(np.float32)


def grid_centres(side: int = 5, spacing: float = 1.0) -> np.ndarray:
    c = (np.arange(side) - (side - 1) / 2) * spacing
    return np.stack(np.meshgrid(c, c, indexing="ij"), -1).reshape(-1, 2).astype(np.float32)


MODES = {"ring8": ring_centres(), "grid25": grid_centres()}   # dataset -> its modes' centres


def _mixture(centres: np.ndarray):
    def draw(n: int, rng: np.random.Generator):
        y = rng.integers(0, len(centres), n)
        return centres[y] + rng.normal(0, MODE_STD, (n, 2)), y
    return draw


def _moons(n: int, rng: np.random.Generator):
    y = rng.integers(0, 2, n)
    t = rng.uniform(0, math.pi, n)
    pts = np.where(y[:, None] == 0, np.stack([np.cos(t), np.sin(t)], 1),
                   np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    return 1.5 * (pts - [0.5, 0.25]) + rng.normal(0, 0.05, (n, 2)), y


def _line(n: int, rng: np.random.Generator):
    t = rng.uniform(-1, 1, n)
    return np.stack([2 * t, t], 1) + rng.normal(0, 0.03, (n, 2)), np.zeros(n, np.int64)


def _spiral(n: int, rng: np.random.Generator):
    t = np.sqrt(rng.uniform(0, 1, n)) * 3 * math.pi          # even density along the arm
    r = 0.25 + 2.5 * t / (3 * math.pi)
    return np.stack([r * np.cos(t), r * np.sin(t)], 1) + rng.normal(0, 0.04, (n, 2)), np.zeros(n, np.int64)


def _register(name: str, label: str, draw, help: str) -> None:
    def load(spec: DataSpec, seed: int) -> Dataset:
        pts, y = draw(spec.n_samples, np.random.default_rng(seed))
        pts, y = pts.astype(np.float32), y.astype(np.int64)
        x_tr, y_tr, x_te, y_te, p_tr, p_te = split(pts, y, spec.test_fraction, seed, pts)
        return Dataset(x_tr, y_tr, x_te, y_te, "generative", [], ["x1", "x2"], p_tr, p_te, extent=EXTENT)
    register(DatasetInfo(name, label, "distributions", "generative", load, help, ("n_samples", "test_fraction")))


_register("ring8", "Ring of 8 gaussians", _mixture(MODES["ring8"]),
          f"8 small gaussians (std {MODE_STD}) on a circle of radius 2: the classic test of mode collapse.")
_register("grid25", "Grid of 25 gaussians", _mixture(MODES["grid25"]),
          f"25 small gaussians (std {MODE_STD}) on a 5 x 5 grid, 1 apart: harder to cover than the ring.")
_register("moons_target", "Two moons", _moons, "Two interleaved half circles.")
_register("line", "A line", _line, "Points along a line segment: one direction of spread.")
_register("spiral_target", "A spiral", _spiral, "One arm of a spiral, evenly dense along its length.")


def modes_of(name: str) -> np.ndarray | None:
    """The centres of a mixture target's modes (K, 2), or None for targets without modes."""
    return MODES.get(name)
