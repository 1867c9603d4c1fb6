"""Task registry: a kind of training (classification, regression; later sequence models,
GANs, autoencoders, distillation ...) as one entry that builds a Steppable from a spec.

A task owns how its run is built, what one step does, what an evaluation measures, which
networks the spec must name, the default networks for a dataset, and which live views it
offers. The Trainer drives anything that follows `Steppable` and knows nothing of tasks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

import torch

from ..data import DATASETS, DataError, Dataset, load_dataset
from ..device import pick_device
from ..schema import Registry
from ..spec import MAIN, RunSpec, SpecError

if TYPE_CHECKING:
    from ..spec import LayerSpec


class Steppable(Protocol):
    """What the Trainer drives: one run of any task, stepped deterministically."""
    step_count: int              # steps taken
    total_steps: int             # the run is done after this many
    steps_per_epoch: int
    eval_every: int              # steps between evaluations
    batch_size: int              # examples per step (for examples/s)

    @property
    def epoch(self) -> float: ...
    @property
    def lr(self) -> float: ...
    def set_lr(self, lr: float) -> None: ...

    def step(self) -> torch.Tensor:
        """One training step; returns its loss, detached (it may stay on the device, unsynced)."""

    def evaluate(self, full: bool = False) -> dict:
        """step, epoch, lr and the task's numbers; every key ending in 'loss' is a finite
        float while the run is healthy (the Trainer pauses the run otherwise)."""


class OneOptimizer:
    """epoch, lr and set_lr for a Steppable that trains with one optimizer, `self.opt`."""
    opt: torch.optim.Optimizer
    step_count: int
    steps_per_epoch: int

    @property
    def epoch(self) -> float:
        return self.step_count / self.steps_per_epoch

    @property
    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]

    def set_lr(self, lr: float) -> None:
        """Every param group at lr, times its `lr_scale` where it has one (pretrained layers
        fine-tuned at a share of it, engine/transfer.py)."""
        for g in self.opt.param_groups:
            g["lr"] = lr * g.get("lr_scale", 1.0)


class SeveralOptimizers:
    """epoch, lr and set_lr for a Steppable whose networks train with one optimizer each,
    `self.optimizers` in role order (lr reads the first; set_lr sets them all, the pages set each
    network's own when they build the run); and `next_batch(x)`: one shuffled pass over the rows of
    x after another, `self.batch_size` at a time, ordered by `self._gen`."""
    optimizers: tuple[torch.optim.Optimizer, ...]
    step_count: int
    steps_per_epoch: int
    batch_size: int
    device: torch.device
    _gen: torch.Generator
    _perm: torch.Tensor | None = None
    _pos: int = 0

    @property
    def epoch(self) -> float:
        return self.step_count / self.steps_per_epoch

    @property
    def lr(self) -> float:
        return self.optimizers[0].param_groups[0]["lr"]

    def set_lr(self, lr: float) -> None:
        for opt in self.optimizers:
            for group in opt.param_groups:
                group["lr"] = lr

    def next_batch(self, x: torch.Tensor) -> torch.Tensor:
        if self._perm is None or self._pos >= len(x):
            self._perm, self._pos = torch.randperm(len(x), generator=self._gen).to(self.device), 0
        idx = self._perm[self._pos:self._pos + self.batch_size]
        self._pos += self.batch_size
        return x[idx]


@dataclass(frozen=True)
class Score:
    """A task's headline number, evaluated on both splits as `train_<key>` and `test_<key>`."""
    key: str                                    # "acc": the evaluation's columns train_acc, test_acc
    name: str                                   # "accuracy", shown on the pages
    percent: bool                               # shown as a percentage (0-100%)
    help: str                                   # one sentence for a tooltip or caption

    def text(self, value: float | None, digits: int = 1) -> str:
        """The value as the pages show it: '97.0%' or '0.953' (digits + 2 decimals); '—' if missing."""
        if value is None or not math.isfinite(value):
            return "—"
        return f"{value:.{digits}%}" if self.percent else f"{value:.{digits + 2}f}"


View = Callable[[Any], Any]        # a Steppable -> a typed record (engine.records) the pages draw, or None


@dataclass(frozen=True)
class Task:
    name: str                                   # stored in specs: "classification"
    label: str                                  # shown in the UI
    help: str
    data_task: str                              # the datasets it trains on: classification | regression | any
    build: Callable[[RunSpec, Dataset, torch.device], Steppable]
    check: Callable[[RunSpec, Dataset], list[str]]   # every problem of the spec on this data
    default_networks: Callable[[Dataset, str], dict[str, tuple["LayerSpec", ...]]]   # (data, group) -> role: layers
    roles: tuple[str, ...] = (MAIN,)            # the networks its spec names, main first
    refit: Callable[[tuple, Dataset], tuple] = lambda layers, data: layers   # the main network, sized for new data
    views: Callable[[], dict[str, View]] = field(default=lambda: {})   # live views it offers
    export: Callable[[RunSpec], str] | None = None   # a standalone PyTorch script for the spec
    score: Score | None = None                  # its headline number besides the loss, if any
    regularised: bool = False                   # spec.augment and spec.early_stop apply (its runs are engine.run.Run's)

    @property
    def losses(self) -> tuple[str, ...]:
        """The names spec.loss may take: auto and the loss registry's entries for this task."""
        from ..optim import LOSSES
        return ("auto", *(n for n, loss in LOSSES.items() if self.name in loss.tasks))


TASKS: Registry[Task] = Registry("task")
register = TASKS.register


def data_task(spec: RunSpec, data: Dataset) -> str:
    """What the spec's dataset asks for: its registry entry's task, or the data's own for
    datasets that can be either (a CSV file)."""
    task = DATASETS[spec.data.name].task
    return data.task if task == "any" else task


def problems(spec: RunSpec, data: Dataset | None = None) -> list[str]:
    """Everything that stops this spec from training, as sentences (empty = fine)."""
    try:
        data = data or load_dataset(spec.data, spec.seed)
    except DataError as e:
        return [f"data: {e}"]
    task = TASKS[spec.task]
    return task.check(spec, data) + regularisation_problems(spec, task, data)


def regularisation_problems(spec: RunSpec, task: Task, data: Dataset) -> list[str]:
    """Why the spec's augmentation or early stopping cannot apply to this task and data."""
    from ..augment import problems as augment_problems
    if task.regularised:
        return augment_problems(spec.augment, data.input_shape, data.token_input)
    out = []
    if spec.augment.active:
        out.append(f"augment: the {task.label} task trains on the data as they are; set every augmentation to 0")
    if spec.early_stop:
        out.append(f"early_stop: the {task.label} task trains to its last step; set early_stop to 0")
    return out


def build_run(spec: RunSpec, data: Dataset | None = None, device: torch.device | None = None) -> Steppable:
    """The Steppable of the spec's task (raises SpecError when the spec cannot train)."""
    data = data if data is not None else load_dataset(spec.data, spec.seed)
    if errs := problems(spec, data):
        raise SpecError(errs)
    return TASKS[spec.task].build(spec, data, device or pick_device(spec.device).device)


def task_for(spec: RunSpec, data: Dataset) -> str:
    """The spec's task, or, when its dataset asks for another kind of target, the registered
    task with the same networks that trains on that kind."""
    want, task = data_task(spec, data), TASKS[spec.task]
    if task.data_task in (want, "any"):
        return task.name
    return next((t.name for t in TASKS.values() if t.data_task == want and t.roles == task.roles), task.name)


from . import supervised, language, gan, autoencoder, rotation  # noqa: E402,F401  (register classification, regression,
#                                                      language_model, gan, autoencoder, rotation)
