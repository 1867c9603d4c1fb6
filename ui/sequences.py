"""The Sequences & text page's logic: its run (a Trainer in the session's "sequences" slot, with
the views of engine.sequence_views), the buttons' callbacks, the views' settings, and the text
the page shows.

State (defaults in SEQ_DEFAULTS, set by ui.state): the preset and its epochs make the spec; the
other keys are the views' settings, handed to the trainer's views at every run of the page
(`push_settings`), so the views always follow the widgets.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import streamlit as st

from engine.build import LayerInfo, infer_shapes
from engine.data import DATASETS, Dataset
from engine.layers import LAYERS
from engine.memory_race import CELLS as RACE_CELLS, LABELS as RACE_LABELS, race_specs, verdict
from engine.presets import load_preset, preset_names
from engine.records import Connectivity, Inside, NextChars, Samples, SequenceClasses, TimeGradients
from engine.run import load_dataset
from engine.sequence_views import sequence_views
from engine.schema import clip
from engine.spec import RunSpec
from engine.store import default_store
from engine.tasks.language import TASK as LANGUAGE_MODEL, marked
from engine.trainer import Snapshot, Trainer, validate
from ui import builder, live
from ui.session import start_trainer, workers

SLOT = "sequences"
PAGE = "sequences"                   # the run history's page name
GROUP = "sequences"                  # the presets offered: those whose dataset is of this group
DEFAULT_PRESET = "names_lstm_char_lm"
TEMPERATURE = {"min_value": 0.1, "max_value": 2.0, "step": 0.1}     # the temperature slider

SEQ_DEFAULTS: dict[str, Any] = {
    "seq_preset": DEFAULT_PRESET,
    "seq_epochs": lambda: load_preset(DEFAULT_PRESET).epochs,
    "seq_temperature": 1.0,          # samples and next-character chart
    "seq_top_k": 0,                  # 0 = every character may be drawn
    "seq_seed": 0,                   # the samples' random draws; "New samples" adds one
    "seq_prefix": "",                # next-character probabilities after this text
    "seq_text": "",                  # a sequence to classify ('' = the first held-out example)
    "seq_window": 1,                 # forecast: held-out window number (from 1); also the one looked inside
    "seq_inside_text": "",           # inside the model: the example typed ('' = the first held-out one)
    "seq_inside_at": -1,             # inside: which prediction of the example (index; -1 = the last)
    "seq_inside_char": -1,           # inside: the embedding map's chosen token (id; -1 = the first letter)
    "seq_error": "",                 # a callback that failed, said once
    "seq_own_text": "",              # an uploaded text file the language models train on ('' = the preset's data)
    "seq_own_name": "",              # ... its name as the user's computer called it
    "seq_upload_id": "",             # the upload last taken (each is taken once)
    "seq_race_lag": 30,              # the memory race: steps between the symbol and the question
}
RACE_SLOT = "sequences_race"         # the memory race's trainer (three runs) in the session's workers
OWN_TEXT = "text_file"               # the dataset of a text file (engine/data/sequences.py)


# ---------------------------------------------------------------- the spec
@functools.lru_cache(maxsize=1)
def presets() -> dict[str, RunSpec]:
    """The presets this page trains: those whose dataset is a sequence one."""
    return {n: load_preset(n) for n in preset_names((GROUP,))}


def spec() -> RunSpec:
    """The run the page trains: the chosen preset with the chosen number of epochs, and for a
    language model the user's text file when one was uploaded."""
    base = presets()[st.session_state["seq_preset"]]
    s = base.with_(epochs=int(st.session_state["seq_epochs"] or base.epochs))
    own = st.session_state["seq_own_text"]
    return on_text(s, own) if own and s.task == LANGUAGE_MODEL else s


def on_text(s: RunSpec, path: str) -> RunSpec:
    """A language-model spec reading the text file at `path`, its Embedding and last Linear sized
    for the file's characters (raises DataError when the file cannot be read)."""
    from dataclasses import replace
    from engine.tasks import TASKS
    data = replace(s.data, name=OWN_TEXT, path=path)
    return s.with_(data=data, layers=TASKS[LANGUAGE_MODEL].refit(s.layers, load_dataset(data, s.seed)))


