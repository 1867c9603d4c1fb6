"""The GAN lab's logic: its spec (two networks edited with the Playground's layer cards), its run
(a Trainer in the session's "gan" slot with engine.gan_views), the buttons' callbacks and the
sentences the page shows.

State (GAN_DEFAULTS, set by ui.state): `gan_spec` is the spec being edited, with `gan_gen` and
`gan_error`, kept by EDITOR (ui/networks.py: the keys, the layer cards' callbacks, the bound
widgets); the rest are the views' choices and the drawing or upload last used as the target.
"""
from __future__ import annotations

import base64
import functools
from dataclasses import replace
from typing import Any

import streamlit as st

from engine.build import LayerInfo, infer_shapes
from engine.data import DATASETS, Dataset, DataError
from engine.data.folder import save_upload
from engine.data.targets import MAX_POINTS_BYTES
from engine.digits import DigitError, read_drawing
from engine.gan_views import gan_views
from engine.presets import load_preset, preset_names
from engine.run import load_dataset
from engine.spec import DataSpec, RunSpec
from engine.store import default_store
from engine.tasks.gan import DISCRIMINATOR, GENERATOR, TASK, default_networks
from engine.trainer import Trainer, validate
from ui import live
from ui.networks import NetworksEditor, with_optim
from ui.session import start_trainer, workers

SLOT = PAGE = "gan"
DEFAULT_PRESET = "ring8_gan"
TARGETS = ("ring8", "grid25", "moons_target", "line", "spiral_target", "points_file", "digits", "mnist")
OWN = "points_file"                  # the target of points the user draws or uploads
IMAGE_SAMPLES = {"digits": 1797, "mnist": 5000}     # examples an image target loads (all it has)
ROLES = {GENERATOR: "Generator", DISCRIMINATOR: "Discriminator"}

