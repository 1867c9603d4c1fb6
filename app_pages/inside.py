"""Inside the network: the Playground's run opened up while it trains - conv filters, every
layer's output for one test example, gradient flow with warnings, and TensorBoard-style
distributions. The data comes from the trainer's "probes" view (engine.probes.Recorder)."""
from __future__ import annotations

import time

import streamlit as st

import ui.playground as pg
from engine.data import DATASETS
from engine.layers import LAYERS
from engine.presets import load_preset
from engine.probes import KINDS, MISCLASSIFIED, ProbeRecord
from engine.records import ViewError
from engine.tasks import TASKS
from ui import builder, inside_cell
from ui.live import follow, settle
from viz import inside as vz

RUN_EVERY_S = {"Distributions": 2.0}     # seconds between live refreshes (1 s for the other sections),
                                         # at least 3x the time drawing a section takes
SECTIONS = ("Activations", "Filters", "Feature maps", "Gradient flow", "Distributions")
START_PRESETS = {"mnist_cnn": "MNIST digits with a small CNN (filters to watch)",
                 "lenet": "MNIST digits with LeNet-5 (two conv layers)",
                 "mlp_digits": "8x8 digits with a small MLP",
                 "tf_playground": "2-D circle data with a tiny MLP"}
NO_CHART_BAR = {"displayModeBar": False}
PRESET_POPOVER = "inside_presets"        # the "Start a preset" popover's open state

st.title("Inside the network")
st.caption("Open up the Playground's network while it trains: what its filters look for, what each layer "
           "makes of one example, whether the gradients reach every layer, and how the numbers spread.")


# ---------------------------------------------------------------- callbacks (script thread)
def recorder(t):
    """The trainer's recorder (engine.probes.Recorder), or None."""
    return t.views.get("probes") if t is not None else None


def apply_example() -> None:
    """Tell the recorder which test example and which conv cell to follow (thread-safe setters)."""
    rec = recorder(pg.trainer())
    if rec is None:
        return
    inside_cell.apply(rec)
    if st.session_state["inside_example_mode"] == "misclassified":
        rec.set_example(MISCLASSIFIED)
    else:
        rec.set_example(int(st.session_state["inside_example"] or 0))


def on_example() -> None:
    """The example (or the conv cell) choice changed: tell the recorder, and have a run that is
    not training (finished, paused, ready) record it now; a training run records it at its next view."""
    apply_example()
    t = pg.trainer()
    if t is not None and not t.snapshot().active:
        before = t.snapshot().version
        t.refresh_views()
        settle(t, lambda s: s.version > before)        # this rerun draws the new example


def on_start() -> None:
    if not builder.clicked("inside_start"):
        return
    name = st.session_state["inside_preset"]
    spec = load_preset(name)
    pg.replace_spec(spec, f"Loaded the preset **{name}** (started from Inside the network).")
    st.session_state[PRESET_POPOVER] = False             # close the popover: the run is what to watch now
    t = pg.start_run(spec)
    apply_example()
    t.resume()
    settle(t, lambda s: s.state != "preparing")    # this rerun knows whether to poll


def on_train() -> None:
    t = pg.trainer()
    if t is not None:
        before = t.snapshot().state
        pg.on_train()
        settle(t, lambda s: s.state != before)


def on_restart() -> None:
    if not builder.clicked("inside_restart"):
        return
    t = pg.trainer()
    if t is not None:
        pg.start_run(t.specs[0])


def preset_picker(where, stacked: bool = False) -> None:
    """Choose a preset and start it in the Playground's slot (replacing any run); `stacked`:
    the button under the menu (in the narrow popover), else beside it."""
    a, b = (where, where) if stacked else where.columns([3, 1.2], vertical_alignment="bottom")
    a.selectbox("Preset to start", list(START_PRESETS), format_func=START_PRESETS.get, key="inside_preset",
                help="A ready-made dataset and network; the Playground will show the same run.")
    b.button("Start training", type="primary", on_click=on_start, width="stretch", key="inside_start",
             icon=":material/play_arrow:",
             help="Load the preset into the Playground (replacing its network) and start training it.")


