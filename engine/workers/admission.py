"""Fair admission: a server-wide cap on runs training at once and a cap per session; a run
beyond them waits in one FIFO queue, and is admitted the moment a place frees (a run pauses,
ends, fails, or its session closes). A ticket blocked only by its own session's cap does not
hold up the tickets of other sessions behind it."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Hashable


@dataclass
class _Ticket:
    key: Hashable
    session: str
    on_admit: Callable[[], None]


class Admission:
    """Tickets by key (one per run): `request` queues one, `release` frees or cancels it."""

    def __init__(self, max_runs: int, per_session: int) -> None:
        if max_runs < 1 or per_session < 1:
            raise ValueError(f"the caps must be at least 1, got {max_runs} per server and {per_session} per session")
        self.max_runs, self.per_session = max_runs, per_session
        self._lock = threading.Lock()
        self._running: dict[Hashable, _Ticket] = {}
        self._waiting: list[_Ticket] = []

    def request(self, key: Hashable, session: str, on_admit: Callable[[], None]) -> int:
        """Queue `key` (a no-op when already running or waiting); `on_admit()` is called (on this
        thread or the releasing one) once it may train. Returns its position: 0 admitted."""
        with self._lock:
            if key not in self._running and all(t.key != key for t in self._waiting):
                self._waiting.append(_Ticket(key, session, on_admit))
            admitted = self._admit()
            pos = self._position(key)
        for t in admitted:
            t.on_admit()
        return pos

    def release(self, key: Hashable) -> None:
        """`key` stopped training (or stopped waiting): its place goes to the next in line."""
        with self._lock:
            self._running.pop(key, None)
            self._waiting = [t for t in self._waiting if t.key != key]
            admitted = self._admit()
        for t in admitted:
            t.on_admit()

    def position(self, key: Hashable) -> int:
        """0 when training, 1 for first in line, ...; -1 when neither."""
        with self._lock:
            return self._position(key)

    def counts(self) -> tuple[int, int]:
        """(training, waiting)."""
        with self._lock:
            return len(self._running), len(self._waiting)

    def _position(self, key: Hashable) -> int:
        if key in self._running:
            return 0
        return next((i + 1 for i, t in enumerate(self._waiting) if t.key == key), -1)

    def _admit(self) -> list[_Ticket]:
        admitted = []
        for t in list(self._waiting):
            if len(self._running) >= self.max_runs:
                break
            if sum(r.session == t.session for r in self._running.values()) >= self.per_session:
                continue
            self._waiting.remove(t)
            self._running[t.key] = t
            admitted.append(t)
        return admitted


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 3 -> '3rd', 11 -> '11th'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
