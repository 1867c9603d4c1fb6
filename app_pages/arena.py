"""Optimizer arena: optimizers race on one network from the same weights; their paths on
2-D loss surfaces; a learning-rate range test. Layout and widgets only: the logic is in
engine.arena / engine.surfaces / engine.lr_finder and ui.arena, the figures in viz.arena."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import arena, surfaces
from engine.data import DATASETS
from engine.optim import OPTIMIZERS
from engine.presets import PLAYGROUND_GROUPS, SUPERVISED, all_presets
from engine.spec import SpecError
from engine.tasks import TASKS
from engine.trainer import validate
from ui import arena as ua
from ui.live import follow
from ui.state import init_defaults
from viz import arena as va

init_defaults()          # idempotent; lets the page run on its own (page tests)

st.title("Optimizer arena")
st.caption("Same network, same starting weights, same batches in the same order: whatever differs "
           "between the curves is the optimizer's doing.")

race_tab, surface_tab, lr_tab = st.tabs(["Race on a real network", "Paths on 2-D loss surfaces",
                                         "Learning-rate finder"])


# ================================================================ race
def race_setup() -> tuple[list, list[str], list[str]]:
    """Source, contestants and race settings; returns (specs, names, problems)."""
    src, preset_col, info_col = st.columns([1.2, 1.2, 2.6])
    has_pg = ua.playground_spec() is not None
    src.radio("Network and data from", ["preset", "playground"], key="arena_source", persist_state="session",
              format_func=lambda v: {"preset": "a preset", "playground": "the Playground"}[v],
              help="The network and dataset every contestant trains: one of the bundled presets, "
                   "or whatever you built on the Playground page.")
    if st.session_state["arena_source"] == "playground" and not has_pg:
        src.caption("No Playground network in this session yet: using the preset.")
    presets = all_presets(PLAYGROUND_GROUPS, SUPERVISED)
    preset_col.selectbox("Preset", list(presets), key="arena_preset", persist_state="session",
                         format_func=lambda n: presets[n].name or n,
                         disabled=st.session_state["arena_source"] == "playground" and has_pg,
                         help="A ready-made network and dataset (the Playground's presets).")
    base, where = ua.base_spec()
    data_info = DATASETS.get(base.data.name)
    layers = " → ".join(l.kind for l in base.layers)
    info_col.markdown(f"**Network** ({len(base.layers)} layers): {layers}  \n"
                      f"**Data:** {data_info.label if data_info else base.data.name} · batch size "
                      f"{base.batch_size} · seed {base.seed} — from {where}.")

    a, b, c, d = st.columns(4)
    a.number_input("Contestants", arena.MIN_CONTESTANTS, arena.MAX_CONTESTANTS, key="arena_n",
                   persist_state="session",
                   help="How many optimizer configurations race (2 to 6); the same optimizer twice "
                        "with different settings is allowed.")
    b.number_input("Race steps", 10, 20_000, step=50, key="arena_steps", persist_state="session",
                   help="Training steps (batches) each contestant takes; every step of every "
                        "contestant uses the same batch.")
    n_samples = None
    if data_info is not None and "n_samples" in data_info.options:
        n_samples = c.number_input("Examples", 10, 100_000, value=int(base.data.n_samples), step=100,
                                   key=f"arena_ns_{base.data.name}", persist_state="session",
                                   help="How many examples to load (fewer = faster race; "
                                        "the test share is held out).")
    d.number_input("Target loss", 0.0001, 100.0, step=0.05, format="%.4g", key="arena_target",
                   persist_state="session",
                   help="The ranking reports the first step at which each contestant's training "
                        "loss reaches this value (measured at the evaluation points).")

    st.markdown("**Contestants** (widgets an optimizer does not use are greyed out)")
    for i in range(int(st.session_state["arena_n"])):
        ua.contestant_row(i)
    optims = ua.lineup()
    try:
        specs, names = arena.race_specs(base, optims, int(st.session_state["arena_steps"]), n_samples)
    except SpecError as e:
        return [], [], e.problems
    return specs, names, validate(specs[0])


def race_controls(specs: list, names: list[str], problems: list[str]) -> None:
    t = ua.trainer()
    snap = t.snapshot() if t else None
    cols = st.columns([1.3, 1.1, 1, 1, 3])
    cols[0].button("Start race", icon=":material/sports_score:", type="primary", key="arena_start",
                   on_click=ua.start, args=(specs, names), disabled=bool(problems), width="stretch",
                   help="Build every contestant from the same initial weights and train them together.")
    running = snap is not None and snap.state == "running"
    finished = snap is None or snap.state in ("done", "diverged", "error", "stopped")
    cols[1].button("Pause" if running else "Resume", icon=":material/pause:" if running else ":material/play_arrow:",
                   on_click=ua.pause_resume, key="arena_pause",
                   disabled=finished and not running, width="stretch",
                   help="Pause or resume every contestant at once.")
    cols[2].button("Step 10", icon=":material/skip_next:", key="arena_step", on_click=ua.step, args=(10,),
                   disabled=finished, width="stretch",
                   help="Train every contestant 10 more steps, then pause.")
    cols[3].button("Reset all", icon=":material/restart_alt:", key="arena_reset", on_click=ua.reset,
                   disabled=t is None, width="stretch",
                   help="Put every contestant back at step 0 with the same initial weights (paused).")
    if t is not None and specs and list(t.specs) != specs:
        cols[4].info("The contestants or settings changed since this race started: "
                     "press **Start race** to race them.")


def race_live(t, snap) -> None:
    """The race's numbers, curves and ranking, redrawn while it runs (ui.live.follow)."""
    optims = [s.optim for s in t.specs]
    if snap.error:
        st.error(f"The race stopped: {snap.error}. Check the network on the Playground or pick a preset.")
    runs = snap.runs
    if not runs:
        st.info("Preparing the contestants …")
        return
    done = min(r.step for r in runs)
    st.markdown(f"**{snap.state.capitalize()}** · step {done} of {runs[0].total_steps} · "
                f"{snap.samples_per_s:,.0f} examples/s on {snap.device}")
    st.progress(min(1.0, max(r.step for r in runs) / max(1, runs[0].total_steps)))
    for r in runs:
        if r.status == "diverged":
            st.warning(f"**{r.name}** diverged (✕ on the charts). {r.message}")
    repeats = arena.repeat_index(optims)
    curves = [va.Curve(r.name, OPTIMIZERS[o.name].color, k, r.evals, r.status, r.message)
              for r, o, k in zip(runs, optims, repeats)]
    x = st.segmented_control("Horizontal axis", list(va.X_AXES), key="arena_x", persist_state="session",
                             format_func=lambda v: {"step": "steps", "time_s": "seconds"}[v], required=True,
                             help="Steps compare how much each optimizer learns per batch; seconds "
                                  "include how expensive each update is.")
    st.plotly_chart(va.race_figure(curves, "loss", x), key="arena_loss")
    st.caption("Lower is better. The same batches reach every contestant, so a curve that drops "
               "faster means that optimizer made more of the same data; a gap between train (left) "
               "and test (right) is overfitting.")
    if (score := TASKS[t.specs[0].task].score) is not None and score.key == "acc":
        st.plotly_chart(va.race_figure(curves, "acc", x), key="arena_acc")
        st.caption("Share of examples classified correctly; the test side is what counts.")
    target = float(st.session_state["arena_target"])
    rows = arena.standings(runs, optims, target)
    table = pd.DataFrame([{
        "rank": r.rank, "contestant": r.name, "status": r.status, "step": r.step,
        "best test accuracy (%)": None if r.best_test_acc is None else 100 * r.best_test_acc,
        "final train loss": r.final_train_loss, "final test loss": r.final_test_loss,
        f"steps to loss {target:g}": "not reached" if r.steps_to_target is None else str(r.steps_to_target),
        "ms per step": r.ms_per_step} for r in rows])
    st.markdown("**Ranking** (best test accuracy, then lowest test loss; diverged last)")
    st.dataframe(table, hide_index=True, column_config={
        "best test accuracy (%)": st.column_config.NumberColumn(format="%.1f"),
        "final train loss": st.column_config.NumberColumn(format="%.4f"),
        "final test loss": st.column_config.NumberColumn(format="%.4f"),
        f"steps to loss {target:g}": st.column_config.TextColumn(
            help="The first evaluated step at which the training loss was at or below the target."),
        "ms per step": st.column_config.NumberColumn(format="%.2f",
                                                     help="This contestant's own training time per step.")})
    c1, c2, _ = st.columns([1, 1, 3])
    c1.download_button("Curves (CSV)", arena.results_csv(runs, optims), "arena_curves.csv", "text/csv",
                       on_click="ignore", key="arena_dl_curves", icon=":material/download:",
                       help="Every evaluation of every contestant: step, seconds, losses, accuracies.")
    c2.download_button("Ranking (CSV)", arena.standings_csv(rows), "arena_ranking.csv", "text/csv",
                       on_click="ignore", key="arena_dl_rank", icon=":material/download:",
                       help="The ranking table above.")