def take_text(file_id: str, name: str, raw: bytes) -> bool:
    """An uploaded text file becomes what the language models read, once per upload; a file that
    cannot be read is said in a sentence and changes nothing. True: the page must be drawn again."""
    from engine.data import DataError
    from engine.data.folder import save_upload
    if file_id == st.session_state["seq_upload_id"]:
        return False
    st.session_state["seq_upload_id"] = file_id
    path = str(save_upload(raw, ".txt"))
    try:
        on_text(spec(), path)
    except DataError as e:
        _report(f"That file cannot be used: {str(e).replace(clip(Path(path).name), clip(name))}.")
        return True
    st.session_state["seq_own_text"], st.session_state["seq_own_name"] = path, name
    return True


def on_preset_text() -> None:
    """Back to the preset's own data."""
    st.session_state["seq_own_text"] = st.session_state["seq_own_name"] = ""


def reopen(s: RunSpec) -> str | None:
    """Show a saved run here: the preset it was made from, with its epochs; None when done, else
    why it cannot be (the page trains its presets as they are, apart from the epochs)."""
    for name, preset in presets().items():
        if preset.with_(epochs=s.epochs) == s:
            st.session_state["seq_preset"], st.session_state["seq_epochs"] = name, s.epochs
            return None
    return ("this page trains its presets as they are (only their epochs change), and this run's settings "
            "differ from every one; download its spec and run it with `python -m engine run`")


def dataset(s: RunSpec) -> Dataset:
    return load_dataset(s.data, s.seed)


def kind(s: RunSpec, data: Dataset) -> str:
    """language_model | classification | forecast | regression: what the page shows for the run."""
    if s.task == LANGUAGE_MODEL:
        return LANGUAGE_MODEL
    if s.task == "regression":
        return "forecast" if data.x_test.ndim == 3 and data.x_test.shape[2] == 1 else "regression"
    return "classification"


def typed_classes(data: Dataset) -> bool:
    """A classifier of token sequences: the user can type one and see its class probabilities."""
    return data.token_input and data.task == "classification"


# ---------------------------------------------------------------- the run
def trainer() -> Trainer | None:
    return workers().get(SLOT)


def _setting(key: str) -> Any:
    """A view setting's widget value; its default while the widget is not drawn (Streamlit drops
    the state of a widget a run does not draw: the temperature while a classifier is shown)."""
    value = st.session_state.get(key)
    return SEQ_DEFAULTS[key] if value is None else value


def view_settings() -> dict[str, Any]:
    """Each view's settings as the widgets hold them."""
    common = {"temperature": round(float(_setting("seq_temperature")), 2), "top_k": int(_setting("seq_top_k"))}
    return {"samples": {**common, "seed": int(_setting("seq_seed"))},
            "next_chars": {**common, "prefix": _setting("seq_prefix")},
            "classes": {"text": _setting("seq_text").strip()},
            "forecast": {"index": max(0, int(_setting("seq_window")) - 1)},
            "inside": {"text": _setting("seq_inside_text").strip(), "index": max(0, int(_setting("seq_window")) - 1)}}


def new_trainer(s: RunSpec) -> Trainer:
    """A fresh trainer for `s` with the views' current settings; saved to the history."""
    settings = view_settings()
    views = sequence_views(**settings["samples"], prefix=settings["next_chars"]["prefix"],
                           **settings["classes"], **settings["forecast"], inside_text=settings["inside"]["text"],
                           inside_index=settings["inside"]["index"])
    return start_trainer(s, names=[SLOT], views=views, history=default_store(), page=PAGE)


def sync_run(s: RunSpec, ok: bool) -> Trainer | None:
    """The session's run follows the spec: a new trainer for a new spec, none when it cannot train."""
    t = workers().follow(SLOT, s, ok, lambda: new_trainer(s))
    if t is not None:
        push_settings(t)
    return t


def push_settings(t: Trainer) -> None:
    """Hand the widgets' settings to the trainer's views; when that changes any, have them computed
    again now (also while paused) and wait briefly, so this run of the page already shows them."""
    versions = {name: v.version for name, v in t.views.items()}
    for name, values in view_settings().items():
        if name in t.views:
            t.views[name].set(**values)
    if any(t.views[name].version != v for name, v in versions.items()):
        t.refresh_views()
        live.settle(t, lambda s: fresh(t, s))


