"""Closed-form gradients for small plain MLPs on the CPU: backprop written out in numpy.

In a TensorFlow-Playground-sized network (2-4-2-1, batch 10) every op computes next to
nothing, so the cost of a step is the cost of calling ops: autograd records a graph and
replays it backwards in its engine, and each torch op pays 3-5 µs of Python and dispatcher
time on a small CPU (a bare torch loop: about 2,000 steps/s here). A stack of Linear layers
and elementwise activations has a backward pass short enough to write out by hand, and
numpy, which shares the tensors' memory (`Tensor.numpy()` is a view, not a copy), calls an
op for about a third of torch's cost. From g = dLoss/dOutput, from the last layer to the first:

    Linear      z = h Wᵀ + b     dW = gᵀ h,   db = Σ_batch g,   g ← g W
    activation  y = f(z)         g ← g ⊙ f'(z)     (tanh' = 1 - y², σ' = y (1 - y), ...)

and the output gradients of the mean losses over a batch of B examples are

    bce             (σ(out) - y) / B
    cross_entropy   (softmax(out) - onehot(y)) / B
    mse             2 (out - y) / out.size     (class labels: one-hot y; -1 / +1 for one output)

plus the penalty's gradient on the weights: rate·sign(W) for L1, 2·rate·W for L2.
That is the arithmetic autograd does. The weights stay torch parameters and the update is
torch's own optimizer step: only the gradients are computed here, into the `.grad`
tensors. `plan` accepts only such stacks and losses, on the CPU, and only while the matrices
are small enough that calling ops, not arithmetic, sets the pace; anything else (conv,
dropout, batch norm, a GPU, a wide layer, ...) gets None and trains through autograd.
tests/test_fastmlp.py pins the losses and gradients to torch.autograd's on random networks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

SMALL = 2**16           # largest weight matrix (in × out) taken: beyond, arithmetic sets the pace

Forward = Callable[[np.ndarray], np.ndarray]
Derivative = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = (1 + tanh(z/2)) / 2: the logistic function without exp's overflow."""
    return np.tanh(z * 0.5) * 0.5 + 0.5


def _activation(m: nn.Module) -> tuple[Forward, Derivative] | None:
    """(z -> y = f(z), (g, z, y) -> g ⊙ f'(z)) in numpy for an activation module, or None
    for any other module. g is a fresh array that may be overwritten."""
    t = type(m)
    if t is nn.Tanh:
        return np.tanh, lambda g, z, y: np.multiply(g, 1 - y * y, out=g)            # tanh' = 1 - y²
    if t is nn.Sigmoid:
        return _sigmoid, lambda g, z, y: np.multiply(g, y - y * y, out=g)              # σ' = σ (1 - σ)
    if t is nn.ReLU:
        return (lambda z: np.maximum(z, 0)), lambda g, z, y: np.multiply(g, z > 0, out=g)
    if t is nn.LeakyReLU:
        a = m.negative_slope
        return (lambda z: np.where(z > 0, z, z * a)), lambda g, z, y: np.where(z > 0, g, g * a)
    if t is nn.ELU:                                                   # α (e^z - 1) below 0
        a = m.alpha
        return ((lambda z: np.where(z > 0, z, a * np.expm1(np.minimum(z, 0)))),
                lambda g, z, y: np.where(z > 0, g, g * (a * np.exp(np.minimum(z, 0)))))
    return None


@dataclass(frozen=True)
class _Layer:
    """One layer: a Linear's own parameters, or an activation's numpy forward and derivative."""
    weight: nn.Parameter | None = None                 # Linear: (O, I)
    bias: nn.Parameter | None = None                   # Linear: (O,) or None
    forward: Forward | None = None                     # activation: z -> y
    derivative: Derivative | None = None               # activation: (g, z, y) -> g ⊙ f'(z)


