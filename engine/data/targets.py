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

from ..schema import clip
from ..spec import DataSpec
from . import DataError, Dataset, DatasetInfo, register, split

MODE_STD = 0.05                  # each mixture component's standard deviation
EXTENT = 3.0                     # plots show [-EXTENT, EXTENT]^2
REACH = 2.5                      # the user's points are scaled to fit [-REACH, REACH]^2
MAX_POINTS_BYTES = 5_000_000     # a points CSV or drawing larger than this is refused unread
MAX_PIXELS = 4_000_000           # ... and a drawing of more pixels than this
INK_GRID = 70                    # a drawing is read on this grid: each ink cell draws points by its brightness


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


def points_from_ink(gray: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points drawn from a picture (H, W) of white ink on black: each pixel of an INK_GRID
    grid as likely as it is bright, a uniform spot inside it; y points up."""
    from PIL import Image
    small = np.asarray(Image.fromarray((np.clip(gray, 0, 1) * 255).astype(np.uint8)).resize(
        (INK_GRID, INK_GRID), Image.BILINEAR), np.float64) / 255.0
    total = small.sum()
    if total < 1.0:
        raise DataError("the drawing is empty: draw the shape the generator should learn (white on black)")
    cells = rng.choice(small.size, size=n, p=(small / total).ravel())
    rows, cols = np.divmod(cells, INK_GRID)
    x = (cols + rng.uniform(0, 1, n)) / INK_GRID
    y = 1 - (rows + rng.uniform(0, 1, n)) / INK_GRID
    return np.stack([x, y], 1)


def _fit(pts: np.ndarray) -> np.ndarray:
    """Points centred on the origin and scaled so the farthest coordinate is REACH."""
    pts = pts - (pts.max(0) + pts.min(0)) / 2
    return pts * (REACH / max(float(np.abs(pts).max()), 1e-9))


def _shown(path) -> str:
    """How messages name a points file: an upload (named by its hash) as what it is."""
    if path.name.startswith("upload-"):
        return "the drawing" if path.suffix == ".png" else "the uploaded file"
    return clip(path.name)


def _read_points(path, n: int, rng: np.random.Generator) -> np.ndarray:
    """The raw points of a CSV (its first two numeric columns) or a PNG drawing (its ink)."""
    if not path.is_file():
        raise DataError(f"{_shown(path)} does not exist; draw the points or upload a CSV")
    if path.stat().st_size > MAX_POINTS_BYTES:
        raise DataError(f"{_shown(path)} is {path.stat().st_size / 1e6:.1f} MB; the limit is "
                        f"{MAX_POINTS_BYTES / 1e6:.0f} MB")
    if path.suffix.lower() == ".png":
        from PIL import Image, UnidentifiedImageError
        try:
            with Image.open(path) as im:
                too_big = im.width * im.height > MAX_PIXELS
                gray = None if too_big else np.asarray(im.convert("L"), np.float32) / 255.0
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise DataError(f"{_shown(path)} could not be read as a PNG image ({type(e).__name__})") from None
        if gray is None:
            raise DataError(f"{_shown(path)} has more than {MAX_PIXELS:,} pixels")
        return points_from_ink(gray, n, rng)
    if path.suffix.lower() != ".csv":
        raise DataError(f"{_shown(path)}: give a CSV file of points (two number columns) or a PNG drawing")
    import pandas as pd
    try:
        df = pd.read_csv(path)
    except Exception as e:  # noqa: BLE001 - any parse failure is the file's
        raise DataError(f"{_shown(path)} could not be read as CSV ({type(e).__name__})") from None
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    if len(numeric) < 2:
        raise DataError(f"{_shown(path)}: needs two columns of numbers (x and y); found {len(numeric)}")
    pts = df[numeric[:2]].dropna().to_numpy(np.float64)
    pts = pts[np.isfinite(pts).all(1)]
    if len(pts) < 10:
        raise DataError(f"{_shown(path)}: only {len(pts)} rows with two finite numbers; at least 10 are needed")
    return pts[rng.choice(len(pts), n, replace=False)] if len(pts) > n else pts


def _load_points(spec: DataSpec, seed: int) -> Dataset:
    from .folder import resolve
    if not spec.path:
        raise DataError("draw the points the generator should learn, or upload a CSV of them")
    rng = np.random.default_rng(seed)
    pts = _fit(_read_points(resolve(spec.path), spec.n_samples, rng)).astype(np.float32)
    zeros = np.zeros(len(pts), np.int64)
    x_tr, y_tr, x_te, y_te, p_tr, p_te = split(pts, zeros, spec.test_fraction, seed, pts)
    return Dataset(x_tr, y_tr, x_te, y_te, "generative", [], ["x1", "x2"], p_tr, p_te, extent=EXTENT)


register(DatasetInfo("points_file", "Your own points", "distributions", "generative", _load_points,
                     "Points you draw or upload (a CSV whose first two number columns are x and y), scaled to "
                     f"fit [-{REACH}, {REACH}].", ("n_samples", "test_fraction", "path")))


def modes_of(name: str) -> np.ndarray | None:
    """The centres of a mixture target's modes (K, 2), or None for targets without modes."""
    return MODES.get(name)
