"""The Few labels page's logic: the classifier spec (mnist_finetune with the chosen source, frozen
layers, body learning-rate factor and number of labels), its live run (a Trainer in the session's
"transfer" slot), the sources a session can pick, and the accuracy-against-labels comparison
(engine.few_labels.LabelsJob, a worker thread kept in the session).

State (TRANSFER_DEFAULTS, set by ui.state): tl_source, tl_freeze_<i> (a toggle per layer), tl_body_lr,
tl_labels, tl_steps; tl_points and tl_seeds for the comparison; tl_error.
"""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import streamlit as st

from engine.build import LayerInfo, infer_shapes
from engine.few_labels import METHODS, LabelsConfig, LabelsJob
from engine.presets import load_preset
from engine.spec import LayerSpec, RunSpec, SpecError, TransferSpec, from_dict
from engine.store import default_store
from engine.trainer import Trainer, validate
from engine.data.folder import save_upload
from engine.schema import clip
from engine.transfer import MAX_BYTES, PRESET, Transfer, TransferError, loaded_layers
from ui import live
from ui.session import start_trainer, workers

SLOT = PAGE = "transfer"
TARGET = "mnist_finetune"                    # the classifier: network, optimizer, data
PRETEXT = PRESET + "mnist_rotation"          # "pretrain one here": the rotation pretext, trained once
LABEL_CHOICES = (10, 30, 100, 300, 1000)
N_CLASSES = 10                               # the digits
MAX_LAYERS = 64                              # freeze toggles are read for layer indices below this
JOB = "tl_job"                               # session key of the comparison's worker

TRANSFER_DEFAULTS: dict[str, Any] = {
    "tl_source": PRETEXT,
    "tl_body_lr": 1.0,
    "tl_labels": 100,
    "tl_steps": 200,
    "tl_points": lambda: list(LABEL_CHOICES),
    "tl_seeds": 3,
    "tl_uploads": dict,                      # saved upload path -> the file's own name
    "tl_error": "",
}


@functools.lru_cache(maxsize=1)
def target() -> RunSpec:
    return load_preset(TARGET)


def spec() -> RunSpec:
    """The classifier as the widgets set it: mnist_finetune's network, or, for a run of the
    history, that run's first network with a new 10-class head."""
    ss = st.session_state
    t = target()
    return t.with_(layers=layers_for(ss["tl_source"]),
                   transfer=TransferSpec(ss["tl_source"], frozen(), float(ss["tl_body_lr"])),
                   data=replace(t.data, labels=int(ss["tl_labels"])), steps=int(ss["tl_steps"]))


def layers_for(source: str) -> tuple[LayerSpec, ...]:
    """The classifier's layers for a source: a history run's own body (its first network up to
    its last Linear layer, which becomes the 10-class head), else mnist_finetune's CNN."""
    store = default_store()
    rec = store.get(source) if store is not None and not source.startswith(PRESET) else None
    return (_run_body(rec.id, rec.updated) if rec is not None else None) or target().layers


@functools.lru_cache(maxsize=64)
def _run_body(run_id: str, updated: float) -> tuple[LayerSpec, ...] | None:
    store = default_store()
    rec = store.get(run_id) if store is not None else None
    try:
        layers = from_dict(rec.spec).net().layers if rec is not None else ()
    except SpecError:                                  # a spec of an older, unknown form: not offered
        return None
    last = max((i for i, l in enumerate(layers) if l.kind == "linear"), default=None)
    if last is None:
        return None
    head = LayerSpec(layers[last].kind, {**layers[last].params, "units": N_CLASSES})
    return (*layers[:last], head)


def frozen() -> tuple[int, ...]:
    """The layers whose freeze toggle is on."""
    return tuple(i for i in range(MAX_LAYERS) if st.session_state.get(f"tl_freeze_{i}"))


def rows(s: RunSpec) -> list[LayerInfo]:
    return infer_shapes(s.layers, (1, 28, 28))


def pretrained(s: RunSpec) -> tuple[int, ...]:
    """The layers that take the source's weights (none when it cannot be had)."""
    try:
        return loaded_layers(s, (1, 28, 28))
    except (TransferError, ValueError):
        return ()


def sources() -> dict[str, str]:
    """source -> label: pretraining the rotation pretext here, then the history's runs whose first
    network's weights fit the classifier's body (newest first)."""
    out = {PRETEXT: "Rotation prediction, pretrained here (no labels)"}
    for path, name in st.session_state["tl_uploads"].items():
        out[path] = f"Uploaded file: {clip(name, 50)}"
    store = default_store()
    for rec in (store.list()[:40] if store is not None else []):
        if rec.weights and len(out) < 16 and _fits(rec.id, rec.updated):
            out[rec.id] = f"Run {rec.id[:8]}: {rec.name[:50]} ({rec.page}, {rec.spec.get('task', '')})"
    return out


