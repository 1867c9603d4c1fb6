"""Sequences & text: train a character language model, a word-language classifier or a series
forecaster with Train / Pause / Step / Reset, and watch it learn live.

Layout and widgets only: the run, the callbacks and the text are in ui/sequences.py, the views in
engine/sequence_views.py, the figures in viz/sequences.py.
"""
from __future__ import annotations

import streamlit as st

from engine.records import Forecast, Inside, NextChars, Samples, SequenceClasses, ViewError
from engine.tasks import TASKS
from engine.tasks.language import TASK as LANGUAGE_MODEL
from ui import builder
from ui import sequences as sq
from ui import live
from ui.state import init_defaults
from viz import sequences as vz

FAST_S, SLOW_S = 0.5, 1.0            # seconds between redraws: numbers and loss / samples and pictures

init_defaults()          # idempotent; lets the page run on its own (page tests)

st.title("Sequences & text")
st.caption("Networks that read one character (or one value) after another: a recurrent network (LSTM, GRU) "
           "carries a memory from step to step, a transformer looks back at every earlier step. Pick a preset, "
           "press **▶ Train** and watch it learn to spell names, tell languages apart or continue a wave.")

spec = sq.spec()
data = sq.dataset(spec)
kind = sq.kind(spec, data)
problems = sq.problems(spec)
trainer = sq.sync_run(spec, not problems)
snap = trainer.snapshot() if trainer else None
shown = snap.state if snap else "none"
if st.session_state["seq_error"]:
    st.error(st.session_state["seq_error"])
    st.session_state["seq_error"] = ""


# ---------------------------------------------------------------- live parts
def numbers(s, run, static: bool) -> None:
    if s.state == "error":
        st.error(f"The run stopped with an error: {s.error}. Press Reset to start again.")
    if run.status == "diverged":
        st.error(run.message)
    ev, c = run.last_eval, st.columns(3)
    c[0].metric("Step", f"{run.step:,}", help=f"Gradient steps so far, of {run.total_steps:,} "
                f"(epoch {run.epoch:.1f} of {spec.epochs}).")
    loss, base = ev.get("test_loss", float("nan")), ev.get("baseline_loss") if kind == LANGUAGE_MODEL else None
    c[1].metric("Held-out loss", f"{loss:.3f}", delta=f"{loss - base:+.3f}" if base else None, delta_color="inverse",
                help="The loss on examples the network never trains on" +
                     (", in nats per character; the small number compares it with the bigram baseline's."
                      if base else "."))
    if kind == LANGUAGE_MODEL:
        ppl = ev.get("perplexity", float("nan"))
        c[2].metric("Perplexity", f"{ppl:.2f}", delta=f"{ppl - sq.perplexity(base):+.2f}" if base else None,
                    delta_color="inverse", help="e to the held-out loss: the model is as unsure as if it "
                    "picked among this many equally likely characters. Lower is better.")
        if base:
            st.caption(sq.baseline_note(base, data))
    elif (score := TASKS[spec.task].score) is not None:
        c[2].metric(f"Held-out {score.name}", score.text(ev.get(f"test_{score.key}")), help=score.help)
    st.caption(f"Epoch {run.epoch:.1f} of {spec.epochs}" +
               (f" · {s.samples_per_s:,.0f} examples/s on {s.device}" if s.state == "running" else ""))


def loss_chart(s, run, static: bool) -> None:
    title, y = sq.loss_labels(kind)
    base = run.last_eval.get("baseline_loss") if kind == LANGUAGE_MODEL else None
    live.chart(vz.loss_figure(run.evals, run.batches, base, title, y), "seq_loss", static)


def accuracy_chart(s, run, static: bool) -> None:
    live.chart(vz.score_figure(run.evals, "acc", "accuracy", True), "seq_acc", static)


def samples(s, run, static: bool) -> None:
    if (rec := live.record(run, "samples", Samples)) is not None:
        with st.container(key="seq_samples_box"):
            st.markdown(sq.samples_heading(rec))
            st.markdown(sq.samples_markdown(rec))


