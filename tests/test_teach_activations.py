"""Activation curves and derivatives against closed forms, torch.nn modules and finite differences."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.teach import activations as act

S = lambda x: 1 / (1 + np.exp(-x))   # noqa: E731
PHI = np.vectorize(lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2))))   # standard normal CDF
PDF = lambda x: np.exp(-x * x / 2) / math.sqrt(2 * math.pi)             # noqa: E731
CLOSED_FORM = {   # name -> (f, f') in numpy
    "sigmoid": (S, lambda x: S(x) * (1 - S(x))),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.1 * x), lambda x: np.where(x > 0, 1.0, 0.1)),
    "elu": (lambda x: np.where(x > 0, x, np.exp(x) - 1), lambda x: np.where(x > 0, 1.0, np.exp(x))),
    "gelu": (lambda x: x * PHI(x), lambda x: PHI(x) + x * PDF(x)),
    "silu": (lambda x: x * S(x), lambda x: S(x) + x * S(x) * (1 - S(x))),
    "softplus": (lambda x: np.log1p(np.exp(x)), S),
}
MODULES = {"sigmoid": torch.nn.Sigmoid(), "tanh": torch.nn.Tanh(), "relu": torch.nn.ReLU(),
           "leaky_relu": torch.nn.LeakyReLU(0.1), "elu": torch.nn.ELU(), "gelu": torch.nn.GELU(),
           "silu": torch.nn.SiLU(), "softplus": torch.nn.Softplus()}


@pytest.mark.parametrize("name", list(act.ACTIVATIONS))
def test_curve_and_derivative_match_closed_form_and_modules(name):
    c = act.curve(name, -6, 6, 241, slope=0.1)
    f, df = CLOSED_FORM[name]
    np.testing.assert_allclose(c.y, f(c.x), atol=1e-9)
    off0 = np.abs(c.x) > 1e-9                         # kinks at 0: one-sided conventions differ
    np.testing.assert_allclose(c.dy[off0], df(c.x)[off0], atol=1e-9)
    x = torch.tensor(c.x, requires_grad=True)
    MODULES[name].double()(x).sum().backward()
    np.testing.assert_allclose(c.dy, x.grad.numpy(), atol=1e-12)
    fd = (f(c.x + 1e-6) - f(c.x - 1e-6)) / 2e-6       # finite differences away from kinks
    np.testing.assert_allclose(c.dy[off0], fd[off0], atol=1e-5)
    lo, hi = act.ACTIVATIONS[name].range
    assert (c.y >= lo - 1e-9).all() and (c.y <= hi + 1e-9).all()
    assert act.ACTIVATIONS[name].usage.endswith(".")


def test_vanishing_intervals():
    sig = act.curve("sigmoid", -8, 8, 1601)
    edge = math.log(1 / 0.0101 - 1)        # s(1-s) = 0.01 at s ≈ 0.0102: |x| ≈ 4.58
    (a1, b1), (a2, b2) = sig.vanishing
    assert a1 == -8 and b2 == 8
    assert b1 == pytest.approx(-4.58, abs=0.02) and a2 == pytest.approx(4.58, abs=0.02)
    assert edge == pytest.approx(4.58, abs=0.02)
    relu = act.curve("relu", -5, 5, 101)
    assert relu.vanishing == [(-5.0, 0.0)]            # torch: relu'(0) = 0
    assert act.curve("leaky_relu", -5, 5, 101, slope=0.05).vanishing == []
    assert act.describe_intervals(sig.vanishing, -8, 8).startswith("x < −4.5")
    assert act.describe_intervals([], -1, 1) == "nowhere in this range"
    assert act.describe_intervals(relu.vanishing, -5, 5) == "x < 0"
    assert act.describe_intervals([(-1.0, -0.5)], -3, 3) == "−1 < x < −0.5"
    assert act.vanishing_intervals(np.arange(5.0), np.array([0, 1, 1, 0, 0.0])) == [(0.0, 0.0), (3.0, 4.0)]


def test_softmax_and_its_jacobian():
    z = act.parse_vector("2, 1, 0.1")
    r = act.softmax(z)
    e = np.exp(z)
    np.testing.assert_allclose(r.p, e / e.sum(), atol=1e-12)
    assert r.p.sum() == pytest.approx(1)
    np.testing.assert_allclose(r.jacobian, np.diag(r.p) - np.outer(r.p, r.p), atol=1e-12)
    hot = act.softmax(z, temperature=0.1)
    assert hot.p.max() > 0.99 and act.softmax(z, 100).p.max() < 0.34
    big = act.softmax(np.array([1000.0, 999.0]))      # no overflow
    assert np.isfinite(big.p).all() and np.isfinite(big.exp).all()


@pytest.mark.parametrize("text,msg", [("1", "between 2 and"), ("1, a, 2", "'a' is not a number"),
                                      ("1, inf", "finite"), (",".join(["1"] * 11), "between 2 and")])
def test_parse_vector_errors(text, msg):
    with pytest.raises(ValueError, match=msg):
        act.parse_vector(text)


def test_a_slope_passing_through_zero_is_a_turning_point_not_a_vanishing_band():
    """Issue 21.9: GELU's vanishing interval read '−0.75 < x < −0.75' and SiLU got a band where
    its slope only crosses 0 (their lowest point); the gradient vanishes on GELU's left tail only."""
    gelu, silu = act.curve("gelu", -6, 6, 401), act.curve("silu", -6, 6, 401)
    assert act.describe_intervals(gelu.vanishing, -6, 6) == "x < −3.09"
    assert silu.vanishing == []
    ((g0, g_kind),), ((s0, s_kind),) = gelu.turning, silu.turning
    xs = np.linspace(-2, 0, 200001)
    assert g0 == pytest.approx(xs[np.argmin(CLOSED_FORM["gelu"][0](xs))], abs=1e-3) and g_kind == "lowest"
    assert s0 == pytest.approx(xs[np.argmin(CLOSED_FORM["silu"][0](xs))], abs=1e-3) and s_kind == "lowest"
    assert "x ≈ −0.75 (the lowest point of f)" in act.describe_turning(gelu.turning)
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus"):
        assert act.curve(name, -6, 6, 401).turning == []
    # a flat stretch inside the range still counts; only a sign change between its ends is a turning point
    x = np.arange(7.0)
    assert act.vanishing_intervals(x, np.array([1, 0.001, 0, 0.001, 1, 1, 1.0])) == [(1.0, 3.0)]
    assert act.vanishing_intervals(x, np.array([-1, -0.001, 0, 0.001, 1, 1, 1.0])) == []
    assert act.turning_points(x, np.array([-1, -1, 1, 1, -1, -1, -1.0])) == [(1.5, "lowest"), (3.5, "highest")]


def test_the_activation_figure_rings_the_turning_point():
    from viz.activations import activation_figure
    c = act.curve("gelu", -6, 6, 401)
    fig = activation_figure(c.x, c.y, c.dy, c.vanishing, "GELU", 0.01, turning=c.turning)
    (ring,) = [t for t in fig.data if t.name == "f′ = 0 at one point: f turns"]
    assert list(ring.y) == [0.0] and ring.x[0] == pytest.approx(-0.75, abs=0.01)
    assert len([t for t in fig.data if t.fill == "toself"]) == 1          # one grey band: the left tail
