"""Learning-rate range test (Leslie Smith, 2015; popularised by fastai's lr_find).

Train a fresh Run of the spec for a few hundred steps while the learning rate grows
exponentially from `lr_min` to `lr_max`; record the batch loss at every step. The loss first
barely moves (steps too small), then falls fast (good learning rates), then blows up (too
large). The suggestion is the stretch where the smoothed loss falls fastest.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import torch

from .data import Dataset
from .run import Run
from .spec import RunSpec, SpecError

SMOOTHING = 0.9          # exponential moving average of the batch loss (bias-corrected)
EXPLODE = 4.0            # stop when the smoothed loss passes this multiple of its best value
SKIP = 0.05              # ignore the first 5% of steps when looking for the steepest descent


@dataclass(frozen=True)
class LRFinderResult:
    lrs: list[float]                 # the learning rate of each step taken
    losses: list[float]              # its batch loss
    smoothed: list[float]            # the bias-corrected moving average of `losses`
    suggested: float                 # lr where the smoothed loss falls fastest
    low: float                       # suggested range: the loss falls at least half as fast
    high: float                      #   as at its steepest between these two
    best_lr: float                   # lr at the lowest smoothed loss (too high to train with)
    lr_min: float                    # the range tested
    lr_max: float
    planned_steps: int
    stopped: str                     # why it stopped early ("" if it ran to lr_max)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def lr_schedule(lr_min: float, lr_max: float, steps: int) -> np.ndarray:
    """lr_min * (lr_max / lr_min) ** (i / (steps - 1)): equal ratios between steps."""
    return lr_min * (lr_max / lr_min) ** (np.arange(steps) / max(1, steps - 1))


def smooth(losses: list[float], beta: float = SMOOTHING) -> list[float]:
    out, avg = [], 0.0
    for i, v in enumerate(losses):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def suggest(lrs: list[float], smoothed: list[float]) -> tuple[float, float, float, float]:
    """(suggested, low, high, best_lr) from a loss-vs-lr curve: the steepest descent of the
    smoothed loss against log10(lr) before its minimum, widened to the contiguous stretch
    that falls at least half as fast."""
    lrs_a, sm = np.asarray(lrs), np.asarray(smoothed)
    best = int(np.argmin(sm))
    if len(sm) < 5:
        return float(lrs_a[best]), float(lrs_a[0]), float(lrs_a[best]), float(lrs_a[best])
    slope = np.gradient(sm, np.log10(lrs_a))                 # loss change per decade of lr
    first = min(int(len(sm) * SKIP), best)
    seg = slope[first:best + 1]
    steep = first + int(np.argmin(seg))
    if slope[steep] >= 0:                                    # never fell: only the lowest point
        return float(lrs_a[best]), float(lrs_a[max(0, best - 1)]), float(lrs_a[best]), float(lrs_a[best])
    lo = hi = steep
    while lo > first and slope[lo - 1] <= 0.5 * slope[steep]:
        lo -= 1
    while hi < best and slope[hi + 1] <= 0.5 * slope[steep]:
        hi += 1
    return float(lrs_a[steep]), float(lrs_a[lo]), float(lrs_a[hi]), float(lrs_a[best])


class RangeTest:
    """The range test as a Steppable, so the Trainer's worker runs it like any other training:
    each step trains a fresh Run of the spec (its own optimizer, no schedule) at the next
    learning rate of the sweep and records the batch loss. It ends early, by shortening
    `total_steps`, when the loss stops being finite or explodes; its step returns the
    smoothed loss, so a sweep that blows up (as it should) ends as done, not diverged."""

    def __init__(self, spec: RunSpec, lr_min: float = 1e-5, lr_max: float = 10.0, steps: int = 200,
                 data: Dataset | None = None, device: Any = None):
        if not 0 < lr_min < lr_max:
            raise SpecError([f"lr range: need 0 < lowest < highest, got {lr_min:g} and {lr_max:g}"])
        if steps < 10:
            raise SpecError([f"lr range: use at least 10 steps, got {steps}"])
        self.run = Run(spec.with_(optim=replace(spec.optim, schedule="none", lr=lr_min), steps=steps), data, device)
        self.lr_min, self.lr_max, self.planned_steps = lr_min, lr_max, steps
        self.schedule = lr_schedule(lr_min, lr_max, steps)
        self.total_steps, self.steps_per_epoch, self.batch_size = steps, self.run.steps_per_epoch, self.run.batch_size
        self.eval_every = steps                          # the Trainer evaluates at the start and the end only
        self.step_count = 0
        self.lrs: list[float] = []                       # the learning rate of each step taken
        self.losses: list[float] = []                    # its batch loss
        self.stopped = ""                                # why it stopped early ("" if it ran to lr_max)
        self._avg, self._best = 0.0, math.inf

    @property
    def epoch(self) -> float:
        return self.run.epoch

    @property
    def lr(self) -> float:
        return self.run.lr

    def set_lr(self, lr: float) -> None:
        """The sweep sets every step's learning rate itself."""

    def step(self) -> torch.Tensor:
        lr = float(self.schedule[self.step_count])
        self.run.set_lr(lr)
        loss = float(self.run.step())
        self.step_count += 1
        if not math.isfinite(loss):
            return self._stop(f"the loss became {loss} at learning rate {lr:.3g}")
        self._avg = SMOOTHING * self._avg + (1 - SMOOTHING) * loss
        sm = self._avg / (1 - SMOOTHING ** (len(self.losses) + 1))
        self.lrs.append(lr)
        self.losses.append(loss)
        self._best = min(self._best, sm)
        if len(self.losses) > 10 and sm > EXPLODE * self._best:
            return self._stop(f"the loss exploded (over {EXPLODE:g}x its lowest) at learning rate {lr:.3g}")
        return torch.tensor(sm)

    def _stop(self, why: str) -> torch.Tensor:
        self.stopped, self.total_steps = why, self.step_count
        return torch.tensor(self._best if math.isfinite(self._best) else 0.0)

    def evaluate(self, full: bool = False) -> dict:
        return {"step": self.step_count, "epoch": round(self.epoch, 4), "lr": self.lr}

    def result(self) -> LRFinderResult:
        """The curve and the suggestion (SpecError while fewer than two steps are recorded)."""
        if len(self.losses) < 2:
            raise SpecError([f"lr range: {self.stopped or 'too few steps'}; lower the lowest learning rate"])
        smoothed = smooth(self.losses)
        suggested, low, high, best_lr = suggest(self.lrs, smoothed)
        return LRFinderResult(list(self.lrs), list(self.losses), smoothed, suggested, low, high, best_lr,
                              self.lr_min, self.lr_max, self.planned_steps, self.stopped)


