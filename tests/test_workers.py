"""Where runs train (engine/workers): the admission queue, the queued trainer, and the process
and Ray backends giving the thread backend's numbers; a killed worker process shows as failed."""
import os
import signal

import pytest

from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec
from engine.tasks import TASKS
from engine.workers import start_trainer, stop_all, waiting_text
from engine.workers.admission import Admission, ordinal

L = LayerSpec.make
TINY = RunSpec.make(data=DataSpec("moons", 200, 0.1, 0.5),
                    layers=(L("linear", units=8), L("relu"), L("linear", units=2)),
                    optim=OptimSpec("adam", lr=0.02), batch_size=16, epochs=4, seed=7)
LONG = TINY.with_(epochs=100_000)
ENDED = ("done", "diverged", "error")


@pytest.fixture(autouse=True)
def _stop():
    yield
    stop_all()


# ---------------------------------------------------------------- the queue
def test_queue_admits_in_order_and_frees_on_release():
    q, admitted = Admission(max_runs=2, per_session=5), []
    for key in "abcde":
        q.request(key, "s" + key, lambda k=key: admitted.append(k))
    assert admitted == ["a", "b"] and q.counts() == (2, 3)
    assert [q.position(k) for k in "abcde"] == [0, 0, 1, 2, 3]
    q.release("a")                                  # a paused / ended / its tab closed
    assert admitted == ["a", "b", "c"] and q.position("d") == 1
    q.release("d")                                  # d left the line: e moves up, nobody admitted
    assert admitted == ["a", "b", "c"] and q.position("e") == 1
    q.release("b")
    q.release("c")
    assert admitted == ["a", "b", "c", "e"] and q.counts() == (1, 0) and q.position("zz") == -1


def test_session_cap_lets_other_sessions_pass():
    q, admitted = Admission(max_runs=3, per_session=1), []
    for key, session in [("a1", "A"), ("a2", "A"), ("b1", "B")]:
        q.request(key, session, lambda k=key: admitted.append(k))
    assert admitted == ["a1", "b1"] and q.position("a2") == 1     # a2 waits for A's own place
    q.release("a1")
    assert admitted == ["a1", "b1", "a2"]
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 103)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "103rd"]
    with pytest.raises(ValueError, match="at least 1"):
        Admission(0, 1)


def test_a_run_beyond_the_cap_waits_in_line_and_starts_when_one_pauses(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_RUNS", "1")
    first, second = (start_trainer(LONG, backend_name="thread", session=s) for s in ("A", "B"))
    first.wait(lambda s: s.state == "idle", 60)
    second.wait(lambda s: s.state == "idle", 60)
    first.resume()
    first.wait(lambda s: s.state == "running" and s.run.step > 0, 60)
    second.resume()
    snap = second.snapshot()
    assert snap.waiting == 1 and snap.active and waiting_text(snap) == "waiting: 1st in line"
    assert second.inner.snapshot().state == "idle" and second.inner.snapshot().run.step == 0
    first.pause()                                   # its place goes to the next in line
    second.wait(lambda s: not getattr(s, "waiting", 0) and s.state == "running" and s.run.step > 0, 60)
    assert first.snapshot().state == "paused"
    first.resume()                                  # now first waits behind second
    assert first.snapshot().waiting == 1
    second.stop()                                   # its session closed: first goes on
    first.wait(lambda s: s.state == "running" and not getattr(s, "waiting", 0), 60)


# ---------------------------------------------------------------- the backends
def _losses(backend: str) -> list[float]:
    t = start_trainer(TINY, backend_name=backend, autostart=True)
    snap = t.wait(lambda s: s.state in ENDED, 180)
    assert snap.state == "done", snap.error
    t.stop()
    return snap.run.evals["train_loss"]


def test_process_backend_gives_the_thread_backends_numbers_and_serves_views_and_runs():
    thread = _losses("thread")
    assert len(thread) >= 4 and thread[-1] < thread[0]
    assert _losses("process") == thread
    t = start_trainer(TINY, backend_name="process", views=TASKS[TINY.task].views())
    snap = t.wait(lambda s: s.state == "idle", 120)
    assert set(snap.run.views) >= {"boundary", "probes"} and t.inner.pid != os.getpid()
    t.views["probes"].set_example(3)                # a view's setting, set in the worker process
    assert t.views["probes"].example == 3 and "probes" in t.views
    with pytest.raises(ValueError, match="whole number"):
        t.step(0)                                   # the worker's own checks reach the caller
    t.step(5)
    snap = t.wait(lambda s: s.state == "paused" and s.run.step == 5, 60)
    run = t.runs()[0]                               # the model, read back on the server
    local = start_trainer(TINY, backend_name="thread")
    local.wait(lambda s: s.state == "idle", 60)
    local.step(5)
    local.wait(lambda s: s.state == "paused" and s.run.step == 5, 60)
    assert run.step_count == 5
    assert run.evaluate()["train_loss"] == pytest.approx(local.runs()[0].evaluate()["train_loss"], rel=1e-6)
    assert run.evaluate()["train_loss"] != pytest.approx(snap.run.evals["train_loss"][0], rel=1e-3)
    for p in run.model.parameters():                # weights loaded on the server (an upload) ...
        p.data.fill_(0.5)
    t.send_weights()                                # ... go back to the worker
    before = t.snapshot().version
    t.refresh_views()
    t.wait(lambda s: s.version > before, 30)
    assert all(float(p.detach().abs().sum()) == 0.5 * p.numel() for p in t.runs()[0].model.parameters())


def test_a_killed_worker_process_shows_the_run_as_failed_and_frees_its_place(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_RUNS", "1")
    t = start_trainer(LONG, backend_name="process", session="A", autostart=True)
    t.wait(lambda s: s.state == "running" and s.run is not None and s.run.step > 0, 120)
    waiting = start_trainer(TINY, backend_name="process", session="B", autostart=True)
    assert waiting.snapshot().waiting == 1
    os.kill(t.inner.pid, signal.SIGKILL)
    snap = t.wait(lambda s: s.state == "error", 30)
    assert "killed by SIGKILL" in snap.error and "start it again" in snap.error and not t.alive
    t.resume()                                      # commands to a dead worker do nothing, never hang
    done = waiting.wait(lambda s: s.state in ENDED, 180)   # its place went to the next in line
    assert done.state == "done", done.error


def test_ray_backend_gives_the_thread_backends_numbers():
    ray = pytest.importorskip("ray")
    from engine.workers.ray_backend import connect
    connect(num_cpus=1)                             # a local Ray, started here
    try:
        assert _losses("ray") == _losses("thread")
    finally:
        stop_all()
        ray.shutdown()


def test_a_run_whose_views_cannot_leave_this_process_trains_here_on_the_thread_backend():
    t = start_trainer(TINY, backend_name="process", views={"steps": lambda run: run.step_count})
    assert type(t.inner).__name__ == "Trainer"          # a lambda cannot be pickled: it stays here
    t.step(3)
    snap = t.wait(lambda s: s.state == "paused" and s.run.step == 3, 60)
    assert snap.run.views["steps"] == 3


def test_the_range_test_runs_on_the_process_backend():
    from engine.lr_finder import start_range_test
    t = start_range_test(TINY, 1e-4, 1.0, 30, make=lambda *a, **k: start_trainer(*a, backend_name="process", **k))
    assert type(t.inner).__name__ == "ProcessTrainer"
    snap = t.wait(lambda s: s.state in ENDED, 120)
    res = snap.run.views["result"]
    assert snap.state == "done" and len(res.lrs) == 30 and res.lr_min <= res.suggested <= res.lr_max
