"""Optimizer, learning-rate schedule and loss registries: names in the spec -> torch objects."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from .schema import Registry

if TYPE_CHECKING:
    from .spec import OptimSpec                 # types only: the spec reads this registry when it parses


@dataclass(frozen=True)
class OptimizerInfo:
    name: str
    label: str
    make: Callable[[Iterable[nn.Parameter], OptimSpec], torch.optim.Optimizer]
    uses: tuple[str, ...]          # OptimSpec fields this optimizer reads (the UI shows these)
    help: str
    code: Callable[[OptimSpec, str], str]   # (spec, params expression) -> the export's constructor
    color: str                     # its colour on every chart


OPTIMIZERS: Registry[OptimizerInfo] = Registry("optimizer")
register_optimizer = OPTIMIZERS.register


def _reg(name, label, make, uses, help, code, color):
    register_optimizer(OptimizerInfo(name, label, make, ("lr",) + uses, help, code, color))


_reg("sgd", "SGD", lambda p, o: torch.optim.SGD(
    p, o.lr, momentum=o.momentum, nesterov=o.nesterov and o.momentum > 0, weight_decay=o.weight_decay),
    ("momentum", "nesterov", "weight_decay"),
    "Steps straight down the gradient; momentum carries speed along steady directions.",
    lambda o, p: f"torch.optim.SGD({p}, lr={o.lr}, momentum={o.momentum}, "
                 f"nesterov={o.nesterov and o.momentum > 0}, weight_decay={o.weight_decay})", "#1f77b4")
_reg("adagrad", "Adagrad", lambda p, o: torch.optim.Adagrad(p, o.lr, weight_decay=o.weight_decay),
     ("weight_decay",), "Divides each weight's step by the root of its summed squared gradients.",
     lambda o, p: f"torch.optim.Adagrad({p}, lr={o.lr}, weight_decay={o.weight_decay})", "#2ca02c")
_reg("adadelta", "Adadelta", lambda p, o: torch.optim.Adadelta(p, o.lr, weight_decay=o.weight_decay),
     ("weight_decay",), "Adagrad with a decaying window; the classic runs with lr=1.",
     lambda o, p: f"torch.optim.Adadelta({p}, lr={o.lr}, weight_decay={o.weight_decay})", "#8c564b")
_reg("rmsprop", "RMSprop", lambda p, o: torch.optim.RMSprop(
    p, o.lr, momentum=o.momentum, weight_decay=o.weight_decay), ("momentum", "weight_decay"),
    "Divides steps by a running root-mean-square of recent gradients.",
    lambda o, p: f"torch.optim.RMSprop({p}, lr={o.lr}, momentum={o.momentum}, weight_decay={o.weight_decay})",
    "#9467bd")
_reg("adam", "Adam", lambda p, o: torch.optim.Adam(
    p, o.lr, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay), ("beta1", "beta2", "weight_decay"),
    "Momentum plus per-weight step sizes; a strong default.",
    lambda o, p: f"torch.optim.Adam({p}, lr={o.lr}, betas=({o.beta1}, {o.beta2}), weight_decay={o.weight_decay})",
    "#d62728")
_reg("adamw", "AdamW", lambda p, o: torch.optim.AdamW(
    p, o.lr, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay), ("beta1", "beta2", "weight_decay"),
    "Adam with weight decay applied directly to the weights (decoupled).",
    lambda o, p: f"torch.optim.AdamW({p}, lr={o.lr}, betas=({o.beta1}, {o.beta2}), weight_decay={o.weight_decay})",
    "#e377c2")


def make_optimizer(params: Iterable[nn.Parameter], spec: OptimSpec) -> torch.optim.Optimizer:
    """The spec's optimizer, updating all its tensors with torch's multi-tensor ("foreach")
    kernels, on the CPU too (torch's default picks them only for GPU tensors): the same
    arithmetic in one op per update term instead of one per parameter tensor, which is most
    of an update's cost for a small network."""
    opt = OPTIMIZERS[spec.name].make(params, spec)
    for group in opt.param_groups:
        group["foreach"] = True
    return opt


def make_scheduler(opt: torch.optim.Optimizer, spec: OptimSpec, steps_per_epoch: int,
                   total_steps: int):
    """A per-step scheduler for spec.schedule, or None. Epoch-based schedules are expressed
    in steps so every schedule is stepped once per batch."""
    if spec.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, spec.step_size * steps_per_epoch, spec.gamma)
    if spec.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, total_steps))
    if spec.schedule == "onecycle":
        max_lr = [spec.lr * g.get("lr_scale", 1.0) for g in opt.param_groups]   # groups keep their lr ratio
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr, total_steps=max(2, total_steps))
    return None


