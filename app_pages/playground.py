"""Playground: pick data, assemble a network, press Train, watch it learn live.

Layout and widgets only: the spec logic and callbacks are in ui/playground.py, the layer
widgets in ui/builder.py, the figures in viz/playground.py.
"""
from __future__ import annotations

from dataclasses import fields, replace

import pandas as pd
import streamlit as st

from engine.data import DATASETS, Dataset, datasets_by_group
from engine.data.files import csv_columns
from engine.data.folder import data_folder
from engine.init import INITS
from engine.optim import LOSSES, OPTIMIZERS
from engine.presets import PLAYGROUND_GROUPS, SUPERVISED, all_presets
from engine.records import Boundary, Images, Neurons
from engine.spec import FEATURES, MAX_BYTES, PREPROCESSING, REGULARISATION, OptimSpec, RunSpec
from engine.tasks import TASKS
from ui import builder, playground as pg, url
from ui.live import follow
from viz import playground as vz

FAST_S, SLOW_S = 0.25, 1.5     # seconds between redraws: numbers and loss curve / pictures and score curve
PREPROCESS_HELP = ("How input values are rescaled before training: none, unit = [0, 1], "
                   "symmetric = [-1, 1], standardize = mean 0 and std 1 per feature; auto = the dataset's usual choice.")

pg.load_from_url(st.query_params)
spec: RunSpec = pg.spec()

st.title("Playground")
st.caption("Pick a dataset, build a network, press **▶ Train** and watch it learn. "
           "Hover over the small question marks to learn what each control does.")
# Messages come and go inside fixed containers: an element added or removed above the settings
# tabs would make the browser draw the tabs anew, on their first tab.
notice, errors = pg.messages()
with st.container():
    if notice:
        st.success(notice, icon=":material/check_circle:")
    for problem in errors:
        st.error(problem)

left, right = st.columns([5, 6], gap="medium")


# ---------------------------------------------------------------- data
def field_widget(widget, label: str, path: str, value, *args, convert=None, **kw):
    """A widget bound to a spec field: starts at `value`, writes back through pg.on_field."""
    k = pg.key(path.replace(".", "_"))
    start = builder.seed(k, value, widget, args[0] if args else None)
    return widget(label, *args, key=k, on_change=pg.on_field, args=(path, k, convert), **start, **kw)


def field_number(label: str, path: str, value: int, lo: int, hi: int, **kw) -> None:
    """A number box bound to a spec field; a number out of range is refused next to it."""
    k = pg.key(path.replace(".", "_"))
    builder.number_box(label, lo, hi, k, value, on_change=pg.on_field, args=(path, k, None), **kw)


def loss_label(name: str) -> str:
    return "auto (picked from task and output)" if name == "auto" else LOSSES[name].label