def next_chars(s, run, static: bool) -> None:
    if (rec := live.record(run, "next_chars", NextChars)) is not None:
        live.chart(vz.next_char_figure(rec), "seq_next", static)
        if note := sq.dropped_note(rec):
            st.caption(note)


def classes(s, run, static: bool) -> None:
    if (rec := live.record(run, "classes", SequenceClasses)) is not None:
        live.chart(vz.classes_figure(rec), "seq_classes", static)
        if note := sq.dropped_note(rec):
            st.caption(note)


def forecast(s, run, static: bool) -> None:
    if (rec := live.record(run, "forecast", Forecast)) is not None:
        live.chart(vz.forecast_figure(rec), "seq_forecast", static)


# ---------------------------------------------------------------- the run: preset, network, buttons
left, right = st.columns([5, 6], gap="medium")
with left:
    presets = sq.presets()
    st.selectbox("Preset", list(presets), key="seq_preset", on_change=sq.on_preset,
                 format_func=lambda n: presets[n].name or n,
                 help="A ready-made dataset, network and training settings for sequences.")
    st.caption(sq.dataset_help(spec))
    if spec.task == LANGUAGE_MODEL:
        up = st.file_uploader("…or train it on your own text (UTF-8 .txt, at most 2 MB)", type=["txt"],
                              key="seq_text_file", max_upload_size=2,
                              help="Any plain text: a book chapter, song lyrics, code. The model learns to continue "
                                   "it one character at a time; the file stays on this server.")
        if up is not None and sq.take_text(up.file_id, up.name, up.getvalue()):
            st.rerun()                                   # the run above was drawn for the spec before
        if st.session_state["seq_own_text"]:
            st.button("Back to the preset's data", key="seq_preset_text", on_click=sq.on_preset_text,
                      icon=":material/undo:", help="Train on the preset's own dataset again.")
    rows = sq.shape_rows(spec, data)
    st.dataframe(sq.layer_table(rows, data), hide_index=True,
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})
    st.caption("What each layer hands to the next for one example (steps × numbers per step) and how many "
               "weights it learns. " + sq.layer_notes(rows))
    st.number_input("Epochs", 1, 1000, key="seq_epochs",
                    help="Passes over the training set before training stops; a new value starts a new run.")
with right:
    running = shown == "running"
    c1, c2, c3 = st.columns(3, vertical_alignment="center", gap="small")
    c1.button("Pause" if running else "Train", key="seq_train", type="primary", on_click=sq.on_train,
              icon=":material/pause:" if running else ":material/play_arrow:", disabled=trainer is None,
              width="stretch", help="Start or pause training; the run keeps going while you visit other pages.")
    c2.button("Step", key="seq_step", on_click=sq.on_step, disabled=trainer is None, width="stretch",
              icon=":material/skip_next:", help="Train on exactly one batch, then stop.")
    c3.button("Reset", key="seq_reset", on_click=sq.on_reset, disabled=trainer is None, width="stretch",
              icon=":material/restart_alt:", help="Start again from fresh random weights.")
    st.caption(f"Run: **{sq.state_text(snap)}** · saved to the run history whenever it stops")
    for problem in problems:
        st.error(problem, icon=":material/block:")
    if trainer is not None and trainer.history_error:
        st.warning(f"Note: {trainer.history_error}.")
    live.part(sq.trainer, shown, FAST_S, numbers, "seq")
    live.part(sq.trainer, shown, FAST_S, loss_chart, "seq")
    st.caption(sq.loss_caption(kind))

