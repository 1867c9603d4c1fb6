"""Closed-form gradients for plain MLPs: backprop written out, without autograd's per-op cost.

In a TensorFlow-Playground-sized network (2-4-2-1, batch 10) every tensor op computes next
to nothing and costs microseconds of Python and dispatcher time; autograd adds more to
each op (it records the graph, then replays it backwards in its engine), and that
overhead, not arithmetic, sets the pace (a bare loop: about 1,400 steps/s on one core). A stack
of Linear layers and elementwise activations has a backward pass short enough to write
out by hand. From g = dLoss/dOutput, layer by layer from the last to the first:

    Linear      z = h Wᵀ + b     dW = gᵀ h,   db = Σ_batch g,   g ← g W
    activation  y = f(z)         g ← g ⊙ f'(z)     (tanh' = 1 - y², σ' = y (1 - y), ...)

and the output gradients of the mean losses over a batch of B examples are

    bce             (σ(out) - y) / B
    cross_entropy   (softmax(out) - onehot(y)) / B
    mse             2 (out - y) / out.numel()

plus the penalty's gradient on the weights: rate·sign(W) for L1, 2·rate·W for L2.
That is the arithmetic autograd does, in fewer ops and with no graph. `plan` accepts only
such stacks and losses; anything else (conv, dropout, batch norm, flatten, ...) gets None
and trains through autograd. tests/test_fastmlp.py pins the losses and gradients to
torch.autograd's on random networks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .optim import LOSSES

Derivative = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _derivative(m: nn.Module, one: torch.Tensor) -> Derivative | None:
    """(g, z, y) -> g ⊙ f'(z) for an activation module y = f(z), or None for any other
    module. g is a fresh tensor that may be overwritten; `one` is a 0-dim 1 on the
    model's device. addcmul(a, b, c, value=-1) = a - b·c in one op (each op counts here)."""
    t = type(m)
    if t is nn.Tanh:
        return lambda g, z, y: g.mul_(torch.addcmul(one, y, y, value=-1))   # tanh' = 1 - y²
    if t is nn.Sigmoid:
        return lambda g, z, y: g.mul_(torch.addcmul(y, y, y, value=-1))     # σ' = σ (1 - σ) = y - y²
    if t is nn.ReLU:
        return lambda g, z, y: g.masked_fill_(y <= 0, 0)             # 1 where the unit is on
    if t is nn.LeakyReLU:
        a = m.negative_slope
        return lambda g, z, y: torch.where(z > 0, g, g * a)          # slope a below 0
    if t is nn.ELU:
        a = m.alpha
        return lambda g, z, y: torch.where(z > 0, g, g * a * z.exp())  # α e^z below 0
    return None


@dataclass(frozen=True)
class _Layer:
    """One layer, with the module's own parameters held directly (module attribute access
    goes through nn.Module.__getattr__, a cost per step worth avoiding at this size)."""
    forward: Callable[[torch.Tensor], torch.Tensor]    # the module's forward
    weight: nn.Parameter | None = None                 # Linear: (O, I)
    bias: nn.Parameter | None = None                   # Linear: (O,) or None
    derivative: Derivative | None = None               # activation: (g, z, y) -> g ⊙ f'(z)


