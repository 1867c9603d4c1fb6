"""Learning-rate range test (Leslie Smith, 2015; popularised by fastai's lr_find).

Train a fresh Run of the spec for a few hundred steps while the learning rate grows
exponentially from `lr_min` to `lr_max`; record the batch loss at every step. The loss first
barely moves (steps too small), then falls fast (good learning rates), then blows up (too
large). The suggestion is the stretch where the smoothed loss falls fastest.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

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


def lr_range_test(spec: RunSpec, lr_min: float = 1e-5, lr_max: float = 10.0, steps: int = 200,
                  data: Dataset | None = None,
                  on_step: Callable[[int, int], None] | None = None) -> LRFinderResult:
    """Run the range test on a fresh Run of `spec` (its own optimizer, no schedule).
    `on_step(i, steps)` reports progress. Stops early when the loss explodes."""
    if not 0 < lr_min < lr_max:
        raise SpecError([f"lr range: need 0 < lowest < highest, got {lr_min:g} and {lr_max:g}"])
    if steps < 10:
        raise SpecError([f"lr range: use at least 10 steps, got {steps}"])
    run = Run(spec.with_(optim=replace(spec.optim, schedule="none", lr=lr_min), steps=steps), data)
    schedule = lr_schedule(lr_min, lr_max, steps)
    lrs: list[float] = []
    losses: list[float] = []
    stopped, best, avg = "", math.inf, 0.0
    for i, lr in enumerate(schedule):
        run.set_lr(float(lr))
        loss = float(run.step())
        if on_step is not None:
            on_step(i + 1, steps)
        if not math.isfinite(loss):
            stopped = f"the loss became {loss} at learning rate {lr:.3g}"
            break
        avg = SMOOTHING * avg + (1 - SMOOTHING) * loss
        sm = avg / (1 - SMOOTHING ** (len(losses) + 1))
        lrs.append(float(lr))
        losses.append(loss)
        best = min(best, sm)
        if len(losses) > 10 and sm > EXPLODE * best:
            stopped = f"the loss exploded (over {EXPLODE:g}x its lowest) at learning rate {lr:.3g}"
            break
    if len(losses) < 2:
        raise SpecError([f"lr range: {stopped or 'too few steps'}; lower the lowest learning rate"])
    smoothed = smooth(losses)
    suggested, low, high, best_lr = suggest(lrs, smoothed)
    return LRFinderResult(lrs, losses, smoothed, suggested, low, high, best_lr, lr_min, lr_max,
                          steps, stopped)
