"""The one place that sets session defaults. Pages read st.session_state; they do not
scatter `if key not in st.session_state` checks."""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

# key -> default value, or a zero-argument factory for values built on first use
DEFAULTS: dict[str, Any | Callable[[], Any]] = {
}


def init_defaults() -> None:
    for key, default in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = default() if callable(default) else default