class FastMLP:
    """Loss and gradients of one nn.Sequential MLP, computed in closed form (see `plan`)."""

    def __init__(self, layers: list[_Layer], loss_name: str, eye: torch.Tensor):
        self.layers = layers
        self.first = next(i for i, l in enumerate(layers) if l.weight is not None)   # first Linear
        self.loss_name = loss_name
        self.loss_fn = LOSSES[loss_name].fn
        self._eye = eye                                              # (C, C): rows are one-hot targets

    def loss_and_grads(self, x: torch.Tensor, y: torch.Tensor, regularization: str = "none",
                       rate: float = 0.0) -> torch.Tensor:
        """The mean batch loss `loss_fn(model(x), y)` (the data loss, without the penalty;
        0-dim, no graph) and every parameter's fresh .grad of loss + penalty, the numbers
        `zero_grad(set_to_none=True)` and `(loss + penalty).backward()` leave. The penalty
        (regularization none | l1 | l2 times rate) is on the weights only, as Run.penalty.
        No device sync."""
        with torch.no_grad():
            hs = [x]                                                 # hs[i] enters layer i, hs[i+1] leaves it
            for layer in self.layers:
                hs.append(layer.forward(hs[-1]))
            loss, g = self._loss_and_output_grad(hs[-1], y)          # g = dLoss/dout (B, O)
            l1 = rate if regularization == "l1" else 0.0
            l2 = rate if regularization == "l2" else 0.0
            for i in range(len(self.layers) - 1, self.first - 1, -1):
                layer, h = self.layers[i], hs[i]
                w = layer.weight                                     # (O, I)
                if w is None:
                    g = layer.derivative(g, h, hs[i + 1])            # (B, units)
                    continue
                if l1:
                    w.grad = torch.addmm(w.sign(), g.t(), h, beta=l1)    # gᵀh + rate·sign(W); sign(0) = 0
                elif l2:
                    w.grad = torch.addmm(w, g.t(), h, beta=2 * l2)       # gᵀh + 2·rate·W
                else:
                    w.grad = g.t().mm(h)                             # (O, I): Σ_batch g ⊗ h
                if layer.bias is not None:
                    layer.bias.grad = g.sum(0)                       # (O,)
                if i > self.first:
                    g = g.mm(w)                                      # (B, I)
        return loss

    def _loss_and_output_grad(self, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean loss and dLoss/dout (B, O), for the targets the datasets give: class
        labels (B,) int64, or regression targets (B, T) float."""
        if self.loss_name == "bce":                                  # out (B, 1), y (B,) in {0, 1}
            y = y.to(out.dtype)                                      # the loss casts it too: once is enough
            return self.loss_fn(out, y), (torch.sigmoid(out) - y.unsqueeze(-1)).div_(out.numel())
        loss = self.loss_fn(out, y)
        target = self._eye.index_select(0, y) if y.dtype == torch.long else y   # (B, O)
        if self.loss_name == "cross_entropy":
            return loss, (torch.softmax(out, -1) - target).div_(len(out))
        return loss, (out - target).mul_(2 / out.numel())           # mse


def plan(model: nn.Module, loss_name: str, target_dtype: torch.dtype) -> FastMLP | None:
    """A FastMLP for `model` trained with LOSSES[loss_name] on targets of `target_dtype`,
    or None when the closed form does not cover it (then autograd trains it): the model
    must be an nn.Sequential of nn.Linear, Tanh, Sigmoid, ReLU, LeakyReLU, ELU and Identity
    (exactly these classes, none in place), with at least one Linear and every parameter
    trainable; BCE needs one output unit, cross-entropy class labels."""
    if type(model) is not nn.Sequential or loss_name not in ("bce", "cross_entropy", "mse"):
        return None
    linears = [m for m in model if type(m) is nn.Linear]
    if not linears or not all(p.requires_grad for p in model.parameters()):
        return None
    like = linears[0].weight                                         # dtype and device of the model
    one = torch.ones((), dtype=like.dtype, device=like.device)
    layers = []
    for m in model:
        derivative = _derivative(m, one)
        if type(m) is nn.Linear:
            w, b = m.weight, m.bias
            layers.append(_Layer(lambda h, w=w, b=b: F.linear(h, w, b), w, b))   # nn.Linear.forward
        elif derivative is not None and not getattr(m, "inplace", False):
            layers.append(_Layer(m.forward, derivative=derivative))
        elif type(m) is not nn.Identity:
            return None
    n_out = linears[-1].out_features
    if loss_name == "bce" and n_out != 1 or loss_name == "cross_entropy" and target_dtype != torch.long:
        return None
    return FastMLP(layers, loss_name, torch.eye(n_out, dtype=like.dtype, device=like.device))