SCHEDULE_CODE = {            # spec.schedule -> the export's scheduler (STEPS_PER_EPOCH, TOTAL_STEPS: the script's)
    "none": "None",
    "step": "torch.optim.lr_scheduler.StepLR(opt, {step_size} * STEPS_PER_EPOCH, {gamma})",
    "cosine": "torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, TOTAL_STEPS))",
    "onecycle": "torch.optim.lr_scheduler.OneCycleLR(opt, {lr}, total_steps=max(2, TOTAL_STEPS))",
}


# ---------------------------------------------------------------- losses
@dataclass(frozen=True)
class LossInfo:
    name: str
    label: str
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # (outputs, targets) -> mean loss
    help: str
    code: tuple[str, str, str] = ("", "out", "y")   # export: constructor, outputs and targets expressions
    tasks: tuple[str, ...] = ("classification", "regression")   # the tasks that may use it


def _bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(out.squeeze(-1), y.to(out.dtype))


def _mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if y.dtype == torch.long:                     # classification scored by MSE: on one-hot targets, or
        y = (2 * y - 1).to(out.dtype)[:, None] if out.shape[-1] == 1 \
            else F.one_hot(y, out.shape[-1]).to(out.dtype)   # -1 / +1 for one output (TF Playground's)
    return F.mse_loss(out, y)


LOSSES: Registry[LossInfo] = Registry("loss")
LOSSES.register(LossInfo("cross_entropy", "Cross-entropy (softmax)", F.cross_entropy,
                         "For classes: softmax turns outputs into probabilities; "
                         "the loss is -log of the true class's probability.",
                         ("nn.CrossEntropyLoss()", "out", "y")))
LOSSES.register(LossInfo("bce", "Binary cross-entropy (sigmoid)", _bce,
                         "For two classes with one output: sigmoid gives P(class 1).",
                         ("nn.BCEWithLogitsLoss()", "out.squeeze(-1)", "y.float()")))
LOSSES.register(LossInfo("mse", "Mean squared error", _mse,
                         "For numbers: the average squared distance to the target.",
                         ("nn.MSELoss()", "out", "y")))


def resolve_loss(loss: str, task: str, n_out: int) -> str:
    """The loss 'auto' stands for: BCE for one-output classification, cross-entropy for
    several outputs, MSE for regression, and a task's own loss where it has one."""
    if loss != "auto":
        return loss
    own = [name for name, info in LOSSES.items() if info.tasks == (task,)]
    if own:                                       # a task with a loss of its own (language_model)
        return own[0]
    if task == "regression":
        return "mse"
    return "bce" if n_out == 1 else "cross_entropy"


def predict(loss: str, out: torch.Tensor) -> torch.Tensor:
    """Model outputs -> class probabilities (N, C) for classification losses."""
    if loss == "bce":
        p1 = torch.sigmoid(out.squeeze(-1))
        return torch.stack([1 - p1, p1], -1)
    if loss == "mse" and out.shape[-1] == 1:     # one output trained toward -1 / +1: its sign is the class
        p1 = ((out.squeeze(-1) + 1) / 2).clamp(0, 1)
        return torch.stack([1 - p1, p1], -1)
    return torch.softmax(out, -1)