# ---------------------------------------------------------------- no run yet
trainer = pg.trainer()
if trainer is None:
    st.info("Nothing is training yet. This page looks inside the network of the **Playground**'s run. "
            "Start one here with a preset, or build your own network on the Playground.", icon=":material/lightbulb:")
    preset_picker(st)
    st.page_link("app_pages/playground.py", label="Build your own network on the Playground", icon=":material/tune:")
    st.stop()

apply_example()
snap = trainer.snapshot()
spec = trainer.specs[0]
rec0 = snap.run.views.get("probes") if snap.run else None

# ---------------------------------------------------------------- controls (outside the live part)
c1, c2, c3, c4 = st.columns([1, 1, 1.6, 2.2], vertical_alignment="center")
running = snap.state == "running"
c1.button("Pause" if running else "Train", key="inside_train", type="primary", on_click=on_train,
          icon=":material/pause:" if running else ":material/play_arrow:",
          width="stretch", help="Start or pause the Playground's run; this page updates while it trains.")
c2.button("Step", key="inside_step", on_click=pg.on_step, width="stretch",
          help="Train on exactly one batch: watch a single gradient step change the numbers.")
preset_picker(c3.popover("Start a preset", icon=":material/inventory_2:", width="stretch", wrap=True,
                         key=PRESET_POPOVER, on_change="rerun"), stacked=True)
c4.page_link("app_pages/playground.py", label="Change the network on the Playground", icon=":material/tune:")
if "probes" not in trainer.views:
    st.warning("This run was started without the recorder this page reads.", icon=":material/warning:")
    st.button("Restart the run with the recorder", on_click=on_restart, key="inside_restart",
              help="Start the same network again from fresh weights, with recording on.")
    st.stop()

section = st.segmented_control("Show", SECTIONS, key="inside_section",
                               help="Activations: one example layer by layer. Filters: what conv layers look for. "
                                    "Feature maps: click a conv layer's map to see the filter that made it and one "
                                    "cell's arithmetic. "
                                    "Gradient flow: does learning reach every layer? "
                                    "Distributions: how weights and activations spread over time.") or SECTIONS[0]
if section == "Activations":
    data, _ = pg.dataset(spec)
    n_test = len(data.y_test) if data is not None else 1
    a, b = st.columns([2, 1], vertical_alignment="bottom")
    a.radio("Which test example", ["pick", "misclassified"], key="inside_example_mode", horizontal=True,
            on_change=on_example,
            format_func={"pick": "One I pick by number", "misclassified": "The latest one it gets wrong"}.get,
            help="The network never trains on test examples: watch how it sees one it has not learned from.")
    with b:
        builder.number_box("Test example number", 0, max(n_test - 1, 0), "inside_example",
                           st.session_state["inside_example"], on_change=on_example, step=1,
                           disabled=st.session_state["inside_example_mode"] != "pick",
                           help=f"Any of the {n_test:,} test examples (0 to {n_test - 1:,}).")
elif section == "Filters" and isinstance(rec0, ProbeRecord) and rec0.filters:
    convs = {f.layer: f for f in rec0.filters}
    if st.session_state["inside_filter_layer"] not in convs:
        st.session_state["inside_filter_layer"] = next(iter(convs))
    a, b = st.columns(2)
    layer = a.selectbox("Conv layer", list(convs), key="inside_filter_layer",
                        format_func=lambda i: f"layer {convs[i].label}",
                        help="Each Conv2d layer has its own set of filters; later ones combine earlier patterns.")
    n_in = convs[layer].weights.shape[1]
    if st.session_state["inside_filter_channel"] not in range(-1, n_in):
        st.session_state["inside_filter_channel"] = -1
    if n_in > 1:
        b.selectbox("Input channel", list(range(-1, n_in)), key="inside_filter_channel",
                    format_func=lambda c: "average of all input channels" if c < 0 else f"input channel {c + 1}",
                    help="A filter has one small kernel per input channel (1 for grey images, 3 for colour, "
                         "and one per map of the previous layer); show one of them or their average.")
