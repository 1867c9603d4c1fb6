"""Run: the supervised tasks' Steppable (engine.tasks): one model, one optimizer and one
dataset on one device, stepped deterministically.

No threads here: the Trainer drives Runs; the CLI, the benchmark and the tests can drive
one directly. Same spec and seed -> same initial weights, same batches, same numbers.
The step is the plain training loop; `speed` names the one faster way of taking it that
was chosen for this run (SPEED_PATHS), each pinned to the plain loop by equality tests.
"""
from __future__ import annotations

import math
import threading

import numpy as np
import torch

from . import augment as aug
from . import torch_internals as internals
from .build import build_model, infer_shapes
from .data import Dataset, load_dataset
from .device import pick_device
from .early_stop import EarlyStop
from .fastmlp import FastMLP, plan
from .layers import SeededDropout
from .metrics import classification_metrics, regression_metrics
from .optim import LOSSES, make_optimizer, make_scheduler, predict, resolve_loss
from .spec import RunSpec, SpecError
from .tasks import OneOptimizer, problems
from .transfer import Transfer, TransferError, param_groups
from .transfer import apply as apply_transfer

EVAL_CAP = 512                  # live evaluations use at most this many train / test examples
EVAL_BUDGET = 8                 # by default they see at most 1 example per this many trained (see eval_cadence)
MIN_EVALS = 12                  # ... but a run evaluates at least this many times, to draw its curves
GATHER_BYTES = 64 * 2**20       # training sets up to this size are shuffled once per epoch, not per batch
_SEED_LOCK = threading.Lock()   # torch's global RNG seeds the weights: one build at a time
# the faster ways of taking the same step; one is chosen per run (Run.speed)
CLOSED_FORM = "closed-form MLP"     # small plain MLPs on the CPU: gradients written out in numpy (engine/fastmlp.py)
CHANNELS_LAST = "channels-last"     # conv nets on the CPU: N, H, W, C memory, 2-3x faster oneDNN kernels
AUTOGRAD = "autograd"               # everything else: the plain loop as written
SPEED_PATHS = (CLOSED_FORM, CHANNELS_LAST, AUTOGRAD)


