"""`python -m engine loadtest`: a classroom on one server, simulated on loopback.

It serves the real app (app.py, Streamlit's own server) inside this process, so the load test's
sessions share the server's interpreter, its GIL and its cores just as the pages' script threads
do. Then N sessions, each on its own thread: it loads the app's page over HTTP, starts a training
run of the Playground's kind (an MLP on the spiral, with the Playground's views: the decision
boundary, the neurons, the probes) through `engine.workers.start_trainer` with the backend and the
admission queue the pages use, polls its snapshot every POLL_S as the page's live fragment does,
and closes it (as SessionWorkers' on_release does when a tab closes). A separate prober process
times the server's health endpoint throughout. Why this is faithful: the runs, their views, the
snapshots, the queue and where they all live (threads of the server, or its child processes) are
the pages' own; what is left out is the browser's drawing and the script reruns that turn
snapshots into figures, so a real class costs the server somewhat more than this.
"""
from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
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


def _tree_mb(pid: int, skip: int | None = None) -> float:
    """RSS of `pid` and its descendants (without `skip`, the prober)."""
    return _rss_mb(pid) + sum(_rss_mb(p) for p in _descendants(pid) if p != skip)


class _Server:
    """app.py on Streamlit's server, on a free loopback port, in this process (as `streamlit run`
    does, less its signal handlers)."""

    def __init__(self) -> None:
        from streamlit.web import bootstrap
        from streamlit.web.server import Server
        main = str(Path(__file__).resolve().parents[1] / "app.py")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        bootstrap.load_config_options(flag_options={
            "server_port": self.port, "server_headless": True, "server_address": "127.0.0.1",
            "browser_gatherUsageStats": False, "server_fileWatcherType": "none"})
        bootstrap._fix_sys_path(main)
        self.url = f"http://127.0.0.1:{self.port}"
        self._server, self._ready, self._loop = Server(main, False), threading.Event(), None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True, name="loadtest-server")
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the app's server did not start")

    async def _run(self) -> None:
        await self._server.start()
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        await self._server.stopped

    def stop(self) -> None:
        import contextlib
        with contextlib.redirect_stdout(sys.stderr):      # Streamlit says "Stopping..." on stdout; --json owns it
            self._loop.call_soon_threadsafe(self._server.stop)
            self._thread.join(10)


def _probe(url: str) -> None:
    """The prober (its own process, so its timing does not wait on the server's GIL): GET the
    health endpoint every HEALTH_S until stdin closes; print (time, seconds) pairs as JSON."""
    stop, out = threading.Event(), []
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    while not stop.is_set():
        t = time.perf_counter()
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=10).read()
            out.append((time.time(), time.perf_counter() - t))
        except OSError:
            out.append((time.time(), 10.0))
        time.sleep(HEALTH_S)
    print(json.dumps(out))


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def loadtest(sessions: int = 12, backend: str = "process", seconds: float = 20.0,
             max_runs: int | None = None) -> dict:
    """Run the load test; returns the figures as plain data (see the module docstring)."""
    from .workers import BACKEND_ENV, MAX_RUNS_ENV, PER_SESSION_ENV, admission, live_workers
    os.environ[BACKEND_ENV] = backend
    os.environ[MAX_RUNS_ENV] = str(max_runs or sessions)
    os.environ.setdefault(PER_SESSION_ENV, "1")
    if backend == "process":
        from .workers.process import warm
        warm()                                    # as the app does after its first page
    server = _Server()
    prober = subprocess.Popen([sys.executable, "-m", "engine.loadtest", server.url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        urllib.request.urlopen(server.url + "/", timeout=30).read()
        time.sleep(1.0)                           # the health endpoint with nothing training
        start_mb, peak_mb = _tree_mb(os.getpid(), prober.pid), 0.0
        results = [SessionResult(f"s{i}") for i in range(sessions)]
        threads = [threading.Thread(target=_session, args=(i, server.url, backend, seconds, r), daemon=True)
                   for i, r in enumerate(results)]
        busy_from = time.time()
        for th in threads:
            th.start()
        while any(th.is_alive() for th in threads):
            peak_mb = max(peak_mb, _tree_mb(os.getpid(), prober.pid))
            time.sleep(0.5)
        busy_to = time.time()
        time.sleep(1.0)
        after_workers = live_workers()
        end_mb = _tree_mb(os.getpid(), prober.pid)
        training, waiting = admission(backend).counts()
    finally:
        probes, _ = prober.communicate("", timeout=30)
        server.stop()
    probes = json.loads(probes or "[]")
    idle = [x * 1000 for t, x in probes if t < busy_from]
    ms = [x * 1000 for t, x in probes if busy_from <= t <= busy_to]
    return {
        "backend": backend, "sessions": sessions, "seconds": seconds, "cores": os.cpu_count(),
        "max_runs": int(os.environ[MAX_RUNS_ENV]),
        "health_ms": {"p50": round(_pct(ms, 0.5), 1), "p99": round(_pct(ms, 0.99), 1),
                      "max": round(max(ms, default=0), 1), "n": len(ms), "idle_p50": round(_pct(idle, 0.5), 1)},
        "steps_per_s": [round(r.steps_per_s, 1) for r in results],
        "first_point_s": [None if r.first_point_s is None else round(r.first_point_s, 2) for r in results],
        "queue_wait_s": [round(r.queue_wait_s, 2) for r in results],
        "page_load_s": [round(r.page_load_s, 3) for r in results],
        "all_progressing": all(r.steps > 0 and not r.error for r in results),
        "errors": [r.error for r in results if r.error],
        "memory_mb": {"start": round(start_mb), "peak": round(peak_mb), "end": round(end_mb)},
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
        f"server memory with its worker processes (MB): {m['start']} -> peak {m['peak']} -> {m['end']} after close",
        f"after close: {r['after_close']['live_workers']} live workers, {r['after_close']['training']} training, "
        f"{r['after_close']['waiting']} waiting",
    ] + [f"error: {e}" for e in r["errors"]])


if __name__ == "__main__":
    _probe(sys.argv[1])
