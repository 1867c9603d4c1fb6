"""A trainer behind the admission queue: Train (resume) asks for a place and waits in line;
the place is given back when the run pauses, ends, fails, is reset or stopped (its session
closed). While waiting, the snapshot says so (`QueuedSnapshot.waiting`, the place in line) and
reads as active, so the page keeps polling and shows Pause, which leaves the line."""
from __future__ import annotations

import dataclasses
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from ..trainer import Snapshot, State, wait_for
from .admission import Admission

WATCH_S = 0.1            # how often the watcher looks for admitted runs that stopped training


@dataclass(frozen=True)
class QueuedSnapshot(Snapshot):
    waiting: int = 0               # place in line (1 = next), 0 when not waiting


class QueuedTrainer:
    """Trainer's public interface over `inner` (a Trainer or a remote one), with admission."""

    def __init__(self, inner: Any, admission: Admission, session: str = "") -> None:
        self.inner, self.admission, self.session = inner, admission, session
        self._lock = threading.Lock()
        self._waiting = False
        self._admitted_at: int | None = None      # inner snapshot version when admitted
        _watch(self)

    # ------------------------------------------------------------ commands
    def resume(self) -> None:
        with self._lock:
            if self._admitted_at is not None or self._waiting:
                admitted = self._admitted_at is not None
            else:
                self._waiting, admitted = True, False
        if admitted:
            self.inner.resume()
            return
        self.admission.request(self, self.session, self._on_admit)

    def claim(self) -> bool:
        """Take a place now if one is free (True); else take none (False). For autostart: a run
        admitted at once goes straight to running, as a plain Trainer's does."""
        with self._lock:
            self._waiting = True
        if self.admission.request(self, self.session, lambda: None) == 0:
            with self._lock:
                self._waiting, self._admitted_at = False, -1
            return True
        self._leave()
        return False

    def _on_admit(self) -> None:
        with self._lock:
            if not self._waiting:                 # cancelled meanwhile
                self.admission.release(self)
                return
            self._waiting = False
            self._admitted_at = self.inner.snapshot().version
        self.inner.resume()

    def pause(self) -> None:
        self._leave()
        self.inner.pause()

    def reset(self) -> None:
        self._leave()
        self.inner.reset()

    def stop(self, timeout: float = 5.0) -> None:
        self._leave()
        self.inner.stop(timeout=timeout)

    def _leave(self) -> None:
        with self._lock:
            self._waiting, self._admitted_at = False, None
        self.admission.release(self)

    def _check(self) -> None:
        """The watcher: an admitted run whose worker stopped training gives its place back."""
        with self._lock:
            since = self._admitted_at
        if since is None or self.inner is None:
            return
        s = self.inner.snapshot()
        if s.version > since and s.state not in (State.RUNNING, State.PREPARING) or not self.inner.alive:
            self._leave()

    # ------------------------------------------------------------ reading
    def snapshot(self) -> Snapshot:
        s = self.inner.snapshot()
        with self._lock:
            waiting = self._waiting
        if not waiting:
            return s
        pos = max(1, self.admission.position(self))
        fields = {f.name: getattr(s, f.name) for f in dataclasses.fields(Snapshot)}
        fields["state"] = State.RUNNING if s.state not in (State.ERROR, State.STOPPED) else s.state
        return QueuedSnapshot(**fields, waiting=pos)

    def wait(self, until: Callable[[Snapshot], bool], timeout: float = 60.0) -> Snapshot:
        return wait_for(self.snapshot, until, timeout)

    def __getattr__(self, name: str) -> Any:
        """Everything else (step, set_lr, refresh_views, views, runs, specs, ...) is the inner trainer's."""
        if name.startswith("__") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


_QUEUED: "weakref.WeakSet[QueuedTrainer]" = weakref.WeakSet()
_WATCHER: list[threading.Thread] = []
_WATCH_LOCK = threading.Lock()


def _watch(t: QueuedTrainer) -> None:
    with _WATCH_LOCK:
        _QUEUED.add(t)
        if not _WATCHER or not _WATCHER[0].is_alive():
            _WATCHER[:] = [threading.Thread(target=_watcher, daemon=True, name="playground-admission")]
            _WATCHER[0].start()


def _watcher() -> None:
    while True:
        for t in list(_QUEUED):
            try:
                t._check()
            except Exception:  # noqa: BLE001 - one broken trainer must not stop the queue
                t._leave()
        time.sleep(WATCH_S)