with race_tab:
    specs, names, problems = race_setup()
    for p in problems:
        st.error(f"{p} — fix it above (or on the Playground) before starting.")
    shown = t.snapshot().state if (t := ua.trainer()) is not None else ""
    race_controls(specs, names, problems)
    if t is None:
        st.info("Set up the contestants above and press **Start race**.")
    follow(ua.trainer, shown, 0.75, race_live)


# ================================================================ loss surfaces
with surface_tab:
    c1, c2, c3, c4 = st.columns([1.6, 1.2, 1.2, 0.8])
    c1.selectbox("Surface", list(surfaces.SURFACE_NAMES), key="arena_surface", persist_state="session",
                 format_func=surfaces.SURFACE_NAMES.get,
                 help="A 2-D function standing in for a loss: every point is a pair of weights, "
                      "the height is the loss there.")
    name = st.session_state["arena_surface"]
    if name == "bowl":
        c2.slider("Condition number", 1.0, 100.0, step=1.0, key="arena_condition", persist_state="session",
                  help="How much steeper the steepest direction is than the flattest; "
                       "large values make plain gradient descent zig-zag.")
    condition = float(st.session_state["arena_condition"])
    surf = surfaces.get_surface(name, condition)
    paths_of = surfaces.path_optimizers()
    steps = c3.slider("Path steps", 5, 1000, value=surf.steps, step=5, key=f"arena_surf_steps_{name}",
                      persist_state="session", help="How many optimizer steps each path takes.")
    c4.toggle("3-D", key="arena_surf_3d", persist_state="session",
              help="Show the surface in 3-D (drag to rotate) instead of the animated contour map.")
    st.caption(surf.help)

    s1, s2, s3 = st.columns([1, 1, 1])
    x0 = s1.slider(f"Start {surf.axis_names[0]}", *surf.x_range, value=float(surf.start[0]), step=0.05,
                   key=f"arena_x0_{name}", persist_state="session",
                   help="Where every optimizer starts (the initial weights).")
    y0 = s2.slider(f"Start {surf.axis_names[1]}", *surf.y_range, value=float(surf.start[1]), step=0.05,
                   key=f"arena_y0_{name}", persist_state="session",
                   help="Where every optimizer starts (the initial weights).")
    s3.slider("Momentum", 0.0, 0.99, step=0.01, key="arena_surf_momentum", persist_state="session",
              help="For SGD + momentum and Nesterov: the share of the last step carried on. "
                   "High momentum overshoots and circles before settling.")
    st.multiselect("Optimizers", list(paths_of), key="arena_surf_opts", persist_state="session",
                   format_func=lambda k: paths_of[k][0], max_selections=6,
                   help="Each one runs torch.optim on a 2-element parameter from the start point.")
    keys = st.session_state["arena_surf_opts"]
    momentum = float(st.session_state["arena_surf_momentum"])
    lrs = []
    lr_cols = st.columns(max(1, len(keys)))
    for col, k in zip(lr_cols, keys):
        lrs.append(col.select_slider(
            f"lr · {paths_of[k][0]}", ua.SURFACE_LRS, format_func=lambda v: f"{v:g}",
            value=ua.nearest(ua.SURFACE_LRS, surf.lr_hint.get(k, 0.01)), key=f"arena_surf_lr_{name}_{k}",
            persist_state="session", help="This optimizer's learning rate (step size); redraws at once."))
    if not keys:
        st.info("Pick at least one optimizer.")
    else:
        colors = [OPTIMIZERS[paths_of[k][1]].color for k in keys]
        raw = ua.surface_paths(name, condition, [(k, lr, momentum) for k, lr in zip(keys, lrs)],
                               (x0, y0), int(steps))
        labels = [f"{paths_of[k][0]} (lr {lr:g}"
                  + (f", momentum {momentum:g})" if paths_of[k][2] else ")")
                  for k, lr in zip(keys, lrs)]
        paths = [va.PathData(lab, c, r, xy, vals, div) for lab, c, r, (xy, vals, div)
                 in zip(labels, colors, arena.repeat_index([surfaces.path_optim(k, 1.0) for k in keys]), raw)]
        xs, ys, z = ua.surface_grid(name, condition)
        zc = surfaces.colour_values(surf, z)
        color_title = "log10(1 + f − min f)" if surf.log_color else "f (loss)"
        title = f"{surf.label}: optimizer paths from ({x0:g}, {y0:g})"
        if st.session_state["arena_surf_3d"]:
            path_z = [surfaces.colour_values(surf, p.values, floor=float(z.min())) for p in paths]
            st.plotly_chart(va.surface_3d_figure(xs, ys, zc, paths, path_z, title=title,
                                                 axis_names=surf.axis_names, color_title=color_title),
                            key="arena_surface_3d")
            st.caption("Height is the loss; drag to rotate. Momentum paths swing up the walls, "
                       "Adam's go straight down the slope whatever its steepness.")
        else:
            st.plotly_chart(va.surface_figure(xs, ys, zc, paths, title=title, axis_names=surf.axis_names,
                                              color_title=color_title, minima=surf.minima, start=(x0, y0),
                                              saddles=surf.saddles),
                            key="arena_surface_contour")
            marks = ("★ marks the minimum" if len(surf.minima) == 1 else "★ marks the minima") + \
                    ("; ✕ the saddle point" if surf.saddles else "")
            st.caption(f"Darker = higher loss; {marks}. Press ▶ Play or drag the slider to "
                       "watch every optimizer step by step; the box shows each one's current loss.")
        for p in paths:
            if p.diverged_at:
                st.warning(f"{p.name} flew off the surface at step {p.diverged_at}: the learning rate "
                           "is too large here; lower it.")
        f_min = min(surf.value(*m) for m in surf.minima)
        st.plotly_chart(va.path_gap_figure(paths, f_min), key="arena_surface_gap")
        st.caption("How far above the minimum each optimizer is after each step (log scale): "
                   "a steady straight descent is fast, a flat stretch is crawling, spikes are overshoot.")


