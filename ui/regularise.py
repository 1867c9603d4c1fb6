"""The Overfitting & augmentation page's logic behind its widgets: session defaults, the
augmentation and switches the widgets set, the preview batch, and the two runs (the overfitting
preset as it is and with the user's switches) in one Trainer in the session's "regularise" slot."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from engine import augment
from engine.augment_views import batch_view, preview
from engine.data import DataError, load_dataset
from engine.presets import load_preset
from engine.records import AugmentedBatch
from engine.regularise import Switches, with_switches
from engine.spec import AugmentSpec, RunSpec
from engine.store import default_store
from engine.trainer import Trainer
from ui.live import settle
from ui.session import start_trainer, workers

SLOT = "regularise"
PRESET = "mnist_overfit"             # a big MLP on 100 MNIST digits: the curves part
AUGMENT_PRESET = "mnist_augment"     # the augmentation the page starts with (shift and rotate)
DATA = {"mnist": "MNIST digits (28×28)", "digits": "8×8 digits", "shapes": "Shapes (28×28)"}
WEIGHT_DECAYS = (0.0, 1e-4, 1e-3, 1e-2, 0.1)
NAMES = ("as it is", "with your switches")
COLORS = ("#7f7f7f", "#d62728")      # the plain run grey, the switched one red, on every chart of the page
WHO = ("Grey", "Red")                # ... and so the page's numbers name them


def _augment_defaults() -> dict[str, Any]:
    a = load_preset(AUGMENT_PRESET).augment
    return {f"reg_{name}": getattr(a, name) for name in augment.CHANGES}


REG_DEFAULTS: dict[str, Any] = {
    "reg_data": "mnist",             # the images the preview draws
    "reg_seed": 0,                   # which batch the preview draws
    **_augment_defaults(),           # reg_flip, reg_shift, ... : AugmentSpec's fields
    "reg_dropout": 0.0,
    "reg_wd": 0.0,
    "reg_early": 5,                  # patience in evaluations (0 = off)
    "reg_use_aug": True,             # the switched run uses the augmentation above
    "reg_steps": load_preset(PRESET).steps,
}


# ---------------------------------------------------------------- augmentation
def augment_spec() -> AugmentSpec:
    s = st.session_state
    return AugmentSpec(flip=float(s["reg_flip"]), shift=int(s["reg_shift"]), rotate=float(s["reg_rotate"]),
                       scale=float(s["reg_scale"]), noise=float(s["reg_noise"]), cutout=int(s["reg_cutout"]),
                       mixup=float(s["reg_mixup"]))


def preview_spec() -> RunSpec:
    """The augmentation preset's run on the chosen images with the widgets' augmentation and seed."""
    base = load_preset(AUGMENT_PRESET)
    name = st.session_state["reg_data"]
    data = base.data if name == "mnist" else replace(base.data, name=name, n_samples=600, labels=0)
    return base.with_(data=data, augment=augment_spec(), seed=int(st.session_state["reg_seed"]))


def preview_batch(spec: RunSpec) -> tuple[AugmentedBatch | None, list[str]]:
    """The first batch a run of `spec` trains on, before and after; or why it cannot be drawn."""
    try:
        data = load_dataset(spec.data, spec.seed)
    except DataError as e:
        return None, [f"data: {e}"]
    if errs := augment.problems(spec.augment, data.input_shape, data.token_input):
        return None, errs
    return preview(spec, data), []


# ---------------------------------------------------------------- the two runs
def switches() -> Switches:
    s = st.session_state
    return Switches(dropout=float(s["reg_dropout"]), weight_decay=float(s["reg_wd"]), early_stop=int(s["reg_early"]),
                    augment=augment_spec() if s["reg_use_aug"] else AugmentSpec())


def run_specs() -> list[RunSpec]:
    base = load_preset(PRESET).with_(steps=int(st.session_state["reg_steps"]))
    return [base, with_switches(base, switches())]


def switch_problems(spec: RunSpec) -> list[str]:
    """Why the switched run's augmentation cannot train on the preset's images (empty = fine)."""
    return augment.problems(spec.augment, (1, 28, 28))


def restored_steps(t: Trainer) -> list[int | None]:
    """Per run, the step whose weights early stopping put back (None: it did not stop early)."""
    return [run.early.best_step if getattr(run, "early", None) is not None and run.early.stopped_at is not None
            else None for run in t.runs()]


def trainer() -> Trainer | None:
    return workers().get(SLOT)


def start(specs: list[RunSpec]) -> None:
    """Train both runs from the same seed, in lock-step in one worker; each saved to Runs."""
    workers().put(SLOT, start_trainer(specs, names=list(NAMES), views={"batch": batch_view}, autostart=True,
                                      history=default_store(), page=SLOT))
    settle(trainer(), lambda s: s.state != "preparing", timeout=5)
    st.toast("Training both runs from the same starting weights.")


def pause_resume() -> None:
    if (t := trainer()) is not None:
        t.pause() if t.snapshot().state == "running" else t.resume()
        settle(t, lambda s: s.state != "preparing")
