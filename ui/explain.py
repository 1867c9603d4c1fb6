"""The Explain page's logic: which run it explains (the Playground's, or a small preset trained
here), the settings as an engine.explain.ExplainConfig, and the explanation kept for the
settings it was made with (it takes a second or two; a rerun with the same settings reuses it)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from engine.trainer import Trainer
from ui.study import Study

SLOT = "explain"
# presets this page can train by itself: label, and the steps it trains them for (a few seconds on a CPU)
START_PRESETS = {"shapes_cnn": ("Shapes with a small CNN (the object's pixels are known)", 200),
                 "mnist_cnn": ("MNIST digits with a small CNN", 300),
                 "mlp_digits": ("8x8 digits with an MLP", 400),
                 "logistic_regression": ("Breast cancer table, logistic regression", 300),
                 "tf_playground": ("2-D circle data with a tiny MLP", 3000)}
PREDICTED = -1                       # the target-class widget's value for "the predicted class"

EXPLAIN_DEFAULTS: dict[str, Any] = {
    "ex_source": "playground",        # which run: the Playground's or the one trained here
    "ex_preset": "shapes_cnn",
    "ex_mode": "pick",                # pick | misclassified
    "ex_example": 0,
    "ex_methods": None,               # None: every method that applies
    "ex_target": PREDICTED,
    "ex_baseline": "zeros",
    "ex_ig_steps": 64,
    "ex_window": 5,
    "ex_stride": 2,
    "ex_layer": None,                 # None: the last conv layer
    "ex_sanity": True,
    "ex_result": None,                # (settings key, explanation) of the last explanation
}


def _forget() -> None:
    st.session_state["ex_result"] = None


STUDY = Study(SLOT, "ex", "explain", START_PRESETS, on_start=_forget)   # which run: ui/study.py


def config(methods: tuple[str, ...], target: int | None, sanity: bool = True):
    """The page's settings as the engine's config."""
    from engine.explain import ExplainConfig
    s = st.session_state
    return ExplainConfig(methods=methods, target=target, baseline=s["ex_baseline"], ig_steps=int(s["ex_ig_steps"]),
                         window=int(s["ex_window"]), stride=int(s["ex_stride"]), gradcam_layer=s["ex_layer"],
                         sanity=sanity and bool(s["ex_sanity"]))


def explanation(t: Trainer, what: str, index: int, cfg) -> Any:
    """The explanation of the trainer's (idle) run for these settings, made once per settings."""
    from engine import explain
    key = (id(t), t.snapshot().version, what, index, cfg)
    kept = st.session_state["ex_result"]
    if kept is not None and kept[0] == key:
        return kept[1]
    run = t.runs()[0]
    if what == "image":
        value = explain.explain_image(run, index, cfg)
    elif what == "table":
        value = explain.explain_features(run, index, cfg)
    else:
        value = explain.gradient_field(run, cfg.target)
    st.session_state["ex_result"] = (key, value)
    return value
