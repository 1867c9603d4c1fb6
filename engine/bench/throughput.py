"""Throughput benchmark: how fast the engine trains, against a bare PyTorch loop, in one process.

    python -m engine bench [--json] [--quick] [--browser]

Each case trains the same model (same seed), on the same data, with the same batch size,
optimizer and schedule, three ways:

  (a) bare    a plain PyTorch loop written here: data already tensors on the device, one
              shuffled index tensor per epoch, no evaluation, no .item() per step; in a
              thread at the worker's CPU priority, so both yield alike to other programs
  (b) engine  the Trainer's worker with no views (its evaluations at fixed steps included)
  (c) live    the Trainer with the Playground's live views (decision boundary, neurons,
              images) and the probes recorder (histograms, gradient flow, filters) at the
              page's rate (view_every_s)

The three take turns in short windows, several rounds (a busy shared machine slows them
alike); each ratio is the median over rounds of (b)/(a) and (c)/(a) measured side by side.
Cases: the MNIST CNN preset on the 5,000 MNIST digits and an MLP on the spiral, batch 32
and 256; the names char-LSTM language model (its live view: sampled names); the ring-of-8 GAN
(its live views: the plane with the discriminator's heatmap, arrows and noise grid); TensorFlow
Playground's default (spiral, 500 points, half for training,
2-4-2-1 tanh, batch 10, SGD 0.03) in epochs per second; on the CPU, and on the GPU too
when there is one. `--browser` also measures the wait a user sees (Train -> first loss
point, and the live chart's refresh interval) in headless Chromium (browser.py).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import torch

from ..build import build_model
from ..optim import LOSSES, make_optimizer, make_scheduler, resolve_loss
from ..presets import load_preset
from ..run import Run, load_dataset, output_units
from ..spec import DataSpec, LayerSpec, OptimSpec, RunSpec
from .browser import browser_wait

BROWSER_RUNS = 3         # --browser: sessions measured one after another (the box's speed varies)
TARGETS = {"engine": 0.95, "live": 0.9, "tf_epochs_per_s": 120.0, "first_point_s": 1.0,
           "refresh_s": 0.5}
MODES = ("bare", "engine", "live")
FOREVER = 10_000_000            # steps: the trainers never finish inside a benchmark


# ---------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    name: str                   # "mnist_cnn", "spiral_mlp", "tf_playground"
    spec: RunSpec
    device: str                 # "cpu" | "cuda"
    window_s: float             # seconds per mode per round
    rounds: int

    @property
    def label(self) -> str:
        return f"{self.name} b{self.spec.batch_size} {self.device}"


def tf_playground_spec() -> RunSpec:
    """TensorFlow Playground's default: spiral, 500 points, half for training, 2-4-2-1 tanh,
    batch 10, SGD with learning rate 0.03 (the tf_playground preset on the spiral)."""
    s = load_preset("tf_playground")
    return s.with_(data=replace(s.data, name="spiral", n_samples=500, test_fraction=0.5, noise=0.0),
                   batch_size=10, optim=replace(s.optim, name="sgd", lr=0.03, momentum=0.0))


def spiral_mlp_spec(batch_size: int) -> RunSpec:
    """A wider MLP on a larger spiral (2,000 training points), Adam."""
    L = LayerSpec.make
    return RunSpec.make(name="spiral MLP", data=DataSpec("spiral", 4000, 0.1, 0.5),
                   layers=(L("linear", units=32), L("relu"), L("linear", units=32), L("relu"),
                           L("linear", units=1)),
                   optim=OptimSpec("adam", lr=0.01), batch_size=batch_size, seed=0)


def make_cases(quick: bool, devices: list[str]) -> list[Case]:
    cases = []
    for dev in devices:
        gpu = dev != "cpu"
        if quick:
            cases.append(Case("spiral_mlp", spiral_mlp_spec(32).with_(device=dev), dev, 0.25, 1))
            cases.append(Case("tf_playground", tf_playground_spec().with_(device=dev), dev, 0.25, 1))
            cases.append(Case("char_lstm", load_preset("names_lstm_char_lm").with_(device=dev), dev, 0.25, 1))
            cases.append(Case("ring8_gan", load_preset("ring8_gan").with_(device=dev), dev, 0.25, 1))
            continue
        # each window spans a few evaluations (every 256 / 32 steps: 1-3 s on a CPU); six short
        # rounds rather than three long ones, so that a machine whose speed drifts moves the
        # median less
        for bs, window in ((32, 4.0), (256, 6.0)):
            mnist = load_preset("mnist_cnn").with_(batch_size=bs, device=dev)
            cases.append(Case("mnist_cnn", mnist, dev, 1.0 if gpu else window, 6))
        for bs in (32, 256):
            cases.append(Case("spiral_mlp", spiral_mlp_spec(bs).with_(device=dev), dev, 1.5, 5))
        cases.append(Case("char_lstm", load_preset("names_lstm_char_lm").with_(device=dev), dev, 2.0, 5))
        cases.append(Case("ring8_gan", load_preset("ring8_gan").with_(device=dev), dev, 2.0, 5))
        cases.append(Case("tf_playground", tf_playground_spec().with_(device=dev), dev, 1.5, 5))
    return [replace(c, spec=c.spec.with_(steps=FOREVER)) for c in cases]


def devices_present() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


# ---------------------------------------------------------------- (a) the bare loop
class BareLoop:
    """The reference: what a careful hand-written PyTorch loop does, nothing more."""

    def __init__(self, spec: RunSpec, device: torch.device):
        data = load_dataset(spec.data, spec.seed)
        torch.manual_seed(spec.seed)
        self.model = build_model(spec.layers, data.input_shape, spec.init).to(device)
        self.loss_fn = LOSSES[resolve_loss(spec.loss, spec.task, output_units(spec, data))].fn
        self.x = torch.as_tensor(data.x_train, device=device)              # (N, *input_shape)
        self.y = torch.as_tensor(data.y_train, device=device)              # (N,) | (N, T)
        self.n, self.bs = len(self.x), min(spec.batch_size, len(self.x))
        steps_per_epoch = -(-self.n // self.bs)
        self.opt = make_optimizer(self.model.parameters(), spec.optim)
        self.sched = make_scheduler(self.opt, spec.optim, steps_per_epoch, spec.steps)
        self.gen = torch.Generator().manual_seed(spec.seed)
        self.device = device
        self.perm, self.pos = torch.empty(0, dtype=torch.long), self.n

    def run_for(self, seconds: float) -> tuple[int, float, float]:
        """Train for about `seconds` in a thread at the worker's CPU priority (nice
        WORKER_NICE), so that the bare loop and the engine's worker yield alike to whatever
        else runs; returns (samples, elapsed seconds, CPU seconds of that thread)."""
        from ..trainer import lower_priority
        result = []
        thread = threading.Thread(target=lambda: (lower_priority(), result.append(self._train(seconds))))
        thread.start()
        thread.join()
        if not result:
            raise RuntimeError("the bare loop failed (see the traceback above)")
        return result[0]

    def _train(self, seconds: float) -> tuple[int, float, float]:
        model, opt, sched, loss_fn, x, y = self.model, self.opt, self.sched, self.loss_fn, self.x, self.y
        model.train()
        samples, t0, c0 = 0, time.perf_counter(), time.thread_time()
        end = t0 + seconds
        while True:                                         # at least one step
            if self.pos >= self.n:
                self.perm = torch.randperm(self.n, generator=self.gen).to(self.device)
                self.pos = 0
            idx = self.perm[self.pos:self.pos + self.bs]
            self.pos += self.bs
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            samples += len(idx)
            if time.perf_counter() >= end:
                break
        _sync(self.device)
        return samples, time.perf_counter() - t0, time.thread_time() - c0


class BareGanLoop(BareLoop):
    """The reference GAN loop: d_steps discriminator updates on a shuffled real batch and a
    generated one, then a generator update, written out by hand; counts the real samples the
    discriminator sees (as the engine's steps_per_epoch does)."""

    def __init__(self, spec: RunSpec, device: torch.device):
        from ..tasks.gan import DISCRIMINATOR, GENERATOR, gan_loss
        data = load_dataset(spec.data, spec.seed)
        torch.manual_seed(spec.seed)
        self.G = build_model(spec.net(GENERATOR).layers, (spec.gan.latent_dim,), spec.init).to(device)
        self.D = build_model(spec.net(DISCRIMINATOR).layers, data.input_shape, spec.init).to(device)
        self.opt_g = make_optimizer(self.G.parameters(), spec.net(GENERATOR).optim)
        self.opt_d = make_optimizer(self.D.parameters(), spec.net(DISCRIMINATOR).optim)
        self.loss, self.d_steps, self.latent = gan_loss(spec), spec.gan.d_steps, spec.gan.latent_dim
        self.x = torch.as_tensor(data.x_train, device=device)
        self.n, self.bs, self.shape = len(self.x), min(spec.batch_size, len(self.x)), data.input_shape
        self.gen = torch.Generator().manual_seed(spec.seed)
        self.device = device
        self.perm, self.pos = torch.empty(0, dtype=torch.long), self.n

    def _train(self, seconds: float) -> tuple[int, float, float]:
        G, D, loss, bs = self.G, self.D, self.loss, self.bs
        noise = lambda n: torch.randn(n, self.latent, generator=self.gen).to(self.device)
        samples, t0, c0 = 0, time.perf_counter(), time.thread_time()
        end = t0 + seconds
        while True:
            for _ in range(self.d_steps):
                if self.pos >= self.n:
                    self.perm, self.pos = torch.randperm(self.n, generator=self.gen).to(self.device), 0
                real = self.x[self.perm[self.pos:self.pos + bs]]
                self.pos += bs
                with torch.no_grad():
                    fake = G(noise(len(real))).reshape(len(real), *self.shape)
                d_loss = loss.d(D(real).squeeze(-1), D(fake).squeeze(-1))
                self.opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                self.opt_d.step()
                samples += len(real)
            g_loss = loss.g(D(G(noise(bs)).reshape(bs, *self.shape)).squeeze(-1))
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g.step()
            if time.perf_counter() >= end:
                break
        _sync(self.device)
        return samples, time.perf_counter() - t0, time.thread_time() - c0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------- (b), (c) the engine's worker
def live_views(spec: RunSpec) -> tuple[dict[str, Callable], str]:
    """The live views the spec's task gives its trainer (the Playground's for classification
    and regression, the samples for a language model), plus the probes recorder if they do not
    include one; and a note saying which were used."""
    from ..probes import Recorder
    from ..tasks import TASKS
    views: dict[str, Callable] = dict(TASKS[spec.task].views())
    one_network = len(TASKS[spec.task].roles) == 1                 # the recorder probes a run's one model
    if one_network and not any(isinstance(v, Recorder) for v in views.values()):
        views["probes"] = Recorder()
    note = ", ".join(views) if views else "none available (engine.views / engine.probes missing)"
    return views, note


class EngineMode:
    """A Trainer paused between windows; a window counts its steps from another thread."""

    def __init__(self, spec: RunSpec, views: dict[str, Callable] | None):
        from ..trainer import Trainer
        self.trainer = Trainer(spec, views=views or {})
        snap = self.trainer.wait(lambda s: s.state != "preparing", timeout=300)
        if snap.state != "idle":
            raise RuntimeError(f"{spec.name or 'case'}: trainer is {snap.state}: {snap.error}")
        self.run: Run = self.trainer.runs()[0]
        self.samples_per_step = self.run.n_train / self.run.steps_per_epoch
        self.step_share: list[float] = []       # per window: share of wall time spent inside Run.step

    def _step_time(self) -> float:
        """Seconds the worker has spent inside Run.step (the rest: evaluations, views, publishing)."""
        return sum(slot.train_time for slot in self.trainer._slots)

    def _cpu(self) -> float:
        """CPU seconds used so far by the worker thread (its own clock; wall time if unknown)."""
        try:
            return time.clock_gettime(time.pthread_getcpuclockid(self.trainer._thread.ident))
        except (AttributeError, OSError, TypeError):
            return time.perf_counter()

    def run_for(self, seconds: float) -> tuple[int, float, float]:
        t = self.trainer
        t.resume()
        time.sleep(min(0.1, seconds / 4))                   # the worker is in its loop
        s0, t0, c0, st0 = self.run.step_count, time.perf_counter(), self._cpu(), self._step_time()
        time.sleep(seconds)
        s1, t1, c1, st1 = self.run.step_count, time.perf_counter(), self._cpu(), self._step_time()
        # the clocks are read a moment apart, and the worker may step in between while this thread
        # waits for the GIL: in a short window that can read as over 100%, which it cannot be
        self.step_share.append(min(1.0, (st1 - st0) / (t1 - t0)))
        t.pause()
        t.wait(lambda s: s.state != "running", timeout=120)
        snap = t.snapshot()
        if snap.state not in ("paused", "idle"):
            raise RuntimeError(f"trainer stopped: {snap.state} {snap.error}")
        return round((s1 - s0) * self.samples_per_step), t1 - t0, c1 - c0

    def close(self) -> None:
        self.trainer.stop()
        for v in self.trainer.views.values():
            if hasattr(v, "close"):
                v.close()


# ---------------------------------------------------------------- measuring a case
@dataclass
class Result:
    case: str
    device: str
    batch_size: int
    n_train: int
    samples_per_s: dict[str, float]            # wall clock: what a user sees
    ratios: dict[str, float]                   # (b)/(a), (c)/(a) in wall-clock samples/s
    epochs_per_s: dict[str, float]
    samples_per_cpu_s: dict[str, float]        # per CPU second of the training thread: steadier on a busy machine
    ratios_cpu: dict[str, float]
    rounds: int
    window_s: float
    views: str = ""
    per_round: dict[str, list[float]] = field(default_factory=dict)
    step_share: dict[str, float] = field(default_factory=dict)   # worker time inside Run.step; the rest
                                                                 # is evaluation, views and publishing
    ratios_steps: dict[str, float] = field(default_factory=dict)  # (b)/(a), (c)/(a) counting only the
                                                                  # worker's time inside Run.step


def measure(case: Case, log: Callable[[str], None] = lambda s: None) -> Result:
    from ..device import pick_device
    device = pick_device(case.spec.device).device
    views, note = live_views(case.spec)
    bare = BareGanLoop if case.spec.task == "gan" else BareLoop
    modes: dict[str, Any] = {"bare": bare(case.spec, device),
                             "engine": EngineMode(case.spec, None),
                             "live": EngineMode(case.spec, views)}
    try:
        warm = max(0.3, case.window_s / 2)
        for m in modes.values():                            # warm-up: allocator, lazy state, caches
            m.run_for(warm)
        rates: dict[str, list[float]] = {m: [] for m in MODES}
        cpu_rates: dict[str, list[float]] = {m: [] for m in MODES}
        for r in range(case.rounds):
            order = MODES[r % 3:] + MODES[:r % 3]           # rotate who goes first
            for name in order:
                samples, secs, cpu = modes[name].run_for(case.window_s)
                rates[name].append(samples / secs)
                cpu_rates[name].append(samples / max(cpu, 1e-9))
            log(f"  {case.label} round {r + 1}/{case.rounds}: "
                + "  ".join(f"{m} {rates[m][-1]:,.0f}" for m in MODES))
    finally:
        for name in ("engine", "live"):
            modes[name].close()
    n_train = modes["engine"].run.n_train
    med = {m: statistics.median(v) for m, v in rates.items()}
    return Result(case.name, case.device, case.spec.batch_size, n_train, med, _ratios(rates),
                  {m: v / n_train for m, v in med.items()},
                  {m: statistics.median(v) for m, v in cpu_rates.items()}, _ratios(cpu_rates),
                  case.rounds, case.window_s, note, rates,
                  {m: statistics.median(modes[m].step_share[-case.rounds:]) for m in ("engine", "live")},
                  {m: statistics.median(e / share / b for e, share, b in
                                        zip(rates[m], modes[m].step_share[-case.rounds:], rates["bare"]))
                   for m in ("engine", "live")})


def _ratios(rates: dict[str, list[float]]) -> dict[str, float]:
    """Median over rounds of each mode's rate over the bare loop's in the same round."""
    return {m: statistics.median(a / b for a, b in zip(rates[m], rates["bare"])) for m in ("engine", "live")}


# ---------------------------------------------------------------- report
def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform(terse=True)}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        info["load_avg_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    return info


def table(results: list[Result]) -> str:
    head = (f"{'case':14s} {'dev':4s} {'batch':>5s} {'(a) bare':>10s} {'(b) engine':>10s} {'(c) live':>10s} "
            f"{'(b)/(a)':>8s} {'(c)/(a)':>8s} {'cpu (b)/(a)':>11s} {'cpu (c)/(a)':>11s} {'in steps':>9s} "
            f"{'steps (b)/(a)':>13s} {'live ep/s':>9s}")
    lines = [head, "-" * len(head)]
    for r in results:
        s = r.samples_per_s
        lines.append(f"{r.case:14s} {r.device:4s} {r.batch_size:>5d} {s['bare']:>10,.0f} {s['engine']:>10,.0f} "
                     f"{s['live']:>10,.0f} {r.ratios['engine']:>8.3f} {r.ratios['live']:>8.3f} "
                     f"{r.ratios_cpu['engine']:>11.3f} {r.ratios_cpu['live']:>11.3f} "
                     f"{r.step_share['engine']:>4.0%}/{r.step_share['live']:<4.0%} "
                     f"{r.ratios_steps['engine']:>13.3f} {r.epochs_per_s['live']:>9.1f}")
    lines.append("samples/s (wall clock); ratios: median of per-round ratios, by wall clock and by CPU time "
                 "of the training thread; in steps: share of the worker's time inside training steps, (b)/(c) "
                 "(the rest is evaluation, views, publishing); steps (b)/(a): the engine's rate counting only "
                 "its time inside steps. "
                 f"Targets: (b)/(a) >= {TARGETS['engine']}, (c)/(a) >= {TARGETS['live']}, "
                 f"TF Playground default >= {TARGETS['tf_epochs_per_s']:.0f} epochs/s live.")
    return "\n".join(lines)


def main(args: Any) -> int:
    quick = bool(getattr(args, "quick", False))
    as_json = bool(getattr(args, "json", False))
    log = (lambda s: None) if as_json else (lambda s: print(s, flush=True))
    from ..device import pick_device
    pick_device()                                           # sets torch's thread count, as the app does
    info = machine()
    log(f"machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']} "
        f"({info['torch_threads']} threads){', ' + info['gpu'] if 'gpu' in info else ''}")
    results = []
    for case in make_cases(quick, devices_present()):
        log(f"{case.label}: {case.rounds} rounds of {case.window_s:g} s per mode")
        results.append(measure(case, log))
    tf = {r.device: r.epochs_per_s for r in results if r.case == "tf_playground"}
    tf_cpu = {r.device: {m: v / r.n_train for m, v in r.samples_per_cpu_s.items()}
              for r in results if r.case == "tf_playground"}
    out: dict[str, Any] = {
        "machine": info, "quick": quick, "targets": TARGETS,
        "views": results[0].views if results else "",
        "cases": [{k: v for k, v in r.__dict__.items()} for r in results],
        "tf_playground_epochs_per_s": tf,
        "tf_playground_epochs_per_cpu_s": tf_cpu,     # per CPU second of the training thread
    }
    if getattr(args, "browser", False):
        out["browser"] = browser_wait(runs=BROWSER_RUNS)
    if as_json:
        print(json.dumps(out))
        return 0
    print()
    print(table(results))
    for dev, eps in tf.items():
        c = tf_cpu[dev]
        print(f"TF Playground default on {dev}: {eps['live']:.1f} epochs/s with live views "
              f"(engine without views {eps['engine']:.1f}, bare loop {eps['bare']:.1f}); per CPU second "
              f"of the training thread: {c['live']:.1f} live, {c['engine']:.1f} engine, {c['bare']:.1f} bare")
    notes = {r.case: r.views for r in results}
    print("live views: " + "; ".join(f"{case}: {note}" for case, note in notes.items()))
    for r in results:
        if r.case == "char_lstm":                   # a sequence is T characters
            t = load_preset("names_lstm_char_lm").data
            steps = load_dataset(t, 0).input_shape[0]
            print(f"char-LSTM on {r.device}: {r.samples_per_s['live'] * steps:,.0f} characters/s with live samples "
                  f"(engine {r.samples_per_s['engine'] * steps:,.0f}, bare loop {r.samples_per_s['bare'] * steps:,.0f})")
    if "browser" in out:
        b = out["browser"]
        s = lambda v: "n/a" if v is None else f"{v:.2f} s"
        print(f"browser ({BROWSER_RUNS} sessions, medians): first loss point {s(b['first_point_s'])} after Train; "
              f"chart refresh every {s(b['refresh_median_s'])} ({b['refreshes']} refreshes); per session "
              "(first point / refresh): " + ", ".join(f"{s(r['first_point_s'])} / {s(r['refresh_median_s'])}"
                                                     for r in b["runs"]))
    return 0
