"""Trainer: one background worker that trains one run (the Playground) or several runs in
lock-step (the optimizer arena), driven by commands and read through snapshots.

It drives anything that follows `engine.tasks.Steppable`, built by the spec's task, and
knows nothing of models, data or losses.

The worker never touches Streamlit. Commands (resume, pause, step, reset, set_lr, set_speed, refresh_views, stop) go
through a queue and are applied between steps; `snapshot()` returns the latest published
copy. Evaluations happen at fixed steps, so the numbers do not depend on timing; views
(decision boundary, probes) run at a bounded rate in wall-clock time, read-only. A spec with
`until_paused` keeps training past its last step until Pause; `set_speed` slows the steps down
(slow motion) by waiting on the command queue between chunks, so Pause still acts at once.
"""
from __future__ import annotations

import atexit
import math
import os
import queue
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable

import torch

from .data import load_dataset
from .device import pick_device
from .metrics import Series
from .records import ViewError
from .schema import clip, excerpt
from .spec import RunSpec, SpecError, to_dict
from .store import RunStore, weights_of
from .tasks import Steppable, View, build_run, problems

CHUNK_S = 0.05           # train this long between looks at the command queue
PUBLISH_S = 0.1          # publish snapshots at most this often while running
VIEW_SHARE = 0.05        # while running, views get at most this share of the worker's CPU time
# Every torch op releases the GIL; taking it back waits for the other thread's switch interval
# (5 ms by default), so a UI thread busy building figures slowed a worker ~300x (1,500 -> 5 steps/s
# on TensorFlow Playground's net); 0.5 ms gives the worker ~10x more of those moments.
SWITCH_INTERVAL_S = 0.0005
WORKER_NICE = 19        # the worker's CPU priority: the lowest, it takes only what the server and a browser leave
MAX_STEP_COMMAND = 1_000_000   # most steps one step() command may ask for
MAX_WEIGHT = 100.0             # the largest weight set_weight takes (either sign)
MAX_SPEED = 10_000      # the highest step rate set_speed takes (steps per second); None = full speed
EXPLODED = 1.2          # a run whose training loss is above this multiple of its untrained loss ...
EXPLODED_EVALS = 3      # ... at this many evaluations in a row has diverged, though the loss is finite


class State(StrEnum):
    """The worker's state; a str, so `snap.state == "running"` reads as it did."""
    PREPARING = "preparing"      # building the run (data, model) or resetting it
    IDLE = "idle"                # built, not started
    RUNNING = "running"
    PAUSED = "paused"
    DIVERGED = "diverged"        # every run's loss became NaN or inf, or kept growing (EXPLODED)
    DONE = "done"                # every run reached its last step
    ERROR = "error"              # an exception; its text is in Snapshot.error
    STOPPED = "stopped"          # the worker has ended


STATES = tuple(State)


@dataclass(frozen=True)
class RunView:
    """One run as the pages see it: plain Python data, copied at publish time."""
    name: str
    step: int
    epoch: float
    total_steps: int
    steps_per_epoch: int
    lr: float
    status: str                    # training | diverged | done
    message: str                   # why it diverged, with a hint
    evals: dict[str, list]         # columns: step, epoch, time_s, lr, train_loss, test_loss, train_acc, ...
    batches: dict[str, list]       # columns: step, loss (mean batch loss since the last point)
    last_eval: dict                # the latest evaluation, with confusion matrix and per-class scores
    views: dict[str, Any]          # view name -> its latest output


@dataclass(frozen=True)
class Snapshot:
    state: State
    error: str = ""
    runs: tuple[RunView, ...] = ()
    samples_per_s: float = 0.0
    version: int = 0
    device: str = ""

    @property
    def run(self) -> RunView | None:
        return self.runs[0] if self.runs else None

    @property
    def active(self) -> bool:
        return self.state in ("preparing", "running")


