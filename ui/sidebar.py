"""The sidebar's global state: the device, where runs train (the backend and its cap), this
session's Playground run and the workers alive on the server."""
from __future__ import annotations

import streamlit as st

from engine import workers as backends
from engine.device import pick_device
from ui.session import workers


def sidebar() -> None:
    with st.sidebar:
        dev = pick_device()
        st.markdown(f"**Device:** {dev.name}")
        st.caption(f"Chosen once at start: {dev.reason}.")
        try:
            where = backends.backend()
            cap = backends.admission(where)
            training, waiting = cap.counts()
            st.markdown(f"**Workers:** {where}")
            limit = f"at most {cap.max_runs} at once" if cap.max_runs < backends.NO_CAP else "no cap on how many at once"
            st.caption(f"Runs train in {backends.DESCRIBE[where]}; {limit} on this server "
                       f"({training} training, {waiting} waiting).",
                       help="Set by PLAYGROUND_BACKEND (thread, process or ray) and PLAYGROUND_MAX_RUNS when the "
                            "server starts; a run beyond the cap waits in line and starts when a place frees.")
        except backends.ConfigError as e:
            st.error(str(e), icon=":material/error:")
        trainer = workers().get("playground")
        snap = trainer.snapshot() if trainer else None
        shown = (backends.waiting_text(snap) or snap.state) if snap else "none yet"
        st.markdown(f"**Playground run:** {shown}")
        st.caption(f"Training workers on this server: {backends.live_workers()}",
                   help="Each browser session has its own runs; closing the tab stops them.")
