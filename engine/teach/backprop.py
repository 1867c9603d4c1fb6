"""Backpropagation by hand, in numpy: every intermediate number a page shows.

Two walk-throughs:
- one neuron y = w1*x1 + w2*x2 + b with squared error L = (y - t)^2: forward, each partial
  derivative by the chain rule, and the gradient-descent update;
- a 2-2-1 sigmoid network learning XOR: forward values on every node, the loss, the
  gradient on every edge, the updated weights, and many steps with the loss history.
Nothing here uses autograd; tests compare every number with torch.autograd.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

LOSSES = {"mse": "squared error (o − t)²", "bce": "cross-entropy −[t·ln o + (1 − t)·ln(1 − o)]"}
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])   # (4, 2)
XOR_T = np.array([0.0, 1.0, 1.0, 0.0])                                # (4,)


BCE_EPS = 1e-12      # torch's binary_cross_entropy: log clamped at -100, o(1 - o) at least 1e-12


def sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- one neuron
@dataclass(frozen=True)
class NeuronStep:
    """One gradient-descent step of y = w1*x1 + w2*x2 + b with L = (y - t)^2."""
    x1: float
    x2: float
    t: float
    w1: float
    w2: float
    b: float
    lr: float

    # forward
    @property
    def y(self) -> float:
        return self.w1 * self.x1 + self.w2 * self.x2 + self.b

    @property
    def loss(self) -> float:
        return (self.y - self.t) ** 2

    # backward: dL/dp = dL/dy * dy/dp (chain rule)
    @property
    def dL_dy(self) -> float:
        return 2.0 * (self.y - self.t)

    @property
    def dy_dw1(self) -> float:
        return self.x1

    @property
    def dy_dw2(self) -> float:
        return self.x2

    @property
    def dy_db(self) -> float:
        return 1.0

    @property
    def grads(self) -> dict[str, float]:
        """dL/dw1, dL/dw2, dL/db."""
        return {"w1": self.dL_dy * self.dy_dw1, "w2": self.dL_dy * self.dy_dw2, "b": self.dL_dy * self.dy_db}

    # update: p <- p - lr * dL/dp
    @property
    def updated(self) -> dict[str, float]:
        g = self.grads
        return {"w1": self.w1 - self.lr * g["w1"], "w2": self.w2 - self.lr * g["w2"], "b": self.b - self.lr * g["b"]}

    def next(self) -> "NeuronStep":
        """The same example and learning rate with the updated weights."""
        return replace(self, **self.updated)


# ---------------------------------------------------------------- 2-2-1 XOR network
@dataclass(frozen=True)
class XorNet:
    """h = sigmoid(W x + b), o = sigmoid(v . h + c). W[j, i]: weight from input i to hidden j."""
    W: np.ndarray      # (2, 2)
    b: np.ndarray      # (2,)
    v: np.ndarray      # (2,)
    c: float

    NAMES = ("w11", "w12", "w21", "w22", "b1", "b2", "v1", "v2", "c")   # order of flat()

    def flat(self) -> list[float]:
        """The 9 parameters as plain floats (for session state and JSON), in NAMES order."""
        return [float(a) for a in (*self.W.ravel(), *self.b, *self.v, self.c)]

    @classmethod
    def from_flat(cls, p: list[float]) -> "XorNet":
        p = np.asarray(p, dtype=np.float64)
        return cls(p[:4].reshape(2, 2), p[4:6].copy(), p[6:8].copy(), float(p[8]))

    @classmethod
    def init(cls, seed: int = 0, scale: float = 1.0) -> "XorNet":
        """Random start: weights and biases ~ N(0, scale^2), from the seed."""
        return cls.from_flat(list(np.random.default_rng(seed).normal(0.0, scale, 9)))


@dataclass(frozen=True)
class XorPass:
    """Forward and backward through XorNet on all four XOR examples (rows n = 0..3).

    Per-example gradients are of that example's own loss l_n; the batch loss is the mean
    of the l_n, so the batch gradient (used for the update) is the mean of theirs."""
    net: XorNet
    loss_kind: str
    x: np.ndarray          # (4, 2) inputs
    t: np.ndarray          # (4,) targets
    z_h: np.ndarray        # (4, 2) hidden pre-activations  W x + b
    h: np.ndarray          # (4, 2) hidden outputs          sigmoid(z_h)
    z_o: np.ndarray        # (4,)   output pre-activation   v . h + c
    o: np.ndarray          # (4,)   output                  sigmoid(z_o)
    losses: np.ndarray     # (4,)   l_n
    dl_do: np.ndarray      # (4,)   dl/do
    do_dz: np.ndarray      # (4,)   do/dz_o = o (1 - o)
    delta_o: np.ndarray    # (4,)   dl/dz_o = dl/do * do/dz_o
    dl_dh: np.ndarray      # (4, 2) dl/dh_j = delta_o * v_j
    dh_dz: np.ndarray      # (4, 2) dh/dz_h = h (1 - h)
    delta_h: np.ndarray    # (4, 2) dl/dz_h = dl/dh * dh/dz_h
    g_W: np.ndarray        # (4, 2, 2) dl/dW[j, i] = delta_h[j] * x[i]
    g_b: np.ndarray        # (4, 2)    dl/db_j = delta_h[j]
    g_v: np.ndarray        # (4, 2)    dl/dv_j = delta_o * h_j
    g_c: np.ndarray        # (4,)      dl/dc = delta_o

    @property
    def loss(self) -> float:
        """The batch loss: mean of the four example losses."""
        return float(self.losses.mean())

    def grad(self) -> XorNet:
        """The batch gradient (mean over the examples), shaped like the network."""
        return XorNet(self.g_W.mean(0), self.g_b.mean(0), self.g_v.mean(0), float(self.g_c.mean()))

    def updated(self, lr: float) -> XorNet:
        """Gradient descent: every parameter minus lr times its batch gradient."""
        g = self.grad()
        n = self.net
        return XorNet(n.W - lr * g.W, n.b - lr * g.b, n.v - lr * g.v, n.c - lr * g.c)


def xor_forward(net: XorNet, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """z_h (N, 2), h (N, 2), z_o (N,), o (N,) for inputs x (N, 2)."""
    z_h = x @ net.W.T + net.b
    h = sigmoid(z_h)
    z_o = h @ net.v + net.c
    return z_h, h, z_o, sigmoid(z_o)


def example_losses(o: np.ndarray, t: np.ndarray, kind: str = "mse") -> np.ndarray:
    if kind == "mse":
        return (o - t) ** 2
    with np.errstate(divide="ignore"):
        return -(t * np.maximum(np.log(o), -100) + (1 - t) * np.maximum(np.log(1 - o), -100))


def xor_pass(net: XorNet, loss_kind: str = "mse", x: np.ndarray = XOR_X, t: np.ndarray = XOR_T) -> XorPass:
    """Forward and backward by the chain rule, node by node."""
    z_h, h, z_o, o = xor_forward(net, x)
    losses = example_losses(o, t, loss_kind)
    dl_do = 2 * (o - t) if loss_kind == "mse" else (o - t) / np.maximum(o * (1 - o), BCE_EPS)
    do_dz = o * (1 - o)
    delta_o = dl_do * do_dz                       # (N,)
    g_v = delta_o[:, None] * h                    # (N, 2)
    dl_dh = delta_o[:, None] * net.v[None, :]     # (N, 2)
    dh_dz = h * (1 - h)
    delta_h = dl_dh * dh_dz                       # (N, 2)
    g_W = delta_h[:, :, None] * x[:, None, :]     # (N, 2, 2): [n, j, i]
    return XorPass(net, loss_kind, x, t, z_h, h, z_o, o, losses, dl_do, do_dz, delta_o,
                   dl_dh, dh_dz, delta_h, g_W, delta_h.copy(), g_v, delta_o.copy())


def xor_train(net: XorNet, lr: float, steps: int, loss_kind: str = "mse") -> tuple[XorNet, list[float]]:
    """`steps` full-batch gradient-descent steps; returns the new net and the loss before each step."""
    history = []
    for _ in range(steps):
        p = xor_pass(net, loss_kind)
        history.append(p.loss)
        net = p.updated(lr)
    return net, history


def xor_grid(net: XorNet, lo: float = -0.5, hi: float = 1.5, n: int = 61) -> tuple[np.ndarray, np.ndarray]:
    """The network's output o on an n x n grid of (x1, x2): axis values (n,) and o (n, n) [row = x2]."""
    axis = np.linspace(lo, hi, n)
    x1, x2 = np.meshgrid(axis, axis)
    o = xor_forward(net, np.stack([x1.ravel(), x2.ravel()], 1))[3]
    return axis, o.reshape(n, n)


XOR_SEED = 3      # a start that learns XOR in 1,000 steps at lr 2 (some seeds get stuck: try seed 0)


def start_params(seed: int = XOR_SEED) -> list[float]:
    """The XOR network's starting parameters as 9 plain floats (XorNet.NAMES order)."""
    return XorNet.init(seed).flat()
