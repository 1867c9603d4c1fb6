"""Where runs train: one factory, `start_trainer`, with the Trainer's arguments and interface,
for every page. The backend is chosen by PLAYGROUND_BACKEND:

- thread  (default): the run's worker is a thread of the server process (one user, a laptop)
- process: each run in its own child process; the server process never trains (a classroom)
- ray:     each run on a Ray actor, on the cluster at PLAYGROUND_RAY_ADDRESS or a local Ray

Every backend goes through the fair admission queue (engine/workers/admission.py): at most
PLAYGROUND_MAX_RUNS runs train at once on the server (default: the number of cores for the
process and Ray backends, no cap for the thread backend) and PLAYGROUND_MAX_RUNS_PER_SESSION
per browser session (default 2); the others wait in line."""
from __future__ import annotations

import functools
import logging
import os
from typing import Any

from .admission import Admission, ordinal
from .queued import QueuedSnapshot, QueuedTrainer
from .remote import NotPortable

log = logging.getLogger(__name__)

BACKEND_ENV = "PLAYGROUND_BACKEND"
MAX_RUNS_ENV = "PLAYGROUND_MAX_RUNS"
PER_SESSION_ENV = "PLAYGROUND_MAX_RUNS_PER_SESSION"
BACKENDS = ("thread", "process", "ray")
PER_SESSION = 2                  # a session may train its playground run and a race at once
NO_CAP = 10**6
DESCRIBE = {"thread": "threads of the server process", "process": "their own processes",
            "ray": "Ray actors"}

__all__ = ["start_trainer", "backend", "admission", "live_workers", "stop_all", "waiting_text",
           "QueuedSnapshot", "ordinal", "BACKENDS", "DESCRIBE", "ConfigError", "NO_CAP"]


class ConfigError(ValueError):
    """A setting in the environment that cannot work, with the fix."""


def backend() -> str:
    """The configured backend; an unknown name is a ConfigError saying the choices."""
    name = os.environ.get(BACKEND_ENV, "thread").strip().lower() or "thread"
    if name not in BACKENDS:
        raise ConfigError(f"{BACKEND_ENV}={name!r} is not a backend: use one of {', '.join(BACKENDS)}.")
    return name


def _count(env: str, default: int) -> int:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{env}={raw!r} must be a whole number of runs, 1 or more.")
    return int(raw)


@functools.lru_cache(maxsize=None)
def _admission(max_runs: int, per_session: int) -> Admission:
    return Admission(max_runs, per_session)


def admission(name: str | None = None) -> Admission:
    """The server's one admission queue for the configured caps."""
    name = name or backend()
    default = NO_CAP if name == "thread" else (os.cpu_count() or 1)
    return _admission(_count(MAX_RUNS_ENV, default), _count(PER_SESSION_ENV, PER_SESSION if name != "thread"
                                                            else NO_CAP))


def start_trainer(specs, *args: Any, backend_name: str | None = None, session: str = "",
                  **kwargs: Any) -> QueuedTrainer:
    """A trainer for `specs` (the Trainer's arguments) on the configured backend, behind the
    admission queue. `session` names the browser session for its cap (ui.session sets it)."""
    name = backend_name or backend()
    if name == "process":
        from .process import ProcessTrainer as make
    elif name == "ray":
        from .ray_backend import RayTrainer as make
    else:
        from ..trainer import Trainer as make
    autostart = kwargs.pop("autostart", False)
    queued = QueuedTrainer(None, admission(name), session)
    now = autostart and queued.claim()
    try:
        queued.inner = make(specs, *args, autostart=now, **kwargs)
    except NotPortable as e:                      # a view or builder that only lives here: train here
        from ..trainer import Trainer
        log.warning("this run trains in a thread of the server, not on the %s backend: its arguments cannot "
                    "be sent to another process (%s); make its views and builder module-level functions", name, e)
        queued.inner = Trainer(specs, *args, autostart=now, **kwargs)
    if autostart and not now:
        queued.resume()
    return queued


def live_workers() -> int:
    """Workers alive on this server, every backend."""
    import sys
    from ..trainer import live_workers as threads
    n = threads()
    if "engine.workers.process" in sys.modules:
        n += len(sys.modules["engine.workers.process"].live_processes())
    if "engine.workers.ray_backend" in sys.modules:
        n += len(sys.modules["engine.workers.ray_backend"].live_actors())
    return n


def stop_all(timeout: float = 2.0) -> None:
    """Stop every worker of every backend (at exit, and tests)."""
    import sys
    from ..trainer import stop_all_workers
    stop_all_workers()
    for mod in ("engine.workers.process", "engine.workers.ray_backend"):
        if mod in sys.modules:
            sys.modules[mod].stop_all(timeout)


def waiting_text(snap: Any) -> str:
    """'waiting: 3rd in line' for a run in the admission queue, '' otherwise."""
    n = getattr(snap, "waiting", 0)
    return f"waiting: {ordinal(n)} in line" if n else ""
