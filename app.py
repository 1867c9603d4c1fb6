"""Deep-learning playground: `streamlit run app.py`.

Entry point: navigation over app_pages/, session defaults, and the sidebar with the global
state (device, this session's run, live workers)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine.device import pick_device
from engine import workers as backends
from ui.session import workers
from ui.state import init_defaults

# The tab's icon is a file of this repository: a :material/ icon would be fetched from a web font
# server, and the playground works offline.
st.set_page_config(page_title="Deep-learning playground", page_icon=str(Path(__file__).parent / "assets" / "favicon.png"),
                   layout="wide")
init_defaults()

PAGES = {
    "Start": [
        st.Page("app_pages/start.py", title="Course map", icon=":material/map:", default=True),
    ],
    "Train": [
        st.Page("app_pages/playground.py", title="Playground", icon=":material/tune:"),
        st.Page("app_pages/inside.py", title="Inside the network", icon=":material/biotech:"),
        st.Page("app_pages/arena.py", title="Optimizer arena", icon=":material/sports_score:"),
        st.Page("app_pages/runs.py", title="Runs", icon=":material/history:"),
        st.Page("app_pages/draw.py", title="Draw a digit", icon=":material/draw:"),
        st.Page("app_pages/explain.py", title="Explain a prediction", icon=":material/manage_search:"),
        st.Page("app_pages/compress.py", title="Compress a model", icon=":material/compress:"),
        st.Page("app_pages/sequences.py", title="Sequences & text", icon=":material/text_fields:"),
        st.Page("app_pages/gan.py", title="GAN lab", icon=":material/theater_comedy:"),
        st.Page("app_pages/autoencoder.py", title="Autoencoders", icon=":material/compress:"),
    ],
    "Learn": [
        st.Page("app_pages/conv_lab.py", title="Convolution lab", icon=":material/grid_on:"),
        st.Page("app_pages/activations.py", title="Activation functions", icon=":material/show_chart:"),
        st.Page("app_pages/backprop.py", title="Backprop step by step", icon=":material/replay:"),
    ],
}
page = st.navigation(PAGES, expanded=True)     # every page listed: no 'View more' fold

with st.sidebar:
    dev = pick_device()
    st.markdown(f"**Device:** {dev.name}")
    st.caption(f"Chosen once at start: {dev.reason}.")
    try:
        where = backends.backend()
        cap = backends.admission(where)
        training, waiting = cap.counts()
        st.markdown(f"**Workers:** {where}")
        st.caption(f"Runs train in {backends.DESCRIBE[where]}; at most "
                   f"{cap.max_runs if cap.max_runs < backends.NO_CAP else 'any number of'} at once on this server"
                   f" ({training} training, {waiting} waiting).",
                   help="Set by PLAYGROUND_BACKEND (thread, process or ray) and PLAYGROUND_MAX_RUNS when the "
                        "server starts; a run beyond the cap waits in line and starts when a place frees.")
    except backends.ConfigError as e:
        st.error(str(e), icon=":material/error:")
    trainer = workers().get("playground")
    snap = trainer.snapshot() if trainer else None
    st.markdown(f"**Playground run:** {snap.state if snap else 'none yet'}")
    st.caption(f"Training workers on this server: {backends.live_workers()}",
               help="Each browser session has its own runs; closing the tab stops them.")

page.run()
