"""The live pattern every page shares (Streamlit 1.67): after a button's command, wait briefly
for the worker to apply it; then draw the trainer's snapshots in a fragment that polls only
while the trainer prepares or trains, and reruns the whole page when its state moves on, so
the buttons and the polling are drawn again for the new state."""
from __future__ import annotations

import functools
from typing import Any, Callable

import streamlit as st

from engine.records import ViewError
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
    trainer leaves it, leaves the admission queue, or `trainer()` returns another one (replaced,
    stopped), the whole page reruns."""
    t = trainer()
    if t is None:
        return
    queued = bool(getattr(t.snapshot(), "waiting", 0))     # in the admission queue (engine.workers)

    @st.fragment(run_every=every if shown in ACTIVE else None)
    def panel() -> None:
        snap = t.snapshot()
        if trainer() is not t or snap.state != shown or bool(getattr(snap, "waiting", 0)) != queued:
            st.rerun()
        draw(t, snap)
    panel()


# ---------------------------------------------------------------- the buttons, for any one-run page
def safe_callback(report: Callable[[str], None]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A decorator for widget callbacks that never raise: an unexpected error becomes one
    sentence handed to `report` (which puts it on the page), and the page keeps working."""
    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            try:
                fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - shown to the user
                report(f"That change could not be applied ({type(e).__name__}: {e}); nothing was changed.")
        return wrapper
    return decorate


def train_or_pause(t: Trainer, before_reset: Callable[[], None] = lambda: None) -> None:
    """Train / Pause: pause a running trainer, else start it (a finished one again from fresh
    weights, after `before_reset`), and wait until its first steps are published, so the redraw
    after the click shows them."""
    snap = t.snapshot()
    state, step = snap.state, snap.run.step if snap.run is not None else 0
    if state == "running":
        t.pause()
        settle(t, lambda s: s.state != "running")
        return
    if state in ("done", "diverged"):
        before_reset()
        t.reset()
        step = 0
    t.resume()
    settle(t, lambda s: s.state not in ("preparing", "idle", "paused", "running")
           or s.state == "running" and s.run is not None and s.run.step > step)


def step_once(t: Trainer, only: str | None = None) -> None:
    """Step: train on one batch (only the network `only` names, of a run with several), then
    wait until that step (or why none was taken) is published."""
    snap = t.snapshot()
    before = snap.run.step if snap.run else 0
    if only is not None and snap.state == "running":
        t.pause()
    t.step(1, only=only)
    settle(t, lambda s: s.state not in ("running", "preparing", "idle", "paused")
           or (s.run is not None and s.run.step > before and s.state != "running"))


def reset(t: Trainer) -> None:
    """Reset: fresh random weights (the same seed), then wait until the worker has started on it."""
    before = t.snapshot().state
    t.reset()
    settle(t, lambda s: s.state != before)


def buttons(trainer: Callable[[], Trainer | None], safe: Callable) -> tuple[Callable[[], None], ...]:
    """Train / Pause, Step and Reset callbacks for a page's one run (`trainer()` finds it), each
    wrapped in `safe` (a `safe_callback` decorator that reports on the page)."""
    def command(fn: Callable[[Trainer], None]) -> Callable[[], None]:
        @safe
        def run_it() -> None:
            if (t := trainer()) is not None:
                fn(t)
        run_it.__name__ = f"on_{fn.__name__}"
        return run_it
    return command(train_or_pause), command(step_once), command(reset)


# ---------------------------------------------------------------- live parts of a page
def chart(fig: Any, key: str, static: bool) -> None:
    """A live chart; while training, the fragment's own redraws draw it as a picture (no hover)."""
    st.plotly_chart(fig, key=key, config={"staticPlot": True, "displayModeBar": False} if static
                    else {"displayModeBar": False})


def part(trainer: Callable[[], Trainer | None], shown: str, every: float, draw: Callable, prefix: str) -> None:
    """draw(snap, run, static) now and, while the run trains, every `every` seconds (`follow`);
    `static` is true on the fragment's own redraws, false on a full run of the page."""
    redrawn = f"{prefix}_redrawn_{draw.__name__}"
    st.session_state[redrawn] = False

    def panel(t: Trainer, s: Snapshot) -> None:
        if s.run is not None:
            draw(s, s.run, st.session_state[redrawn] and s.state == "running")
        st.session_state[redrawn] = True
    follow(trainer, shown, every, panel)


def record(run: Any, name: str, record_type: type) -> Any:
    """A run's published view record of this type, or None; a failed view is said on the page."""
    rec = run.views.get(name)
    if isinstance(rec, ViewError):
        st.error(f"This view failed: {rec.message}. Training goes on.")
    return rec if isinstance(rec, record_type) else None


STATE_TEXT = {"preparing": "preparing…", "idle": "ready", "running": "training", "paused": "paused",
              "diverged": "diverged", "done": "finished", "error": "error", "stopped": "stopped"}


def state_text(state: "str | Snapshot | None") -> str:
    """A worker's state (or a snapshot's) as the pages say it; 'no run' without one; 'waiting: 3rd
    in line' for a run in the admission queue (engine.workers)."""
    if isinstance(state, Snapshot):
        if getattr(state, "waiting", 0):
            from engine.workers import waiting_text
            return waiting_text(state)
        state = state.state
    return STATE_TEXT.get(state, "no run") if state else "no run"