@dataclass
class _Slot:
    """A run with its bookkeeping inside the worker."""
    run: Steppable
    name: str
    evals: Series = field(default_factory=Series)
    batches: Series = field(default_factory=Series)
    pending: list = field(default_factory=list)          # batch losses not yet synced
    pending_from: int = 0
    train_time: float = 0.0
    status: str = "training"
    message: str = ""
    views: dict = field(default_factory=dict)
    last_eval: dict = field(default_factory=dict)
    record_id: str | None = None                         # its row in the run history
    recorded_step: int = -1
    start_loss: float | None = None                      # training loss of the untrained network
    until_paused: bool = False                           # train past total_steps until paused
    above: int = 0                                       # evaluations in a row above EXPLODED x start_loss

    @property
    def active(self) -> bool:
        return self.status == "training"


_LIVE: "weakref.WeakSet[Trainer]" = weakref.WeakSet()


def live_trainers() -> list["Trainer"]:
    """Trainers whose worker is alive in this process."""
    return [t for t in list(_LIVE) if t.alive]


def live_workers() -> int:
    """Workers alive in this process (the browser test reads it from the sidebar)."""
    return len(live_trainers())


@atexit.register
def stop_all_workers() -> None:
    """Stop every worker in this process (at exit; and tests, since AppTest skips on_release)."""
    for t in list(_LIVE):
        t.stop(timeout=2)