class Run(OneOptimizer):
    def __init__(self, spec: RunSpec, data: Dataset | None = None, device: torch.device | None = None,
                 weights: dict[str, torch.Tensor] | None = None):
        """`weights`: spec.transfer.source's state_dict when the caller already has it (the
        few-labels comparison pretrains once); None reads it from the source."""
        self.spec = spec
        self.data = data if data is not None else load_dataset(spec.data, spec.seed)
        if errs := problems(spec, self.data):
            raise SpecError(errs)
        self.device = device or pick_device(spec.device).device
        d = self.data
        self.n_out = d.n_outputs
        with _SEED_LOCK:
            torch.manual_seed(spec.seed)
            self.model = build_model(spec.layers, d.input_shape, spec.init).to(self.device)
        # pretrained layers, frozen ones left out of the optimizer (engine/transfer.py); None: from scratch
        self.transfer: Transfer | None = None
        if spec.transfer.source:
            try:
                self.transfer = apply_transfer(self.model, spec.transfer, weights)
            except TransferError as e:
                raise SpecError([str(e)]) from None
        # conv nets on the CPU keep their images and conv weights channels-last (N, H, W, C in
        # memory): the same numbers to float rounding, and oneDNN's pooling and convolution run
        # 2-3x faster that way; with engine.layers.Flatten, whole steps up to 2x (docs/performance.md)
        nhwc = self.device.type == "cpu" and any(isinstance(m, torch.nn.Conv2d) for m in self.model.modules())
        if nhwc:
            self.model.to(memory_format=torch.channels_last)
        for m in self.model.modules():
            if isinstance(m, SeededDropout):
                m.generator = torch.Generator(self.device).manual_seed(spec.seed + 1)
        self.loss_name = resolve_loss(spec.loss, spec.task, output_units(spec, d))
        self.loss_fn = LOSSES[self.loss_name].fn

        def as_t(a: np.ndarray) -> torch.Tensor:
            t = torch.as_tensor(a, device=self.device)
            return t.contiguous(memory_format=torch.channels_last) if nhwc and t.dim() == 4 else t
        self.x_train, self.y_train = as_t(d.x_train), as_t(d.y_train)   # (N, *input_shape), (N,) | (N, T)
        self.x_test, self.y_test = as_t(d.x_test), as_t(d.y_test)
        self.n_train = len(self.x_train)
        self.batch_size = min(spec.batch_size, self.n_train)
        # BatchNorm cannot normalise a batch of one example: an epoch whose last batch would hold
        # one drops it (that example is in the next epoch's shuffle), as DataLoader's drop_last would
        bn = any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)) for m in self.model.modules())
        self._epoch_end = self.n_train - (bn and self.n_train % self.batch_size == 1)
        self.steps_per_epoch = math.ceil(self._epoch_end / self.batch_size)
        self.total_steps = spec.steps or spec.epochs * self.steps_per_epoch
        n_eval = min(EVAL_CAP, self.n_train) + min(EVAL_CAP, len(self.x_test))
        self.eval_every = spec.eval_every or eval_cadence(self.steps_per_epoch, self.batch_size, n_eval,
                                                          self.total_steps)
        params = self.model.parameters() if self.transfer is None else \
            param_groups(self.model, self.transfer, spec.optim.lr, spec.transfer.body_lr)
        self.opt = make_optimizer(params, spec.optim)
        self.sched = make_scheduler(self.opt, spec.optim, self.steps_per_epoch, self.total_steps)
        self._weights = [p for n, p in self.model.named_parameters() if p.dim() > 1]
        self._gen = torch.Generator().manual_seed(spec.seed)           # batch order
        self._perm = torch.empty(0, dtype=torch.long, device=self.device)
        self._pos = 0
        self.step_count = 0
        # hot-path helpers (see step): the same numbers as the plain calls, less Python per step
        self._gather = self.x_train.nbytes + self.y_train.nbytes <= GATHER_BYTES
        self._x_epoch, self._y_epoch = self.x_train, self.y_train     # this epoch's shuffled copy
        self._params = [p for g in self.opt.param_groups for p in g["params"]]
        self._all_modules = list(self.model.modules())
        self._raw_opt_step = internals.unwrapped(type(self.opt).step)
        # closed-form backprop for plain MLPs on the CPU (engine/fastmlp.py); None: autograd trains it
        self.fast: FastMLP | None = plan(self.model, self.loss_name, self.y_train.dtype)
        # augmentation (engine/augment.py) changes each batch, which the closed form does not see
        self._augment = aug.generator(spec.seed, self.device) if spec.augment.active else None
        if self._augment is not None:
            self.fast = None
        self.last_batch: aug.Batch | None = None      # the batch the last step trained on, before / after
        self.early = EarlyStop(spec.early_stop) if spec.early_stop else None   # engine/early_stop.py
        self.speed = CLOSED_FORM if self.fast is not None else CHANNELS_LAST if nhwc else AUTOGRAD

    # ------------------------------------------------------------ training
    def set_lr(self, lr: float) -> None:
        """Set the learning rate by hand; this replaces any schedule from here on."""
        self.sched = None
        super().set_lr(lr)

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._pos >= self._epoch_end:
            self._pos = 0
        if self._pos == 0:
            self._perm = torch.randperm(self.n_train, generator=self._gen).to(self.device)
            if self._gather:               # one gather per epoch; batches are then cheap slices
                self._x_epoch, self._y_epoch = self.x_train[self._perm], self.y_train[self._perm]
        i, j = self._pos, self._pos + self.batch_size
        self._pos = j
        if self._gather:
            return self._x_epoch[i:j], self._y_epoch[i:j]
        idx = self._perm[i:j]
        return self.x_train[idx], self.y_train[idx]

    def penalty(self) -> torch.Tensor | float:
        """L1 / L2 penalty on the weights (not biases), as TensorFlow Playground adds it."""
        rate, kind = self.spec.reg_rate, self.spec.regularization
        if kind == "none" or rate == 0:
            return 0.0
        if kind == "l1":
            return rate * sum(w.abs().sum() for w in self._weights)
        return rate * sum((w * w).sum() for w in self._weights)

    def step(self) -> torch.Tensor:
        """One gradient step on the next batch; returns the batch loss (without the penalty;
        detached, on device, no sync). Gradients stay in .grad until the next step.

        Same numbers as `model.train(); loss = loss_fn(model(xb), yb); opt.zero_grad();
        (loss + penalty).backward(); opt.step()`, with less Python per step, which is most
        of a step's time for TensorFlow-Playground-sized networks: no train() walk when
        already training, no hook machinery when nothing is hooked, no zero penalty in the
        graph, and the optimizer's own update without its profiling wrapper when it has no
        step hooks (probes add some for one step at a time: then the plain call runs).
        A plain MLP with no module or tensor hooks gets its loss and gradients from
        `self.fast` (closed-form backprop, equal to autograd's to float rounding) instead
        of autograd; the optimizer step is the same either way."""
        if not all(m.training for m in self._all_modules):
            self.model.train()                                       # model.train()
        xb, yb = self._next_batch()
        mix = None
        if self._augment is not None:                                # a changed copy of the batch
            before = xb
            xb, mix = aug.augment(xb, yb, self.spec.augment, self._augment)
            self.last_batch = aug.Batch(before, xb, yb, mix, self.step_count + 1)
        # something watching the pass (hooks, tracing, torch.compile) sees the plain calls
        watched = internals.watched(self._all_modules, self._params)  # checked once per step
        if self.fast is not None and not watched:
            loss = self.fast.loss_and_grads(xb, yb, self.spec.regularization, self.spec.reg_rate)
        else:
            out = self.model(xb) if watched else self._plain_forward(xb)
            loss = self.loss_fn(out, yb) if mix is None else mix.loss(self.loss_fn, out, yb)
            for p in self._params:                                   # opt.zero_grad(set_to_none=True)
                p.grad = None
            penalty = self.penalty()
            total = loss if isinstance(penalty, float) and penalty == 0.0 else loss + penalty
            internals.backward(total)                                # (loss + penalty).backward()
            loss = loss.detach()
        if self.step_count == 0 or internals.optimizer_hooked(self.opt):
            self.opt.step()                                          # the first one marks it for schedulers
        else:
            with torch.no_grad():
                self._raw_opt_step(self.opt)                         # opt.step()
        if self.sched is not None and self.step_count < self.total_steps:
            self.sched.step()
        self.step_count += 1
        return loss

    def _plain_forward(self, x: torch.Tensor) -> torch.Tensor:
        """model(x) when nothing is hooked: each layer's forward called directly, without
        __call__'s hook machinery (nested modules still go through __call__)."""
        for layer in self.model:
            x = layer.forward(x)
        return x

    # ------------------------------------------------------------ evaluation
    @torch.no_grad()
    def outputs(self, x: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        if any(m.training for m in self._all_modules):
            self.model.eval()
        if len(x) <= chunk:
            return self.model(x)
        return torch.cat([self.model(x[i:i + chunk]) for i in range(0, len(x), chunk)])

    @torch.no_grad()
    def predict_proba(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """Class probabilities (N, C) for classification, predictions (N, T) for regression."""
        out = self.outputs(torch.as_tensor(x, dtype=torch.float32, device=self.device))
        if self.spec.task == "regression":
            return out.cpu().numpy()
        return predict(self.loss_name, out).cpu().numpy()

    @torch.no_grad()
    def _score(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        out = self.outputs(x)
        scores = {"loss": float(self.loss_fn(out, y))}
        if self.spec.task == "regression":
            return scores | regression_metrics(y, out)
        pred = predict(self.loss_name, out).argmax(-1)
        return scores | classification_metrics(y, pred, len(self.data.class_names))

    def evaluate(self, full: bool = False) -> dict:
        """Loss and metrics on train and test: keys train_loss, test_acc, test_confusion, ...
        Live evaluations use the first EVAL_CAP examples of each split; `full` uses all."""
        cap = None if full else EVAL_CAP
        tr = self._score(self.x_train[:cap], self.y_train[:cap])
        te = self._score(self.x_test[:cap], self.y_test[:cap])
        return {"step": self.step_count, "epoch": round(self.epoch, 4), "lr": self.lr,
                **{f"train_{k}": v for k, v in tr.items()}, **{f"test_{k}": v for k, v in te.items()}}

    def stop_early(self, row: dict) -> str:
        """Early stopping's turn after one of the run's own evaluations (the Trainer's, at fixed
        steps; evaluate() itself changes nothing): '' to go on, or, when the run ends here, the
        sentence saying so, with the best evaluation's weights already back (engine/early_stop.py)."""
        if self.early is None or not self.early.update(row["test_loss"], row["step"], self.model):
            return ""
        return self.early.message


# ---------------------------------------------------------------- helpers
def eval_cadence(steps_per_epoch: int, batch_size: int, n_eval: int, total_steps: int) -> int:
    """Default steps between live evaluations of `n_eval` examples: once per epoch (at most
    every 100 steps), or less often where that would evaluate more than 1 example per
    EVAL_BUDGET trained (a forward pass costs ~0.4 of a training step per example, so
    evaluations then take under 5% of the time); and at least MIN_EVALS times per run."""
    budget = max(min(steps_per_epoch, 100), math.ceil(EVAL_BUDGET * n_eval / batch_size))
    return max(1, min(budget, math.ceil(total_steps / MIN_EVALS)))


def output_units(spec: RunSpec, data: Dataset) -> int:
    """Size of the network's output for a spec that fits its data."""
    return infer_shapes(spec.layers, data.input_shape)[-1].out_shape[0]
