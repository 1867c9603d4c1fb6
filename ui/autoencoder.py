"""The Autoencoders page's logic: its spec (an encoder and a decoder edited with the Playground's
layer cards), its run (a Trainer in the session's "autoencoder" slot with engine.autoencoder_views),
the buttons' callbacks, the click on the code plane, and the sentences the page shows.

State (AE_DEFAULTS, set by ui.state): `ae_spec` is the spec being edited, with `ae_gen` and
`ae_error`, kept by EDITOR (ui/networks.py: the keys, the layer cards' callbacks, the bound
widgets). `ae_u`, `ae_v` are the chosen point of the code plane (set by a click on it or typed).
"""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st

from engine.autoencoder_views import autoencoder_views, code_of, decode_point
from engine.build import LayerInfo, infer_shapes
from engine.data import DATASETS, DataError, Dataset
from engine.presets import load_preset, preset_names
from engine.records import AeLatent
from engine.run import load_dataset
from engine.spec import RunSpec
from engine.store import default_store
from engine.tasks.autoencoder import DECODER, ENCODER, TASK, architecture, fit_code, networks_for
from engine.trainer import Trainer, validate
from ui import live
from ui.networks import NetworksEditor, with_optim
from ui.session import start_trainer, workers

SLOT = PAGE = "autoencoder"
DEFAULT_PRESET = "mnist_autoencoder"
DATA = {"mnist": 5000, "digits": 1797, "shapes": 2000}       # the datasets offered, and the examples each loads
ROLES = {ENCODER: "Encoder", DECODER: "Decoder"}
PICK_KEY = "ae_pick"                                          # the code plane's chart (its selection)

AE_DEFAULTS: dict[str, Any] = {
    "ae_spec": lambda: load_preset(DEFAULT_PRESET),
    "ae_gen": 0,
    "ae_preset": DEFAULT_PRESET,
    "ae_u": 0.0,                     # the chosen point of the code plane
    "ae_v": 0.0,
    "ae_error": "",
}


# ---------------------------------------------------------------- the spec
@functools.lru_cache(maxsize=1)
def presets() -> dict[str, RunSpec]:
    return {n: load_preset(n) for n in preset_names(tasks=(TASK,))}


def dataset(s: RunSpec) -> Dataset | None:
    try:
        return load_dataset(s.data, s.seed)
    except DataError:
        return None


def with_data(s: RunSpec, name: str) -> RunSpec:
    """The spec on another dataset, scaled to [0, 1]; a new image size gets the default
    networks for it, with the spec's code."""
    data = replace(s.data, name=name, n_samples=DATA[name], test_fraction=0.2, preprocessing="unit",
                   noise=0.1 if name == "shapes" else s.data.noise)
    new = s.with_(data=data)
    old, fresh = dataset(s), load_dataset(data, s.seed)
    if old is None or old.input_shape != fresh.input_shape:
        new = with_networks(new, fresh, architecture(s))
    return new


def with_networks(s: RunSpec, data: Dataset, arch: str) -> RunSpec:
    """The spec with the default encoder and decoder of `arch` (engine ARCHITECTURES: "mlp" or
    "conv") for this data, sized to the spec's code; the optimizers stay."""
    nets = networks_for(data, DATASETS[s.data.name].group, arch)
    return fit_code(s.with_(networks={r: replace(n, layers=nets[r]) for r, n in s.networks.items()}))


def set_path(s: RunSpec, path: tuple, value: Any) -> RunSpec:
    """`s` with the field at `path` set: ("loss",), ("autoencoder", "beta"), (role, "optim", "lr");
    the code's kind and size also resize the encoder's output; ("architecture",) swaps both
    networks for the default MLP or conv stacks."""
    if path[0] in s.networks:
        return with_optim(s, path[0], path[2], value)
    if path[0] == "architecture":
        data = dataset(s)
        return s if data is None or value == architecture(s) else with_networks(s, data, value)
    if path[0] == "autoencoder":
        return fit_code(s, **{path[1]: value})
    return s.with_(**{path[0]: value})


EDITOR = NetworksEditor("ae", set_path)
spec, key, current, set_spec, safe = EDITOR.spec, EDITOR.key, EDITOR.current, EDITOR.set_spec, EDITOR.safe


def shape_rows(s: RunSpec, role: str, data: Dataset) -> list[LayerInfo]:
    shape = (s.autoencoder.latent_dim,) if role == DECODER else data.input_shape
    return infer_shapes(s.net(role).layers, shape)


def problems(s: RunSpec) -> list[str]:
    return validate(s)


# ---------------------------------------------------------------- the run
def trainer() -> Trainer | None:
    return workers().get(SLOT)


def sync_run(s: RunSpec, ok: bool) -> Trainer | None:
    """The session's run follows the spec: a new trainer for a new spec, none when it cannot train."""
    return workers().follow(SLOT, s, ok, lambda: start_trainer(s, names=[SLOT], views=autoencoder_views(),
                                                          history=default_store(), page=PAGE))


def decoded(t: Trainer, rec: AeLatent, u: float, v: float) -> tuple[np.ndarray, list[float]] | None:
    """(image, code) the decoder makes of plane point (u, v), computed on the run while it is not
    training; None while it trains (its weights are moving)."""
    if t.snapshot().state in ("running", "preparing") or not t.runs():
        return None
    return decode_point(t.runs()[0], rec, u, v), list(code_of(rec, u, v))


# ---------------------------------------------------------------- callbacks (the script thread)
on_train, on_step, on_reset = live.buttons(trainer, safe)


@safe
def on_pick() -> None:
    """A click on the code plane: its point becomes the chosen one."""
    points = (st.session_state.get(PICK_KEY) or {}).get("selection", {}).get("points", [])
    if points:
        st.session_state["ae_u"], st.session_state["ae_v"] = float(points[0]["x"]), float(points[0]["y"])


@safe
def on_preset() -> None:
    set_spec(presets()[st.session_state["ae_preset"]], redraw=True)


@safe
def on_data(widget_key: str) -> None:
    if current(widget_key):
        set_spec(with_data(spec(), st.session_state[widget_key]), redraw=True)


# ---------------------------------------------------------------- reading for the page
def knn_note(ev: dict, n_classes: int) -> str:
    """What the kNN accuracy of the codes says, against PCA's and chance."""
    if "knn_acc" not in ev:
        return ""
    text = (f"A test example's 5 nearest training codes share its class {ev['knn_acc']:.0%} of the time "
            f"({n_classes} classes: guessing gets about {1 / max(n_classes, 1):.0%}).")
    if "pca_knn_acc" in ev:
        better = "better than" if ev["knn_acc"] > ev["pca_knn_acc"] else "not yet better than"
        text += (f" That is {better} the {ev['pca_knn_acc']:.0%} of the same number of principal components of "
                 "the raw pixels (PCA, a linear code).")
    return text


def latent_caption(rec: AeLatent) -> str:
    base = "Each dot is one test example, placed at its code and coloured by its class (the autoencoder never saw the classes)."
    if rec.explained is not None:
        base += (f" The code has {rec.dim} numbers, so the plane shows its two main directions (PCA of the codes), "
                 f"which hold {rec.explained[0] + rec.explained[1]:.0%} of their spread.")
    return base + " Classes in clusters of their own mean the code has learned what tells them apart. Click anywhere (paused) to decode that point."
