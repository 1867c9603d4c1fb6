"""The load test's smoke: two sessions against a real server, every figure present and sane."""
from engine.loadtest import loadtest, summary


def test_loadtest_smoke_two_sessions_train_then_leave_no_worker(monkeypatch):
    for env in ("PLAYGROUND_BACKEND", "PLAYGROUND_MAX_RUNS", "PLAYGROUND_MAX_RUNS_PER_SESSION"):
        monkeypatch.setenv(env, "")
    r = loadtest(sessions=2, backend="thread", seconds=2.0, max_runs=1)
    assert r["errors"] == [] and r["all_progressing"], r
    assert len(r["steps_per_s"]) == 2 and min(r["steps_per_s"]) > 0
    assert max(r["queue_wait_s"]) > 0                 # a cap of 1: one of the two waited its turn
    assert r["health_ms"]["n"] > 5 and 0 < r["health_ms"]["p50"] <= r["health_ms"]["p99"]
    assert r["after_close"] == {"live_workers": 0, "training": 0, "waiting": 0}
    assert 0 < r["memory_mb"]["start"] <= r["memory_mb"]["peak"] and "health endpoint" in summary(r)
