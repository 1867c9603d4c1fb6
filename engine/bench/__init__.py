"""Benchmarks: `python -m engine bench [--json] [--quick] [--browser]`.

- throughput.py: samples/s of the engine (with and without the live views) against a bare
  PyTorch loop, the report and `main`;
- browser.py: the user's wait in headless Chromium (`--browser`), and `serve_app` for the
  browser tests;
- overhead.py: what the probes Recorder costs training (`python -m engine.bench.overhead`).
"""
from .browser import browser_wait, serve_app
from .throughput import (FOREVER, MODES, TARGETS, BareLoop, Case, EngineMode, Result, live_views, machine,
                         main, make_cases, measure, spiral_mlp_spec, table, tf_playground_spec)

__all__ = ["FOREVER", "MODES", "TARGETS", "BareLoop", "Case", "EngineMode", "Result", "browser_wait",
           "live_views", "machine", "main", "make_cases", "measure", "serve_app", "spiral_mlp_spec", "table",
           "tf_playground_spec"]
