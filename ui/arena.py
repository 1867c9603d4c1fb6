"""The Optimizer arena's logic behind its widgets: session defaults, the contestant rows,
where the race's network comes from, the race's button callbacks, and cached surface maths.

State (defaults in ARENA_DEFAULTS, installed by ui.state): contestant i's widgets are keyed
`arena_c{i}_{field}`; the race itself is a Trainer in the session's "arena" slot
(ui.session), so it keeps running while other pages are open; the learning-rate range test
trains in a worker of its own in the "arena_lr" slot.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st

from engine import arena, surfaces
from engine.lr_finder import LRFinderResult, start_range_test
from engine.optim import OPTIMIZERS
from engine.presets import PLAYGROUND_GROUPS, SUPERVISED, load_preset, preset_names
from engine.spec import SCHEDULES, OptimSpec, RunSpec, SpecError, from_dict, from_json
from engine.store import default_store
from engine.trainer import Snapshot, Trainer
from ui import builder
from ui.live import settle
from ui.session import start_trainer, workers

SLOT = "arena"
PLAYGROUND_KEY = "pg_spec"           # the Playground's current RunSpec (ui/playground.py)
DEFAULT_PRESET = "mnist_cnn"
# learning rates offered for contestants: 1-2-3-5 per decade, 1e-5 .. 10
RACE_LRS = tuple(float(f"{m}e{e}") for e in range(-5, 1) for m in (1, 2, 3, 5)) + (10.0,)
WEIGHT_DECAYS = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1)
# learning rates for the surface sliders: 61 steps per 6 decades, two significant digits
SURFACE_LRS = tuple(float(f"{v:.2g}") for v in np.geomspace(1e-5, 10, 61))
FIELDS = ("opt", "lr", "momentum", "nesterov", "beta1", "beta2", "wd", "schedule")


def _contestant_defaults() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, o in enumerate(arena.DEFAULT_CONTESTANTS):
        out.update({f"arena_c{i}_opt": o.name, f"arena_c{i}_lr": nearest(RACE_LRS, o.lr),
                    f"arena_c{i}_momentum": o.momentum, f"arena_c{i}_nesterov": o.nesterov,
                    f"arena_c{i}_beta1": o.beta1, f"arena_c{i}_beta2": o.beta2,
                    f"arena_c{i}_wd": nearest(WEIGHT_DECAYS, o.weight_decay),
                    f"arena_c{i}_schedule": o.schedule})
    return out


def nearest(choices: tuple[float, ...], value: float) -> float:
    """The choice closest to `value` on a log scale (0 only matches 0)."""
    if value <= 0:
        return min(choices)
    pos = [c for c in choices if c > 0]
    return min(pos, key=lambda c: abs(math.log(c) - math.log(value)))


ARENA_DEFAULTS: dict[str, Any] = {
    "arena_source": "preset",        # preset | playground
    "arena_preset": DEFAULT_PRESET,
    "arena_n": arena.DEFAULT_COUNT,
    "arena_steps": 300,
    "arena_target": 0.5,
    "arena_x": "step",
    **_contestant_defaults(),
    "arena_surface": "rosenbrock",
    "arena_condition": 10.0,
    "arena_surf_opts": lambda: ["sgd", "momentum", "rmsprop", "adam"],
    "arena_surf_momentum": 0.9,
    "arena_surf_3d": False,
    "arena_lr_row": 0,
    "arena_lr_min": 1e-5,
    "arena_lr_max": 10.0,
    "arena_lr_steps": 200,
    "arena_lr_result": None,         # the last range test: LRFinderResult.to_dict() + "label", "row"
    "arena_lr_job": None,            # the running one's {"label", "row"}
    "arena_lr_error": "",            # why the last one gave no curve
}


# ---------------------------------------------------------------- where the network comes from
def playground_spec() -> RunSpec | None:
    """The Playground's current spec, if this session has one."""
    raw = st.session_state.get(PLAYGROUND_KEY)
    try:
        if isinstance(raw, RunSpec):
            return raw
        if isinstance(raw, dict):
            return from_dict(raw)
        if isinstance(raw, str) and raw:
            return from_json(raw)
    except ValueError:
        return None
    return None