def data_panel(s: RunSpec) -> None:
    info = DATASETS[s.data.name]
    groups = datasets_by_group()
    names = [d.name for g in pg.GROUP_LABELS for d in groups.get(g, [])]
    st.selectbox("Dataset", names, key=pg.key("dataset"), on_change=pg.on_dataset, args=(pg.key("dataset"),),
                 **builder.seed(pg.key("dataset"), s.data.name, st.selectbox, names),
                 format_func=lambda n: f"{pg.GROUP_LABELS[DATASETS[n].group]} · {DATASETS[n].label}",
                 help="What the network learns from: 2-D points (watch the boundary form), tables, "
                      "images, or your own file.")
    st.caption(info.help)
    d, opts = s.data, info.options
    c1, c2 = st.columns(2)
    with c1:
        if "n_samples" in opts and info.group == "2d":
            field_widget(st.select_slider, "Points", "data.n_samples", d.n_samples,
                         sorted({50, 100, 200, 300, 500, 1000, 2000, d.n_samples}),
                         help="How many examples to generate; more points show the pattern more clearly.")
        elif "n_samples" in opts:
            field_number("Examples (at most)", "data.n_samples", d.n_samples, 10, 100_000,
                         step=100, help="Use at most this many examples; fewer train faster on a CPU.")
        if "test_fraction" in opts:
            field_widget(st.slider, "Test share (%)", "data.test_fraction", int(round(d.test_fraction * 100)),
                         10, 90, step=5, convert=pg.percent,
                         help="Share of the examples held back to test the model on data it never trained on.")
    with c2:
        if "noise" in opts:
            field_widget(st.slider, "Noise (%)", "data.noise", int(round(d.noise * 100)), 0, 50, step=5,
                         convert=pg.percent,
                         help="Jitter added to the data: more noise blurs the pattern and tempts the model to overfit.")
        if "preprocessing" in opts:
            field_widget(st.selectbox, "Preprocessing", "data.preprocessing", d.preprocessing, PREPROCESSING,
                         help=PREPROCESS_HELP)
        if info.group == "2d" and "n_samples" in opts:
            st.button("Regenerate", on_click=pg.on_regenerate, key=pg.key("regenerate"), args=(pg.key("regenerate"),), icon=":material/casino:",
                      help="New random data (and new initial weights): the run's seed goes up by one.")
    if "features" in opts:
        field_widget(st.multiselect, "Input features", "data.features", list(d.features), FEATURES,
                     convert=pg.features_value,
                     help="What the network sees of each point. x1² or x1·x2 let even a network "
                          "without hidden layers draw curved boundaries.")
        if not st.session_state[pg.key("data_features")]:
            st.warning("Choose at least one input feature; the last choice is kept until then.")
    if "path" in opts and s.data.name != "csv":
        st.text_input("Folder in the data folder", key=pg.key("data_path"), on_change=pg.on_data_path, args=(pg.key("data_path"),),
                      **builder.seed(pg.key("data_path"), d.path, st.text_input),
                      placeholder="e.g. mnist", help=f"The folder that holds the dataset's files, inside the "
                      f"server's data folder {data_folder()} (its operator sets it with PLAYGROUND_DATA_DIR); "
                      "nothing is downloaded.")
    if s.data.name == "csv":
        csv_panel(s)


