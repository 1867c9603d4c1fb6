"""GAN lab: a generator and a discriminator trained against each other, on 2-D targets (GAN
Lab's pictures) and on digits, with Train / Pause / Step / Reset and one-sided steps.

Layout and widgets only: the spec, the run and the callbacks are in ui/gan.py, the views in
engine/gan_views.py, the figures in viz/gan.py.
"""
from __future__ import annotations

import functools

import streamlit as st

from engine.export import export_script
from engine.records import GanImages, GanPlane
from engine.spec import NOISE
from engine.tasks.gan import DISCRIMINATOR, GAN_LOSSES, GENERATOR, diagnosis, gan_loss
from ui import builder
from ui import gan as gn
from ui import live
from ui.canvas import digit_canvas
from ui.state import init_defaults
from viz import gan as vz

FAST_S, SLOW_S = 0.5, 0.8            # seconds between redraws: numbers / pictures and curves

init_defaults()

st.title("GAN lab")
st.caption("Two networks play a game. The **generator** turns random noise into samples; the **discriminator** "
           "sees real and generated samples and learns to tell them apart. Each improves against the other, until "
           "the generated samples look like the real ones. Pick a target, press **▶ Train** and watch the purple "
           "points move onto the green ones.")

spec = gn.spec()
data = gn.dataset(spec)
problems = gn.problems(spec)
trainer = gn.sync_run(spec, not problems)
snap = trainer.snapshot() if trainer else None
shown = snap.state if snap else "none"
if st.session_state["gan_error"]:
    st.error(st.session_state["gan_error"])
    st.session_state["gan_error"] = ""


# ---------------------------------------------------------------- settings
field, number = gn.EDITOR.field, gn.EDITOR.number          # widgets bound to the spec's fields


def game_settings() -> None:
    s = spec
    k = gn.key("target")
    st.selectbox("Target: the data to imitate", gn.TARGETS, key=k, format_func=gn.target_label,
                 on_change=gn.on_target, args=(k,), **builder.seed(k, s.data.name, st.selectbox, gn.TARGETS),
                 help="2-D point clouds (GAN Lab's) or real digits. The generator never sees them: it only hears "
                      "from the discriminator how real its samples look.")
    if s.data.name == gn.OWN:
        own_points()
    loss = gan_loss(s)
    field(st.selectbox, "Loss: the game's rules", ("loss",), s.loss, ["auto", *GAN_LOSSES],
          format_func=lambda n: "auto (non-saturating)" if n == "auto" else GAN_LOSSES[n].label, help=loss.help)
    st.caption(loss.help)
    c1, c2, c3 = st.columns(3)
    with c1:
        number("Noise dimensions", ("gan", "latent_dim"), s.gan.latent_dim, 1, 128,
               help="Size of the random vector the generator starts from.")
    with c2:
        field(st.selectbox, "Noise", ("gan", "noise"), s.gan.noise, NOISE,
              help="Gaussian N(0, 1) or uniform on [-1, 1] in every dimension.")
    with c3:
        number("D steps per G step", ("gan", "d_steps"), s.gan.d_steps, 1, 10,
               help="Discriminator updates before each generator update (WGAN uses 5).")
    c1, c2, c3 = st.columns(3)
    with c1:
        number("Training steps", ("steps",), s.steps, 1, 1_000_000, help="Generator updates before the run stops.")
    with c2:
        number("Batch size", ("batch_size",), s.batch_size, 1, 4096, help="Real and generated samples per update.")
    with c3:
        if s.loss == "wgan_gp":
            field(st.number_input, "Penalty weight", ("gan", "gp_weight"), s.gan.gp_weight, min_value=0.0,
                  max_value=100.0, help="Weight of the gradient penalty (10 in the paper).")


