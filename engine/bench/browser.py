"""The user's wait in a browser (`python -m engine bench --browser`): Train -> first loss point
and the live chart's refresh interval on the Playground; `serve_app` starts the app (browser tests too)."""
from __future__ import annotations

import contextlib
import os
import statistics
import time
from typing import Any

# Installed in the page: timestamps (performance.now(), ms) of the Train click and of every
# change of the loss chart's data, with its largest step, read back by browser_wait.
_WATCH_JS = """() => {
  const w = window.__wait = {click: null, changes: [], last: null};
  document.addEventListener('click', e => {
    if (w.click === null && e.target.closest && e.target.closest('.st-key-pg_train')) w.click = performance.now();
  }, true);
  const sig = () => {
    for (const el of document.querySelectorAll('.st-key-pg_loss .js-plotly-plot')) {
      if (!el.data) continue;
      let n = 0, xmax = -1;
      for (const tr of el.data) {
        if (!tr.x || (tr.name || '').startsWith('previous')) continue;
        n += tr.x.length;
        for (const x of tr.x) if (x > xmax) xmax = x;
      }
      return [n, xmax];
    }
    return null;
  };
  const poll = () => {
    const s = sig();
    const key = s ? s.join(',') : null;
    if (key !== w.last) { w.last = key; if (s) w.changes.push([performance.now(), s[0], s[1]]); }
  };
  w.timer = setInterval(poll, 15);
}"""


def browser_wait(url: str | None = None, page: Any = None, watch_s: float = 8.0, runs: int = 1) -> dict:
    """The wait a user sees on the Playground with its default run: seconds from pressing
    Train to the first new loss point drawn, and the intervals between live chart updates
    while training. Uses `page` (a Playwright page) on `url` when given; otherwise starts
    the app on a free port and headless Debian Chromium, and stops both afterwards. With
    runs > 1 each run is a new browser session (a new run); the result holds the median
    first point and the median of the runs' median intervals, and every run under "runs"."""
    if page is not None and url is not None:
        return _measure_wait(page, url, watch_s)
    from playwright.sync_api import sync_playwright
    with serve_app() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--headless", "--no-sandbox", "--disable-gpu",
                                           "--disable-dev-shm-usage"])
        try:
            results = []
            for _ in range(runs):
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                results.append(_measure_wait(ctx.new_page(), url, watch_s))
                ctx.close()
        finally:
            browser.close()
    if runs == 1:
        return results[0]
    med = lambda k: statistics.median(r[k] for r in results if r[k] is not None) \
        if any(r[k] is not None for r in results) else None
    return {"first_point_s": med("first_point_s"), "refresh_median_s": med("refresh_median_s"),
            "refreshes": sum(r["refreshes"] for r in results),
            "runs": [{k: v for k, v in r.items() if k != "updates"} for r in results]}


@contextlib.contextmanager
def serve_app(log: Any = None, timeout_s: float = 90):
    """`streamlit run app.py` on a free localhost port; yields its URL and stops it afterwards.
    Raises RuntimeError when it does not answer its health check in time (the browser tests
    start the app with this too)."""
    import socket
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = log if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=root, stdout=out, stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(root)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _measure_wait(page: Any, url: str, watch_s: float) -> dict:
    page.set_default_timeout(90_000)
    page.goto(url.rstrip("/") + "/playground")              # the app opens on the course map
    idle = "[data-testid='stApp'][data-test-script-state='notRunning']"
    page.wait_for_selector(idle)
    page.wait_for_function("() => document.querySelector('.st-key-pg_train button') && "
                           "!document.querySelector('.st-key-pg_train button').disabled")
    page.wait_for_function("() => { const el = document.querySelector('.st-key-pg_loss .js-plotly-plot'); "
                           "return el && el.data; }")
    time.sleep(1.0)                                           # the page has settled
    page.evaluate(_WATCH_JS)
    button = page.locator(".st-key-pg_train button").first
    button.click()
    start = time.monotonic()
    while True:                                   # watch_s, longer (up to 10x) until 3 updates after step 0
        time.sleep(0.5)
        seen = page.evaluate("() => window.__wait.changes.filter(c => c[2] > 0).length")
        if time.monotonic() - start >= watch_s and (seen >= 3 or time.monotonic() - start >= 10 * watch_s):
            break
    watched = time.monotonic() - start
    w = page.evaluate("() => { clearInterval(window.__wait.timer); return window.__wait; }")
    running = "Pause" in button.inner_text()
    if running:
        button.click()                                        # leave the run paused
        page.wait_for_selector(idle)
    click = w["click"]
    changes = [c for c in w["changes"] if click is not None and c[0] > click]
    trained = [c for c in changes if c[2] > 0]                # a point after step 0
    first = (trained[0][0] - click) / 1000 if trained else None
    times = [c[0] / 1000 for c in trained]
    gaps = [b - a for a, b in zip(times, times[1:])]
    return {"first_point_s": first, "refreshes": len(gaps),
            "refresh_median_s": statistics.median(gaps) if gaps else None,
            "refresh_p90_s": sorted(gaps)[int(0.9 * (len(gaps) - 1))] if gaps else None,
            "refresh_max_s": max(gaps) if gaps else None,
            "watched_s": round(watched, 1), "still_running": running, "clicked": click is not None,
            "last_step": trained[-1][2] if trained else 0,
            "updates": [[round((c[0] - click) / 1000, 3), c[2]] for c in changes]}   # [s after click, step]