# ---------------------------------------------------------------- what the model does
def language_model_part() -> None:
    st.markdown("**What the model writes**")
    a, b, c, _ = st.columns([3, 1.4, 1.6, 4], vertical_alignment="bottom")
    a.slider("Temperature", **sq.TEMPERATURE, key="seq_temperature",
             help="Divides the model's scores before they become probabilities: below 1 picks the likely "
                  "letters more often (safe, repetitive), above 1 gives rare letters more chances (wild).")
    b.number_input("Top-k", 0, len(data.vocab) - 1, key="seq_top_k",
                   help="Draw only among the k most likely characters; 0 = among all of them.")
    c.button("New samples", key="seq_new_samples", on_click=sq.on_new_samples, icon=":material/casino:",
             width="stretch", help="Other random draws from the same model.")
    live.part(sq.trainer, shown, SLOW_S, samples, "seq")
    item = "name" if sq.names(data) else "text"
    st.caption(f"{item.capitalize()}s the model makes up, one letter at a time, each drawn from its next-letter "
               "probabilities. The random draws stay the same, so what changes is the network" +
               ("; grey ones copy a name it trained on." if item == "name" else "."))
    st.markdown("**What comes next?**")
    a, b = st.columns([1, 3], gap="large")
    a.text_input(f"Start of a {item}", key="seq_prefix", max_chars=40, placeholder="e.g. mar",
                 help="The model reads these letters and gives a probability to every letter that could come next.")
    a.caption("The bars show what the model thinks comes next after the letters you typed (blue, at "
              "temperature 1; *end* = the name stops here) and, when the temperature or top-k change it, what "
              "sampling draws from (orange).")
    with b:
        live.part(sq.trainer, shown, SLOW_S, next_chars, "seq")


def classifier_part() -> None:
    c1, c2 = st.columns(2, gap="large")
    with c1:
        live.part(sq.trainer, shown, SLOW_S, accuracy_chart, "seq")
        n = len(data.class_names)
        st.caption(f"Accuracy = the share of held-out examples the network gets right; with {n} classes, "
                   f"guessing is right {100 / n:.0f}% of the time.")
    if sq.typed_classes(data):
        with c2:
            st.text_input("Type a word", key="seq_text", max_chars=60, placeholder="e.g. bonjour",
                          help="The network reads it letter by letter and gives each class a probability; "
                               "empty = the first held-out word.")
            live.part(sq.trainer, shown, SLOW_S, classes, "seq")
            st.caption("Try words that are in no list: the network has learned each language's spelling habits, "
                       "not a dictionary.")


def forecast_part() -> None:
    c1, c2 = st.columns([3, 2], gap="large")
    with c1:
        st.number_input("Held-out window", 1, len(data.x_test), key="seq_window",
                        help="Which of the series the network never trains on to forecast.")
        live.part(sq.trainer, shown, SLOW_S, forecast, "seq")
    with c2:
        st.markdown("**Reading the forecast**")
        st.caption("Blue: the values the network reads. Green: what really came next. Orange: its forecast; "
                   "the closer orange follows green, the better it has learned the waves. Try other windows: "
                   "none of them was seen in training.")


# ---------------------------------------------------------------- inside the model, for one example
def states_view(s, run, static: bool) -> None:
    if (rec := live.record(run, "inside", Inside)) is not None and rec.states is not None:
        live.chart(vz.states_figure(rec.states, sq.step_word(data)), "seq_in_states", static)
        if rec.states.gates:
            live.chart(vz.gates_figure(rec.states), "seq_in_gates", static)


def connectivity_view(s, run, static: bool) -> None:
    if (rec := live.record(run, "inside", Inside)) is not None and rec.connectivity is not None:
        live.chart(vz.connectivity_figure(rec.connectivity, sq.inside_row(rec), sq.step_word(data)), "seq_in_conn",
              static)
        st.caption(sq.connectivity_caption(rec.connectivity, sq.step_word(data)))


def attention_view(s, run, static: bool) -> None:
    if (rec := live.record(run, "inside", Inside)) is not None and rec.attention is not None:
        live.chart(vz.attention_figure(rec.attention), "seq_in_attn", static)


def embedding_view(s, run, static: bool) -> None:
    if (rec := live.record(run, "inside", Inside)) is not None and rec.embedding is not None:
        chosen = int(st.session_state["seq_inside_char"]) % len(rec.embedding.labels)
        live.chart(vz.embedding_figure(rec.embedding, chosen), "seq_in_emb", static)
        st.markdown(sq.neighbours_markdown(rec, chosen))


def gradients_view(s, run, static: bool) -> None:
    if (rec := live.record(run, "inside", Inside)) is not None and rec.gradients is not None:
        row = sq.inside_row(rec)
        live.chart(vz.time_gradients_figure(rec.gradients, row, sq.step_word(data)), "seq_in_grads", static)
        st.caption(sq.gradients_caption(rec.gradients, row))