elif section == "Distributions":
    st.segmented_control("Values", KINDS, key="inside_kind",
                         help="Weights and biases are what the network learns; activations are what its layers "
                              "output; gradients are how the loss wants each weight to change.")


# ---------------------------------------------------------------- live part
def status_line(snap, run) -> None:
    sc = TASKS[spec.task].score
    score = "" if sc is None else f"test {sc.name} {sc.text(run.last_eval.get(f'test_{sc.key}'))}"
    st.markdown(f"**{pg.state_text(snap)}** · {spec.name or 'your network'} on "
                f"{DATASETS[spec.data.name].label} · {pg.step_text(run, spec.until_paused).lower()} · "
                f"epoch {run.epoch:.1f}" + (f" · {score}" if score else ""))


def show_flags(rec: ProbeRecord, healthy: bool) -> None:
    for flag in rec.flags:
        st.warning(flag.text, icon=":material/warning:")
    if healthy and not rec.flags and rec.step > 0:
        st.success("No warning signs: gradients reach every layer, none explodes, and no ReLU layer is "
                   "mostly dead.", icon=":material/check_circle:")


def show_activations(rec: ProbeRecord) -> None:
    ex = rec.example
    if ex.mode == MISCLASSIFIED and not ex.found:
        st.info("The network gets every test example it checked right; showing one it is sure about.")
    a, b = st.columns(2)
    a.plotly_chart(vz.input_figure(ex), key="inside_input", config=NO_CHART_BAR)
    a.caption("What goes in: the network sees only these numbers.")
    if ex.probs is not None:
        b.plotly_chart(vz.probabilities_figure(ex), key="inside_probs", config=NO_CHART_BAR)
        b.caption("What comes out: softmax turns the last layer's scores into probabilities that add up to 100%. "
                  "Green is the true class.")
    else:
        b.plotly_chart(vz.regression_output_figure(ex), key="inside_output", config=NO_CHART_BAR)
        b.caption("What comes out: the predicted number next to the true one.")
    st.markdown("**What each layer makes of it**, from the input (first) to the output (last):")
    acts = rec.activations
    for i in range(0, len(acts), 2):
        cols = st.columns(2)
        for col, act in zip(cols, acts[i:i + 2]):
            last = act is acts[-1]
            col.plotly_chart(vz.activation_figure(act, ex.class_names if last else None),
                             key=f"inside_act_{act.layer}", config=NO_CHART_BAR)
            note = LAYERS[spec.layers[act.layer].kind].note          # what the layer does, from its registry entry
            if last and ex.probs is not None:
                note = "The final scores, one per class; the biggest one is the network's answer."
            col.caption(note)
    if DATASETS[spec.data.name].group == "2d":
        st.page_link("app_pages/playground.py", icon=":material/tune:",
                     label="For 2-D data, the Playground shows what every hidden neuron computes over the whole plane")


def show_filters(rec: ProbeRecord) -> None:
    if not rec.filters:
        st.info("This network has no Conv2d layer, so it has no filters to show. Start the MNIST CNN preset "
                "(or add a Conv2d layer on the Playground) to watch filters learn.", icon=":material/lightbulb:")
        return
    convs = {f.layer: f for f in rec.filters}
    f = convs.get(st.session_state.get("inside_filter_layer"), rec.filters[0])
    channel = st.session_state.get("inside_filter_channel", -1)      # no widget (one input channel): -1
    channel = channel if 0 <= channel < f.weights.shape[1] else None
    st.plotly_chart(vz.filters_figure(f, channel), key="inside_filters", config=NO_CHART_BAR)
    st.caption("Each tile is one filter: the small pattern of weights it slides over its input (orange = "
               "positive, blue = negative). They start as random noise; watch them turn into edge, stroke "
               "and blob detectors as training goes on.")