def problems(s: RunSpec) -> list[str]:
    return validate(s)


def fresh(t: Trainer, snap: Snapshot) -> bool:
    """Every published view record was made with its view's current settings."""
    if snap.run is None:
        return False
    return all(getattr(rec, "version", None) in (None, t.views[name].version)
               for name, rec in snap.run.views.items() if name in t.views)


# ---------------------------------------------------------------- callbacks (the script thread)
def _report(message: str) -> None:
    st.session_state["seq_error"] = message


safe = live.safe_callback(_report)                                   # a callback that never raises


on_train, on_step, on_reset = live.buttons(trainer, safe)


# ---------------------------------------------------------------- the memory race (engine/memory_race.py)
def race_run() -> Trainer:
    """The race's trainer: a plain RNN, a GRU and an LSTM at the chosen lag (a new one for a new lag)."""
    specs = race_specs(int(st.session_state["seq_race_lag"]))
    return workers().follow(RACE_SLOT, specs[0], True, lambda: start_trainer(
        specs, names=[RACE_LABELS[c] for c in RACE_CELLS], history=default_store(), page=PAGE))


def race_trainer() -> Trainer | None:
    return workers().get(RACE_SLOT)


on_race, _, on_race_reset = live.buttons(race_trainer, safe)


def race_classes() -> list[str]:
    """The symbols the race's network must recall (guessing gets one in this many)."""
    s = race_specs(int(st.session_state["seq_race_lag"]))[0]
    return load_dataset(s.data, s.seed).class_names


def race_verdict(snap: Snapshot) -> str:
    accuracies = [r.last_eval.get("test_acc") if r.step else None for r in snap.runs]
    return verdict(accuracies, int(st.session_state["seq_race_lag"]), len(race_classes()), snap.state == "done")


@safe
def on_preset() -> None:
    """Another preset: its own number of epochs (the run follows on the rerun)."""
    st.session_state["seq_epochs"] = presets()[st.session_state["seq_preset"]].epochs


@safe
def on_new_samples() -> None:
    """Other random draws (the page's run then hands the new seed to the view)."""
    st.session_state["seq_seed"] = (int(_setting("seq_seed")) + 1) % 2**32


# ---------------------------------------------------------------- reading for the page
def shape_rows(s: RunSpec, data: Dataset) -> list[LayerInfo]:
    return infer_shapes(s.layers, data.input_shape, tokens=data.token_input)


def input_text(data: Dataset) -> str:
    shape = data.input_shape
    if data.token_input:
        return f"{shape[0]} character ids"
    return f"{builder.shape_text(shape)} values"


def layer_table(rows: list[LayerInfo], data: Dataset) -> list[dict]:
    """Input, one row per layer (what it hands on per example, its weights), total."""
    out = [{"layer": "input", "output shape": input_text(data), "parameters": 0}]
    for r in rows:
        out.append({"layer": ("❌ " if r.error else "") + r.label, "output shape": builder.shape_text(r.out_shape),
                    "parameters": r.n_params})
    out.append({"layer": "total", "output shape": "", "parameters": sum(r.n_params for r in rows)})
    return out


def layer_notes(rows: list[LayerInfo]) -> str:
    """One clause per kind of layer in the stack, from its registry entry: 'LSTM: a recurrent layer ...'."""
    seen: dict[str, str] = {}
    for r in rows:
        info = LAYERS[r.kind]
        first = info.help.split(": ")[0].split(". ")[0].rstrip(".")
        seen.setdefault(info.label, first[:1].lower() + first[1:])
    return " ".join(f"**{label}**: {text}." for label, text in seen.items())


def state_text(snap: Snapshot | None) -> str:
    return live.state_text(snap)


def loss_labels(k: str) -> tuple[str, str]:
    """The loss chart's title and y axis for this kind of run."""
    if k == LANGUAGE_MODEL:
        return "Loss per character", "loss (nats per character)"
    if k == "classification":
        return "Loss (cross-entropy)", "loss (nats per example)"
    return "Loss (mean squared error)", "loss (squared error per value)"


