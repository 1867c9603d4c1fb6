"""Streamlit helpers shared by the pages: session state, per-session workers, widgets."""