def show_gradients(rec: ProbeRecord) -> None:
    h = rec.history
    if not rec.param_layers:
        st.info("This network has no layer with weights.")
        return
    if not (h.g_norm[-1] == h.g_norm[-1]).any():                  # all NaN: no step yet
        st.info("Gradients exist only after a training step: press **Train** or **Step**.",
                icon=":material/lightbulb:")
        return
    st.plotly_chart(vz.gradient_bars_figure(rec), key="inside_grad_bars", config=NO_CHART_BAR)
    st.caption("Gradients (purple) tell each layer how to change; grey shows the weights' own size for scale. "
               "Healthy: every layer's gradient is within a factor of about 100 of the others. Gradients on the "
               "left 1000x smaller = vanishing gradients.")
    a, b = st.columns(2)
    a.plotly_chart(vz.gradient_lines_figure(rec), key="inside_grad_lines", config=NO_CHART_BAR)
    a.caption("One line per layer (light = near the input, dark = near the output). Lines sinking far below "
              "the others mean that layer stops learning; lines shooting up mean exploding gradients.")
    b.plotly_chart(vz.ratio_figure(rec), key="inside_ratio", config=NO_CHART_BAR)
    b.caption("How big one step is compared with the weights themselves. Around 0.001 (dashed) is a healthy "
              "pace; far above = learning rate too high, far below = learning very slowly.")
    if rec.dead:
        st.plotly_chart(vz.dead_figure(rec), key="inside_dead", config=NO_CHART_BAR)
        st.caption("A ReLU unit is dead when it outputs 0 for every input: no gradient passes through it, so "
                   "it never recovers. A few are normal; half or more means trouble.")


def show_distributions(rec: ProbeRecord) -> None:
    kind = st.session_state["inside_kind"] or "weights"
    if not rec.dist[kind].layers:
        st.info(f"This network has no {kind} to show.")
        return
    if len(rec.history.step) < 2:
        st.info("The bands fill in as training runs: press **Train**.", icon=":material/lightbulb:")
    st.plotly_chart(vz.distributions_figure(rec, kind), key="inside_dist", config=NO_CHART_BAR)
    st.caption("Left, as in TensorBoard: the darkest band holds the middle 38% of the values, the lightest all "
               "of them, the line is the median. Bands spreading out = values growing; bands shrinking to 0 = "
               "a layer going quiet. Right: the histogram of the values now.")


def show_cell(rec: ProbeRecord) -> None:
    inside_cell.show(rec, on_example)


SHOW = {"Activations": show_activations, "Filters": show_filters, "Feature maps": show_cell, "Gradient flow": show_gradients,
        "Distributions": show_distributions}


def refresh_s(section: str) -> float:
    """Seconds between live refreshes: the section's pace, longer when drawing it is slow
    (a busy machine), so the page is not redrawn without pause."""
    return max(RUN_EVERY_S.get(section, 1.0), st.session_state["inside_draw_s"].get(section, 0.0) * 3)


def live(t, snap) -> None:
    """The chosen section, redrawn while the run trains (ui.live.follow)."""
    if snap.state == "error":
        st.error(f"The run stopped with an error: {snap.error}. Change the settings on the Playground "
                 "or press Replay this run there.")
    run = snap.run
    if run is None:
        st.info("Preparing the data and the network…")
        return
    status_line(snap, run)
    if run.status == "diverged":
        st.error(run.message)
    rec = run.views.get("probes")
    if isinstance(rec, ViewError):
        st.error(f"Recording failed: {rec.message}. Training goes on; press Replay this run on the Playground "
                 "to try again.")
        return
    if not isinstance(rec, ProbeRecord):
        st.info("Recording starts with the first training steps…")
        return
    started = time.perf_counter()
    show_flags(rec, section == "Gradient flow")
    SHOW[section](rec)
    took, before = time.perf_counter() - started, refresh_s(section)
    draw = st.session_state["inside_draw_s"]
    draw[section] = took if section not in draw else 0.7 * draw[section] + 0.3 * took
    if snap.active and abs(refresh_s(section) - before) > 0.5 * before:
        st.rerun()                                   # drawing got much slower or faster: new pace


follow(pg.trainer, snap.state, refresh_s(section), live)