def base_spec() -> tuple[RunSpec, str]:
    """(spec whose network, data, batch size and seed the contestants share, where it came from)."""
    if st.session_state["arena_source"] == "playground" and (pg := playground_spec()) is not None:
        return pg, "the Playground's current network"
    name = st.session_state["arena_preset"]
    if name not in preset_names(PLAYGROUND_GROUPS, SUPERVISED):
        name = DEFAULT_PRESET
    return load_preset(name), f"the preset '{name}'"


# ---------------------------------------------------------------- contestant rows
def contestant(i: int) -> OptimSpec:
    """Contestant i's OptimSpec from its widgets' values (fields its optimizer ignores keep defaults)."""
    s = st.session_state
    name = s[f"arena_c{i}_opt"]
    uses = OPTIMIZERS[name].uses
    d = OptimSpec()
    return OptimSpec(
        name=name, lr=float(s[f"arena_c{i}_lr"]),
        momentum=float(s[f"arena_c{i}_momentum"]) if "momentum" in uses else 0.0,
        nesterov=bool(s[f"arena_c{i}_nesterov"]) if "nesterov" in uses else False,
        beta1=float(s[f"arena_c{i}_beta1"]) if "beta1" in uses else d.beta1,
        beta2=float(s[f"arena_c{i}_beta2"]) if "beta2" in uses else d.beta2,
        weight_decay=float(s[f"arena_c{i}_wd"]), schedule=s[f"arena_c{i}_schedule"])


def contestant_row(i: int) -> None:
    """One row of widgets: optimizer, learning rate, momentum, Nesterov, betas, weight decay,
    schedule. Widgets the chosen optimizer does not read are disabled."""
    cols = st.columns([1.3, 1.5, 1.2, 1.15, 0.8, 0.8, 1.2, 1.1])
    uses = OPTIMIZERS[st.session_state[f"arena_c{i}_opt"]].uses
    vis = "visible" if i == 0 else "collapsed"
    k = lambda f: f"arena_c{i}_{f}"
    cols[0].selectbox("Optimizer", list(OPTIMIZERS), key=k("opt"), label_visibility=vis,
                      format_func=lambda n: OPTIMIZERS[n].label, persist_state="session",
                      help="The update rule. " + " ".join(f"{o.label}: {o.help}" for o in OPTIMIZERS.values()))
    cols[1].select_slider("Learning rate", RACE_LRS, key=k("lr"), label_visibility=vis,
                          format_func=lambda v: f"{v:g}", persist_state="session",
                          help="How big each step is. Too small crawls, too big diverges; "
                               "Adam-like optimizers usually want ~10x smaller values than SGD.")
    cols[2].slider("Momentum", 0.0, 0.99, step=0.01, key=k("momentum"), label_visibility=vis,
                   disabled="momentum" not in uses, persist_state="session",
                   help="SGD / RMSprop: share of the previous step carried into the next, "
                        "like a heavy ball rolling downhill (0 = none).")
    cols[3].checkbox("Nesterov", key=k("nesterov"), label_visibility=vis,
                     disabled="nesterov" not in uses, persist_state="session",
                     help="SGD with momentum: take the gradient where the momentum is about to carry you.")
    cols[4].number_input("β1", 0.0, 0.9999, step=0.01, format="%.3g", key=k("beta1"), label_visibility=vis,
                         disabled="beta1" not in uses, persist_state="session",
                         help="Adam / AdamW: how slowly the running average of gradients forgets (Adam's momentum).")
    cols[5].number_input("β2", 0.0, 0.99999, step=0.001, format="%.4g", key=k("beta2"), label_visibility=vis,
                         disabled="beta2" not in uses, persist_state="session",
                         help="Adam / AdamW: how slowly the running average of squared gradients "
                              "(the per-weight step scale) forgets.")
    cols[6].select_slider("Weight decay", WEIGHT_DECAYS, key=k("wd"), label_visibility=vis,
                          format_func=lambda v: f"{v:g}", persist_state="session",
                          help="Pulls every weight a little toward zero at each step (a regulariser).")
    cols[7].selectbox("Schedule", SCHEDULES, key=k("schedule"), label_visibility=vis, persist_state="session",
                      help="How the learning rate changes during the race: none, step (drops every few "
                           "epochs), cosine (glides to zero), onecycle (warms up, then anneals).")


def lineup() -> list[OptimSpec]:
    return [contestant(i) for i in range(int(st.session_state["arena_n"]))]


