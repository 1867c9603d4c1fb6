"""The Playground's logic behind its widgets: the session's spec, its run, the callbacks of
the buttons, fitting a network to a new dataset, and the CSV upload.

State (defaults in ui.state): `pg_spec` is the RunSpec being edited (the source of truth);
`pg_gen` is bumped when the spec is replaced as a whole (preset, upload, link, new dataset)
so every widget starts again from the new spec; `pg_ids` gives each layer a stable widget
id so its widgets follow it when it moves. The run itself is a Trainer in the session's
"playground" slot (ui.session), so it keeps training while other pages are open.
"""
from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st

from engine import adapt
from engine.build import LayerInfo, infer_shapes
from engine.data import DATASETS, DataError, Dataset
from engine.data.files import MAX_CSV_BYTES, csv_columns, read_csv
from engine.data.folder import resolve, save_upload
from engine.presets import PLAYGROUND_GROUPS, load_preset
from engine.schema import clip
from engine.store import default_store
from engine.run import load_dataset
from engine.spec import LayerSpec, RunSpec, SpecError, from_json
from engine.records import Neurons
from engine.trainer import Snapshot, Trainer, validate
from engine.tasks import TASKS
from ui import builder, diagram
from ui.live import safe_callback, settle, step_once, train_or_pause
from ui.live import state_text as run_state_text
from ui.session import start_trainer, workers