def csv_panel(s: RunSpec) -> None:
    st.file_uploader("Upload a CSV file", type=["csv"], key="pg_csv_file", on_change=pg.on_csv_upload,
                     max_upload_size=max(1, pg.MAX_CSV_BYTES // 2**20),
                     help=f"Numeric feature columns plus one column to predict, at most "
                          f"{pg.MAX_CSV_BYTES // 2**20} MB. A target with few whole values is a class label.")
    for problem in st.session_state["pg_csv_errors"]:
        st.error(problem)
    if s.data.path:
        columns = csv_columns(s.data.path)
        if columns:
            target = s.data.target if s.data.target in columns else columns[-1]
            st.selectbox("Column to predict", columns, key=pg.key("csv_target"), on_change=pg.on_csv_target, args=(pg.key("csv_target"),),
                         **builder.seed(pg.key("csv_target"), target, st.selectbox, columns),
                         help="The target: few distinct whole numbers or text = classification, "
                              "other numbers = regression. Every other column is an input.")
        for problem in pg.csv_problems(s.data.path, s.data.target):
            st.error(f"{problem}. Fix the file or choose another column.")


def data_preview(s: RunSpec, data: Dataset | None) -> None:
    if data is None:
        return
    if data.points_train is not None:
        st.plotly_chart(vz.scatter_preview(data.points_train, data.y_train, data.points_test, data.y_test,
                                           data.task, data.extent, len(data.class_names) or 2),
                        key="pg_preview_scatter")
        st.caption("Each dot is one example, coloured by its class (or target value). "
                   "Diamonds are test points the network never trains on.")
    elif data.x_train.ndim == 4:
        imgs, labels = pg.preview_images(data)
        st.plotly_chart(vz.images_figure(imgs, labels, data.class_names, title="Sample training images (label)"),
                        key="pg_preview_images")
        st.caption("A few training images with their labels: the network sees only the pixels.")
    else:
        st.dataframe(pg.table_preview(data), height=250, hide_index=True)
        st.caption(f"The first training rows after preprocessing ({len(data.x_train)} train, "
                   f"{len(data.x_test)} test examples); the network predicts the target from the other columns.")


# ---------------------------------------------------------------- network
def network_panel(s: RunSpec, rows) -> None:
    presets = all_presets(PLAYGROUND_GROUPS, SUPERVISED)
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    # starts on the preset this spec is, if it is one: a menu showing another preset's name read
    # as the name of the network below it
    current = next((n for n, p in presets.items() if p == s), None)
    k = pg.key("preset")
    if k not in st.session_state:
        st.session_state[k] = current
    chosen = c1.selectbox("Start from a preset", list(presets), key=k,
                          index=list(presets).index(current) if current else None, placeholder="Choose a preset",
                          format_func=lambda n: f"{presets[n].name or n}",
                          help="A ready-made run (data, network and training settings) to start from.")
    c2.button("Load", key="pg_load_preset", on_click=pg.on_preset, args=("pg_load_preset",), disabled=chosen is None,
              icon=":material/upload_file:", help="Replace everything by the preset.")
    for i, (layer, uid) in enumerate(zip(s.layers, pg.layer_ids())):
        info = rows[i] if i < len(rows) else None
        builder.layer_card(i, len(s.layers), layer, info, pg.key(f"L{uid}"), pg.on_stack, pg.on_layer_param)
    c1, c2, c3 = st.columns([4.4, 3.6, 2.4], vertical_alignment="bottom")
    kinds = builder.kind_options(exclude=builder.SEQUENCE_GROUPS)     # the Playground's data are not sequences
    c1.selectbox("Add a layer", kinds, key=pg.key("add_kind"), format_func=builder.kind_label,
                 **builder.seed(pg.key("add_kind"), "linear", st.selectbox, kinds),
                 help="Any registered layer kind: dense, convolution, pooling, activation, shape or regularisation.")
    n = len(s.layers)
    at_end = builder.seed(pg.key("add_pos"), n, st.selectbox, range(n + 1))
    if st.session_state[pg.key("add_pos")] > n:
        st.session_state[pg.key("add_pos")] = n
    c2.selectbox("Where", list(range(n + 1)), key=pg.key("add_pos"), **at_end,
                 format_func=lambda p: "at the end" if p == n else f"before layer {p + 1}",
                 help="Where in the stack the new layer goes.")
    c3.button("Add", key="pg_add_layer", on_click=pg.on_add_layer, args=("pg_add_layer",), width="stretch",
              help="Insert the chosen layer.")


def shape_panel(rows, data: Dataset | None) -> None:
    if data is None:
        return
    st.dataframe(pg.shape_table(rows, data.input_shape), hide_index=True,
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})
    st.caption(f"What each layer hands to the next (per example, without the batch), and how many weights it "
               f"learns: **{sum(r.n_params for r in rows):,}** weights and biases in all. The last layer must "
               "output one value per class (or target).")


