"""The run a page that studies a trained network works on (Explain a prediction, Compress a
model): the Playground's run, paused, or a small preset trained headless on the page itself, in
the page's own slot of the session's workers and saved to the run history."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import streamlit as st

import ui.playground as pg
from engine.presets import load_preset
from engine.store import default_store
from engine.trainer import Trainer
from ui import builder
from ui.live import follow, settle
from ui.session import start_trainer, workers


@dataclass(frozen=True)
class Study:
    slot: str                                   # the page's workers slot and run-history page: "explain"
    prefix: str                                 # its widget keys: "ex" -> ex_preset, ex_train, ex_source
    verb: str                                   # "explain": said in the messages
    presets: dict[str, tuple[str, int]]         # the presets it trains itself: label, steps
    on_start: Callable[[], None] = lambda: None  # after a preset starts training (drop kept results)

    def key(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def trainer(self) -> Trainer | None:
        return workers().get(self.slot)

    def start_training(self) -> None:
        """Train the chosen preset for its few steps, headless in a worker; saved to the history."""
        name = st.session_state[self.key("preset")]
        spec = load_preset(name).with_(steps=self.presets[name][1])
        workers().put(self.slot, start_trainer(spec, autostart=True, history=default_store(), page=self.slot))
        st.session_state[self.key("source")] = self.slot
        self.on_start()

    def _on_train_here(self) -> None:
        if builder.clicked(self.key("train")):
            self.start_training()
            settle(self.trainer(), lambda s: s.active)

    def train_here(self) -> None:
        """Pick a small preset and train it on this page (a few seconds), with a progress bar."""
        t = self.trainer()
        busy = t is not None and t.snapshot().active
        a, b = st.columns([3, 1.2], vertical_alignment="bottom")
        a.selectbox("Preset to train here", list(self.presets), key=self.key("preset"),
                    format_func=lambda n: f"{self.presets[n][0]} ({self.presets[n][1]:,} steps)",
                    help="A ready-made dataset and network, trained for a few seconds on this page only.")
        b.button("Train it now", type="primary", disabled=busy, icon=":material/model_training:",
                 key=self.key("train"), width="stretch", on_click=self._on_train_here,
                 help="Train the preset headless here; it is saved to Runs.")

        def progress(_t, snap) -> None:
            if snap.run is not None:
                st.progress(min(1.0, snap.run.step / max(1, snap.run.total_steps)),
                            text=f"Training: step {snap.run.step:,} of {snap.run.total_steps:,}")
            if snap.state == "error":
                st.error(snap.error)
        if t is not None and busy:
            follow(self.trainer, t.snapshot().state, 0.5, progress)

    def pick(self) -> Trainer:
        """The trainer whose run the page studies, with the widgets that choose it; stops the
        page (st.stop) with a sentence when there is none yet or it is not paused."""
        runs = {slot: t for slot, t in (("playground", pg.trainer()), (self.slot, self.trainer())) if t is not None
                and (slot == "playground" or t.snapshot().state in ("done", "paused", "idle"))}
        if not runs:
            st.info("There is no trained network in this session yet. Train one on the **Playground**, or train a "
                    "small preset right here.", icon=":material/lightbulb:")
            self.train_here()
            st.stop()
        source = self.key("source")
        if len(runs) > 1:
            st.radio("Which run", list(runs), key=source, horizontal=True,
                     format_func={"playground": "the Playground's run", self.slot: "the preset trained here"}.get,
                     help=f"This page can {self.verb} a network trained in this browser session.")
        t = runs[st.session_state[source] if st.session_state[source] in runs else next(iter(runs))]
        snap = t.snapshot()
        with st.expander("Train a small preset here instead", icon=":material/inventory_2:"):
            self.train_here()
        if snap.state == "error":
            st.error(f"The Playground's run stopped with an error: {snap.error}. Change it on the Playground.")
            st.stop()
        if snap.state == "preparing":
            st.info("The Playground's run is being prepared: press Train there, pause it, then come back.")
            st.stop()
        if snap.active:
            st.info(f"The Playground's run is training. Pause it to {self.verb} the weights it has now.",
                    icon=":material/pause_circle:")
            st.button("Pause it", on_click=pg.on_train, key=self.key("pause"), icon=":material/pause:", type="primary",
                      help="Pause the Playground's run; press Train there (or here again) to go on.")
            st.stop()
        return t
