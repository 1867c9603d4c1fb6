"""Run: one model, one optimizer and one dataset on one device, stepped deterministically.

No threads here: the Trainer drives Runs; the CLI, the benchmark and the tests can drive
one directly. Same spec and seed -> same initial weights, same batches, same numbers.
"""
from __future__ import annotations

import functools
import math
import threading

import numpy as np
import torch

from .build import build_model, check, infer_shapes
from .data import Dataset, make_dataset
from .device import pick_device
from .layers import SeededDropout
from .metrics import classification_metrics, regression_metrics
from .optim import LOSSES, make_optimizer, make_scheduler, predict, resolve_loss
from .spec import RunSpec, SpecError

EVAL_CAP = 512                  # live evaluations use at most this many train / test examples
_SEED_LOCK = threading.Lock()   # torch's global RNG seeds the weights: one build at a time


@functools.lru_cache(maxsize=8)
def load_dataset(data_spec, seed: int) -> Dataset:
    """make_dataset, cached: the page, the trainer and the arena share one copy (read-only)."""
    return make_dataset(data_spec, seed)


def problems(spec: RunSpec, data: Dataset | None = None) -> list[str]:
    """Everything that stops this spec from training, as sentences (empty = fine)."""
    from .data import DATASETS, DataError
    try:
        data = data or load_dataset(spec.data, spec.seed)
    except DataError as e:
        return [f"data: {e}"]
    task = DATASETS[spec.data.name].task
    return check(spec, data.input_shape, data.n_outputs, data.task if task == "any" else task)


class Run:
    def __init__(self, spec: RunSpec, data: Dataset | None = None, device: torch.device | None = None):
        self.spec = spec
        self.data = data if data is not None else load_dataset(spec.data, spec.seed)
        if errs := problems(spec, self.data):
            raise SpecError(errs)
        self.device = device or pick_device(spec.device).device
        d = self.data
        self.n_out = d.n_outputs
        with _SEED_LOCK:
            torch.manual_seed(spec.seed)
            self.model = build_model(spec.layers, d.input_shape).to(self.device)
        for m in self.model.modules():
            if isinstance(m, SeededDropout):
                m.generator = torch.Generator(self.device).manual_seed(spec.seed + 1)
        self.loss_name = resolve_loss(spec.loss, spec.task, output_units(spec, d))
        self.loss_fn = LOSSES[self.loss_name].fn
        as_t = lambda a: torch.as_tensor(a, device=self.device)
        self.x_train, self.y_train = as_t(d.x_train), as_t(d.y_train)   # (N, *input_shape), (N,) | (N, T)
        self.x_test, self.y_test = as_t(d.x_test), as_t(d.y_test)
        self.n_train = len(self.x_train)
        self.batch_size = min(spec.batch_size, self.n_train)
        self.steps_per_epoch = math.ceil(self.n_train / self.batch_size)
        self.total_steps = spec.steps or spec.epochs * self.steps_per_epoch
        self.eval_every = spec.eval_every or min(self.steps_per_epoch, 100)
        self.opt = make_optimizer(self.model.parameters(), spec.optim)
        self.sched = make_scheduler(self.opt, spec.optim, self.steps_per_epoch, self.total_steps)
        self._weights = [p for n, p in self.model.named_parameters() if p.dim() > 1]
        self._gen = torch.Generator().manual_seed(spec.seed)           # batch order
        self._perm = torch.empty(0, dtype=torch.long, device=self.device)
        self._pos = 0
        self.step_count = 0

    # ------------------------------------------------------------ training
    @property
    def epoch(self) -> float:
        return self.step_count / self.steps_per_epoch

    @property
    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]

    def set_lr(self, lr: float) -> None:
        """Set the learning rate by hand; this replaces any schedule from here on."""
        self.sched = None
        for g in self.opt.param_groups:
            g["lr"] = lr

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._pos >= self.n_train:
            self._pos = 0
        if self._pos == 0:
            self._perm = torch.randperm(self.n_train, generator=self._gen).to(self.device)
        idx = self._perm[self._pos:self._pos + self.batch_size]
        self._pos += self.batch_size
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
        """One gradient step on the next batch; returns the batch loss (detached, on device,
        no sync). Gradients stay in .grad until the next step."""
        self.model.train()
        xb, yb = self._next_batch()
        loss = self.loss_fn(self.model(xb), yb)
        self.opt.zero_grad(set_to_none=True)
        (loss + self.penalty()).backward()
        self.opt.step()
        if self.sched is not None and self.step_count < self.total_steps:
            self.sched.step()
        self.step_count += 1
        return loss.detach()

    # ------------------------------------------------------------ evaluation
    @torch.no_grad()
    def outputs(self, x: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        self.model.eval()
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


def output_units(spec: RunSpec, data: Dataset) -> int:
    """Size of the network's output for a spec that fits its data."""
    return infer_shapes(spec.layers, data.input_shape)[-1].out_shape[0]