def loss_caption(k: str) -> str:
    if k == LANGUAGE_MODEL:
        return ("Loss = how surprised the model is by the true next character, in nats (−log of the probability "
                "it gave that character). The dashed **bigram baseline** is the held-out loss of simply counting "
                "which letter follows which in the training names; below it, the network has learned more than "
                "pairs of letters.")
    return ("Loss = how wrong the network is, on training (blue) and held-out (orange) examples: both should go "
            "down; held-out rising while training falls means overfitting.")


def baseline_note(base: float, data: Dataset) -> str:
    n = len(data.vocab) - 1                                       # every character but padding
    among = (f"the {n - 1} letters and the end of a name" if marked(data.vocab) else f"the {n} characters")
    return (f"Bigram baseline: loss {base:.3f}, perplexity {perplexity(base):.2f} (green numbers: better than it). "
            f"**Perplexity** is e to the loss: {n} would be blind guessing among {among}, 1 would be always "
            "knowing the next character.")


def perplexity(loss: float | None) -> float | None:
    """e to the loss: the number of equally likely characters that would be as uncertain."""
    return None if loss is None or not math.isfinite(loss) else math.exp(min(loss, 50.0))


def samples_markdown(rec: Samples) -> str:
    """The samples as badges (copies of a training name in grey, marked), one line."""
    def badge(text: str, known: bool) -> str:
        shown = text or "(empty)"
        return f":gray-badge[{shown} · in the training set]" if known else f":blue-badge[{shown}]"
    return " ".join(badge(t, k) for t, k in zip(rec.texts, rec.known))


def samples_heading(rec: Samples) -> str:
    k = f"top-{rec.top_k}" if rec.top_k else "every character"
    return f"**{len(rec.texts)} samples at step {rec.step:,}** · temperature {rec.temperature:g} · {k}"


def dropped_note(rec: NextChars | SequenceClasses | Inside) -> str:
    """A sentence about the typed characters the model cannot read ('' when none)."""
    if not rec.dropped:
        return ""
    shown = ", ".join(sorted({repr(c) for c in rec.dropped}))
    reads = (rec.example.removesuffix(" (typed)") if isinstance(rec, Inside) else
             f"“{rec.text if isinstance(rec, SequenceClasses) else rec.context}”")
    return (f"Left out: {shown} (characters the model never saw in training, or more than it reads at once; "
            f"it reads {reads}).")


def names(data: Dataset) -> bool:
    """The texts are names framed by '.' (the names dataset), not running text."""
    return marked(data.vocab)


def dataset_help(s: RunSpec) -> str:
    if s.data.name == OWN_TEXT and st.session_state["seq_own_name"]:
        data = load_dataset(s.data, s.seed)
        return (f"Your text **{st.session_state['seq_own_name']}**: windows of {s.data.window} characters, "
                f"{len(data.vocab) - 1} different characters, {len(data.x_train):,} windows to train on.")
    return DATASETS[s.data.name].help


# ---------------------------------------------------------------- inside the model
INSIDE_TABS = {"states": "Hidden state", "connectivity": "Connectivity", "attention": "Attention",
               "embedding": "Embedding map", "gradients": "Gradient through time"}


def inside_tabs(rec: Inside) -> list[str]:
    """The views that apply to this model, in the page's order."""
    return [k for k in INSIDE_TABS if getattr(rec, k) is not None]


def inside_not_shown(rec: Inside) -> list[str]:
    """One line per view that does not apply, saying why."""
    return [f"**{INSIDE_TABS[k]}** is not shown: {why[:1].lower()}{why[1:]}" for k, why in rec.why_not.items()
            if k in INSIDE_TABS]


def inside_row(rec: Inside) -> int:
    """The chosen prediction of the example (seq_inside_at), within what the record holds."""
    n = len(rec.connectivity.positions) if rec.connectivity is not None else 1
    at = int(_setting("seq_inside_at"))
    return n - 1 if not 0 <= at < n else at


def clamp_inside(rec: Inside) -> None:
    """Before the widgets are drawn: their values within this record's range (another example
    may be shorter; another model has another vocabulary)."""
    st.session_state["seq_inside_at"] = inside_row(rec)
    if rec.embedding is not None:
        labels = rec.embedding.labels
        c = int(_setting("seq_inside_char"))
        if not 0 <= c < len(labels):
            c = next((i for i, t in enumerate(labels) if len(t) == 1 and t.isalpha()), 0)
        st.session_state["seq_inside_char"] = c


