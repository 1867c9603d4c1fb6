"""Cold start: the engine (torch, scikit-learn, every page's defaults) is imported by a
background thread while the first page, the Course map, renders without it."""
from __future__ import annotations

import sys
import threading
import time

DELAY_S = 1.0                      # let the first page reach the browser before the imports take the GIL

_STARTED = threading.Event()       # once per server process


def ready() -> bool:
    """The engine and every page's defaults are imported."""
    return "ui.state" in sys.modules and "ui.sidebar" in sys.modules and not _loading()


def _loading() -> bool:
    t = _THREAD[0] if _THREAD else None
    return t is not None and t.is_alive()


_THREAD: list[threading.Thread] = []


def start() -> None:
    """Import the engine on a background thread (once); a page that needs it meanwhile waits on
    Python's import lock, never imports it twice."""
    if _STARTED.is_set():
        return
    _STARTED.set()

    def load() -> None:
        time.sleep(DELAY_S)
        import ui.sidebar  # noqa: F401 - the sidebar's device and workers
        import ui.state  # noqa: F401 - every page's defaults, hence the engine
        from engine.device import pick_device
        pick_device()
        from engine import workers
        if workers.backend() == "process":
            from engine.workers.process import warm
            warm()                               # the forkserver, with torch imported once

    _THREAD.append(threading.Thread(target=load, daemon=True, name="playground-warm"))
    _THREAD[0].start()