# ---------------------------------------------------------------- training
def training_panel(s: RunSpec) -> None:
    o = s.optim
    field_widget(st.selectbox, "Optimizer", "optim.name", o.name, list(OPTIMIZERS),
                 format_func=lambda n: OPTIMIZERS[n].label,
                 help="How the weights move downhill on the loss. " + OPTIMIZERS[o.name].help)
    field_widget(st.select_slider, "Learning rate", "optim.lr", o.lr, sorted({*pg.LEARNING_RATES, o.lr}),
                 format_func=lambda v: f"{v:g}",
                 help="The size of each step downhill: too small crawls, too large jumps over the valley "
                      "and the loss explodes. You can change it while training runs.")
    used = [f for f in fields(OptimSpec) if f.name in OPTIMIZERS[o.name].uses and f.name != "lr"]
    if used:
        for col, f in zip(st.columns(len(used)), used):
            with col:
                k = pg.key(f"optim_{f.name}")
                builder.param_widget(replace(f.metadata["param"], name=f.name), getattr(o, f.name), k,
                                     on_change=pg.on_field, args=(f"optim.{f.name}", k, None))
    field_widget(st.selectbox, "Loss", "loss", s.loss, list(TASKS[s.task].losses), format_func=loss_label,
                 help="What the network minimises: cross-entropy for classes, mean squared error for "
                      "numbers; auto picks the right one.")                 # full width: the names are long
    field_widget(st.selectbox, "Initialisation", "init", s.init, list(INITS), format_func=lambda n: INITS[n].label,
                 help="How the weights start before the first step (Linear and Conv layers): the same network can "
                      "learn or stall by this alone. " + "  \n".join(f"**{i.label}**: {i.help}" for i in INITS.values()))
    c1, c2 = st.columns(2)
    with c1:
        field_widget(st.selectbox, "Regularisation", "regularization", s.regularization, REGULARISATION,
                     format_func={"none": "none", "l1": "L1 (sparse weights)", "l2": "L2 (small weights)"}.get,
                     help="A penalty on large weights added to the loss; it fights overfitting.")
        field_number("Epochs", "epochs", s.epochs, 1, 100_000,
                     help="Passes over the training set before training stops (until paused: the length the "
                          "learning-rate schedule and the evaluations are planned for).")
        field_widget(st.toggle, "Train until paused", "until_paused", s.until_paused,
                     help="Keep training past the epochs until you press Pause, as TensorFlow Playground does; "
                          "off: training stops by itself after the epochs.")
    with c2:
        field_widget(st.select_slider, "Regularisation rate", "reg_rate", s.reg_rate,
                     sorted({*pg.REG_RATES, s.reg_rate}), format_func=lambda v: f"{v:g}",
                     disabled=s.regularization == "none",
                     help="How strongly the weight penalty counts against the data loss.")
        field_number("Seed", "seed", s.seed, 0, 2**31 - 1,
                     help="Fixes the data, the initial weights and the batch order: the same seed gives the same run.")
    field_widget(st.select_slider, "Batch size", "batch_size", s.batch_size, sorted({*pg.BATCH_SIZES, s.batch_size}),
                 help="Examples averaged per step: small batches are noisy but quick, large ones smooth but slow.")


