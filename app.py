"""Deep-learning playground: `streamlit run app.py`.

Entry point: navigation over app_pages/, session defaults, and the sidebar with the global
state (device, workers, this session's run). The Course map needs no torch: on a fresh server it
renders at once while a background thread imports the engine (ui.warm), and every other page
(and the Course map once the engine is in) gets the full set-up."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import warm

# The tab's icon is a file of this repository: a :material/ icon would be fetched from a web font
# server, and the playground works offline.
st.set_page_config(page_title="Deep-learning playground", page_icon=str(Path(__file__).parent / "assets" / "favicon.png"),
                   layout="wide")

START = st.Page("app_pages/start.py", title="Course map", icon=":material/map:", default=True)
PAGES = {
    "Start": [START],
    "Train": [
        st.Page("app_pages/playground.py", title="Playground", icon=":material/tune:"),
        st.Page("app_pages/inside.py", title="Inside the network", icon=":material/biotech:"),
        st.Page("app_pages/arena.py", title="Optimizer arena", icon=":material/sports_score:"),
        st.Page("app_pages/regularise.py", title="Overfitting & augmentation", icon=":material/auto_awesome_mosaic:"),
        st.Page("app_pages/runs.py", title="Runs", icon=":material/history:"),
        st.Page("app_pages/draw.py", title="Draw a digit", icon=":material/draw:"),
        st.Page("app_pages/explain.py", title="Explain a prediction", icon=":material/manage_search:"),
        st.Page("app_pages/compress.py", title="Compress a model", icon=":material/compress:"),
        st.Page("app_pages/sequences.py", title="Sequences & text", icon=":material/text_fields:"),
        st.Page("app_pages/gan.py", title="GAN lab", icon=":material/theater_comedy:"),
        st.Page("app_pages/autoencoder.py", title="Autoencoders", icon=":material/compress:"),
        st.Page("app_pages/transfer.py", title="Few labels", icon=":material/school:"),
    ],
    "Learn": [
        st.Page("app_pages/conv_lab.py", title="Convolution lab", icon=":material/grid_on:"),
        st.Page("app_pages/activations.py", title="Activation functions", icon=":material/show_chart:"),
        st.Page("app_pages/backprop.py", title="Backprop step by step", icon=":material/replay:"),
    ],
}
page = st.navigation(PAGES, expanded=True)     # every page listed: no 'View more' fold

cold = page.url_path == START.url_path and not warm.ready()
if cold:
    with st.sidebar:
        st.markdown("**Device:** starting the engine…")
        st.caption("PyTorch is loading in the background; the training pages open as soon as it is in.")
else:
    from ui.sidebar import sidebar
    from ui.state import init_defaults
    init_defaults()
    sidebar()

page.run()
if cold:
    warm.start()                               # the engine loads while the Course map shows
