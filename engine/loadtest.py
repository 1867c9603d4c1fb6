"""`python -m engine loadtest`: a classroom on one server, simulated on loopback.

It starts the real app (`streamlit run app.py`, engine/bench/browser.serve_app) with the chosen
backend, then N sessions, each on its own thread: it loads the app's page over HTTP, starts a
training run of the Playground's kind (an MLP on the spiral, with the Playground's views: the
decision boundary, the neurons, the probes) through `engine.workers.start_trainer` with the
backend and the admission queue the pages use, polls its snapshot every POLL_S as the page's
live fragment does, and closes it (SessionWorkers' on_release stops it the same way). Meanwhile a
prober times the server's health endpoint. Why this is faithful: the runs, their views, the
snapshots and the queue are the pages' own code paths; what is not the browser's is the drawing
of figures. With the thread backend the runs' threads live in this process rather than in the
server's (same cores, not the same interpreter), so its figures understate the thread backend's
cost to the server: its GIL is shared with the runs in a real deployment.
"""
from __future__ import annotations

import os
import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass, field

POLL_S = 0.25            # the pages' live fragments rerun about this often
WAIT_MAX_S = 300.0       # a session gives up waiting for a place after this long
HEALTH_S = 0.05          # the prober asks the health endpoint this often


@dataclass
class SessionResult:
    name: str
    page_load_s: float = 0.0
    queue_wait_s: float = 0.0        # in the admission queue before training
    first_point_s: float | None = None   # start -> the first loss point in a snapshot
    steps: int = 0
    train_s: float = 0.0
    error: str = ""
    polls: list = field(default_factory=list)

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.train_s if self.train_s > 0 else 0.0


def loadtest_spec(epochs: int = 100_000):
    from .spec import DataSpec, LayerSpec, OptimSpec, RunSpec
    L = LayerSpec.make
    return RunSpec.make(data=DataSpec("spiral", 500, 0.1, 0.5),
                        layers=(L("linear", units=16), L("tanh"), L("linear", units=16), L("tanh"),
                                L("linear", units=2)),
                        optim=OptimSpec("adam", lr=0.01), batch_size=16, epochs=epochs, seed=1)


def _session(i: int, url: str, backend: str, seconds: float, out: SessionResult) -> None:
    from .tasks import TASKS
    from .workers import start_trainer
    t0 = time.perf_counter()
    try:
        urllib.request.urlopen(url + "/", timeout=30).read()
        out.page_load_s = time.perf_counter() - t0
        spec = loadtest_spec()
        t = start_trainer(spec, backend_name=backend, session=out.name, views=TASKS[spec.task].views(),
                          autostart=True, names=["playground"])
        started, admitted, first_step = time.perf_counter(), None, 0
        try:
            while True:                           # train `seconds` once admitted; wait at most WAIT_MAX_S
                snap = t.snapshot()
                now = time.perf_counter()
                if (admitted is not None and now - admitted >= seconds) or now - started > seconds + WAIT_MAX_S:
                    break
                if snap.state == "error":
                    out.error = snap.error
                    break
                if getattr(snap, "waiting", 0):
                    out.queue_wait_s = now - started
                if admitted is None and not getattr(snap, "waiting", 0) and snap.state == "running":
                    admitted, first_step = now, snap.run.step if snap.run else 0
                if out.first_point_s is None and snap.run is not None and snap.run.batches.get("step"):
                    out.first_point_s = now - started
                out.polls.append((now - started, snap.run.step if snap.run else 0))
                time.sleep(POLL_S)
            snap = t.snapshot()
            if admitted is not None and snap.run is not None:
                out.steps, out.train_s = snap.run.step - first_step, time.perf_counter() - admitted
        finally:
            t.stop(timeout=5)                     # the tab closes
    except Exception as e:  # noqa: BLE001 - reported per session
        out.error = f"{type(e).__name__}: {e}"


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def _server_pid(port: int) -> int | None:
    """The streamlit child of this process serving `port`."""
    for pid in _descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and str(port).encode() in cmd:
            return pid
    return None