# ---------------------------------------------------------------- the race
def trainer() -> Trainer | None:
    return workers().get(SLOT)


def start(specs: list[RunSpec], names: list[str]) -> None:
    workers().put(SLOT, arena.start_race(specs, names, history=default_store(), make=start_trainer))
    st.toast(f"Race started: {len(specs)} contestants from the same initial weights.")


def pause_resume() -> None:
    if (t := trainer()) is not None:
        if t.snapshot().state == "running":
            t.pause()
        else:
            t.resume()


def step(n: int = 10) -> None:
    """n steps of every contestant; waits (briefly) so the page shows them at once."""
    if (t := trainer()) is None:
        return
    snap = t.snapshot()
    goal = {r.name: min(r.total_steps, r.step + n) for r in snap.runs if r.status == "training"}
    t.step(n)
    settle(t, lambda s: s.state in ("error", "done", "diverged") or all(
        r.step >= goal.get(r.name, 0) or r.status != "training" for r in s.runs), timeout=5)


def reset() -> None:
    if (t := trainer()) is not None:
        t.reset()
        settle(t, lambda s: s.state not in ("preparing", "running"), timeout=10)


def stop() -> None:
    workers().put(SLOT, None)


# ---------------------------------------------------------------- loss surfaces (cached maths)
@st.cache_data(max_entries=32, show_spinner=False)
def surface_grid(name: str, condition: float, n: int = 121) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return surfaces.grid(surfaces.get_surface(name, condition), n)


@st.cache_data(max_entries=256, show_spinner=False)
def surface_path(name: str, condition: float, key: str, lr: float, momentum: float,
                 start: tuple[float, float], steps: int) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(xy, values, diverged_at) of one optimizer's path, cached per optimizer so moving one
    optimizer's slider recomputes only its path."""
    surf = surfaces.get_surface(name, condition)
    p = surfaces.optimizer_path(surf, surfaces.path_optim(key, lr, momentum), start, steps)
    return p.xy, p.values, p.diverged_at


def surface_paths(name: str, condition: float, optims: list[tuple[str, float, float]],
                  start: tuple[float, float], steps: int) -> list[tuple[np.ndarray, np.ndarray, int | None]]:
    """surface_path for each (path key, lr, momentum); momentum only counts where it is used."""
    return [surface_path(name, condition if name == "bowl" else 0.0, k, lr,
                         m if surfaces.path_optimizers()[k][2] else 0.0, start, steps)
            for k, lr, m in optims]


def apply_lr(i: int, lr: float, button_key: str | None = None) -> None:
    """Give contestant i the learning rate (snapped to the slider's choices)."""
    if button_key is not None and not builder.clicked(button_key):
        return
    st.session_state[f"arena_c{i}_lr"] = nearest(RACE_LRS, lr)


def with_samples(spec: RunSpec, n: int | None) -> RunSpec:
    return spec if n is None else spec.with_(data=replace(spec.data, n_samples=int(n)))


# ---------------------------------------------------------------- the learning-rate range test
LR_SLOT = "arena_lr"


def start_lr_test(spec: RunSpec, lr_min: float, lr_max: float, steps: int, label: str, row: int) -> None:
    """Start the range test in a worker of its own (it replaces a running one)."""
    workers().put(LR_SLOT, start_range_test(spec, lr_min, lr_max, steps, make=start_trainer))
    st.session_state["arena_lr_job"] = {"label": label, "row": row}
    st.session_state["arena_lr_error"] = ""


def lr_test() -> Trainer | None:
    return workers().get(LR_SLOT)


def lr_test_progress() -> Snapshot | None:
    """The range test's snapshot while its worker prepares or trains. Once it has finished,
    its result (or why there is none) goes to the session, the worker is stopped, and None."""
    t = lr_test()
    if t is None:
        return None
    snap = t.snapshot()
    if snap.active:
        return snap
    res = snap.run.views.get("result") if snap.run is not None else None
    if isinstance(res, LRFinderResult):
        st.session_state["arena_lr_result"] = {**res.to_dict(), **st.session_state["arena_lr_job"]}
    else:
        st.session_state["arena_lr_error"] = (" ".join(res.problems) if isinstance(res, SpecError)
                                              else snap.error or "the range test stopped before it ended")
    workers().put(LR_SLOT, None)
    return None