def lr_range_test(spec: RunSpec, lr_min: float = 1e-5, lr_max: float = 10.0, steps: int = 200,
                  data: Dataset | None = None,
                  on_step: Callable[[int, int], None] | None = None) -> LRFinderResult:
    """Run the range test here, in this thread (the CLI and tests; the page runs a RangeTest
    in a Trainer). `on_step(i, steps)` reports progress."""
    test = RangeTest(spec, lr_min, lr_max, steps, data)
    while test.step_count < test.total_steps:
        test.step()
        if on_step is not None:
            on_step(test.step_count, steps)
    return test.result()


def _range_result(test: RangeTest) -> LRFinderResult | SpecError | None:
    """The range test's "result" view: None while the sweep runs."""
    if test.step_count < test.total_steps:
        return None
    try:
        return test.result()
    except SpecError as e:
        return e


def _build_range(spec: RunSpec, data, device, lr_min: float, lr_max: float, steps: int) -> RangeTest:
    return RangeTest(spec, lr_min, lr_max, steps, data, device)


def start_range_test(spec: RunSpec, lr_min: float, lr_max: float, steps: int, make: Callable | None = None):
    """A trainer running the range test in its worker (`make`: the Trainer, or
    engine.workers.start_trainer). Its run's "result" view is None while the sweep runs, then
    the LRFinderResult, or the SpecError saying why there is none. Module-level functions, so
    the process and Ray backends can send them to their worker."""
    import functools
    from .trainer import Trainer
    return (make or Trainer)(spec, names=["lr range test"], autostart=True, views={"result": _range_result},
                             build=functools.partial(_build_range, lr_min=lr_min, lr_max=lr_max, steps=steps))
