"""What recording costs training: the Trainer with and without the probes Recorder, taking turns
(docs/performance.md's figure). `python -m engine.bench.overhead [--rounds N] [--window S]`."""
from __future__ import annotations

import math
import os
import statistics
import time
from typing import Any

import torch

from ..probes import Recorder


def measure_overhead(spec: Any, rounds: int = 15, window_s: float = 1.5) -> dict:
    """Training speed of the Trainer without views and with a Recorder (at the trainer's
    normal view rate), taking turns in windows of `window_s` seconds so a busy machine slows
    both alike: samples per second of wall time, samples per CPU second of the worker thread
    (robust when other processes share the cores), and the share of the worker's CPU time
    spent inside the recorder (what recording costs training when the CPU is the limit)."""
    from ..trainer import Trainer
    spent = [0.0]
    recorder = Recorder()

    def timed(run: Any) -> dict:
        t = time.thread_time()
        try:
            return recorder(run)
        finally:
            spent[0] += time.thread_time() - t

    spec = spec.with_(steps=10_000_000, device="cpu")             # never finishes inside the test
    trainers = {"without": Trainer(spec), "with": Trainer(spec, views={"probes": timed})}
    wall: dict[str, list[float]] = {k: [] for k in trainers}
    cpu: dict[str, list[float]] = {k: [] for k in trainers}
    worker_cpu = recorder_cpu = 0.0
    try:
        for t in trainers.values():
            t.wait(lambda s: s.state == "idle", timeout=120)
        for _ in range(rounds):
            for name, t in trainers.items():
                run, clock = t.runs()[0], time.pthread_getcpuclockid(t._thread.ident)   # the worker's CPU clock
                t.resume()
                time.sleep(0.3)                                    # warm up, skip the start
                s0, t0, c0, r0 = run.step_count, time.perf_counter(), time.clock_gettime(clock), spent[0]
                time.sleep(window_s)
                s1, t1, c1, r1 = run.step_count, time.perf_counter(), time.clock_gettime(clock), spent[0]
                t.pause()
                t.wait(lambda s: s.state == "paused", timeout=30)
                wall[name].append((s1 - s0) * run.batch_size / (t1 - t0))
                cpu[name].append((s1 - s0) * run.batch_size / max(c1 - c0, 1e-9))
                if name == "with":
                    worker_cpu, recorder_cpu = worker_cpu + c1 - c0, recorder_cpu + r1 - r0
    finally:
        for t in trainers.values():
            t.stop()
    med = statistics.median
    ratios = lambda d: [1 - w / wo for w, wo in zip(d["with"], d["without"]) if wo > 0] or [math.nan]
    return {"wall": {k: med(v) for k, v in wall.items()}, "cpu": {k: med(v) for k, v in cpu.items()},
            "slowdown_wall": med(ratios(wall)), "slowdown_cpu": med(ratios(cpu)),
            "recorder_share": recorder_cpu / max(worker_cpu, 1e-9), "rounds": rounds, "window_s": window_s}


def _main() -> None:
    """python -m engine.bench.overhead [--rounds N] [--window S]: the overhead figure of docs/performance.md."""
    import argparse
    from ..presets import load_preset
    p = argparse.ArgumentParser(description=_main.__doc__)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--window", type=float, default=1.5)
    args = p.parse_args()
    from ..device import pick_device
    print(f"torch {torch.__version__}, {pick_device('cpu').name}, {os.cpu_count()} cores")
    for name in ("mnist_cnn", "tf_playground"):
        r = measure_overhead(load_preset(name), args.rounds, args.window)
        w, c = r["wall"], r["cpu"]
        print(f"{name}: recorder share of the worker's CPU time {r['recorder_share']:.1%}; samples/s without / "
              f"with the recorder {w['without']:,.0f} / {w['with']:,.0f} (median slowdown {r['slowdown_wall']:+.1%}); "
              f"per CPU second of the worker {c['without']:,.0f} / {c['with']:,.0f} "
              f"(median slowdown {r['slowdown_cpu']:+.1%}); {r['rounds']} rounds of {r['window_s']:g} s")


if __name__ == "__main__":
    _main()