def own_points() -> None:
    """Draw the density, or upload a CSV of points (the first two number columns are x and y)."""
    st.caption("Draw the shape the generator should learn: where the ink is, there the real points are. "
               "Each stroke updates the target.")
    changed = gn.take_drawing(digit_canvas("gan_canvas"))
    up = st.file_uploader("…or upload points (CSV: the first two number columns are x and y)", type=["csv"],
                          key="gan_points_file", max_upload_size=5)
    if changed or (up is not None and gn.take_upload(up.file_id, up.getvalue())):
        st.rerun()                                        # the run above was drawn for the spec before


def network_editor(role: str) -> None:
    what = ""
    if data is not None:
        what = (f"noise ({spec.gan.latent_dim} numbers) → a sample ({builder.shape_text(data.input_shape)})"
                if role == GENERATOR else f"a sample ({builder.shape_text(data.input_shape)}) → one score")
    gn.EDITOR.network(role, spec.net(role), gn.shape_rows(spec, role, data) if data is not None else None,
                      "This network's step size. A discriminator much faster than its generator often wins too "
                      "easily: the generator's gradient then vanishes or it collapses onto a few modes.",
                      f"{gn.ROLES[role]}: {what}.")


# ---------------------------------------------------------------- live parts
def numbers(s, run, static: bool) -> None:
    if s.state == "error":
        st.error(f"The run stopped with an error: {s.error}. Press Reset to start again.")
    if run.status == "diverged":
        st.error(run.message)
    ev = run.last_eval
    c = st.columns(3)
    c[0].metric("Step", f"{run.step:,}", help=f"Generator updates so far, of {run.total_steps:,}.")
    c[1].metric("Distance (MMD²)", f"{ev['distance']:.4f}" if "distance" in ev else "—",
                help="How far the generated samples are from held-out real ones; 0 = the same distribution.")
    if "modes_total" in ev:
        c[2].metric("Modes covered", f"{ev['modes_covered']} of {ev['modes_total']}",
                    help="Modes of the mixture holding at least a quarter of the generated samples a perfect "
                         "generator would put there (within 3 standard deviations of the centre).")
    elif "judge_confidence" in ev:
        c[2].metric("Looks like a digit", f"{ev['judge_confidence']:.0%}",
                    help=f"A digit classifier's mean confidence on the samples (it is right on "
                         f"{ev['judge_acc']:.0%} of real held-out digits); {ev['classes_seen']} of 10 digits appear.")
    if "d_real" in ev:
        st.caption(gn.discriminator_note(ev, gan_loss(spec).probability))
    if note := diagnosis(ev):
        st.warning(note, icon=":material/warning:")
    st.caption(f"{s.samples_per_s:,.0f} samples/s on {s.device}" if s.state == "running" else
               f"Run: **{live.state_text(s)}** · saved to the run history whenever it stops")


def picture(s, run, static: bool) -> None:
    if (rec := live.record(run, "plane", GanPlane)) is not None:
        live.chart(vz.plane_figure(rec, tuple(st.session_state["gan_show"])), "gan_chart_plane", static)
    elif (rec := live.record(run, "images", GanImages)) is not None:
        live.chart(vz.samples_figure(rec), "gan_chart_samples", static)


def walk(s, run, static: bool) -> None:
    if (rec := live.record(run, "images", GanImages)) is not None:
        live.chart(vz.walk_figure(rec, st.session_state["gan_walk"]), "gan_chart_walk", static)


def curves(s, run, static: bool) -> None:
    ev = run.evals
    c1, c2 = st.columns(2)
    with c1:
        live.chart(vz.losses_figure(ev), "gan_chart_losses", static)
        st.caption("Each network's loss on fixed batches. In a healthy game neither wins: the losses level off "
                   "instead of one falling to 0 (a discriminator that always wins leaves its generator no signal).")
    with c2:
        live.chart(vz.distance_figure(ev, run.last_eval.get("distance_floor")), "gan_chart_distance", static)
        st.caption(gn.distance_caption(run.last_eval.get("distance_floor")))
    if "modes_total" in run.last_eval:
        live.chart(vz.modes_figure(ev, run.last_eval["modes_total"]), "gan_chart_modes", static)
        st.caption("Mode collapse shows here first: a generator that puts all its samples on a few modes "
                   "fools the discriminator there, and the count stays low.")
    elif "judge_confidence" in run.last_eval:
        live.chart(vz.judge_figure(ev), "gan_chart_judge", static)
        st.caption(f"A logistic-regression digit classifier trained on the real digits (right on "
                   f"{run.last_eval['judge_acc']:.0%} of held-out ones) reads each sample: how sure it is, and "
                   "how many different digits it sees among them.")


