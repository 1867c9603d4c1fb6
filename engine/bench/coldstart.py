"""Cold start (`python -m engine.bench.coldstart [ROOT]`): seconds from launching
`streamlit run app.py` to the first page's content (the Course map's title) in headless
Chromium, and to the health endpoint answering. ROOT is the checkout to launch (default this one)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

TITLE = "Deep learning, by doing it"


def cold_start(root: Path, timeout_s: float = 120) -> dict:
    from playwright.sync_api import sync_playwright
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(root)})
        try:
            while True:
                try:
                    if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.perf_counter() - t0 > timeout_s:
                    raise RuntimeError("streamlit did not start")
                time.sleep(0.05)
            health = time.perf_counter() - t0
            page.goto(url, wait_until="commit")
            page.get_by_text(TITLE).wait_for(timeout=timeout_s * 1000)
            first = time.perf_counter() - t0
            page.goto(url + "/playground", wait_until="commit")
            page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=120_000)
            page.get_by_text("Train", exact=True).first.wait_for(timeout=120_000)
            playground = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(10)
            browser.close()
    return {"health_s": round(health, 2), "first_page_s": round(first, 2), "then_playground_s": round(playground, 2)}


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    print(json.dumps(cold_start(root)))
