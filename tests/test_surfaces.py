"""2-D loss surfaces: paths are torch.optim's, checked against hand-computed recursions;
every surface's minima are stationary; grids and the logistic loss match torch references."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.spec import OptimSpec
from engine.surfaces import (path_optimizers, SURFACE_NAMES, colour_values, get_surface, grid,
                             logistic_data, logistic_minimum, optimizer_path, optimizer_paths, path_optim)

K = 10.0                       # condition number of the test bowl
START = (-2.5, 1.5)


def bowl_grad(x: float, y: float) -> tuple[float, float]:
    """Gradient of 0.5 (x^2 + K y^2), by hand."""
    return x, K * y


def test_gradient_descent_on_the_bowl_matches_the_hand_computed_sequence():
    lr, steps = 0.15, 8
    path = optimizer_path(get_surface("bowl", K), OptimSpec("sgd", lr=lr), START, steps)
    x, y = START
    expected = [(x, y)]
    for _ in range(steps):                          # x <- x - lr * df/dx, y <- y - lr * df/dy
        gx, gy = bowl_grad(x, y)
        x, y = x - lr * gx, y - lr * gy
        expected.append((x, y))
    np.testing.assert_allclose(path.xy, expected, rtol=0, atol=1e-12)
    # the closed form shows the zig-zag: y flips sign every step since |1 - lr K| = 0.5 ...
    assert all(np.sign(path.xy[i, 1]) == (-1) ** i for i in range(steps + 1))
    # ... and shrinks by exactly (1 - lr) along x
    np.testing.assert_allclose(path.xy[1:, 0] / path.xy[:-1, 0], 1 - lr, atol=1e-12)
    np.testing.assert_allclose(path.values, 0.5 * (path.xy[:, 0] ** 2 + K * path.xy[:, 1] ** 2), atol=1e-12)


def test_momentum_matches_the_heavy_ball_recursion():
    lr, mu, steps = 0.02, 0.9, 12
    path = optimizer_path(get_surface("bowl", K), path_optim("momentum", lr, mu), START, steps)
    p = np.array(START)
    v = np.zeros(2)
    expected = [p.copy()]
    for _ in range(steps):                          # v <- mu v + g ; p <- p - lr v  (PyTorch's form)
        v = mu * v + np.array(bowl_grad(*p))
        p = p - lr * v
        expected.append(p.copy())
    np.testing.assert_allclose(path.xy, expected, rtol=0, atol=1e-12)


def test_nesterov_matches_its_recursion():
    lr, mu, steps = 0.02, 0.9, 10
    path = optimizer_path(get_surface("bowl", K), path_optim("nesterov", lr, mu), START, steps)
    p, v = np.array(START), np.zeros(2)
    expected = [p.copy()]
    for _ in range(steps):                          # v <- mu v + g ; p <- p - lr (g + mu v)
        g = np.array(bowl_grad(*p))
        v = mu * v + g
        p = p - lr * (g + mu * v)
        expected.append(p.copy())
    np.testing.assert_allclose(path.xy, expected, rtol=0, atol=1e-12)


def test_adam_first_step_moves_every_coordinate_by_the_learning_rate():
    """Adam's per-coordinate scaling: the first step is lr * sign(gradient) in each coordinate,
    however different the two slopes are (here 1 : 10)."""
    path = optimizer_path(get_surface("bowl", K), OptimSpec("adam", lr=0.1), START, 1)
    np.testing.assert_allclose(path.xy[1] - path.xy[0], [0.1, -0.1], atol=1e-6)


def test_lock_step_paths_equal_separate_paths():
    surf = get_surface("rosenbrock")
    optims = [path_optim(k, surf.lr_hint[k]) for k in ("sgd", "momentum", "rmsprop", "adam")]
    together = optimizer_paths(surf, optims, surf.start, 40)
    for o, p in zip(optims, together):
        alone = optimizer_path(surf, o, surf.start, 40)
        np.testing.assert_array_equal(p.xy, alone.xy)


@pytest.mark.parametrize("name", list(SURFACE_NAMES))
def test_listed_minima_are_stationary_and_lowest(name):
    surf = get_surface(name)
    xs, ys, z = grid(surf, 81)
    for mx, my in surf.minima:
        p = torch.tensor([mx, my], dtype=torch.float64, requires_grad=True)
        f = surf.fn(p[0], p[1])
        (g,) = torch.autograd.grad(f, p)
        assert float(g.norm()) < 1e-3, (name, (mx, my), g)
        assert f.detach().item() <= z.min() + 1e-6
    assert surf.x_range[0] <= surf.start[0] <= surf.x_range[1]
    assert surf.y_range[0] <= surf.start[1] <= surf.y_range[1]
    assert set(surf.lr_hint) == set(path_optimizers())


@pytest.mark.parametrize("name", list(SURFACE_NAMES))
def test_listed_saddles_are_saddles_and_what_the_help_says_holds(name):
    """Issue 21.6: a saddle point has slope 0 and curves up one way and down the other (the
    Hessian has eigenvalues of both signs), so it is no minimum; the saddle surface's two minima
    are equally low, and it says so."""
    surf = get_surface(name)
    for sx, sy in surf.saddles:
        p = torch.tensor([sx, sy], dtype=torch.float64)
        g = torch.autograd.functional.jacobian(lambda v: surf.fn(v[0], v[1]), p)
        hess = torch.autograd.functional.hessian(lambda v: surf.fn(v[0], v[1]), p)
        eig = torch.linalg.eigvalsh(hess)
        assert float(g.norm()) < 1e-9 and eig[0] < 0 < eig[1], (name, eig)
    if name == "saddle":
        assert surf.saddles == ((0.0, 0.0),) and len(surf.minima) == 2
        assert math.isclose(surf.value(*surf.minima[0]), surf.value(*surf.minima[1]))
        assert "saddle point" in surf.help and "no minimum" in surf.help and "two minima" in surf.help


def test_grid_rows_are_y_and_columns_are_x():
    surf = get_surface("beale")
    xs, ys, z = grid(surf, 7)
    assert z.shape == (7, 7)
    for i, j in [(0, 6), (3, 1), (6, 0), (2, 5)]:
        assert z[i, j] == pytest.approx(surf.value(xs[j], ys[i]), rel=1e-12)


def test_logistic_surface_is_the_real_bce_loss():
    x, y = (torch.as_tensor(a) for a in logistic_data())
    surf = get_surface("logistic")
    for w in [(0.0, 0.0), (1.5, -0.5), logistic_minimum()]:
        ref = F.binary_cross_entropy_with_logits(x @ torch.tensor(w, dtype=torch.float64), y)
        assert surf.value(*w) == pytest.approx(float(ref), rel=1e-12)
    assert surf.value(0.0, 0.0) == pytest.approx(math.log(2))


def test_optimizers_head_downhill_on_every_surface():
    for name in SURFACE_NAMES:
        surf = get_surface(name)
        for key in ("sgd", "adam"):
            p = optimizer_path(surf, path_optim(key, surf.lr_hint[key]), surf.start, 60)
            assert p.diverged_at is None
            assert p.values[-1] < p.values[0], (name, key)


def test_a_too_large_learning_rate_is_reported_as_divergence():
    p = optimizer_path(get_surface("bowl", K), OptimSpec("sgd", lr=1.0), START, 200)
    assert p.diverged_at is not None and p.diverged_at < 200       # |1 - lr K| = 9: blows up
    assert np.isfinite(p.xy).all() and np.isfinite(p.values).all()
    assert len(p.xy) == len(p.values) <= p.diverged_at


def test_log_colours_keep_order_and_start_at_zero():
    surf = get_surface("rosenbrock")
    _, _, z = grid(surf, 31)
    c = colour_values(surf, z)
    assert c.min() == pytest.approx(0.0)
    order = np.argsort(z, axis=None)
    assert np.all(np.diff(c.ravel()[order]) >= -1e-12)
    assert colour_values(get_surface("bowl"), z) is z               # plain surfaces colour by f
