"""The live pattern every page shares (Streamlit 1.67): after a button's command, wait briefly
for the worker to apply it; then draw the trainer's snapshots in a fragment that polls only
while the trainer prepares or trains, and reruns the whole page when its state moves on, so
the buttons and the polling are drawn again for the new state."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from engine.trainer import Snapshot, State, Trainer

ACTIVE = (State.PREPARING, State.RUNNING)


def settle(t: Trainer, until: Callable[[Snapshot], bool], timeout: float = 1.0) -> Snapshot | None:
    """Wait (briefly) until the worker has applied a command, so this rerun draws the new state;
    None when it has not yet (the live panel keeps polling)."""
    try:
        return t.wait(until, timeout)
    except TimeoutError:
        return None


def follow(trainer: Callable[[], Trainer | None], shown: str, every: float,
           draw: Callable[[Trainer, Snapshot], None]) -> None:
    """Call draw(trainer, snapshot) now and, while the trainer prepares or trains, every `every`
    seconds in a fragment. `shown` is the state the page's buttons were drawn for: when the
    trainer leaves it, or `trainer()` returns another one (replaced, stopped), the whole page
    reruns."""
    t = trainer()
    if t is None:
        return

    @st.fragment(run_every=every if shown in ACTIVE else None)
    def panel() -> None:
        snap = t.snapshot()
        if trainer() is not t or snap.state != shown:
            st.rerun()
        draw(t, snap)
    panel()