# ---------------------------------------------------------------- share
def share_panel(s: RunSpec, trainer) -> None:
    from engine.export import export_script, metrics_csv, weights_bytes
    st.markdown("**Share this run.** The address bar holds the whole spec: copy the link to share it.")
    st.download_button("Download spec (JSON)", data=s.to_json(), file_name="playground_spec.json",
                       icon=":material/download:", mime="application/json", on_click="ignore", key="pg_dl_spec",
                       help="The run spec: data, network, optimizer and seed, as JSON.")
    st.file_uploader("Upload a spec (JSON)", type=["json"], key="pg_spec_file", on_change=pg.on_spec_upload,
                     max_upload_size=max(1, MAX_BYTES // 2**20),
                     help="A spec saved from here (or written by hand), at most 1 MB; an invalid file changes nothing.")
    if st.session_state["pg_spec_errors"]:
        st.error("This file is not a valid spec, so nothing was changed:\n\n"
                 + "\n".join(f"- {p}" for p in st.session_state["pg_spec_errors"]))
    st.divider()
    st.markdown("**Take it away.**")
    snap = trainer.snapshot() if trainer is not None else None
    run = snap.run if snap else None
    st.download_button("Export as PyTorch script", data=lambda: export_script(s), file_name="playground_train.py",
                       icon=":material/code:", mime="text/x-python", on_click="ignore", key="pg_dl_script", disabled=trainer is None,
                       help="A self-contained Python file that builds the same data and network "
                            "and trains it with plain PyTorch.")
    st.download_button("Download trained weights (.pt)", data=lambda: weights_bytes(trainer.runs()[0].model),
                       icon=":material/download:", file_name="playground_weights.pt", mime="application/octet-stream", on_click="ignore",
                       key="pg_dl_weights", disabled=run is None,
                       help="The model's state_dict; load it with torch.load(path, weights_only=True).")
    st.download_button("Download metrics (CSV)", data=lambda: metrics_csv(trainer.snapshot().run.evals),
                       icon=":material/download:", file_name="playground_metrics.csv", mime="text/csv", on_click="ignore",
                       key="pg_dl_metrics", disabled=run is None,
                       help="Loss and metrics at every evaluation, one row each; columns step, epoch, "
                            "time_s (training seconds), lr, then train_ and test_ loss, acc, precision, "
                            "recall, f1 (classification) or mse, r2 (regression).")
    deploy_panel(run)


FORMAT_LABELS = {"onnx": "ONNX", "torch_export": "torch.export", "torchscript": "TorchScript",
                 "state_dict": "state_dict (weights only)"}


def deploy_panel(run) -> None:
    from engine.deploy import SUFFIX
    st.divider()
    st.markdown("**Deploy it.** The trained model in the formats it is shipped in, each loaded back and "
                "run on held-out examples to show it computes what PyTorch computes.")
    st.button("Prepare the files", key="pg_deploy_go", on_click=pg.on_prepare_export, disabled=run is None,
              icon=":material/deployed_code:", help="Takes a few seconds; pause the run first.")
    files = st.session_state.get("pg_deploy")
    if files:
        st.dataframe(pd.DataFrame([{
            "format": FORMAT_LABELS[f.format], "kB": round(f.size / 1e3, 1),
            "max |diff|": "—" if f.max_diff is None else f"{f.max_diff:.0e}",
            "ms": "—" if f.latency_ms is None else f"{f.latency_ms:.2f}",
            "PyTorch ms": "—" if f.torch_latency_ms is None else f"{f.torch_latency_ms:.2f}"}
            for f in files]), hide_index=True, key="pg_deploy_table")
        st.caption(f"Each file was loaded back and run on {files[0].checked} held-out examples: **max |diff|** is "
                   "the largest difference from PyTorch's outputs, **ms** its CPU time per batch of 64 "
                   "(PyTorch's beside it). ONNX opens in Netron and runs in onnxruntime; torch.export is "
                   "PyTorch's maintained program format; TorchScript runs in libtorch (C++), but torch 2.13 "
                   "marks it deprecated.")
        for f in files:
            if f.format != "state_dict":                              # the weights: the button above
                st.download_button(f"Download {FORMAT_LABELS[f.format]} (playground{SUFFIX[f.format]})",
                                   data=f.data, file_name=f"playground{SUFFIX[f.format]}",
                                   mime="application/octet-stream", on_click="ignore", key=f"pg_dl_{f.format}",
                                   icon=":material/download:")
    st.file_uploader("Load weights (a state_dict .pt)", type=["pt", "pth"], key="pg_weights_file",
                     on_change=pg.on_weights_upload, max_upload_size=pg.MAX_WEIGHTS_BYTES // 2**20,
                     help="Weights saved from here or by the exported script, at most 20 MB; read with "
                          "torch.load(weights_only=True). A file for another network is refused, naming "
                          "the first tensor that differs.")


# ---------------------------------------------------------------- controls
data, data_error = pg.dataset(spec)
rows = pg.shape_rows(spec, data)
problems = pg.problems_of(spec)
trainer = pg.sync_run(spec, not problems)
url.write_params(st.query_params, spec)

snap = trainer.snapshot() if trainer else None      # one snapshot for the buttons and the live panel

with left:
    running = snap is not None and snap.state == "running"
    c1, c2 = st.columns(2, vertical_alignment="center", gap="small")
    c1.button("Pause" if running else "Train", key="pg_train", type="primary", on_click=pg.on_train,
              icon=":material/pause:" if running else ":material/play_arrow:", disabled=trainer is None,
              width="stretch", help="Start or pause training; the run keeps going while you visit other pages.")
    c2.button("Step", key="pg_step", on_click=pg.on_step, disabled=trainer is None, width="stretch",
              icon=":material/skip_next:", help="Train on exactly one batch, then stop: watch one gradient step.")
    start = builder.seed("pg_speed_slider", st.session_state["pg_speed"], st.select_slider)   # kept across pages
    st.select_slider("Speed", pg.SPEEDS, key="pg_speed_slider", on_change=pg.on_speed, format_func=pg.speed_label,
                     **start,
                     help="Slow motion: at most this many gradient steps per second, to watch each one move the "
                          "boundary and the loss. The numbers are the same at any speed; only the pace changes.")
    c1, c2 = st.columns(2, vertical_alignment="center", gap="small")
    c1.button("Replay this run (same seed)", key="pg_replay", on_click=pg.on_replay, disabled=trainer is None,
              width="stretch", icon=":material/replay:", wrap=True,
              help="Back to step 0 with the same seed: the same initial weights, data and batch order, so "
                   "the run repeats exactly (its curves stay, faded).")
    c2.button("Start afresh (new seed)", key="pg_afresh", on_click=pg.on_afresh, width="stretch",
              icon=":material/casino:", wrap=True,
              help="A new random seed: new initial weights (and new points for generated data). The seed "
                   "is written into the spec, so the link and the exported script give this run again.")
    st.caption(f"Run: **{pg.state_text(snap)}** · device: {snap.device if snap else pg.trainer_device()}",
               help="The run's state and the device it trains on (a GPU when there is one).")
    with st.container():                          # fixed, as the messages above (the tabs follow)
        for problem in problems:
            st.error(problem, icon=":material/block:")
        if problems:
            st.caption("Training is disabled until the problems above are fixed.")


# ---------------------------------------------------------------- live views
def _short(v: float) -> str:
    """A loss in at most 6 characters: 0.0534, 1.2e-3."""
    return f"{v:.3f}" if not v < 0.01 else f"{v:.1e}".replace("e-0", "e-")


def chart(fig, key: str, static: bool, **config) -> None:
    """A live Plotly chart; `static`: a picture without hover or zoom (see `live`)."""
    st.plotly_chart(fig, key=key, config={**config, "staticPlot": True} if static else config)


def metrics_row(snap, run, task: str) -> None:
    c = st.columns(4)
    ev = run.last_eval
    c[0].metric("Epoch", f"{run.epoch:.1f}" if run.epoch < 100 else f"{run.epoch:.0f}",
                help="Passes over the training set so far.")
    c[1].metric("Train loss", _short(ev.get('train_loss', float('nan'))),
                help="Average loss on (up to 512) training examples at the last evaluation.")
    c[2].metric("Test loss", _short(ev.get('test_loss', float('nan'))),
                help="The same on held-out test examples: if it rises while train loss falls, the model overfits.")
    if (score := TASKS[task].score) is not None:
        c[3].metric(f"Test {score.name}", score.text(ev.get(f"test_{score.key}"), digits=0),
                    help=f"On the held-out test examples. {score.help}")
    until = pg.trainer() is not None and pg.trainer().specs[0].until_paused
    st.caption(f"{pg.step_text(run, until)} · {snap.samples_per_s:,.0f} samples/s on {snap.device}")


def live(shown: str, every: float, draw) -> None:
    """Call draw(snapshot, run, task, static) in a fragment that polls every `every` seconds
    while the trainer prepares or trains. `shown` is the state the buttons were drawn for: when
    the trainer moves on (training finished, paused, ready), the whole page reruns to redraw them.

    `static`: the fragment's own redraws while training draw the charts as static pictures (no
    hover or zoom): Streamlit replaces a chart at every refresh anyway, and a static one takes
    the browser about half as long. The page's full run (the one after Train among them) draws
    them interactive as before, so it does not remount every chart only to switch that flag,
    which delayed the first loss point by about 0.3 s; paused or finished, they stay interactive."""
    redrawn = f"pg_redrawn_{draw.__name__}"
    st.session_state[redrawn] = False                  # this is a full run of the page

    def views(t, snap) -> None:
        if snap.run is not None:
            draw(snap, snap.run, t.specs[0].task, st.session_state[redrawn] and snap.state == "running")
        st.session_state[redrawn] = True
    follow(pg.trainer, shown, every, views)


def numbers(snap, run, task: str, static: bool) -> None:
    """Next to the controls: what went wrong, if anything, then the numbers."""
    if snap.state == "error":
        st.error(f"The run stopped with an error: {snap.error}. Change the settings or press Replay this run.")
    if run.status == "diverged":
        st.error(run.message)
    if hint := pg.too_small_hint(snap.state, task, run.last_eval, sum(r.n_params for r in rows),
                                 past_epochs=run.step >= run.total_steps):
        st.info(hint, icon=":material/lightbulb:")
    metrics_row(snap, run, task)


def picture(snap, run, task: str, static: bool) -> None:
    """Under the numbers: the main picture (decision boundary, test images or confusion matrix)."""
    boundary, images = run.views.get("boundary"), run.views.get("images")
    if isinstance(boundary, Boundary):
        c1, c2 = st.columns(2)
        show_test = c1.toggle("Show test points", key="pg_show_test",
                              help="Draw the held-out test points (diamonds) too.")
        discrete = c2.toggle("Discretise output", key="pg_discretize",
                             help="Colour each spot by the predicted class (or the sign of the prediction) "
                                  "only, not by how sure the network is.")
        chart(vz.boundary_figure(boundary, show_test, discrete), "pg_boundary", static)
        if boundary.kind == "regression":
            st.caption("Background = the value the network predicts at each spot (orange = high, blue = low); "
                       "dots = training targets. Watch the surface take the shape of the data.")
        else:
            st.caption("Background = what the network predicts at each spot (orange vs blue, paler = less sure); "
                       "dots = training data. Watch the boundary bend to fit the data.")
    elif isinstance(images, Images):
        chart(vz.images_figure(images.images, images.true, images.class_names,
                               images.pred, images.confidence, per_row=4), "pg_images", static)
        st.caption("Above each image: the network's guess, how sure it is, and (the true label). "
                   "Green ✓ = right; red ✗ and a red frame = wrong.")
    elif task == "classification":
        confusion(run, static)


def confusion(run, static: bool) -> None:
    ev = run.last_eval
    if not ev.get("test_confusion"):
        return
    names = data.class_names if data is not None else [str(i) for i in range(len(ev["test_confusion"]))]
    chart(vz.confusion_figure(ev["test_confusion"], names), "pg_confusion", static)
    st.caption("Rows = true class, columns = predicted: everything off the diagonal is a mistake.")
    st.dataframe(pg.per_class_rows(ev, names), hide_index=True,
                 column_config={k: st.column_config.NumberColumn(k, format="percent")
                                for k in ("precision", "recall", "F1")})
    st.caption("Per class on the test set. Precision: of the examples predicted as a class, how many were it. "
               "Recall: of the examples of a class, how many were found. F1 combines both.")


def loss_curve(snap, run, task: str, static: bool) -> None:
    """Below, left: the loss curves (redrawn often: the quickest sign of learning)."""
    x_axis, log = st.session_state.get("pg_x_axis") or "step", st.session_state.get("pg_log_scale", False)
    chart(vz.loss_figure(run.evals, run.batches, st.session_state["pg_previous"], x_axis, log), "pg_loss", static)


def score_curve(snap, run, task: str, static: bool) -> None:
    """Below, right: the task's score (accuracy, R²) at each evaluation, if it has one."""
    if (score := TASKS[task].score) is None:
        return
    x_axis = st.session_state.get("pg_x_axis") or "step"
    chart(vz.score_figure(run.evals, st.session_state["pg_previous"], x_axis, score.key, score.name, score.percent),
          "pg_acc", static)


def curves(shown: str) -> None:
    """Below the controls, full width: the loss and score curves, each in its own fragment, and
    how to plot them (outside the fragments: changing them redraws both charts)."""
    c1, c2 = st.columns(2, gap="medium")
    with c1:
        live(shown, FAST_S, loss_curve)
        a, b = st.columns(2)
        a.segmented_control("x axis", ["step", "epoch"], key="pg_x_axis", label_visibility="collapsed",
                            help="Plot against gradient steps or against passes over the data.")
        b.toggle("Log scale", key="pg_log_scale", help="A log y axis shows small late improvements.")
        st.caption("Loss = how wrong the network is; it should go down. Test above train and rising = "
                   "overfitting. Grey = the previous run, to compare.")
    with c2:
        live(shown, SLOW_S, score_curve)
        if (score := TASKS[spec.task].score) is not None:
            st.caption(f"{score.name[:1].upper() + score.name[1:]}: {score.help} A gap between train and test "
                       "means the model memorises instead of generalising.")


def diagram(neurons: Neurons) -> None:
    """The network as TF Playground draws it, and its editor: the buttons above the columns change
    the network, a click on a neuron shows it large, a click on a weight lets you set it."""
    key = pg.diagram_key()
    pick = pg.picked(neurons)
    st.plotly_chart(vz.neurons_figure(neurons, editable=True, picked=pick), key=key, selection_mode="points",
                    on_select=lambda: pg.on_diagram(key), config={"displayModeBar": False})
    if pg.take_diagram_edit():
        st.rerun()                                       # the whole page follows the new network
    st.caption("Each square shows one neuron's output over the input plane (orange = positive, blue = negative); "
               "lines are weights, thicker = larger. Deeper neurons combine simpler shapes. Edit it here: "
               "**− / +** a neuron, **✕** a layer, **⊕** a new layer; click a neuron to see it large, a weight "
               "to set it.")
    if pick and pick[0] == "neuron":
        points = data.points_train if data is not None else None
        chart(vz.neuron_figure(neurons, pick[1], pick[2], points, data.y_train if points is not None else None,
                               spec.task, len(data.class_names) if data is not None else 2), "pg_neuron_big", False)
    elif pick and pick[0] == "weight":
        a, b = st.columns([3, 2], vertical_alignment="bottom")
        _, blk, o, i = pick
        a.number_input(pg.weight_label(neurons, pick), -100.0, 100.0, round(float(neurons.weights[blk][o, i]), 4),
                       step=0.1, format="%.4f", key=pg.weight_key(pick),
                       help="A weight multiplies what flows along this line. Type a value and press Set to put it "
                            "in the network now (Replay this run starts from the seed's weights again).")
        b.button("Set weight", key="pg_set_weight", on_click=pg.on_set_weight, icon=":material/edit:",
                 help="Write this value into the live network; the pictures follow at once.")


def network(snap, run, task: str, static: bool) -> None:
    """At the bottom: what every neuron computes, and the confusion matrix."""
    neurons = run.views.get("neurons")
    has_neurons = isinstance(neurons, Neurons)
    top_has_confusion = not (isinstance(run.views.get("boundary"), Boundary)
                             or isinstance(run.views.get("images"), Images))
    show_confusion = task == "classification" and not top_has_confusion
    if has_neurons or show_confusion:
        c1, c2 = st.columns([3, 2] if has_neurons else [1, 1], gap="medium")
        if has_neurons:
            with c1:
                diagram(neurons)
        if show_confusion:
            with c2 if has_neurons else c1:
                confusion(run, static)


# Two cadences: the numbers and the loss curve redraw every FAST_S, the pictures (boundary,
# neurons, images, confusion) and the score curve every SLOW_S: the browser spends most of a
# refresh drawing Plotly charts, and on a small machine it cannot redraw all of them twice a
# second. Five fragments, each drawing only inside itself, keep each picture in its place.
# Written in the order a user looks after pressing Train (the numbers, the loss curve, the
# pictures), which is also the order the browser draws them in.
shown = snap.state if snap else "none"
with right:
    live(shown, FAST_S, numbers)
if trainer is not None:
    curves(shown)
with right:
    live(shown, SLOW_S, picture)
    if trainer is None:
        st.info("Fix the problems on the left to see the network learn.")
live(shown, SLOW_S, network)

# The settings, written last: the redraw after Train then reaches the live views (and the
# first loss point) before the many widgets of these tabs.
with left:
    tab_data, tab_net, tab_train, tab_share = st.tabs(
        [":material/scatter_plot: Data", ":material/account_tree: Network", ":material/tune: Training",
         ":material/share: Share & export"])
    with tab_data:
        data_panel(spec)
        if data_error:
            st.error(f"The data could not be loaded: {data_error}")
        data_preview(spec, data)
    with tab_net:
        network_panel(spec, rows)
        shape_panel(rows, data)
    with tab_train:
        training_panel(spec)
    with tab_share:
        share_panel(spec, trainer)