# ---------------------------------------------------------------- the page
left, right = st.columns([5, 7], gap="medium")
with left:
    presets = gn.presets()
    st.selectbox("Preset", list(presets), key="gan_preset", on_change=gn.on_preset,
                 format_func=lambda n: presets[n].name or n, help="A ready-made game: target, networks, loss.")
    game, gen_tab, disc_tab = st.tabs(["The game", "Generator", "Discriminator"])
    with game:
        game_settings()
    with gen_tab:
        network_editor(GENERATOR)
    with disc_tab:
        network_editor(DISCRIMINATOR)
    st.download_button("Download as a PyTorch script", functools.partial(export_script, spec), file_name="gan.py",
                       mime="text/x-python", key="gan_script", disabled=bool(problems), on_click="ignore",
                       icon=":material/download:",
                       help="A standalone script with this data, both networks, their optimizers, the loss and the "
                            "training loop: same seed, same numbers. It saves the generator's weights.")
with right:
    running = shown == "running"
    b = st.columns([1.2, 1, 1, 1, 1], vertical_alignment="center", gap="small")
    b[0].button("Pause" if running else "Train", key="gan_train", type="primary", on_click=gn.on_train,
                icon=":material/pause:" if running else ":material/play_arrow:", disabled=trainer is None,
                width="stretch", help="Start or pause training; the run keeps going while you visit other pages.")
    b[1].button("Step", key="gan_step", on_click=gn.on_step, disabled=trainer is None, width="stretch",
                help="One round: the discriminator's updates, then the generator's.")
    b[2].button("D only", key="gan_step_d", on_click=gn.on_step_only, args=(DISCRIMINATOR,),
                disabled=trainer is None, width="stretch", help="One discriminator update; the generator stays.")
    b[3].button("G only", key="gan_step_g", on_click=gn.on_step_only, args=(GENERATOR,),
                disabled=trainer is None, width="stretch", help="One generator update; the discriminator stays.")
    b[4].button("Reset", key="gan_reset", on_click=gn.on_reset, disabled=trainer is None, width="stretch",
                help="Start again from the same random weights.")
    for problem in problems:
        st.error(problem, icon=":material/block:")
    if trainer is not None and trainer.history_error:
        st.warning(f"Note: {trainer.history_error}.")
    live.part(gn.trainer, shown, FAST_S, numbers, "gan")
    if gn.is_plane(data):
        st.pills("Show", vz.LAYERS, selection_mode="multi", key="gan_show", default=st.session_state["gan_show"],
                 help="The parts of the picture: hide some to see the others.")   # default: drawn late, it keeps them
    live.part(gn.trainer, shown, SLOW_S, picture, "gan")
    if gn.is_plane(data):
        st.caption("Green: real samples. Purple: generated ones, from the same fixed noise at every step. The "
                   "background is the discriminator's opinion (green: real, purple: fake); each purple line points "
                   "where the generator's loss pushes that sample. The noise grid shows how the generator folds "
                   "the plane of noise onto the data.")
    elif data is not None:
        st.slider("Walk position", 0, 8, key="gan_walk", help="Which frame of the walk between noise a and b is framed.")
        live.part(gn.trainer, shown, SLOW_S, walk, "gan")
        st.caption("The generator's output as its noise moves in a straight line from one vector to another: "
                   "a smooth walk means it has learned a continuous space of digits rather than copies.")
st.divider()
live.part(gn.trainer, shown, SLOW_S, curves, "gan")