def transfer_text(t: Transfer, names: dict[str, str]) -> str:
    """What the live run took from where, in words."""
    labels = [r.label for r in rows(spec())]
    say = lambda idx: ", ".join(f"{i} ({labels[i]})" for i in idx) or "none"
    text = f"This run starts layers {say(t.loaded)} from **{names.get(t.source, t.source)}**"
    text += f"; frozen: {say(t.frozen)}" if t.frozen else "; nothing frozen"
    return text + f"; new: {say(t.fresh)}."


@functools.lru_cache(maxsize=256)
def _fits(run_id: str, updated: float) -> bool:
    """Whether a saved run's first network gives the classifier's body weights (read once per
    saved version of the run)."""
    body = _run_body(run_id, updated)
    return body is not None and bool(pretrained(target().with_(layers=body, transfer=TransferSpec(run_id))))


def problems(s: RunSpec) -> list[str]:
    return validate(s)


# ---------------------------------------------------------------- the run
def trainer() -> Trainer | None:
    return workers().get(SLOT)


def sync_run(s: RunSpec, ok: bool) -> Trainer | None:
    return workers().follow(SLOT, s, ok, lambda: start_trainer(s, names=[SLOT], history=default_store(), page=PAGE))


def _report(message: str) -> None:
    st.session_state["tl_error"] = message


safe = live.safe_callback(_report)
on_train, on_step, on_reset = live.buttons(trainer, safe)


@safe
def on_source() -> None:
    """A new source: its layers decide what can be frozen, so every toggle starts off."""
    set_frozen(())


@safe
def on_upload() -> None:
    """An uploaded state_dict file becomes the source (checked like any: loaded with weights_only)."""
    f = st.session_state.get("tl_upload")
    if f is None:
        return
    raw = f.getvalue()
    if len(raw) > MAX_BYTES:
        _report(f"{clip(f.name, 50)} is {len(raw) / 2**20:.0f} MB, above the limit of {MAX_BYTES // 2**20} MB "
                "for a weights file.")
        return
    path = str(save_upload(raw, ".pt"))
    st.session_state["tl_uploads"][path] = f.name
    st.session_state["tl_source"] = path
    set_frozen(())


@safe
def on_probe(layers: tuple[int, ...]) -> None:
    """Linear probe: every pretrained layer frozen, only the new head trains."""
    set_frozen(layers)


def set_frozen(layers: tuple[int, ...]) -> None:
    for i in range(MAX_LAYERS):
        st.session_state[f"tl_freeze_{i}"] = i in layers


# ---------------------------------------------------------------- the comparison
def job() -> LabelsJob | None:
    return st.session_state.get(JOB)


@safe
def on_compare() -> None:
    """Start (or stop) the accuracy-against-labels comparison for the current source and settings."""
    old = job()
    if old is not None and old.running:
        old.stop()
        return
    points = tuple(sorted(int(n) for n in st.session_state["tl_points"])) or (100,)
    s = spec()
    cfg = LabelsConfig(points, int(st.session_state["tl_seeds"]), s.steps, s.transfer.body_lr)
    st.session_state[JOB] = LabelsJob(s, s.transfer.source, cfg)


def progress_text(j: LabelsJob) -> tuple[float, str]:
    done, total, what = j.progress
    return done / max(total, 1), f"{done} of {total} runs · next: {what}" if done < total else "finished"


def verdict(rows: list[dict]) -> str:
    """One sentence on the comparison at 100 labels (or the nearest label count measured)."""
    counts = sorted({r["labels"] for r in rows})
    if not counts:
        return ""
    n = min(counts, key=lambda c: abs(c - 100))
    at = {r["method"]: r for r in rows if r["labels"] == n}
    if "scratch" not in at or "finetune" not in at:
        return ""
    gain = 100 * (at["finetune"]["mean"] - at["scratch"]["mean"])
    text = (f"With {n:,} labels, fine-tuning the pretrained network scores {100 * at['finetune']['mean']:.1f}% "
            f"against {100 * at['scratch']['mean']:.1f}% from scratch ({gain:+.1f} points)")
    if "probe" in at and "random_probe" in at:
        text += (f"; the linear probe on pretrained features {100 * at['probe']['mean']:.1f}% against "
                 f"{100 * at['random_probe']['mean']:.1f}% on a random network")
    best = []
    for c in counts:
        top = max((r for r in rows if r["labels"] == c), key=lambda r: r["mean"])
        best.append(f"{c:,} labels: {METHODS[top['method']]} ({100 * top['mean']:.1f}%)")
    return text + ". Best at each count: " + "; ".join(best) + "."