def prediction_text(rec: Inside, row: int) -> str:
    """'after “.mar” → i': the characters read up to a prediction and what it predicts."""
    c = rec.connectivity
    pos = c.positions[row]
    return f"after “{''.join(c.tokens[:pos + 1])}” → {c.targets[row]}"


def neighbours_markdown(rec: Inside, chosen: int) -> str:
    e = rec.embedding
    near = ", ".join(f"“{e.labels[j]}” ({sim:.2f})" for j, sim in zip(e.neighbours[chosen], e.similarity[chosen]))
    return (f"Nearest to “{e.labels[chosen]}” in all {e.dim} numbers of the learned vectors, not just the two "
            f"drawn (cosine similarity, 1 = the same direction): {near}")


def shrink_note(g: TimeGradients, row: int) -> str:
    """How many times smaller the gradient is at the first step than at the step of the loss."""
    pos, norms = g.positions[row], g.norms[row]
    if pos == 0 or norms[0] <= 0:
        return ""
    ratio = float(norms[pos] / norms[0])
    return (f"Measured here: the gradient reaching step 1 is {ratio:,.0f}× smaller than the one at step {pos + 1}, "
            f"{pos} step{'s' * (pos > 1)} back." if ratio >= 1 else
            f"Measured here: the gradient reaching step 1 is {1 / ratio:,.1f}× larger than the one at step "
            f"{pos + 1}: this model passes it back without shrinking.")


def inside_caption(name: str, rec: Inside, data: Dataset) -> str:
    """What to look for in an inside view whose numbers do not change the sentence ('' for the others)."""
    what = step_word(data)
    if name == "states":
        text = (f"Each row is one unit of the layer's state, each column a step: orange is positive, blue negative. "
                f"Look for units that switch at certain {what}s or hold a value over several steps (as in LSTMVis).")
        return text + (" " + gates_caption(rec.states.label) if rec.states.gates else "")
    return {"attention": "One square per head: row = the character looking, column = the character it looks at; "
                         "each row's weights add up to 1, and the empty upper triangle is the causal mask "
                         "(no looking ahead).",
            "embedding": "Each point is a character's learned vector, flattened to 2-D by PCA (the two directions "
                         "in which the vectors differ most): characters the model treats alike end up close, "
                         "often the vowels."}.get(name, "")


def gates_caption(label: str) -> str:
    if label == "GRU":
        return ("Gates are between 0 (shut) and 1 (open): the **update** gate decides how much of the old state "
                "is kept, the **reset** gate how much of it the **candidate state** (−1..1) reads.")
    return ("Gates are between 0 (shut) and 1 (open): the **forget** gate keeps the memory cell, the **input** "
            "gate writes the **candidate cell** (−1..1) into it, the **output** gate shows it as the state.")


def gradients_caption(g: TimeGradients, row: int) -> str:
    return ("**Vanishing gradients**: each step back multiplies the gradient by the layer's weights and its "
            "gates' or tanh's slopes, mostly below 1, so the signal that teaches an early step shrinks about "
            "geometrically with the distance (note the log axis). " + shrink_note(g, row))


def token_note(rec: Inside, data: Dataset) -> str:
    """What the marks among the example's steps mean ('' when there are none)."""
    part = rec.states or rec.connectivity or rec.attention
    tokens = set(part.tokens) if part is not None else set()
    notes = ((["“.” marks the start of a name"] if marked(data.vocab) and "." in tokens else []) +
             (["“·” is padding"] if "·" in tokens else []))
    return f" {'; '.join(notes)}." if notes else ""


def step_word(data: Dataset) -> str:
    """What the model reads at each step, for axis titles: character or value."""
    return "character" if data.token_input else "value"


def connectivity_caption(c: Connectivity, what: str) -> str:
    head = (f"Darker {what}s matter more to this prediction: the size of the gradient of its score with respect "
            "to each step's input (Distill's “Memorization in RNNs”).")
    if c.causal:
        return head + f" The {what}s after the outlined step stay white: a causal model cannot see them."
    return head + " The prediction is made after the last (outlined) step, having read them all."