INSIDE_VIEWS = {"states": states_view, "connectivity": connectivity_view, "attention": attention_view,
                "embedding": embedding_view, "gradients": gradients_view}


def inside_part() -> None:
    st.subheader("Inside the model", anchor="inside")
    rec = snap.run.views.get("inside") if snap is not None and snap.run is not None else None
    if data.token_input:
        st.text_input("Example to look inside", key="seq_inside_text", max_chars=40,
                      placeholder="e.g. maria" if kind == LANGUAGE_MODEL else "e.g. bonjour",
                      help="The network reads this text and we watch what happens inside it at every step; "
                           "empty = the first held-out example.")
    if isinstance(rec, ViewError):
        st.error(f"Looking inside failed: {rec.message}. Training goes on.")
    if not isinstance(rec, Inside):
        st.caption("Press **Step** or **▶ Train** to look inside the network.")
        return
    sq.clamp_inside(rec)
    st.caption(f"Looking at **{rec.example}** with the weights of step {rec.step:,}.{sq.token_note(rec, data)}" +
               (" " + sq.dropped_note(rec) if rec.dropped else ""))
    if rec.message:
        st.warning(rec.message)
    if rec.connectivity is not None and len(rec.connectivity.positions) > 1:
        st.select_slider("Prediction", options=list(range(len(rec.connectivity.positions))), key="seq_inside_at",
                         format_func=lambda i: sq.prediction_text(rec, i),
                         help="Which of the model's next-character predictions to follow back through the "
                              "sequence (Connectivity and Gradient through time).")
    names = sq.inside_tabs(rec)
    for tab, name in zip(st.tabs([sq.INSIDE_TABS[n] for n in names]), names):
        with tab:
            if name == "embedding":
                labels = rec.embedding.labels
                st.selectbox("Character", list(range(len(labels))), key="seq_inside_char",
                             format_func=lambda i: labels[i], help="Its nearest neighbours are joined to it "
                             "and listed under the map.")
            live.part(sq.trainer, shown, SLOW_S, INSIDE_VIEWS[name], "seq")
            if caption := sq.inside_caption(name, rec, data):
                st.caption(caption)
    for line in sq.inside_not_shown(rec):
        st.caption(line)


# ---------------------------------------------------------------- the memory race
def race_view(s, run, static: bool) -> None:
    chance = 1 / len(sq.race_classes())
    live.chart(vz.race_figure({r.name: r.evals for r in s.runs}, chance, st.session_state["seq_race_lag"]),
               "seq_race_chart", static)
    st.markdown(sq.race_verdict(s))


def race_part() -> None:
    st.subheader("Memory race: plain RNN, GRU and LSTM", anchor="race")
    st.caption("Each example is a row of random letters; the network must name the letter it saw a number of steps "
               "(the **lag**) before the end. The same network is built around three kinds of recurrent cell, "
               "from the same start and on the same batches: only the cell differs.")
    race = sq.race_run()
    state = race.snapshot().state
    a, b, c = st.columns([4, 1.2, 1.2], vertical_alignment="bottom")
    a.slider("Lag (steps to remember across)", 5, 60, key="seq_race_lag",
             **builder.seed("seq_race_lag", st.session_state["seq_race_lag"], st.slider),
             help="How many letters come after the one to recall. A new lag starts a new race.")
    running = state == "running"
    b.button("Pause" if running else "Race", key="seq_race_go", type="primary", on_click=sq.on_race,
             icon=":material/pause:" if running else ":material/play_arrow:", width="stretch",
             help="Train the three side by side (1,000 steps each), or pause them.")
    c.button("Reset", key="seq_race_reset", on_click=sq.on_race_reset, icon=":material/restart_alt:",
             width="stretch", help="Start the race again from the same start.")
    live.part(sq.race_trainer, state, FAST_S, race_view, "seq_race")


PARTS = {LANGUAGE_MODEL: language_model_part, "classification": classifier_part, "forecast": forecast_part}
if (part := PARTS.get(kind)) is not None:
    st.divider()
    part()
if trainer is not None:
    st.divider()
    with st.container(key="seq_inside_box"):
        inside_part()
st.divider()
with st.container(key="seq_race_box"):
    race_part()
