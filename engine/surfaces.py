"""2-D loss surfaces and the paths torch.optim takes across them.

A surface is an elementwise torch function f(x, y) on a plot range, with a start point and
its known minima. `optimizer_path` puts a 2-element parameter at the start and steps a real
torch.optim optimizer (from the engine's registry) on it, so the path is what PyTorch does.
`grid` evaluates f on a lattice for contour and surface plots.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from .optim import OPTIMIZERS, make_optimizer
from .spec import OptimSpec

Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # elementwise (x, y) -> f(x, y)
ESCAPE = 1e6                # a path whose coordinates pass this size has diverged


@dataclass(frozen=True)
class Surface:
    name: str
    label: str
    fn: Fn
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    start: tuple[float, float]                       # default start point
    minima: tuple[tuple[float, float], ...]           # known global/local minima, for markers
    help: str
    log_color: bool = False                          # colour by log10(1 + f - f_min): huge ranges
    lr_hint: dict = field(default_factory=dict)      # path key -> a learning rate that shows something
    steps: int = 100                                 # default number of steps
    axis_names: tuple[str, str] = ("x", "y")
    saddles: tuple[tuple[float, float], ...] = ()     # saddle points (slope 0, neither minimum nor maximum)

    def value(self, x: float, y: float) -> float:
        t = torch.tensor([x, y], dtype=torch.float64)
        return float(self.fn(t[0], t[1]))


# ---------------------------------------------------------------- test functions
def bowl_fn(condition: float) -> Fn:
    """0.5 (x^2 + k y^2): curvature 1 along x, k along y; k is the condition number."""
    return lambda x, y: 0.5 * (x ** 2 + condition * y ** 2)


def rosenbrock(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def beale(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


def saddle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """x^2 - y^2 near the origin (a saddle), held up by y^4/4: two valleys at y = +-sqrt(2)."""
    return x ** 2 - y ** 2 + y ** 4 / 4


def himmelblau(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2


@functools.lru_cache(maxsize=1)
def logistic_data() -> tuple[np.ndarray, np.ndarray]:
    """The tiny real problem: 200 points of two overlapping Gaussian blobs (the playground's
    'gaussian' data at 50% noise, scaled by 1/2), labels 0/1. Returns (X (200, 2), y (200,))."""
    from .data.synthetic import gaussian
    pts, y = gaussian(200, 0.5, np.random.default_rng(0))
    return (pts / 2).astype(np.float64), y.astype(np.float64)


def logistic_fn() -> Fn:
    """Mean binary cross-entropy of sigmoid(w1 x1 + w2 x2) (no bias) at weights (w1, w2)."""
    xs, ys = (torch.as_tensor(a) for a in logistic_data())

    def fn(w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
        z = w1[..., None] * xs[:, 0] + w2[..., None] * xs[:, 1]       # (..., N) logits
        return (torch.nn.functional.softplus(z) - ys * z).mean(-1)     # BCE with logits
    return fn


@functools.lru_cache(maxsize=1)
def logistic_minimum() -> tuple[float, float]:
    """The best weights, by Newton's method on the convex logistic loss (float64)."""
    x, y = logistic_data()
    w = np.zeros(2)
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - y) / len(y)
        hess = (x * (p * (1 - p))[:, None]).T @ x / len(y)
        w -= np.linalg.solve(hess, grad)
    return float(w[0]), float(w[1])


SURFACE_NAMES = {"bowl": "Quadratic bowl", "rosenbrock": "Rosenbrock valley", "beale": "Beale",
                 "saddle": "Saddle point", "himmelblau": "Himmelblau (four minima)",
                 "logistic": "Logistic regression (real loss)"}