class Trainer:
    def __init__(self, specs: RunSpec | list[RunSpec], names: list[str] | None = None,
                 views: dict[str, View] | None = None, view_every_s: float = 0.3,
                 autostart: bool = False, build: Callable[..., Steppable] = build_run,
                 history: RunStore | None = None, page: str = ""):
        """`build(spec, data, device)` makes each run; by default the spec's task builds it.
        With a `history`, every run is saved there (spec, curves, weights) whenever it stops:
        paused, finished, diverged, failed or closed."""
        self.specs = [specs] if isinstance(specs, RunSpec) else list(specs)
        self.build = build
        self.names = names or [s.name or f"run {i + 1}" for i, s in enumerate(self.specs)]
        self.views = dict(views or {})
        self.view_every_s = view_every_s
        self.history, self.page = history, page
        self.history_error = ""              # why the last save to the history failed ('' when none)
        self.device = pick_device(self.specs[0].device)
        self._q: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._snap = Snapshot(State.PREPARING, device=self.device.name)
        self._state, self._error, self._version = State.PREPARING, "", 0
        self._slots: list[_Slot] = []
        self._pending_steps = 0
        self._speed = 0.0
        self._pace: tuple[int | None, float] = pace(None)   # full speed
        self._due = 0.0                      # perf_counter time the next chunk may start (slow motion)
        self._last_publish = self._last_view = 0.0
        self._first_chunk = False            # the next chunk is the first since resume
        self._view_gap_cpu = 0.0             # worker CPU seconds between views: their cost / VIEW_SHARE
        self._last_view_cpu = 0.0
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._autostart = autostart          # the first build goes straight to running, never idle
        self._thread = threading.Thread(target=self._main, daemon=True, name="playground-trainer")
        _LIVE.add(self)
        self._thread.start()

    # ------------------------------------------------------------ commands (any thread)
    # Arguments are checked here, where the command is queued: a bad one raises ValueError with a
    # sentence and never reaches the worker.
    def resume(self) -> None: self._q.put(("resume",))
    def pause(self) -> None: self._q.put(("pause",))
    def reset(self) -> None: self._q.put(("reset",))

    def step(self, n: int = 1, only: str | None = None) -> None:
        """Take n more steps, then pause (a pause command drops the steps not yet taken). `only`
        names the one network of a several-network run (a GAN's) those steps train; resume
        trains them all again."""
        if not _whole(n) or not 1 <= n <= MAX_STEP_COMMAND:
            raise ValueError(f"step: the number of steps must be a whole number from 1 to {MAX_STEP_COMMAND:,}, "
                             f"got {excerpt(n)}")
        roles = tuple(self.specs[0].networks)
        if only is not None and (len(roles) < 2 or only not in roles):
            raise ValueError(f"step: only names one of the run's networks ({', '.join(roles)}) of a run with "
                             f"several, got {excerpt(only)}")
        self._q.put(("step", n, only))

    def set_lr(self, lr: float, index: int | None = None) -> None:
        """Change the learning rate while training (of one run, or all); ends any schedule."""
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
            raise ValueError(f"set_lr: the learning rate must be a positive number, got {excerpt(lr)}")
        if index is not None and (not _whole(index) or not 0 <= index < len(self.specs)):
            raise ValueError(f"set_lr: the run index must be a whole number from 0 to {len(self.specs) - 1}, "
                             f"got {excerpt(index)}")
        self._q.put(("set_lr", float(lr), index))

    def set_weight(self, layer: int, out: int, inp: int, value: float, index: int = 0) -> None:
        """Set one weight of run `index`'s Linear layer `layer` (its place in the layer stack), from
        input `inp` to output `out`, between steps; the views are computed again (the Playground's
        diagram: click a weight, type its value)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or abs(value) > MAX_WEIGHT:
            raise ValueError(f"set_weight: the weight must be a number from -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}, "
                             f"got {excerpt(value)}")
        if not _whole(index) or not 0 <= index < len(self.specs):
            raise ValueError(f"set_weight: the run index must be a whole number from 0 to {len(self.specs) - 1}, "
                             f"got {excerpt(index)}")
        layers = self.specs[index].layers
        if not _whole(layer) or not 0 <= layer < len(layers) or layers[layer].kind != "linear":
            raise ValueError(f"set_weight: layer must be the index of a Linear layer of the stack, got {excerpt(layer)}")
        units = layers[layer].params["units"]
        if not (_whole(out) and 0 <= out < units and _whole(inp) and inp >= 0):
            raise ValueError(f"set_weight: out must be a whole number from 0 to {units - 1} and inp a whole number "
                             f"from 0, got {excerpt(out)} and {excerpt(inp)}")
        self._q.put(("set_weight", index, layer, out, inp, float(value)))

    def set_speed(self, steps_per_s: float | None = None) -> None:
        """Train at most this many steps per second (slow motion, to watch each step), or at full
        speed (None). The numbers do not change: only the wall-clock pace between steps does."""
        if steps_per_s is not None and (isinstance(steps_per_s, bool) or not isinstance(steps_per_s, (int, float))
                                        or not math.isfinite(steps_per_s) or not 0 < steps_per_s <= MAX_SPEED):
            raise ValueError(f"set_speed: the speed must be a number of steps per second above 0 and at most "
                             f"{MAX_SPEED:,}, or None for full speed, got {excerpt(steps_per_s)}")
        self._q.put(("speed", None if steps_per_s is None else float(steps_per_s)))

    @property
    def pace(self) -> tuple[int | None, float]:
        """The speed in force, as `pace()` schedules it: (most steps per chunk, seconds between chunks)."""
        return self._pace

    def refresh_views(self) -> None:
        """Compute the views again now, in any state but preparing or error: a view's own
        setting changed (the recorded example), and a run that is not training computes no
        views by itself."""
        self._q.put(("views",))

    def stop(self, timeout: float = 5.0) -> None:
        self._q.put(("stop",))
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snap

    def wait(self, until: Callable[[Snapshot], bool], timeout: float = 60.0) -> Snapshot:
        """Block until `until(snapshot)` holds (for the CLI and tests); raises TimeoutError."""
        return wait_for(self.snapshot, until, timeout)

    def record_ids(self) -> list[str | None]:
        """Each run's id in the run history (None before its first save or without a history)."""
        return [s.record_id for s in self._slots] or [None]

    def runs(self) -> list[Steppable]:
        """The live runs (for reading only, e.g. export or tests; not thread-safe)."""
        return [s.run for s in self._slots]

    # ------------------------------------------------------------ worker
    def _main(self) -> None:
        lower_priority()
        try:
            self._setup()
            while True:
                busy = self._state == "running" or self._pending_steps > 0
                wait = max(0.0, self._due - time.perf_counter()) if busy else None
                if not self._drain(block=not busy or wait > 0, timeout=wait):
                    break
                busy = self._state == "running" or self._pending_steps > 0
                if busy and time.perf_counter() >= self._due:
                    self._chunk()
        finally:
            self._record()                       # a closed tab keeps its run
            with self._lock:
                self._snap = Snapshot(State.STOPPED, self._error, self._snap.runs, 0.0,
                                      self._version + 1, self.device.name)
            _LIVE.discard(self)

    def _guard(self, fn: Callable[[], None]) -> None:
        """Run fn; an exception becomes the 'error' state with its text, never lost."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported in the snapshot
            self._pending_steps = 0
            self._state = State.ERROR
            self._error = f"{type(e).__name__}: {e}"
            self._record()
            self._publish(force=True)

    def _record(self) -> None:
        """Save every run that trained since its last save to the history (if any). A failing
        history never stops training: its reason is kept in `history_error`."""
        if self.history is None:
            return
        for spec, slot in zip(self.specs, self._slots):
            if slot.run.step_count == slot.recorded_step or slot.run.step_count == 0:
                continue
            try:
                slot.record_id = self.history.save(
                    spec=to_dict(spec), series=slot.evals.snapshot(max_points=10**9), final=slot.last_eval,
                    state=slot.status if self._state != State.ERROR else State.ERROR, page=self.page,
                    name=slot.name, run_id=slot.record_id, weights=weights_of(slot.run))
                slot.recorded_step, self.history_error = slot.run.step_count, ""
            except Exception as e:  # noqa: BLE001 - the run goes on; the page shows why
                self.history_error = f"the run could not be saved to the history ({type(e).__name__}: {clip(str(e))})"

    def _setup(self) -> None:
        def build():
            data = load_dataset(self.specs[0].data, self.specs[0].seed)
            self._slots = [_Slot(self.build(s, data if s.data == self.specs[0].data else None, self.device.device), n,
                                 until_paused=s.until_paused) for s, n in zip(self.specs, self.names)]
            for slot in self._slots:
                self._evaluate(slot)
            self._state, self._error, self._pending_steps = State.IDLE, "", 0
            self._compute_views()
            if self._autostart:                  # the CLI's run never shows idle at step 0
                self._autostart = False
                self._start()
            self._publish(force=True)
        self._guard(build)

    def _start(self) -> None:
        if self._state != "running":
            self._last_view = time.perf_counter()        # views are fresh from the stop: the first
            self._first_chunk = True                     # chunk publishes at once, without them
        self._state = State.RUNNING

    def _drain(self, block: bool, timeout: float | None = None) -> bool:
        """Apply queued commands, waiting for the first up to `timeout` seconds (forever: None)
        when `block`; False when told to stop."""
        while True:
            try:
                cmd = self._q.get(block=block, timeout=timeout if block else None)
            except queue.Empty:
                return True
            block = False
            name = cmd[0]
            if name == "stop":
                self._state = State.STOPPED
                return False
            if name == "reset":
                self._state = State.PREPARING
                self._publish(force=True)
                self._setup()
                continue
            if name == "speed":                  # a setting of the worker, kept in any state and across resets
                self._apply(cmd)
                continue
            if self._state in ("error", "preparing"):
                continue
            self._guard(lambda: self._apply(cmd))
            self._publish(force=True)

    def _apply(self, cmd: tuple) -> None:
        """One command from the queue (its arguments were checked when it was queued)."""
        name = cmd[0]
        finished = self._state in ("done", "diverged")
        if name in ("resume", "step"):
            for slot in self._slots:             # which network the next steps train (engine.tasks.gan)
                if hasattr(slot.run, "only"):
                    slot.run.only = cmd[2] if name == "step" else None
        if name == "resume" and not finished:
            self._start()
        elif name == "pause" and (self._state == "running" or self._pending_steps):
            self._state = State.PAUSED
            self._pending_steps = 0
            self._after_stop()
        elif name == "step" and not finished:
            if self._state == "running":
                self._state = State.PAUSED
            self._pending_steps += cmd[1]
        elif name == "views":
            self._compute_views()
        elif name == "speed":
            self._pace = pace(cmd[1])
            self._due = min(self._due, time.perf_counter() + self._pace[1])   # a faster pace starts now
        elif name == "set_lr":
            for i, slot in enumerate(self._slots):
                if cmd[2] is None or cmd[2] == i:
                    slot.run.set_lr(cmd[1])
        elif name == "set_weight":
            _, index, layer, out, inp, value = cmd
            weight = self._slots[index].run.model[layer].weight            # (out, in)
            if inp >= weight.shape[1]:
                raise ValueError(f"set_weight: layer {layer} has {weight.shape[1]} inputs, got input {inp}")
            with torch.no_grad():
                weight[out, inp] = value
            self._compute_views()

    def _chunk(self) -> None:
        def work():
            before = self._state
            t0 = time.perf_counter()
            most, gap = self._pace
            samples = taken = 0
            while True:
                for slot in self._slots:
                    if slot.active:
                        samples += self._step(slot)
                taken += 1
                if self._pending_steps > 0:
                    self._pending_steps -= 1
                if not any(s.active for s in self._slots):
                    break
                if self._pending_steps == 0 and self._state != "running":
                    break
                if time.perf_counter() - t0 > CHUNK_S or (most is not None and taken >= most):
                    break
            self._due = t0 + gap                 # slow motion: the next chunk waits (on the queue) till then
            for slot in self._slots:
                self._flush(slot)
            elapsed = time.perf_counter() - t0
            speed = samples / max(elapsed, gap, 1e-9)         # slow motion: over the chunk's whole period
            self._speed = speed if self._speed == 0 else 0.8 * self._speed + 0.2 * speed
            if not any(s.active for s in self._slots):
                all_diverged = all(s.status == "diverged" for s in self._slots)
                self._state = State.DIVERGED if all_diverged else State.DONE
                self._pending_steps = 0
                self._after_stop()
            elif self._state != "running" and self._pending_steps == 0:
                self._state = State.PAUSED
                self._after_stop()
            elif (time.perf_counter() - self._last_view > self.view_every_s
                  and time.thread_time() - self._last_view_cpu > self._view_gap_cpu):
                # bounded recording: views that cost much CPU (a big model, a slow machine) come less often
                self._view_gap_cpu = self._compute_views() / VIEW_SHARE
            # the first chunk after Train and every stop publish at once: the page shows them
            self._publish(force=self._first_chunk or self._state != before or self._state != "running")
            self._first_chunk = False
        self._guard(work)

    def _step(self, slot: _Slot) -> int:
        run = slot.run
        t = time.perf_counter()
        if not slot.pending:
            slot.pending_from = run.step_count + 1
        slot.pending.append(run.step())
        slot.train_time += time.perf_counter() - t
        last = run.step_count >= run.total_steps and not slot.until_paused
        if run.step_count % run.eval_every == 0 or last:
            self._flush(slot)
            if slot.active:
                self._evaluate(slot, full=last)
            if last and slot.active:
                slot.status = "done"
        return run.batch_size

    def _flush(self, slot: _Slot) -> None:
        """Sync the pending batch losses: record their mean, catch the first NaN/inf."""
        if not slot.pending:
            return
        losses = torch.stack(slot.pending).tolist()
        slot.pending = []
        bad = next((i for i, v in enumerate(losses) if not math.isfinite(v)), None)
        if bad is not None:
            self._diverge(slot, slot.pending_from + bad, losses[bad])
            return
        slot.batches.append({"step": slot.run.step_count, "loss": sum(losses) / len(losses)})

    def _diverge(self, slot: _Slot, step: int, value: float) -> None:
        if slot.status == "diverged":
            return
        slot.status = "diverged"
        slot.message = (f"The loss became {value} at step {step} (learning rate {slot.run.lr:g}): "
                        "the weights blew up. Lower the learning rate (try 10x smaller), "
                        "then press Train to start again.")

    def _evaluate(self, slot: _Slot, full: bool = False) -> None:
        row = slot.run.evaluate(full=full)
        bad = next((v for k, v in row.items() if k.endswith("loss") and not math.isfinite(v)), None)
        if bad is not None:
            self._diverge(slot, row["step"], bad)
            return
        # a run that stops early (engine/early_stop.py) has put its best weights back: its last
        # evaluation, on every example, is of those
        ended = slot.active and hasattr(slot.run, "stop_early") and slot.run.stop_early(row)
        if ended:
            row = slot.run.evaluate(full=True)
        row["time_s"] = round(slot.train_time, 4)
        slot.evals.append({k: v for k, v in row.items() if not isinstance(v, list)})
        slot.last_eval = row
        self._watch_growth(slot, row)
        if ended and slot.active:
            slot.status, slot.message = "done", ended[0].upper() + ended[1:] + "."

    def _watch_growth(self, slot: _Slot, row: dict) -> None:
        """A finite loss can diverge too: a training loss above EXPLODED times the untrained
        network's at EXPLODED_EVALS evaluations in a row means the steps overshoot (a healthy run
        is below it after its first evaluations; a too-small learning rate stays near 1x)."""
        loss = row.get("train_loss")                     # tasks without one (the range test) are not watched
        if loss is None:
            return
        if slot.start_loss is None:
            slot.start_loss = loss
            return
        slot.above = slot.above + 1 if loss > EXPLODED * slot.start_loss else 0
        if slot.above >= EXPLODED_EVALS and slot.status == "training":
            slot.status = "diverged"
            slot.message = (f"The training loss is {loss:.3g} at step {row['step']}, above the untrained "
                            f"network's {slot.start_loss:.3g} at {EXPLODED_EVALS} evaluations in a row (learning "
                            f"rate {slot.run.lr:g}): the steps overshoot the valley instead of going down it. "
                            "Lower the learning rate (try 10x smaller), then press Train to start again.")

    def _after_stop(self) -> None:
        """Views are always fresh when training stops or a single step ends, and the runs are saved."""
        for slot in self._slots:
            self._flush(slot)
        self._compute_views()
        self._record()

    def _compute_views(self) -> float:
        """Compute every view of every run; returns the CPU seconds they took. A view that
        raises is published as a ViewError with its text."""
        cpu = time.thread_time()
        for slot in self._slots:
            for name, fn in self.views.items():
                try:
                    slot.views[name] = fn(slot.run)
                except Exception as e:  # noqa: BLE001 - a broken view must not stop training
                    slot.views[name] = ViewError(f"{type(e).__name__}: {e}")
        self._last_view, self._last_view_cpu = time.perf_counter(), time.thread_time()
        return self._last_view_cpu - cpu

    def _publish(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_publish < PUBLISH_S:
            return
        self._last_publish = now
        runs = tuple(RunView(
            s.name, s.run.step_count, s.run.epoch, s.run.total_steps, s.run.steps_per_epoch,
            s.run.lr, s.status, s.message, s.evals.snapshot(), s.batches.snapshot(),
            dict(s.last_eval), dict(s.views)) for s in self._slots)
        with self._lock:
            self._version += 1
            self._snap = Snapshot(self._state, self._error, runs,
                                  self._speed,
                                  self._version, self.device.name)


def pace(steps_per_s: float | None) -> tuple[int | None, float]:
    """The slow-motion schedule for a speed in steps per second: (most steps per chunk, seconds
    from one chunk's start to the next's). Full speed (None): (None, 0), chunks of CHUNK_S back to
    back. Slow: whole steps in chunks about CHUNK_S apart, or one step per chunk below 1/CHUNK_S
    steps per second (2 steps/s: one step every 0.5 s)."""
    if steps_per_s is None:
        return None, 0.0
    most = max(1, round(steps_per_s * CHUNK_S))
    return most, most / steps_per_s


def wait_for(snapshot: Callable[[], Snapshot], until: Callable[[Snapshot], bool], timeout: float) -> Snapshot:
    """Poll `snapshot()` until `until` holds; TimeoutError after `timeout` seconds (any worker's wait)."""
    end = time.monotonic() + timeout
    while not until(snap := snapshot()):
        if time.monotonic() > end:
            raise TimeoutError(f"trainer still {snap.state} after {timeout}s")
        time.sleep(0.01)
    return snap


def _whole(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool)


def lower_priority() -> None:
    """Give this thread a lower CPU priority (nice +WORKER_NICE, Linux: per thread) so the
    web server and the browser drawing the charts come first on a small machine; the worker
    still gets every CPU cycle they leave."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
    except (AttributeError, OSError):
        pass


def validate(spec: RunSpec) -> list[str]:
    """Problems that stop `spec` from training (empty when it can train)."""
    try:
        return problems(spec)
    except SpecError as e:
        return e.problems
