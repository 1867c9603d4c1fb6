"""Activation functions, their derivatives (from autograd) and where the gradient vanishes.

Every entry is the torch function a network would use; `curve` evaluates it on a grid
and differentiates it with autograd, so the plotted derivative is the one backprop uses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

VANISH_THRESHOLD = 0.01      # |f'(x)| below this: the gradient has (almost) vanished


@dataclass(frozen=True)
class Activation:
    name: str
    label: str
    fn: Callable[[torch.Tensor, float], torch.Tensor]   # (x, slope) -> f(x); slope only for LeakyReLU
    formula: str                                         # LaTeX
    range: tuple[float, float]                           # output range (may be ±inf)
    range_text: str
    usage: str                                           # one sentence: when to use it


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in [
    Activation("sigmoid", "Sigmoid", lambda x, _: torch.sigmoid(x),
               r"\sigma(x) = \frac{1}{1 + e^{-x}}", (0.0, 1.0), "(0, 1)",
               "Use it on the output of a yes/no classifier to get a probability; in hidden layers it "
               "saturates and slows learning."),
    Activation("tanh", "tanh", lambda x, _: torch.tanh(x),
               r"\tanh(x) = \frac{e^x - e^{-x}}{e^x + e^{-x}}", (-1.0, 1.0), "(−1, 1)",
               "A zero-centred sigmoid: fine in small networks and inside RNN/LSTM cells, but it "
               "still saturates for large |x|."),
    Activation("relu", "ReLU", lambda x, _: F.relu(x),
               r"\mathrm{ReLU}(x) = \max(0, x)", (0.0, math.inf), "[0, ∞)",
               "The default for hidden layers of MLPs and CNNs: cheap, and its gradient is 1 for every "
               "positive input; units stuck below zero stop learning ('dead ReLUs')."),
    Activation("leaky_relu", "LeakyReLU", lambda x, a: F.leaky_relu(x, a),
               r"\mathrm{LeakyReLU}(x) = \max(\alpha x, x)", (-math.inf, math.inf), "(−∞, ∞)",
               "ReLU with a small slope α for negative inputs, so no unit dies; a safe swap when many "
               "ReLUs stay at zero."),
    Activation("elu", "ELU", lambda x, _: F.elu(x),
               r"\mathrm{ELU}(x) = x \text{ if } x > 0 \text{ else } e^x - 1", (-1.0, math.inf), "(−1, ∞)",
               "Smooth below zero and with mean outputs nearer zero than ReLU; can train a little "
               "faster, at the cost of an exp."),
    Activation("gelu", "GELU", lambda x, _: F.gelu(x),
               r"\mathrm{GELU}(x) = x\,\Phi(x)", (-0.17, math.inf), "[≈−0.17, ∞)",
               "The smooth ReLU used in transformers (BERT, GPT): weights each input by the chance "
               "that a standard normal is below it."),
    Activation("silu", "SiLU (Swish)", lambda x, _: F.silu(x),
               r"\mathrm{SiLU}(x) = x\,\sigma(x)", (-0.279, math.inf), "[≈−0.28, ∞)",
               "x times its sigmoid: smooth like GELU, used in EfficientNet and many modern CNNs and "
               "LLMs."),
    Activation("softplus", "Softplus", lambda x, _: F.softplus(x),
               r"\mathrm{softplus}(x) = \ln(1 + e^x)", (0.0, math.inf), "(0, ∞)",
               "A smooth ReLU that is always positive: use it where an output must be positive, such "
               "as a standard deviation."),
]}
SOFTMAX_USAGE = ("Softmax turns a vector of scores (logits) into probabilities that are positive and sum "
                 "to 1: use it on the last layer of a classifier with more than two classes.")


@dataclass(frozen=True)
class Curve:
    x: np.ndarray              # (N,) inputs
    y: np.ndarray              # (N,) f(x)
    dy: np.ndarray             # (N,) f'(x) from autograd
    vanishing: list[tuple[float, float]]   # stretches of x where |f'(x)| stays < threshold
    turning: list[tuple[float, str]] = ()  # (x, "lowest" | "highest"): f' passes through 0, f turns


def curve(name: str, lo: float = -6.0, hi: float = 6.0, n: int = 601, slope: float = 0.01,
          threshold: float = VANISH_THRESHOLD) -> Curve:
    """f and f' on n points of [lo, hi]; f' by autograd (the derivative backprop uses)."""
    grid = torch.round(torch.linspace(lo, hi, n, dtype=torch.float64) * 1e9) / 1e9   # 0 lands on 0
    x = grid.requires_grad_()
    y = ACTIVATIONS[name].fn(x, slope)
    (dy,) = torch.autograd.grad(y.sum(), x)      # elementwise f, so d(sum)/dx_i = f'(x_i)
    xs, dys = x.detach().numpy(), dy.numpy()
    return Curve(xs, y.detach().numpy(), dys, vanishing_intervals(xs, dys, threshold), turning_points(xs, dys))


def vanishing_intervals(x: np.ndarray, dy: np.ndarray, threshold: float = VANISH_THRESHOLD
                        ) -> list[tuple[float, float]]:
    """The stretches of grid points where |f'(x)| stays < threshold, as (first x, last x)
    intervals. Where f' only passes through 0 between slopes of opposite signs (GELU's and
    SiLU's lowest point) the gradient does not vanish, f turns: that is a turning point, not
    a stretch (turning_points)."""
    small = np.abs(dy) < threshold
    out, start = [], None
    for i, s in enumerate(small):
        if s and start is None:
            start = i
        if start is not None and (not s or i == len(small) - 1):
            end = i if s else i - 1
            crossing = start > 0 and end < len(dy) - 1 and dy[start - 1] * dy[end + 1] < 0
            if not crossing:
                out.append((float(x[start]), float(x[end])))
            start = None
    return out


def turning_points(x: np.ndarray, dy: np.ndarray) -> list[tuple[float, str]]:
    """Where f' changes sign (linearly interpolated between grid points): f's lowest point
    ("lowest": f' goes from - to +) or highest point ("highest")."""
    out = []
    for i in np.flatnonzero(np.sign(dy[:-1]) * np.sign(dy[1:]) < 0):
        x0 = x[i] - dy[i] * (x[i + 1] - x[i]) / (dy[i + 1] - dy[i])
        out.append((float(x0), "lowest" if dy[i] < 0 else "highest"))
    return out


def describe_turning(points: list[tuple[float, str]]) -> str:
    """'f′ = 0 only at x ≈ −0.75, the lowest point of f ...' for a page; "" when there is none."""
    if not points:
        return ""
    at = " and ".join(f"x ≈ {_num(x)} (the {kind} point of f)" for x, kind in points).replace("-", "−")
    return (f"f′ passes through 0 at {at}: a single input where the slope changes sign, "
            "not a stretch where learning stalls.")


def describe_intervals(intervals: list[tuple[float, float]], lo: float, hi: float) -> str:
    """'x < −4.6 and x > 4.6' for a page; edges of the plotted range read as 'below' / 'above'."""
    if not intervals:
        return "nowhere in this range"
    parts = []
    for a, b in intervals:
        left, right = math.isclose(a, lo), math.isclose(b, hi)
        if left and right:
            parts.append("everywhere in this range")
        elif left:
            parts.append(f"x < {_num(b)}")
        elif right:
            parts.append(f"x > {_num(a)}")
        else:
            parts.append(f"{_num(a)} < x < {_num(b)}")
    return " and ".join(parts).replace("-", "−")


def _num(v: float) -> str:
    """2 decimals without trailing zeros: 4.58, 0.5, 0."""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# ---------------------------------------------------------------- softmax
@dataclass(frozen=True)
class SoftmaxResult:
    z: np.ndarray          # (K,) logits as typed
    exp: np.ndarray        # (K,) e^(z / T - max)
    p: np.ndarray          # (K,) probabilities, sum 1
    jacobian: np.ndarray   # (K, K) dp_i / dz_j from autograd


def parse_vector(text: str, max_len: int = 10) -> np.ndarray:
    """'2, 1, 0.1' -> array; raises ValueError with a sentence for bad input."""
    cells = text.replace(";", ",").replace(" ", ",").split(",")
    cells = [c for c in cells if c.strip()]
    if not 2 <= len(cells) <= max_len:
        raise ValueError(f"type between 2 and {max_len} numbers separated by commas (you typed {len(cells)})")
    try:
        v = np.array([float(c) for c in cells])
    except ValueError:
        bad = next(c for c in cells if not _is_float(c))
        raise ValueError(f"'{bad}' is not a number: type numbers like 2, -1.5, 0") from None
    if not np.all(np.isfinite(v)) or np.abs(v).max() > 1e4:
        raise ValueError("numbers must be finite and between −10000 and 10000")
    return v


def _is_float(c: str) -> bool:
    try:
        float(c)
        return True
    except ValueError:
        return False


def softmax(z: np.ndarray, temperature: float = 1.0) -> SoftmaxResult:
    """Softmax of z / T with its Jacobian dp/dz by autograd."""
    zt = torch.tensor(np.asarray(z, dtype=np.float64), requires_grad=True)    # (K,)
    p = torch.softmax(zt / temperature, dim=0)                                 # (K,)
    jac = torch.autograd.functional.jacobian(lambda v: torch.softmax(v / temperature, 0), zt.detach())
    shifted = zt.detach() / temperature
    ex = torch.exp(shifted - shifted.max())
    return SoftmaxResult(zt.detach().numpy(), ex.numpy(), p.detach().numpy(), jac.numpy())