def get_surface(name: str, condition: float = 10.0) -> Surface:
    """The surface called `name`; `condition` is the bowl's condition number (>= 1)."""
    if name == "bowl":
        return Surface(
            "bowl", SURFACE_NAMES[name], bowl_fn(condition), (-3.0, 3.0), (-2.0, 2.0), (-2.5, 1.5),
            ((0.0, 0.0),),
            f"f = 0.5 (x^2 + {condition:g} y^2): {condition:g}x steeper across (y) than along (x). "
            "Plain SGD zig-zags across the narrow direction while it crawls along the long one.",
            lr_hint={"sgd": 1.8 / (1 + condition), "momentum": 0.5 / (1 + condition),
                     "nesterov": 0.5 / (1 + condition), "adagrad": 0.5, "adadelta": 1.0,
                     "rmsprop": 0.05, "adam": 0.1, "adamw": 0.1}, steps=60)
    if name == "rosenbrock":
        return Surface(
            "rosenbrock", SURFACE_NAMES[name], rosenbrock, (-2.0, 2.0), (-1.0, 3.0), (-1.2, 1.0),
            ((1.0, 1.0),),
            "f = (1 - x)^2 + 100 (y - x^2)^2: a curved, flat-bottomed valley; finding the valley "
            "is easy, following it to the minimum at (1, 1) is hard.",
            log_color=True, lr_hint={"sgd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 0.3,
                                     "adadelta": 1.0, "rmsprop": 0.01, "adam": 0.1, "adamw": 0.1},
            steps=500)
    if name == "beale":
        return Surface(
            "beale", SURFACE_NAMES[name], beale, (-4.5, 4.5), (-4.5, 4.5), (1.0, 1.5),
            ((3.0, 0.5),),
            "Beale's function: sharp walls and a flat floor, minimum at (3, 0.5); "
            "gradients differ by orders of magnitude from place to place.",
            log_color=True, lr_hint={"sgd": 1e-3, "momentum": 3e-4, "nesterov": 3e-4, "adagrad": 0.3,
                                     "adadelta": 1.0, "rmsprop": 0.03, "adam": 0.1, "adamw": 0.1},
            steps=300)
    if name == "saddle":
        r = math.sqrt(2)
        return Surface(
            "saddle", SURFACE_NAMES[name], saddle, (-2.5, 2.5), (-2.5, 2.5), (-2.0, 0.01),
            ((0.0, r), (0.0, -r)),
            "f = x^2 - y^2 + y^4/4: the origin (✕) is a saddle point, where the slope is 0 but the "
            "surface goes up along x and down along y, so it is no minimum; the two minima (★) are "
            "equally low, at (0, ±1.41). Starting almost on the ridge, who escapes first, and to which?",
            lr_hint={"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.3, "adadelta": 1.0,
                     "rmsprop": 0.03, "adam": 0.05, "adamw": 0.05}, steps=100, saddles=((0.0, 0.0),))
    if name == "himmelblau":
        return Surface(
            "himmelblau", SURFACE_NAMES[name], himmelblau, (-5.0, 5.0), (-5.0, 5.0), (-0.3, -0.9),
            ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
            "Himmelblau's function has four equally good minima: where a path ends depends on the "
            "optimizer and the start point.",
            log_color=True, lr_hint={"sgd": 0.01, "momentum": 3e-3, "nesterov": 3e-3, "adagrad": 0.5,
                                     "adadelta": 1.0, "rmsprop": 0.05, "adam": 0.1, "adamw": 0.1},
            steps=100)
    if name == "logistic":
        return Surface(
            "logistic", SURFACE_NAMES[name], logistic_fn(), (-3.0, 4.0), (-2.0, 5.0), (-2.5, 3.0),
            (logistic_minimum(),),
            "The real training loss (binary cross-entropy) of a logistic regression with two "
            "weights on 200 points of two overlapping blobs: every point here is one model.",
            lr_hint={"sgd": 1.0, "momentum": 0.1, "nesterov": 0.1, "adagrad": 0.5, "adadelta": 1.0,
                     "rmsprop": 0.05, "adam": 0.1, "adamw": 0.1},
            steps=100, axis_names=("weight w1", "weight w2"))
    raise KeyError(f"unknown surface {name!r} (known: {', '.join(SURFACE_NAMES)})")


# ---------------------------------------------------------------- optimizers on a surface
SGD_VARIANTS = {             # path key -> (label, engine optimizer, uses the momentum slider)
    "momentum": ("SGD + momentum", "sgd", True),
    "nesterov": ("Nesterov momentum", "sgd", True),
}


def path_optimizers() -> dict[str, tuple[str, str, bool]]:
    """path key -> (label, engine optimizer, uses the momentum slider): every optimizer of the
    registry with its own settings, and SGD's momentum variants right after SGD."""
    out: dict[str, tuple[str, str, bool]] = {}
    for name, info in OPTIMIZERS.items():
        out[name] = (info.label, name, False)
        if name == "sgd":
            out |= SGD_VARIANTS
    return out


