"""The Draw-a-digit page's logic: which saved runs can read a 28x28 digit, their models loaded
once per run, and the quick training of the MNIST CNN preset when there is none."""
from __future__ import annotations

import streamlit as st

from engine.deploy import saved_model
from engine.presets import load_preset
from engine.store import RunRecord, default_store
from engine.trainer import Trainer
from ui.session import start_trainer, workers

SLOT = "draw"
MNIST_DATA = ("mnist", "mnist_idx")


def candidates() -> list[RunRecord]:
    """Saved runs trained on MNIST digits (28x28, ten classes) that kept their weights, newest first."""
    store = default_store()
    if store is None:
        return []
    return [r for r in store.list() if r.weights and r.spec.get("data", {}).get("name") in MNIST_DATA
            and r.spec.get("task") == "classification"]


@st.cache_resource(max_entries=4, show_spinner=False)
def model_for(run_id: str):
    """(the run's network with its saved weights, on the CPU; its preprocessing)."""
    model, spec = saved_model(default_store(), run_id, (1, 28, 28))
    return model, spec.data.preprocessing


def start_training() -> None:
    """Train the mnist_cnn preset (about 15 s on a laptop CPU); it is saved to the history."""
    workers().put(SLOT, start_trainer(load_preset("mnist_cnn"), autostart=True, history=default_store(), page="draw"))


def trainer() -> Trainer | None:
    return workers().get(SLOT)


def label(r: RunRecord) -> str:
    acc = r.best.get("test_acc")
    score = f"{acc:.1%} on held-out digits" if isinstance(acc, (int, float)) else "no score"
    return f"{r.name} ({r.page}, {score}) · {r.id[:6]}"