SLOT = "playground"
DEFAULT_PRESET = "tf_playground"
# TensorFlow Playground's learning rates (and a few more)
LEARNING_RATES = (0.00001, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCH_SIZES = (1, 2, 4, 8, 10, 16, 32, 64, 128, 256, 512, 1024)
REG_RATES = (0.0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
GROUP_LABELS = dict(zip(PLAYGROUND_GROUPS, ("2-D points", "Tables", "Images", "Your files")))
# the speed control: "full", or at most this many steps per second (GAN Lab's slow motion)
SPEEDS = ("full", 100, 30, 10, 3, 1)


def preset(name: str) -> RunSpec:
    """A preset as the Playground opens it: 2-D data trains until paused, as on TensorFlow
    Playground (its epochs still set the schedule and the evaluations' pace); the rest for its epochs."""
    s = load_preset(name)
    return s.with_(until_paused=True) if DATASETS[s.data.name].group == "2d" else s


def default_spec() -> RunSpec:
    return preset(DEFAULT_PRESET)


def not_offered(s: RunSpec) -> list[str]:
    """Why the Playground cannot take this spec: its dataset is of a group it does not offer
    (sequences are trained on their own page), or its task trains several networks (GANs have the
    GAN lab); [] when it can."""
    info = DATASETS[s.data.name]
    if info.group not in GROUP_LABELS:
        return [f"data.name: {info.label} is not trained on the Playground, which offers "
                f"{', '.join(GROUP_LABELS.values()).lower()}"]
    if len(TASKS[s.task].roles) > 1:
        return [f"task: {TASKS[s.task].label} runs train {len(TASKS[s.task].roles)} networks, and the Playground "
                "edits one; open the spec on its own page"]
    return []


# ---------------------------------------------------------------- spec in the session
def spec() -> RunSpec:
    return st.session_state["pg_spec"]


def key(name: str) -> str:
    """A widget key of the current spec generation."""
    return f"pg{st.session_state['pg_gen']}_{name}"


def layer_ids() -> list[int]:
    """One stable id per layer (new ids when the stack was replaced)."""
    ids = st.session_state["pg_ids"]
    if len(ids) != len(spec().layers):
        ids = [_new_id() for _ in spec().layers]
        st.session_state["pg_ids"] = ids
    return ids


def _new_id() -> int:
    st.session_state["pg_next_id"] += 1
    return st.session_state["pg_next_id"]


def set_spec(new: RunSpec) -> None:
    """Store the spec edited through the widgets (widgets keep their keys). An equal spec
    changes nothing: the messages told for the current one stay."""
    if new != spec():
        st.session_state["pg_spec"] = new


def current(widget_key: str) -> bool:
    """True when the widget belongs to the spec generation on the page. A browser that has not
    yet drawn the widgets of a replaced spec (a new dataset, a preset) still reports the old
    ones in the message that crossed the change; their callbacks must not write the old values
    (the loss, the example count, a Linear layer's units) into the new spec."""
    return widget_key.startswith(f"pg{st.session_state['pg_gen']}_")


def replace_spec(new: RunSpec, note: str = "") -> None:
    """Replace the spec as a whole: every widget starts again from `new`."""
    st.session_state["pg_spec"] = new
    st.session_state["pg_gen"] += 1
    st.session_state["pg_ids"] = [_new_id() for _ in new.layers]
    if note:
        tell(notice=note)


def tell(notice: str = "", errors: list[str] | None = None) -> None:
    """Show a notice or errors until the spec next changes (they survive automatic reruns)."""
    st.session_state["pg_notice"] = notice
    st.session_state["pg_errors"] = list(errors or [])
    st.session_state["pg_msg_spec"] = spec()


def messages() -> tuple[str, list[str]]:
    """The notice and errors that still apply: those told since the spec last changed."""
    if st.session_state["pg_msg_spec"] is not spec():
        st.session_state["pg_notice"], st.session_state["pg_errors"] = "", []
    return st.session_state["pg_notice"], st.session_state["pg_errors"]


safe = safe_callback(lambda message: tell(errors=[message]))      # a callback that never raises


# ---------------------------------------------------------------- the run
def trainer() -> Trainer | None:
    return workers().get(SLOT)


def _keep_previous(t: Trainer | None) -> None:
    """Remember the run being replaced (if it trained) so its curves can be drawn faded."""
    if t is None:
        return
    run = t.snapshot().run
    if run is not None and run.step > 0:
        st.session_state["pg_previous"] = {"evals": run.evals, "batches": run.batches, "step": run.step}


def start_run(new: RunSpec) -> Trainer:
    """A fresh trainer for `new` in the playground slot (the old one is stopped)."""
    _keep_previous(trainer())
    t = start_trainer(new, names=["playground"], views=TASKS[new.task].views(), history=default_store(),
                page="playground")
    t.set_speed(steps_per_s())
    workers().put(SLOT, t)
    st.session_state["pg_lr_applied"] = new.optim.lr
    st.session_state["pg_deploy"] = None                  # an exported file belongs to the run it came from
    return t


def same_run(a: RunSpec, b: RunSpec) -> bool:
    """True when a and b differ at most in the learning rate (changeable while training)."""
    return a.with_(optim=replace(a.optim, lr=b.optim.lr)) == b


def sync_run(new: RunSpec, ok: bool) -> Trainer | None:
    """Make the session's run follow the spec: reset it on a new spec, change the learning
    rate in place, drop it when the spec cannot train."""
    t = trainer()
    if not ok:
        if t is not None:
            _keep_previous(t)
            workers().put(SLOT, None)
        return None
    if t is None or not same_run(t.specs[0], new):
        return start_run(new)
    if st.session_state.get("pg_lr_applied") != new.optim.lr:
        t.set_lr(new.optim.lr)
        st.session_state["pg_lr_applied"] = new.optim.lr
    return t


def steps_per_s() -> float | None:
    """The speed control's choice for Trainer.set_speed: None at full speed."""
    speed = st.session_state["pg_speed"]
    return None if speed == "full" else float(speed)


def speed_label(speed: Any) -> str:
    return "full speed" if speed == "full" else f"{speed} step{'' if speed == 1 else 's'}/s"


@safe
def on_speed() -> None:
    """The speed control moved: the worker applies it between steps (the run goes on)."""
    st.session_state["pg_speed"] = st.session_state["pg_speed_slider"]
    if (t := trainer()) is not None:
        t.set_speed(steps_per_s())


def step_text(run: Any, until_paused: bool) -> str:
    """'Step 1,200 of 50,000', or 'Step 1,200 (trains until paused)'."""
    return f"Step {run.step:,} " + ("(trains until paused)" if until_paused else f"of {run.total_steps:,}")


def problems_of(s: RunSpec) -> list[str]:
    return validate(s)


def trainer_device() -> str:
    from engine.device import pick_device
    return pick_device().name


# ---------------------------------------------------------------- widget callbacks
def set_field(s: RunSpec, path: str, value: Any) -> RunSpec:
    """`s` with the field at a dotted path ("data.noise", "optim.lr", "epochs") set to value."""
    head, _, rest = path.partition(".")
    if not rest:
        return s.with_(**{head: value})
    return s.with_(**{head: replace(getattr(s, head), **{rest: value})})


@safe
def on_field(path: str, widget_key: str, convert: Any = None) -> None:
    """A spec field's widget changed: copy its value (converted) into the spec."""
    if not current(widget_key):
        return
    value = st.session_state[widget_key]
    value = convert(value) if convert is not None else value
    if value is None:
        return
    set_spec(set_field(spec(), path, value))


def features_value(chosen: list[str]) -> tuple[str, ...] | None:
    """Chosen input features in the canonical order; None (no change) when none is chosen."""
    from engine.spec import FEATURES
    return tuple(f for f in FEATURES if f in chosen) or None


def percent(v: float) -> float:
    return v / 100


@safe
def on_layer_param(i: int, name: str, widget_key: str) -> None:
    """Layer i's parameter widget changed; ignored unless layer i is still the layer the widget
    was drawn for (same spec generation, same layer id)."""
    ids = layer_ids()
    if not (i < len(ids) and widget_key == key(f"L{ids[i]}_{name}")):
        return
    s = spec()
    layer = s.layers[i]
    layers = builder.insert(builder.delete(s.layers, i), i,
                            LayerSpec(layer.kind, {**layer.params, name: st.session_state[widget_key]}))
    set_spec(s.with_(layers=layers))


# ---------------------------------------------------------------- button callbacks
@safe
def on_train() -> None:
    if (t := trainer()) is not None:
        train_or_pause(t, before_reset=lambda: _keep_previous(t))


@safe
def on_step() -> None:
    if (t := trainer()) is not None:
        step_once(t)


@safe
def on_replay() -> None:
    """Back to step 0 with the same seed: the same initial weights, data and batches again."""
    if (t := trainer()) is not None:
        before = t.snapshot().state
        _keep_previous(t)
        t.reset()
        st.session_state["pg_lr_applied"] = t.specs[0].optim.lr
        settle(t, lambda s: s.state != before)


@safe
def on_afresh() -> None:
    """A new seed, so new initial weights (and new points, for generated data): the seed goes in
    the spec, so the link, the spec file and the exported script reproduce this run."""
    s = spec()
    seed = s.seed
    while seed == s.seed:
        seed = random.randrange(1, 2**31 - 1)
    replace_spec(s.with_(seed=seed), f"Started afresh with the new seed **{seed}** (the link and the "
                                     "spec file hold it).")


@safe
def on_regenerate(button_key: str) -> None:
    """New data (and new initial weights): the seed drives both."""
    if not (current(button_key) and builder.clicked(button_key)):
        return
    s = spec()
    replace_spec(s.with_(seed=(s.seed + 1) % (2**31 - 1)))


@safe
def on_stack(action: str, i: int, button_key: str) -> None:
    if not (current(button_key) and builder.clicked(button_key)):
        return
    s, ids = spec(), list(layer_ids())
    layers = s.layers
    if action == "up":
        layers, ids = builder.move(layers, i, -1), builder.move(ids, i, -1)
    elif action == "down":
        layers, ids = builder.move(layers, i, +1), builder.move(ids, i, +1)
    elif action == "duplicate":
        layers, ids = builder.duplicate(layers, i), builder.duplicate(ids, i, _new_id())
    elif action == "delete" and len(layers) > 1:
        layers, ids = builder.delete(layers, i), builder.delete(ids, i)
    st.session_state["pg_ids"] = list(ids)
    set_spec(s.with_(layers=tuple(layers)))


@safe
def on_add_layer(button_key: str) -> None:
    if not builder.clicked(button_key):
        return
    kind = st.session_state[key("add_kind")]
    pos = st.session_state[key("add_pos")]
    s, ids = spec(), layer_ids()
    st.session_state["pg_ids"] = list(builder.insert(ids, pos, _new_id()))
    set_spec(s.with_(layers=builder.insert(s.layers, pos, LayerSpec.make(kind))))


@safe
def on_preset(button_key: str) -> None:
    if not builder.clicked(button_key):
        return
    name = st.session_state[key("preset")]
    if name is None:
        return
    replace_spec(preset(name), f"Loaded the preset **{name}**.")


@safe
def on_spec_upload() -> None:
    """Replace the spec by an uploaded JSON file; an invalid file changes nothing."""
    f = st.session_state.get("pg_spec_file")
    st.session_state["pg_spec_errors"] = []
    if f is None:
        return
    try:
        new = from_json(f.getvalue())                  # bytes: not UTF-8 is one sentence, not a guess
    except SpecError as e:
        st.session_state["pg_spec_errors"] = e.problems
        return
    if problems := not_offered(new):
        st.session_state["pg_spec_errors"] = problems
        return
    st.session_state["pg_spec_errors"] = []
    replace_spec(new, f"Loaded the spec from **{f.name}**.")


def load_from_url(params: Any) -> None:
    """Once per session: take the spec from the link (?spec=...), if there is one."""
    if st.session_state["pg_url_done"]:
        return
    st.session_state["pg_url_done"] = True
    from ui.url import spec_from_params
    try:
        new = spec_from_params(params)
    except SpecError as e:
        tell(errors=["The link's spec was not used: " + p for p in e.problems])
        return
    if new is not None and (problems := not_offered(new)):
        tell(errors=["The link's spec was not used: " + p for p in problems])
    elif new is not None:
        replace_spec(new, "Loaded the run from the link.")


# ---------------------------------------------------------------- data changes
@safe
def on_dataset(widget_key: str) -> None:
    if current(widget_key):
        change_data(name=st.session_state[widget_key])


@safe
def on_data_path(widget_key: str) -> None:
    if current(widget_key):
        change_data(path=st.session_state[widget_key].strip())


@safe
def on_csv_target(widget_key: str) -> None:
    if current(widget_key):
        change_data(target=st.session_state[widget_key])


def change_data(**changes: Any) -> None:
    """A different dataset (or file, or target): adapt task, network and training to it."""
    replace_spec(*adapt.with_dataset(spec(), **changes))


# ---------------------------------------------------------------- CSV upload
@safe
def on_csv_upload() -> None:
    """Save the uploaded CSV in the uploads folder, pick a target, adapt the network."""
    f = st.session_state.get("pg_csv_file")
    if spec().data.name != "csv":                  # the box is drawn for CSV data only: a late message
        return
    st.session_state["pg_csv_errors"] = []
    if f is None:
        return
    raw = f.getvalue()
    if len(raw) > MAX_CSV_BYTES:
        st.session_state["pg_csv_errors"] = [
            f"{clip(f.name)} is {len(raw) / 1e6:.1f} MB; the limit is {MAX_CSV_BYTES / 1e6:.0f} MB. "
            "Upload fewer rows or columns."]
        return
    path = save_upload(raw, ".csv")
    columns = csv_columns(str(path))
    if not columns:
        st.session_state["pg_csv_errors"] = [f"{clip(f.name)} has no header row with column names."]
        return
    change_data(name="csv", path=str(path), target=columns[-1])


def csv_problems(path: str, target: str) -> list[str]:
    """Each problem with the CSV as a sentence (empty when it can be used)."""
    try:
        read_csv(resolve(path), target)
    except DataError as e:
        return str(e).split("; ")
    return []


# ---------------------------------------------------------------- reading for the page
def dataset(s: RunSpec) -> tuple[Dataset | None, str]:
    """The spec's dataset (cached) or the reason it cannot be made."""
    try:
        return load_dataset(s.data, s.seed), ""
    except DataError as e:
        return None, str(e)
    except Exception as e:  # noqa: BLE001 - a broken file must not crash the page
        return None, f"{type(e).__name__}: {e}"


def shape_rows(s: RunSpec, data: Dataset | None) -> list[LayerInfo]:
    if data is None:
        return []
    return infer_shapes(s.layers, data.input_shape)


def shape_table(rows: list[LayerInfo], input_shape: tuple[int, ...]) -> list[dict]:
    """Rows for the shape table: input, every layer, total."""
    out = [{"#": "", "layer": "input", "output shape": builder.shape_text(input_shape), "parameters": 0}]
    for r in rows:
        out.append({"#": str(r.index + 1), "layer": ("❌ " if r.error else "") + r.label,
                    "output shape": builder.shape_text(r.out_shape), "parameters": r.n_params})
    out.append({"#": "", "layer": "total", "output shape": "",
                "parameters": sum(r.n_params for r in rows)})
    return out


def per_class_rows(last_eval: dict, class_names: list[str]) -> list[dict]:
    p = last_eval.get("test_precision_per_class") or []
    r = last_eval.get("test_recall_per_class") or []
    f = last_eval.get("test_f1_per_class") or []
    return [{"class": name, "precision": p[i], "recall": r[i], "F1": f[i]}
            for i, name in enumerate(class_names) if i < len(p)]


def preview_images(data: Dataset, n: int = 16) -> tuple[np.ndarray, list[int]]:
    """The first n training images scaled to [0, 1] for display, and their labels."""
    from engine.views import _display
    x = data.x_train[:n]
    return np.stack([_display(i) for i in x]), [int(v) for v in data.y_train[:n]]


SMALL_NET = 100              # weights below which a stalled classifier may simply be too small
STALLED_ACC = 0.85           # ... and the train accuracy it stalls under


def too_small_hint(state: str, task: str, last_eval: dict, n_params: int, past_epochs: bool = False) -> str | None:
    """A sentence when a finished classification run (or one training until paused, `past_epochs`:
    beyond its planned epochs) stalled at a low train accuracy with few weights (the spiral on a 4-2
    net stops near 63%): more capacity, not more epochs, is the fix."""
    acc = last_eval.get("train_acc")
    if not (state == "done" or past_epochs) or task != "classification" or acc is None or acc >= STALLED_ACC \
            or n_params >= SMALL_NET:
        return None
    when = "Training finished" if state == "done" else "Past its planned epochs, training is still"
    return (f"{when} at {acc:.0%} train accuracy with only {n_params} weights: the network may be too "
            "small to draw this boundary. Add neurons or a layer (or input features such as x1², sin(x1)) and "
            "train again; more epochs alone rarely help.")


def state_text(snap: Snapshot | None) -> str:
    return run_state_text(snap)


def table_preview(data: Dataset, n: int = 50):
    """The first n training rows as a DataFrame: target first, then the features."""
    import pandas as pd
    cols = data.feature_names or [f"x{i + 1}" for i in range(data.x_train.shape[1])]
    df = pd.DataFrame(data.x_train[:n], columns=cols)
    y = data.y_train[:n].reshape(len(df), -1)[:, 0]
    df.insert(0, "target", [data.class_names[int(v)] for v in y] if data.class_names else y)
    return df



# ---------------------------------------------------------------- deploy: formats and weights
MAX_WEIGHTS_BYTES = 20 * 1024 * 1024        # a state_dict upload (the Playground's nets are under 5 M parameters)


def _idle_run():
    """The current run's Steppable when it exists and is not training (its model may then be read
    and written from this thread), else None with the reason told."""
    t = trainer()
    if t is None or t.snapshot().active or t.snapshot().state in ("preparing", "error"):
        tell(errors=["Pause the run first (or press Step once to make one): a model that is training "
                     "cannot be exported or loaded."])
        return None
    return t.runs()[0]


DEPLOY_FORMATS = ("onnx", "torch_export", "torchscript", "state_dict")


@safe
def on_prepare_export() -> None:
    """Export the paused run's model in every format, each checked against PyTorch."""
    from engine.deploy import export
    st.session_state["pg_deploy"] = None
    run = _idle_run()
    if run is not None:
        st.session_state["pg_deploy"] = [export(run.model, run.x_test, fmt) for fmt in DEPLOY_FORMATS]


@safe
def on_weights_upload() -> None:
    """Load an uploaded state_dict into the run (started, not trained, when there is none yet)."""
    from engine.deploy import load_state_dict
    f = st.session_state.get("pg_weights_file")
    if f is None:
        return
    raw = f.getvalue()
    if len(raw) > MAX_WEIGHTS_BYTES:
        tell(errors=[f"{clip(f.name)} is {len(raw) / 1e6:.1f} MB; the limit is {MAX_WEIGHTS_BYTES / 1e6:.0f} MB."])
        return
    t = trainer()
    if t is None or not same_run(t.specs[0], spec()):
        t = start_run(spec())
        settle(t, lambda s: s.state != "preparing", timeout=30)
    run = _idle_run()
    if run is None:
        return
    try:
        load_state_dict(run.model, raw)
        send = getattr(t, "send_weights", None)     # a run on another process (engine.workers) gets them too
        if send is not None:
            send()
    except ValueError as e:
        tell(errors=[f"{clip(f.name)} was not loaded: {e}."])
        return
    t.refresh_views()
    tell(notice=f"Loaded the weights from **{clip(f.name)}**: press Train to go on from them, or look at "
                "what they compute.")


# ---------------------------------------------------------------- the network diagram as an editor (ui/diagram.py)
def diagram_key() -> str:
    return f"pg_diagram_{st.session_state['pg_diagram_gen']}"


def diagram_record():
    """The diagram the page shows: the run's latest Neurons record, or None."""
    t = trainer()
    run = t.snapshot().run if t is not None else None
    rec = run.views.get("neurons") if run is not None else None
    return rec if isinstance(rec, Neurons) else None


@safe
def on_diagram(chart_key: str) -> None:
    """A click on the diagram: a button changes the network (the page then draws again from the
    new spec), a neuron or a weight becomes the picked one."""
    points = ((st.session_state.get(chart_key) or {}).get("selection") or {}).get("points") or []
    what = next((tuple(p["customdata"]) for p in points if p.get("customdata")), None)
    rec = diagram_record()
    if what is None or rec is None:
        return
    st.session_state["pg_diagram_gen"] += 1                 # a fresh chart: the next click is a new selection
    if what[0] in ("weight", "neuron"):
        st.session_state["pg_pick"] = what
        return
    s, ids = spec(), layer_ids()
    layers, new_ids, what_changed = diagram.edit(s.layers, ids, rec, what[0], int(what[1]), _new_id)
    if layers == s.layers:
        tell(errors=[f"The diagram cannot do that: {what_changed}."])
        return
    st.session_state["pg_pick"] = None
    st.session_state["pg_ids"] = list(new_ids)
    for i, layer in zip(new_ids, layers):                    # the Units boxes show the new sizes
        if layer.kind == "linear" and key(f"L{i}_units") in st.session_state:
            st.session_state[key(f"L{i}_units")] = layer.params["units"]
    set_spec(s.with_(layers=layers))
    tell(notice=f"Changed on the diagram: {what_changed}.")
    st.session_state["pg_diagram_edited"] = True


def take_diagram_edit() -> bool:
    """True once after a diagram click changed the network (the caller reruns the whole page)."""
    edited, st.session_state["pg_diagram_edited"] = st.session_state["pg_diagram_edited"], False
    return edited


def picked(rec: Neurons) -> tuple | None:
    """The picked neuron or weight, if it is still in the diagram."""
    pick = st.session_state["pg_pick"]
    if not pick:
        return None
    if pick[0] == "neuron":
        ok = pick[1] < len(rec.columns) and pick[2] < len(rec.columns[pick[1]].maps)
    else:
        ok = pick[1] < len(rec.weights) and pick[2] < rec.weights[pick[1]].shape[0] \
            and pick[3] < rec.weights[pick[1]].shape[1]
    return tuple(pick) if ok else None


def weight_label(rec: Neurons, pick: tuple) -> str:
    _, b, o, i = pick
    return f"Weight {rec.columns[b].labels[i]} → {rec.columns[b + 1].labels[o]}"


def weight_key(pick: tuple) -> str:
    """The picked weight's number box (one per weight: it starts from that weight's value)."""
    return "pg_weight_{}_{}_{}".format(*pick[1:])


@safe
def on_set_weight() -> None:
    rec, t = diagram_record(), trainer()
    if rec is None or t is None or (pick := picked(rec)) is None or pick[0] != "weight":
        return
    _, b, o, i = pick
    before = t.snapshot().version
    t.set_weight(rec.layers[b], o, i, float(st.session_state[weight_key(pick)]))
    settle(t, lambda s: s.version > before)                 # this rerun draws the new weight