def path_optim(key: str, lr: float, momentum: float = 0.9) -> OptimSpec:
    """The OptimSpec behind a path key, with this learning rate (and momentum, if it uses one)."""
    _, name, uses_momentum = path_optimizers()[key]
    return OptimSpec(name=name, lr=lr, momentum=momentum if uses_momentum else 0.0,
                     nesterov=key == "nesterov")


@dataclass(frozen=True)
class Path:
    xy: np.ndarray               # (steps + 1, 2): the start, then the point after each step
    values: np.ndarray           # (steps + 1,) f at each point
    diverged_at: int | None      # the step at which the path left the finite world, else None

    @property
    def steps(self) -> int:
        return len(self.xy) - 1


def optimizer_paths(surface: Surface, optims: list[OptimSpec], start: tuple[float, float],
                    steps: int) -> list[Path]:
    """Step one torch.optim optimizer per OptimSpec `steps` times on f from `start` (float64),
    in lock-step: one forward/backward gives every parameter its gradient, then each
    optimizer steps its own. A path stops early (diverged_at set) when its point or value
    stops being finite or passes ESCAPE."""
    for o in optims:
        if o.name not in OPTIMIZERS:
            raise KeyError(f"unknown optimizer {o.name!r}")
    params = [torch.tensor([float(start[0]), float(start[1])], dtype=torch.float64, requires_grad=True)
              for _ in optims]
    opts = [make_optimizer([p], o) for p, o in zip(params, optims)]
    points = [[[float(start[0]), float(start[1])]] for _ in optims]
    diverged: list[int | None] = [None] * len(optims)
    for i in range(steps):
        live = [k for k, d in enumerate(diverged) if d is None]
        if not live:
            break
        stacked = torch.stack([params[k] for k in live])                # (K, 2)
        surface.fn(stacked[:, 0], stacked[:, 1]).sum().backward()       # each params[k].grad
        for k in live:
            opts[k].step()
            opts[k].zero_grad(set_to_none=True)
            q = params[k].detach().tolist()
            if not all(math.isfinite(v) and abs(v) <= ESCAPE for v in q):
                diverged[k] = i + 1
            else:
                points[k].append(q)
    return [_finish(surface, pts, d) for pts, d in zip(points, diverged)]


def _finish(surface: Surface, points: list[list[float]], diverged: int | None) -> Path:
    xy = torch.tensor(points, dtype=torch.float64)                    # (n, 2)
    with torch.no_grad():
        values = surface.fn(xy[:, 0], xy[:, 1])                        # (n,)
    bad = ~torch.isfinite(values)
    if bool(bad.any()):                                               # the value overflowed first
        n = int(bad.nonzero()[0])
        xy, values, diverged = xy[:n], values[:n], diverged or n
    return Path(xy.numpy(), values.numpy(), diverged)


def optimizer_path(surface: Surface, optim: OptimSpec, start: tuple[float, float], steps: int) -> Path:
    """The path of one optimizer (see optimizer_paths)."""
    return optimizer_paths(surface, [optim], start, steps)[0]


def grid(surface: Surface, n: int = 121) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f on an n x n lattice over the plot range: (xs (n,), ys (n,), z (n, n)) with
    z[i, j] = f(xs[j], ys[i]) (rows are y, as contour plots expect)."""
    xs = torch.linspace(*surface.x_range, n, dtype=torch.float64)
    ys = torch.linspace(*surface.y_range, n, dtype=torch.float64)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    with torch.no_grad():
        z = surface.fn(xx, yy)
    return xs.numpy(), ys.numpy(), z.numpy()


def colour_values(surface: Surface, z: np.ndarray, floor: float | None = None) -> np.ndarray:
    """What the contour colours: f itself, or log10(1 + f - floor) (floor = min z unless given)
    for surfaces whose values span many orders of magnitude, so the valley floor is not one
    flat colour. Pass the grid's floor to put path values on the same scale."""
    if not surface.log_color:
        return z
    return np.log10(1 + z - (np.nanmin(z) if floor is None else floor))