def _tree_mb(pid: int, skip: int | None) -> float:
    """RSS of `pid` and its descendants, without the app server's (skip)."""
    return _rss_mb(pid) + sum(_rss_mb(p) for p in _descendants(pid) if p != skip)


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def loadtest(sessions: int = 12, backend: str = "process", seconds: float = 20.0,
             max_runs: int | None = None) -> dict:
    """Run the load test; returns the figures as plain data (see the module docstring)."""
    from .bench.browser import serve_app
    from .workers import BACKEND_ENV, MAX_RUNS_ENV, PER_SESSION_ENV, admission, live_workers
    os.environ[BACKEND_ENV] = backend
    os.environ[MAX_RUNS_ENV] = str(max_runs or sessions)
    os.environ.setdefault(PER_SESSION_ENV, "1")
    with serve_app() as url:
        port = int(url.rsplit(":", 1)[1])
        server = _server_pid(port)
        urllib.request.urlopen(url + "/", timeout=30).read()
        server_start, host_start = _rss_mb(server or 0), _tree_mb(os.getpid(), server)
        latencies, stop = [], threading.Event()
        peak = {"server": server_start, "host": host_start}

        def probe():
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    urllib.request.urlopen(url + "/_stcore/health", timeout=10).read()
                    latencies.append(time.perf_counter() - t)
                except OSError:
                    latencies.append(10.0)
                peak["server"] = max(peak["server"], _rss_mb(server or 0))
                time.sleep(HEALTH_S)

        results = [SessionResult(f"s{i}") for i in range(sessions)]
        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        if backend == "process":
            from .workers.process import warm
            warm()                                # as the app does after its first page
        time.sleep(1.0)
        idle = list(latencies)
        threads = [threading.Thread(target=_session, args=(i, url, backend, seconds, r), daemon=True)
                   for i, r in enumerate(results)]
        n_before = len(latencies)
        for th in threads:
            th.start()
        while any(th.is_alive() for th in threads):
            peak["host"] = max(peak["host"], _tree_mb(os.getpid(), server))
            time.sleep(0.5)
        busy = latencies[n_before:]
        stop.set()
        prober.join(5)
        time.sleep(1.0)
        after_workers = live_workers()
        server_end, host_end = _rss_mb(server or 0), _tree_mb(os.getpid(), server)
        training, waiting = admission(backend).counts()
    ms = [x * 1000 for x in busy]
    return {
        "backend": backend, "sessions": sessions, "seconds": seconds, "cores": os.cpu_count(),
        "max_runs": int(os.environ[MAX_RUNS_ENV]),
        "health_ms": {"p50": round(_pct(ms, 0.5), 1), "p99": round(_pct(ms, 0.99), 1),
                      "max": round(max(ms, default=0), 1), "n": len(ms), "idle_p50": round(
                          _pct([x * 1000 for x in idle], 0.5), 1)},
        "steps_per_s": [round(r.steps_per_s, 1) for r in results],
        "first_point_s": [None if r.first_point_s is None else round(r.first_point_s, 2) for r in results],
        "queue_wait_s": [round(r.queue_wait_s, 2) for r in results],
        "page_load_s": [round(r.page_load_s, 3) for r in results],
        "all_progressing": all(r.steps > 0 and not r.error for r in results),
        "errors": [r.error for r in results if r.error],
        "memory_mb": {"server_start": round(server_start), "server_peak": round(peak["server"]),
                      "server_end": round(server_end), "host_start": round(host_start),
                      "host_peak": round(peak["host"]), "host_end": round(host_end)},
        "after_close": {"live_workers": after_workers, "training": training, "waiting": waiting},
    }


def summary(r: dict) -> str:
    sp = r["steps_per_s"]
    fp = [x for x in r["first_point_s"] if x is not None]
    m = r["memory_mb"]
    return "\n".join([
        f"{r['sessions']} sessions, {r['backend']} backend, {r['seconds']:g} s each, {r['cores']} cores, "
        f"cap {r['max_runs']}",
        f"health endpoint: p50 {r['health_ms']['p50']} ms, p99 {r['health_ms']['p99']} ms "
        f"(idle p50 {r['health_ms']['idle_p50']} ms, {r['health_ms']['n']} probes)",
        f"steps/s per session: min {min(sp, default=0):.0f}, median {statistics.median(sp) if sp else 0:.0f}, "
        f"max {max(sp, default=0):.0f}; every session progressing: {r['all_progressing']}",
        f"first loss point: median {statistics.median(fp) if fp else float('nan'):.2f} s, "
        f"max {max(fp, default=float('nan')):.2f} s; queue waits max {max(r['queue_wait_s'], default=0):.2f} s",
        f"memory (MB): server {m['server_start']} -> peak {m['server_peak']} -> {m['server_end']} after close; "
        f"trainer host {m['host_start']} -> peak {m['host_peak']} -> {m['host_end']}",
        f"after close: {r['after_close']['live_workers']} live workers, {r['after_close']['training']} training, "
        f"{r['after_close']['waiting']} waiting",
    ] + [f"error: {e}" for e in r["errors"]])