# ================================================================ learning-rate finder
def sweep_progress(t, snap) -> None:
    """While the range test trains in its worker (ui.live.follow): how far it is."""
    if (run := snap.run) is not None:
        st.progress(run.step / max(1, run.total_steps),
                    text=f"Sweeping the learning rate … step {run.step} of {run.total_steps}")


with lr_tab:
    base, where = ua.base_spec()
    n = int(st.session_state["arena_n"])
    st.markdown(f"Trains a fresh copy of the race's network ({where}) for a few hundred steps while "
                "the learning rate grows exponentially, and plots the loss against it.")
    a, b, c, d = st.columns([1.6, 1, 1, 1])
    row_labels = {i: f"contestant {i + 1}: {arena.contestant_label(ua.contestant(i))}" for i in range(n)}
    a.selectbox("Optimizer to test", list(range(n)), key="arena_lr_row", persist_state="session",
                format_func=row_labels.get,
                help="The range test uses this contestant's optimizer and settings (its own "
                     "learning rate is replaced by the sweep).")
    b.select_slider("Lowest lr", (1e-7, 1e-6, 1e-5, 1e-4, 1e-3), key="arena_lr_min", persist_state="session",
                    format_func=lambda v: f"{v:g}", help="Where the sweep starts: too small to change anything.")
    c.select_slider("Highest lr", (0.01, 0.1, 1.0, 10.0), key="arena_lr_max", persist_state="session",
                    format_func=lambda v: f"{v:g}", help="Where the sweep ends: large enough to blow up.")
    d.slider("Sweep steps", 50, 500, step=10, key="arena_lr_steps", persist_state="session",
             help="Batches in the sweep (each one with a larger learning rate than the last).")
    row = min(int(st.session_state["arena_lr_row"]), n - 1)
    n_samples = st.session_state.get(f"arena_ns_{base.data.name}")
    spec = ua.with_samples(base, n_samples).with_(optim=ua.contestant(row))
    label = f"{OPTIMIZERS[spec.optim.name].label} on {where}"
    if st.button("Run the range test", icon=":material/search:", type="primary", key="arena_lr_run",
                 help="Takes a few seconds: one short training run with a growing learning rate."):
        if errs := validate(spec):
            st.error("This network cannot train: " + "; ".join(errs))
        else:
            ua.start_lr_test(spec, float(st.session_state["arena_lr_min"]), float(st.session_state["arena_lr_max"]),
                             int(st.session_state["arena_lr_steps"]), label, row)
    sweeping = (progress := ua.lr_test_progress()) is not None     # a sweep that has ended: its result is kept
    if sweeping:
        follow(ua.lr_test, progress.state, 0.3, sweep_progress)
    if st.session_state["arena_lr_error"]:
        st.error(f"The range test gave no curve: {st.session_state['arena_lr_error']}")
    res = st.session_state["arena_lr_result"]
    if res is None:
        if not sweeping:
            st.info("Press **Run the range test** to sweep the learning rate.")
    else:
        st.plotly_chart(va.lr_finder_figure(res), key="arena_lr_chart")
        st.caption("Read it left to right: flat = steps too small, falling = learning, rising = too big. "
                   "Pick a learning rate in the green band, where the loss falls fastest.")
        st.success(f"{res['label']}: suggested learning rate **{res['suggested']:.2g}** "
                   f"(range {res['low']:.2g} – {res['high']:.2g})."
                   + (f" The sweep stopped early: {res['stopped']}." if res["stopped"] else ""))
        r = int(res["row"])
        if r < n:
            st.button(f"Use {ua.nearest(ua.RACE_LRS, res['suggested']):g} for contestant {r + 1}",
                      on_click=ua.apply_lr, args=(r, res["suggested"], "arena_lr_apply"), key="arena_lr_apply",
                      help="Sets that contestant's learning rate in the race (nearest value on its slider).")
