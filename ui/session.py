"""Per-browser-session objects: the session's trainers, kept across page visits and
stopped when the browser session ends (cache_resource scope='session' + on_release)."""
from __future__ import annotations

import threading
import uuid

import streamlit as st

from engine import workers as backends
from engine.trainer import Trainer


class SessionWorkers:
    """This session's trainers by slot ('playground', 'arena', ...): one live trainer per slot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trainers: dict[str, Trainer] = {}
        self.session = uuid.uuid4().hex[:12]       # this session's name in the admission queue

    def get(self, slot: str) -> Trainer | None:
        return self._trainers.get(slot)

    def put(self, slot: str, trainer: Trainer | None) -> None:
        """Install `trainer` in `slot`, stopping the one it replaces."""
        with self._lock:
            old = self._trainers.pop(slot, None)
            if trainer is not None:
                self._trainers[slot] = trainer
        if old is not None and old is not trainer:
            old.stop(timeout=2)

    def follow(self, slot: str, spec, ok: bool, make) -> Trainer | None:
        """The slot's trainer follows a page's spec: kept while it trains this spec, a new one
        from `make()` for another spec (or after it stopped), none when the spec cannot train."""
        t = self.get(slot)
        if not ok:
            if t is not None:
                self.put(slot, None)
            return None
        if t is None or t.specs[0] != spec or not t.alive:
            t = make()
            self.put(slot, t)
        return t

    def stop_all(self) -> None:
        with self._lock:
            trainers, self._trainers = list(self._trainers.values()), {}
        for t in trainers:
            t.stop(timeout=2)


def start_trainer(specs, *args, **kwargs) -> Trainer:
    """A trainer on the configured backend (engine.workers), counted against this session's cap."""
    return backends.start_trainer(specs, *args, session=workers().session, **kwargs)


@st.cache_resource(scope="session", on_release=lambda w: w.stop_all(), show_spinner=False)
def workers() -> SessionWorkers:
    return SessionWorkers()
