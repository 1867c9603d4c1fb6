"""Held-out accuracy against the number of labelled examples: from scratch, a linear probe on
pretrained features, fine-tuning, and a probe on a randomly initialised network (the baseline
that shows what the pretraining itself adds).

The pretrained weights are had once; then, for each label count and seed, each method trains the
same network (the target spec's) on the same labelled examples (`engine.data.few_labels`, chosen
by the seed) for the same number of steps and is scored on the whole test split. The split is the
target spec's with its own seed for every run, so the test images are the same for every row and,
when the source was pretrained on that split (the bundled presets), never seen in pretraining.
"""
from __future__ import annotations

import atexit
import math
import threading
import weakref
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import numpy as np
import torch

from .data import few_labels, load_dataset
from .spec import RunSpec

LABELS = (10, 30, 100, 300, 1000)
PRETRAIN = "mnist_rotation"              # the bundled pretext preset
TARGET = "mnist_finetune"                # the bundled classifier preset: its network, optimizer and data

# method -> what the chart and the table call it
METHODS = {"scratch": "from scratch",
           "probe": "linear probe, pretrained",
           "finetune": "fine-tune, pretrained",
           "random_probe": "linear probe, random network"}
Progress = Callable[[int, int, str], None]          # (runs done, runs in all, what runs next)


@dataclass(frozen=True)
class LabelsConfig:
    labels: tuple[int, ...] = LABELS     # labelled training examples per point of the curve
    seeds: int = 3                       # seeds 0 .. seeds-1: the labelled examples, init and batch order
    steps: int = 200                     # training steps of every run
    body_lr: float = 1.0                 # fine-tuning: the pretrained layers' lr as a multiple of the head's
    methods: tuple[str, ...] = tuple(METHODS)


@dataclass(frozen=True)
class LabelsRow:
    method: str                          # a METHODS key
    labels: int                          # labelled training examples
    accs: tuple[float, ...]              # held-out accuracy per seed

    @property
    def mean(self) -> float:
        return float(np.mean(self.accs))

    @property
    def std(self) -> float:
        return float(np.std(self.accs))

    def to_dict(self) -> dict:
        return {"method": self.method, "label": METHODS[self.method], "labels": self.labels,
                "mean": round(self.mean, 4), "std": round(self.std, 4), "accs": [round(a, 4) for a in self.accs]}


@dataclass(frozen=True)
class LabelsResult:
    rows: tuple[LabelsRow, ...]
    source: str                          # where the pretrained weights came from
    loaded: tuple[int, ...]              # the layers that took them (the probe freezes these)
    test_examples: int
    config: LabelsConfig = field(default_factory=LabelsConfig)

    def row(self, method: str, labels: int) -> LabelsRow:
        return next(r for r in self.rows if r.method == method and r.labels == labels)

    def to_dict(self) -> dict:
        return {"source": self.source, "loaded": list(self.loaded), "test_examples": self.test_examples,
                "config": asdict(self.config), "rows": [r.to_dict() for r in self.rows]}


def method_spec(target: RunSpec, method: str, source: str, loaded: tuple[int, ...], body_lr: float) -> RunSpec:
    """The target spec as one method trains it."""
    from .spec import TransferSpec
    if method == "scratch":
        return target.with_(transfer=TransferSpec())
    if method == "finetune":
        return target.with_(transfer=TransferSpec(source, (), body_lr))
    return target.with_(transfer=TransferSpec(source, loaded))          # the probes: the body frozen


def random_weights(target: RunSpec, input_shape: tuple[int, ...], seed: int) -> dict[str, torch.Tensor]:
    """The target network's own weights at a random initialisation (seed + 1000, so never the
    init the probe's head starts from)."""
    from .build import build_model
    from .run import _SEED_LOCK
    with _SEED_LOCK:
        torch.manual_seed(seed + 1000)
        return build_model(target.layers, input_shape, target.init).state_dict()


def compare(target: RunSpec, source: str, weights: dict[str, torch.Tensor] | None = None,
            cfg: LabelsConfig = LabelsConfig(), progress: Progress | None = None,
            should_stop: Callable[[], bool] = lambda: False) -> LabelsResult:
    """Train every method of `cfg` at every label count and seed; `weights`: the source's
    state_dict when already at hand (else read from `source`, e.g. 'preset:mnist_rotation' or a
    run id). Raises SpecError for a target or source that cannot train; stops early (with the
    rows so far) when `should_stop()` says so."""
    from .run import Run
    from .spec import SpecError
    from .transfer import TransferError, loaded_layers, source_weights
    base = load_dataset(replace(target.data, labels=0), target.seed)
    try:
        weights = weights if weights is not None else source_weights(source)
        loaded = loaded_layers(target.with_(transfer=replace(target.transfer, source=source)), base.input_shape)
    except TransferError as e:
        raise SpecError([str(e)]) from None
    target = target.with_(steps=cfg.steps)
    jobs = [(m, n, s) for n in cfg.labels for m in cfg.methods for s in range(cfg.seeds)]
    accs: dict[tuple[str, int], list[float]] = {}
    for k, (method, n, seed) in enumerate(jobs):
        if should_stop():
            break
        if progress:
            progress(k, len(jobs), f"{METHODS[method]}, {n:,} labels, seed {seed}")
        spec = method_spec(target, method, source, loaded, cfg.body_lr).with_(
            seed=seed, data=replace(target.data, labels=n))
        w = random_weights(target, base.input_shape, seed) if method == "random_probe" else weights
        run = Run(spec, few_labels(base, n, seed), weights=None if method == "scratch" else w)
        for _ in range(run.total_steps):
            run.step()
        acc = run.evaluate(full=True)["test_acc"]
        accs.setdefault((method, n), []).append(float(acc) if math.isfinite(acc) else 0.0)
    if progress:
        progress(len(jobs), len(jobs), "done")
    rows = tuple(LabelsRow(m, n, tuple(a)) for (m, n), a in accs.items() if len(a) == cfg.seeds)
    return LabelsResult(rows, source, loaded, len(base.x_test), cfg)


class LabelsJob:
    """`compare` on a worker thread, for a page: `progress` and `result` (or `error`) to read,
    `stop()` to end it early. Every job is stopped at interpreter exit."""

    def __init__(self, target: RunSpec, source: str, cfg: LabelsConfig = LabelsConfig(),
                 weights: dict[str, torch.Tensor] | None = None):
        self.cfg = cfg
        self.progress: tuple[int, int, str] = (0, 1, "pretraining the source (once)" if weights is None else "starting")
        self.result: LabelsResult | None = None
        self.error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, args=(target, source, weights), daemon=True,
                                        name="few-labels")
        _JOBS.add(self)
        self._thread.start()

    def _work(self, target: RunSpec, source: str, weights: dict[str, torch.Tensor] | None) -> None:
        from .spec import SpecError
        from .trainer import lower_priority
        lower_priority()                              # the web server first, as the trainers' workers
        try:
            self.result = compare(target, source, weights, self.cfg, self._report, self._stop.is_set)
        except SpecError as e:
            self.error = "; ".join(e.problems)
        except Exception as e:  # noqa: BLE001 - shown on the page as a sentence
            self.error = f"the comparison stopped ({type(e).__name__}: {e})"

    def _report(self, done: int, total: int, what: str) -> None:
        self.progress = (done, total, what)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        _JOBS.discard(self)


_JOBS: "weakref.WeakSet[LabelsJob]" = weakref.WeakSet()       # registry of live jobs, stopped at exit


@atexit.register
def stop_all_jobs() -> None:
    for job in list(_JOBS):
        job.stop(timeout=2)
