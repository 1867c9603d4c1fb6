"""Start: the course as a map. Every concept, the page that shows it, what to look for there.

Layout only: the concepts are data in ui/course.py.
"""
from __future__ import annotations

import streamlit as st

from ui import course, url

COLUMNS = 3

if url.PARAM in st.query_params:          # a shared link to the app's root: the Playground reads it
    st.switch_page(course.PLAYGROUND, query_params=st.query_params.to_dict())

st.title("Deep learning, by doing it")
st.caption("Every concept this playground teaches, in course order. Each card names the page that shows "
           "it and what to look for there; **Open** takes you there, with the preset already loaded. "
           "This map is one click away in the sidebar, so every concept is two clicks from anywhere.")

concepts = course.available()
for row in range(0, len(concepts), COLUMNS):
    cols = st.columns(COLUMNS, gap="medium")
    for i, (col, c) in enumerate(zip(cols, concepts[row:row + COLUMNS])):
        with col.container(border=True, height="stretch"):
            st.markdown(f"**{row + i + 1}. {c.name}**")
            st.write(c.look_for)
            st.page_link(c.page, icon=":material/arrow_forward:", help="Open the page as you left it.")
            if c.preset and st.button(f"Open with {c.preset}", key=f"course_{row + i}", icon=":material/play_arrow:",
                                      help=f"Loads the preset {c.preset} on that page, then opens it."):
                course.open_concept(c)
                st.switch_page(c.page)