class FastMLP:
    """Loss and gradients of one nn.Sequential MLP, computed in closed form (see `plan`)."""

    def __init__(self, layers: list[_Layer], loss_name: str, n_out: int):
        self.layers = layers
        self.first = next(i for i, l in enumerate(layers) if l.weight is not None)   # first Linear
        self.loss_name = loss_name
        self.n_out = n_out
        self._eye = np.eye(n_out, dtype=np.float32)                  # (C, C): rows are one-hot targets
        self._params = [p for l in layers for p in (l.weight, l.bias) if p is not None]
        self._bound: list[tuple] = []                                # (param, its .grad, data pointer)
        self._arrays: list[tuple | None] = []                        # per layer, see _bind

    def _bind(self) -> list[tuple | None]:
        """Per layer, numpy views (the same memory) of a Linear's weight, bias and their .grad
        tensors, or None for an activation. The optimizer updates the parameters in place
        and loss_and_grads writes the gradients in place, so the views are made once, and
        again only when a tensor was replaced: after an autograd step (which leaves new
        .grad tensors) or a `param.data = ...`."""
        if self._bound and all(p.grad is g and p.data_ptr() == ptr for p, g, ptr in self._bound):
            return self._arrays
        for p in self._params:
            p.grad = torch.zeros_like(p)
        self._bound = [(p, p.grad, p.data_ptr()) for p in self._params]
        view = lambda t: None if t is None else t.detach().numpy()
        self._arrays = [None if l.weight is None else (view(l.weight), view(l.bias), view(l.weight.grad),
                                                       None if l.bias is None else view(l.bias.grad))
                        for l in self.layers]
        return self._arrays

    def loss_and_grads(self, x: torch.Tensor, y: torch.Tensor, regularization: str = "none",
                       rate: float = 0.0) -> torch.Tensor:
        """The mean batch loss `loss_fn(model(x), y)` (the data loss, without the penalty;
        a 0-dim tensor) and every parameter's .grad of loss + penalty, the numbers
        `zero_grad()` and `(loss + penalty).backward()` leave. The penalty (regularization
        none | l1 | l2 times rate) is on the weights only, as Run.penalty."""
        # no overflow warnings: a diverging run's loss becomes inf or NaN, and the trainer stops it
        with np.errstate(all="ignore"):
            return self._loss_and_grads(x, y, regularization, rate)

    def _loss_and_grads(self, x: torch.Tensor, y: torch.Tensor, regularization: str,
                        rate: float) -> torch.Tensor:
        arrays = self._bind()
        hs = [x.numpy()]                                             # hs[i] enters layer i, hs[i+1] leaves it
        for layer, a in zip(self.layers, arrays):
            if a is None:
                hs.append(layer.forward(hs[-1]))
                continue
            z = hs[-1] @ a[0].T                                      # (B, O) = h Wᵀ
            if a[1] is not None:
                z += a[1]                                            # + b
            hs.append(z)
        loss, g = self._loss_and_output_grad(hs[-1], y.numpy())     # g = dLoss/dout (B, O)
        for i in range(len(self.layers) - 1, self.first - 1, -1):
            if arrays[i] is None:
                g = self.layers[i].derivative(g, hs[i], hs[i + 1])   # (B, units)
                continue
            w, b, dw, db = arrays[i]
            np.matmul(g.T, hs[i], out=dw)                            # (O, I): Σ_batch g ⊗ h
            if regularization == "l1" and rate:
                dw += rate * np.sign(w)                              # sign(0) = 0, as autograd's |w|'
            elif regularization == "l2" and rate:
                dw += (2 * rate) * w
            if db is not None:
                np.add.reduce(g, 0, out=db)                          # (O,): Σ_batch g
            if i > self.first:
                g = g @ w                                            # (B, I)
        return torch.from_numpy(np.asarray(loss, dtype=np.float32))

    def _loss_and_output_grad(self, out: np.ndarray, y: np.ndarray) -> tuple[np.floating, np.ndarray]:
        """The mean loss and dLoss/dout (B, O), for the targets the datasets give: class
        labels (B,) int64, or regression targets (B, T) float."""
        if self.loss_name == "bce":                                  # out (B, 1), y (B,) in {0, 1}
            z, y = out[:, 0], y.astype(out.dtype)
            loss = (np.logaddexp(0, z) - z * y).sum() / len(z)          # softplus(z) - z y
            return loss, ((_sigmoid(z) - y) / len(z))[:, None]
        if y.dtype == np.int64 and self.n_out == 1:
            target = (2 * y - 1).astype(out.dtype)[:, None]          # (B, 1): -1 / +1, one output
        else:
            target = self._eye[y] if y.dtype == np.int64 else y      # (B, O)
        if self.loss_name == "cross_entropy":
            s = out - out.max(1, keepdims=True)                      # log-softmax, shifted for exp
            e = np.exp(s)
            total = e.sum(1, keepdims=True)
            loss = -(target * (s - np.log(total))).sum() / len(out)
            return loss, (e / total - target) / len(out)
        d = out - target                                             # mse
        return (d * d).sum() / d.size, d * (2 / d.size)


def plan(model: nn.Module, loss_name: str, target_dtype: torch.dtype) -> FastMLP | None:
    """A FastMLP for `model` trained with LOSSES[loss_name] on targets of `target_dtype`,
    or None when the closed form does not cover it (then autograd trains it): the model
    must be an nn.Sequential of nn.Linear, Tanh, Sigmoid, ReLU, LeakyReLU, ELU and Identity
    (exactly these classes, none in place), with at least one Linear, every parameter
    trainable, float32 on the CPU, and no weight matrix larger than SMALL; BCE needs one
    output unit, cross-entropy class labels."""
    if type(model) is not nn.Sequential or loss_name not in ("bce", "cross_entropy", "mse"):
        return None
    linears = [m for m in model if type(m) is nn.Linear]
    params = list(model.parameters())
    if not linears or not all(p.requires_grad and p.device.type == "cpu" and p.dtype == torch.float32
                              for p in params) or max(m.weight.numel() for m in linears) > SMALL:
        return None
    layers = []
    for m in model:
        activation = _activation(m)
        if type(m) is nn.Linear:
            layers.append(_Layer(m.weight, m.bias))
        elif activation is not None and not getattr(m, "inplace", False):
            layers.append(_Layer(forward=activation[0], derivative=activation[1]))
        elif type(m) is not nn.Identity:
            return None
    n_out = linears[-1].out_features
    if loss_name == "bce" and n_out != 1 or loss_name == "cross_entropy" and target_dtype != torch.long:
        return None
    return FastMLP(layers, loss_name, n_out)
