"""The optimizer arena: 2-6 optimizer configurations race on one network and one dataset.

Every contestant is the same RunSpec except for `optim`, so all of them start from the same
initial weights and see the same batches in the same order (the Run seeds both from the
spec's seed): differences in the curves come from the optimizer alone. The Trainer trains
them in lock-step in one worker; this module builds their specs, ranks them from the
trainer's snapshot and writes the results as CSV.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from .optim import OPTIMIZERS
from .spec import SCHEDULES, OptimSpec, RunSpec, SpecError
from .store import RunStore
from .trainer import RunView, Trainer

MIN_CONTESTANTS, MAX_CONTESTANTS = 2, 6
EVAL_POINTS = 20            # evaluations per race: enough for curves; an evaluation costs ~10 steps

# the starting line-up; the page shows the first DEFAULT_COUNT
DEFAULT_CONTESTANTS: tuple[OptimSpec, ...] = (
    OptimSpec("sgd", lr=0.01),
    OptimSpec("sgd", lr=0.01, momentum=0.9),
    OptimSpec("rmsprop", lr=0.001),
    OptimSpec("adam", lr=0.001),
    OptimSpec("adagrad", lr=0.01),
    OptimSpec("adamw", lr=0.001, weight_decay=0.01),
)
DEFAULT_COUNT = 4


# ---------------------------------------------------------------- contestants -> specs
def contestant_label(o: OptimSpec) -> str:
    """A short name that says what differs: 'SGD + momentum 0.9, lr 0.01'."""
    info = OPTIMIZERS[o.name]
    name = info.label
    if "momentum" in info.uses and o.momentum > 0:
        name += f" + {'Nesterov ' if o.nesterov and o.name == 'sgd' else ''}momentum {o.momentum:g}"
    parts = [name, f"lr {o.lr:g}"]
    if "beta1" in info.uses and (o.beta1, o.beta2) != (0.9, 0.999):
        parts.append(f"betas {o.beta1:g}/{o.beta2:g}")
    if o.weight_decay > 0:
        parts.append(f"wd {o.weight_decay:g}")
    if o.schedule != "none":
        parts.append(f"{o.schedule} schedule")
    return ", ".join(parts)


def contestant_names(optims: Sequence[OptimSpec]) -> list[str]:
    """Unique names: identical configurations get ' (2)', ' (3)' appended."""
    seen: dict[str, int] = {}
    out = []
    for o in optims:
        label = contestant_label(o)
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def repeat_index(optims: Sequence[OptimSpec]) -> list[int]:
    """For each contestant, how many earlier contestants use the same optimizer (0, 1, ...):
    the figures give repeats the same colour but another line style."""
    seen: dict[str, int] = {}
    out = []
    for o in optims:
        out.append(seen.get(o.name, 0))
        seen[o.name] = out[-1] + 1
    return out


def race_specs(base: RunSpec, optims: Sequence[OptimSpec], steps: int,
               n_samples: int | None = None) -> tuple[list[RunSpec], list[str]]:
    """One RunSpec per contestant: `base` with its optimizer, `steps` steps and about
    EVAL_POINTS evaluations; network, data, batch size and seed are shared. Raises
    SpecError when the line-up or an optimizer setting is out of bounds."""
    problems = []
    if not MIN_CONTESTANTS <= len(optims) <= MAX_CONTESTANTS:
        problems.append(f"contestants: race {MIN_CONTESTANTS} to {MAX_CONTESTANTS} optimizers, "
                        f"got {len(optims)}")
    for i, o in enumerate(optims):
        if o.name not in OPTIMIZERS:
            problems.append(f"contestant {i + 1}: unknown optimizer {o.name!r} "
                            f"(known: {', '.join(OPTIMIZERS)})")
        if not 1e-6 <= o.lr <= 10:
            problems.append(f"contestant {i + 1}: learning rate must be between 1e-06 and 10, got {o.lr:g}")
        if o.schedule not in SCHEDULES:
            problems.append(f"contestant {i + 1}: unknown schedule {o.schedule!r}")
    if steps < 1:
        problems.append(f"steps: race at least 1 step, got {steps}")
    if problems:
        raise SpecError(problems)
    data = base.data if n_samples is None else replace(base.data, n_samples=int(n_samples))
    names = contestant_names(optims)
    eval_every = max(1, round(steps / EVAL_POINTS))
    specs = [base.with_(name=n, optim=o, data=data, steps=int(steps), eval_every=eval_every)
             for n, o in zip(names, optims)]
    return specs, names


def start_race(specs: Sequence[RunSpec], names: Sequence[str] | None = None,
               autostart: bool = True, history: RunStore | None = None, make: Callable | None = None) -> Trainer:
    """A Trainer running every contestant in lock-step in one worker (each saved in `history`);
    `make` is the Trainer or engine.workers.start_trainer."""
    return (make or Trainer)(list(specs), names=list(names or [s.name for s in specs]), autostart=autostart,
                   history=history, page="arena")


# ---------------------------------------------------------------- ranking
@dataclass(frozen=True)
class Standing:
    rank: int
    name: str
    optimizer: str                  # registry name, for colours
    status: str                     # training | done | diverged
    step: int
    best_test_acc: float | None     # classification only
    final_train_loss: float | None  # at the last evaluation (None once diverged)
    final_test_loss: float | None
    steps_to_target: int | None     # first evaluated step with train loss <= target
    ms_per_step: float | None       # this contestant's own training time per step
    message: str                    # why it diverged


def _last(col: list) -> float | None:
    vals = [v for v in col if v is not None]
    return vals[-1] if vals else None


def steps_to_target(evals: dict[str, list], target: float) -> int | None:
    """The first evaluated step at which the training loss is at or below `target`
    (evaluations are deterministic, so this is too); None if never reached."""
    for step, loss in zip(evals.get("step", []), evals.get("train_loss", [])):
        if loss is not None and loss <= target:
            return int(step)
    return None


def standings(runs: Sequence[RunView], optims: Sequence[OptimSpec], target_loss: float) -> list[Standing]:
    """The ranking: runs that have not diverged first, then by best test accuracy (highest
    first, classification) or by final test loss (lowest first), ties by final test loss."""
    rows = []
    for run, o in zip(runs, optims):
        ev = run.evals
        accs = [a for a in ev.get("test_acc", []) if a is not None]
        diverged = run.status == "diverged"
        steps = ev.get("step") or [0]
        t = _last(ev.get("time_s", []))
        ms = 1000 * t / steps[-1] if t is not None and steps[-1] else None
        rows.append(Standing(
            0, run.name, o.name, run.status, run.step, max(accs) if accs else None,
            None if diverged else _last(ev.get("train_loss", [])),
            None if diverged else _last(ev.get("test_loss", [])),
            steps_to_target(ev, target_loss), ms, run.message))

    def key(r: Standing):
        loss = r.final_test_loss if r.final_test_loss is not None else math.inf
        acc = -(r.best_test_acc if r.best_test_acc is not None else -1)
        return (r.status == "diverged", acc, loss)
    ranked = sorted(rows, key=key)                 # stable: ties keep the line-up order
    return [replace(r, rank=i + 1) for i, r in enumerate(ranked)]


STANDING_COLUMNS = ("rank", "name", "status", "step", "best_test_acc", "final_train_loss",
                    "final_test_loss", "steps_to_target", "ms_per_step")


def standings_csv(rows: Sequence[Standing]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(STANDING_COLUMNS + ("message",))
    for r in rows:
        w.writerow([_cell(getattr(r, c)) for c in STANDING_COLUMNS + ("message",)])
    return buf.getvalue()


# ---------------------------------------------------------------- results as CSV
CURVE_COLUMNS = ("step", "epoch", "time_s", "lr", "train_loss", "test_loss", "train_acc", "test_acc",
                 "train_f1", "test_f1", "train_mse", "test_mse", "train_r2", "test_r2")


def results_csv(runs: Sequence[RunView], optims: Sequence[OptimSpec]) -> str:
    """Every evaluation of every contestant, one row each (long format, ready for pandas):
    contestant, its optimizer settings, then the evaluation columns."""
    present = [c for c in CURVE_COLUMNS if any(c in r.evals for r in runs)]
    extra = sorted({c for r in runs for c in r.evals} - set(CURVE_COLUMNS))
    cols = present + extra
    setting = ("optimizer", "lr0", "momentum", "nesterov", "beta1", "beta2", "weight_decay", "schedule")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("contestant", *setting, "status", *cols))
    for run, o in zip(runs, optims):
        fixed = (run.name, o.name, o.lr, o.momentum, o.nesterov, o.beta1, o.beta2, o.weight_decay,
                 o.schedule, run.status)
        n = len(run.evals.get("step", []))
        for i in range(n):
            w.writerow([*map(_cell, fixed), *(_cell(run.evals.get(c, [None] * n)[i]) for c in cols)])
    return buf.getvalue()


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)