GAN_DEFAULTS: dict[str, Any] = {
    "gan_spec": lambda: load_preset(DEFAULT_PRESET),
    "gan_gen": 0,
    "gan_preset": DEFAULT_PRESET,
    "gan_show": lambda: ["discriminator", "real", "generated", "arrows"],
    "gan_walk": 4,                   # the walk's frame shown large
    "gan_drawn": "",                 # the drawing last turned into the target's points
    "gan_upload_id": "",             # ... and the upload
    "gan_error": "",
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


def with_target(s: RunSpec, name: str) -> RunSpec:
    """The spec on another target: 2-D targets keep the networks; a new image size gets the
    default networks for it, the images scaled to [-1, 1] (the generator ends in tanh)."""
    image = name in IMAGE_SAMPLES
    data = replace(s.data, name=name, n_samples=IMAGE_SAMPLES.get(name, 2000), test_fraction=0.2 if image else 0.5,
                   preprocessing="symmetric" if image else "auto", path=s.data.path if name == OWN else "")
    new = s.with_(data=data)
    old_shape = (2,) if DATASETS[s.data.name].group == "distributions" else getattr(dataset(s), "input_shape", None)
    new_shape = (2,) if DATASETS[name].group == "distributions" else load_dataset(data, s.seed).input_shape
    if old_shape != new_shape:
        nets = default_networks(load_dataset(data, s.seed), DATASETS[name].group)
        new = new.with_(networks={r: replace(n, layers=nets[r]) for r, n in s.networks.items()})
        if image and s.gan.latent_dim < 8:
            new = new.with_(gan=replace(s.gan, latent_dim=16))
    return new


def set_path(s: RunSpec, path: tuple, value: Any) -> RunSpec:
    """`s` with the field at `path` set: ("loss",), ("gan", "d_steps"), (role, "optim", "lr")."""
    if path[0] in s.networks:
        return with_optim(s, path[0], path[2], value)
    if len(path) == 1:
        return s.with_(**{path[0]: value})
    return s.with_(**{path[0]: replace(getattr(s, path[0]), **{path[1]: value})})


EDITOR = NetworksEditor("gan", set_path)
spec, key, current, set_spec, safe, _report = (EDITOR.spec, EDITOR.key, EDITOR.current, EDITOR.set_spec,
                                               EDITOR.safe, EDITOR.report)


def shape_rows(s: RunSpec, role: str, data: Dataset) -> list[LayerInfo]:
    shape = (s.gan.latent_dim,) if role == GENERATOR else data.input_shape
    return infer_shapes(s.net(role).layers, shape)


def problems(s: RunSpec) -> list[str]:
    return validate(s)


# ---------------------------------------------------------------- the run
def trainer() -> Trainer | None:
    return workers().get(SLOT)


def sync_run(s: RunSpec, ok: bool) -> Trainer | None:
    """The session's run follows the spec: a new trainer for a new spec, none when it cannot train."""
    return workers().follow(SLOT, s, ok, lambda: start_trainer(s, names=[SLOT], views=gan_views(), history=default_store(),
                                                          page=PAGE))


# ---------------------------------------------------------------- callbacks (the script thread)
on_train, on_step, on_reset = live.buttons(trainer, safe)


@safe
def on_step_only(role: str) -> None:
    """One update of one network only (the other's weights stay as they are)."""
    if (t := trainer()) is not None:
        live.step_once(t, only=role)


@safe
def on_preset() -> None:
    set_spec(presets()[st.session_state["gan_preset"]], redraw=True)


@safe
def on_target(widget_key: str) -> None:
    if current(widget_key):
        set_spec(with_target(spec(), st.session_state[widget_key]), redraw=True)


def use_points(raw: bytes, suffix: str) -> bool:
    """A drawing (PNG) or an uploaded CSV of points becomes the target: saved in the uploads
    folder under its hash, the spec's data path pointing at it. True: the page must be drawn
    again from the new spec (it was read before the widget that brought the file)."""
    path = save_upload(raw, suffix)
    s = spec()
    set_spec(s.with_(data=replace(s.data, name=OWN, path=str(path))))
    return s != spec()


def take_drawing(data_url: str) -> bool:
    """The canvas's latest drawing as the target, once per drawing; a broken one is said."""
    if not data_url or data_url == st.session_state["gan_drawn"]:
        return False
    st.session_state["gan_drawn"] = data_url
    try:
        read_drawing(data_url)                                   # a PNG of bounded size, or DigitError
    except DigitError as e:
        _report(f"The drawing was not used: {e}.")
        return True
    return use_points(base64.b64decode(data_url.partition(",")[2]), ".png")


def take_upload(file_id: str, raw: bytes) -> bool:
    """An uploaded CSV of points as the target, once per upload."""
    if file_id == st.session_state["gan_upload_id"]:
        return False
    st.session_state["gan_upload_id"] = file_id
    if len(raw) > MAX_POINTS_BYTES:
        _report(f"The file is {len(raw) / 1e6:.1f} MB; the limit is {MAX_POINTS_BYTES / 1e6:.0f} MB.")
        return True
    return use_points(raw, ".csv")


# ---------------------------------------------------------------- reading for the page
def target_label(name: str) -> str:
    group = "2-D" if DATASETS[name].group == "distributions" else "images"
    return f"{DATASETS[name].label} ({group})"


def is_plane(data: Dataset | None) -> bool:
    return data is not None and data.input_shape == (2,)


def discriminator_note(ev: dict, probability: bool) -> str:
    """What the discriminator's mean outputs on real and generated samples say."""
    if probability:
        return (f"The discriminator says “real” with probability {ev['d_real']:.2f} on real samples and "
                f"{ev['d_fake']:.2f} on generated ones; at 0.50 and 0.50 it can no longer tell them apart.")
    return (f"The discriminator's mean score is {ev['d_real']:.2f} on real samples and {ev['d_fake']:.2f} on "
            "generated ones; the generator closes the gap between them.")


def distance_caption(floor: float | None) -> str:
    base = ("**MMD²** (maximum mean discrepancy) compares the generated samples with held-out real ones through "
            "gaussian kernels at three widths: 0 means the two are drawn from the same distribution.")
    if floor is None:
        return base
    return base + (f" Two real samples of the same size are {floor:.4f} apart (dashed): a perfect generator gets "
                   "about that close, no closer.")


def data_spec_label(d: DataSpec) -> str:
    return f"{d.n_samples:,} examples, {1 - d.test_fraction:.0%} to train on"
