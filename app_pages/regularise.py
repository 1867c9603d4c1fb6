"""Overfitting & augmentation: every augmentation's settings with the batch the network sees, before
and after; then a big network on 100 digits trained twice from the same weights, as it is and with
dropout, weight decay, early stopping and augmentation switched on, on one chart with both gaps.
Layout only: the logic is in ui.regularise, engine.augment and engine.regularise, figures in viz.regularise."""
from __future__ import annotations

import streamlit as st

from engine.records import AugmentedBatch
from engine.regularise import describe, gap
from ui import builder
from ui import regularise as ur
from ui.live import STATE_TEXT, follow, record
from ui.state import init_defaults
from viz import regularise as vr
from viz.arena import Curve

init_defaults()
st.title("Overfitting & augmentation")
st.caption("A network with many weights and few examples learns the examples by heart: training accuracy "
           "reaches 100% while accuracy on new digits stays far lower. The distance between the two is the "
           "**gap**. Below, first see what augmentation does to the images, then watch what each remedy does to the gap.")

# ---------------------------------------------------------------- augmentation
st.subheader("1 · Augmentation: new training images from the old ones")
c = st.columns(5)
c[0].selectbox("Images", list(ur.DATA), key="reg_data", format_func=ur.DATA.get,
               help="The dataset whose training images are augmented below.")
c[1].slider("Shift (pixels)", 0, 6, key="reg_shift", **builder.seed("reg_shift", st.session_state["reg_shift"], st.slider),
            help="Moves each image up to this many pixels up/down and left/right; the gap fills with black.")
c[2].slider("Rotate (degrees)", 0.0, 45.0, step=1.0, key="reg_rotate", **builder.seed("reg_rotate", st.session_state["reg_rotate"], st.slider),
            help="Turns each image by a random angle up to this much, either way.")
c[3].slider("Zoom (± share)", 0.0, 0.5, step=0.05, key="reg_scale", **builder.seed("reg_scale", st.session_state["reg_scale"], st.slider),
            help="Zooms each image in or out by up to this share of its size (0.1 = ±10%).")
c[4].slider("Flip (chance)", 0.0, 1.0, step=0.1, key="reg_flip", **builder.seed("reg_flip", st.session_state["reg_flip"], st.slider),
            help="Chance that an image is mirrored left to right (harmless for shapes, wrong for digits: a "
                 "mirrored 3 is no digit).")
c = st.columns(5)
c[0].slider("Noise (σ)", 0.0, 1.0, step=0.05, key="reg_noise", **builder.seed("reg_noise", st.session_state["reg_noise"], st.slider),
            help="Standard deviation of the random number added to every pixel (pixels run from 0 to 1).")
c[1].slider("Cutout (square side, px)", 0, 14, key="reg_cutout", **builder.seed("reg_cutout", st.session_state["reg_cutout"], st.slider),
            help="Blanks a square of this side at a random place, so the network cannot rely on one spot.")
c[2].slider("Mixup (a)", 0.0, 1.0, step=0.1, key="reg_mixup", **builder.seed("reg_mixup", st.session_state["reg_mixup"], st.slider),
            help="Blends each image with another of the batch, and their labels by the same share, drawn from "
                 "Beta(a, a); 0 = off, 0.2-0.4 is usual.")
c[3].number_input("Batch seed", 0, 10_000, key="reg_seed", **builder.seed("reg_seed", st.session_state["reg_seed"], st.number_input),
                  help="Which random batch and which random changes are drawn: the run with this seed trains "
                       "on exactly this batch first.")
spec = ur.preview_spec()
rec, problems = ur.preview_batch(spec)
for p in problems:
    st.error(f"{p}.")
if rec is not None:
    before, after = vr.batch_figures(rec)
    left, right = st.columns(2)
    left.plotly_chart(before, key="reg_before")
    right.plotly_chart(after, key="reg_after")
    st.caption("Each image on the right is the one on the left as the network gets it at its first step ("
               + (", ".join(rec.changes) if rec.changes else "every change is off") + "). Every step draws new "
               "changes, so in 100 epochs the network never sees the same picture twice.")

# ---------------------------------------------------------------- the two runs
st.subheader("2 · Overfitting: the same big network trained twice")
base, mine = ur.run_specs()
st.markdown(f"**{base.name}**: {' → '.join(l.kind for l in base.layers)}, about 670,000 weights for 100 "
            "labelled examples, tested on 1,000 others. The grey run trains it as it is; the red run with your "
            "switches, from the same starting weights and batches.")
c = st.columns([1, 1, 1, 1.2, 1])
c[0].slider("Dropout", 0.0, 0.8, step=0.1, key="reg_dropout", **builder.seed("reg_dropout", st.session_state["reg_dropout"], st.slider),
            help="After each ReLU, zero this share of the values at every training step, so no unit can be relied on.")
c[1].select_slider("Weight decay", ur.WEIGHT_DECAYS, key="reg_wd", format_func=lambda v: f"{v:g}",
                   help="Adam's weight decay: pulls every weight a little toward zero at each step.")
c[2].number_input("Early stopping (patience)", 0, 40, key="reg_early", **builder.seed("reg_early", st.session_state["reg_early"], st.number_input),
                  help="Stop when the test loss has not improved for this many evaluations (one every 10 steps), "
                       "and put back the weights of the best one; 0 = train to the end.")
c[3].toggle("Augmentation", key="reg_use_aug",
            help="Train the red run on augmented digits (part 1's settings; its dataset choice does not apply).")
c[4].number_input("Steps", 50, 2000, step=50, key="reg_steps", **builder.seed("reg_steps", st.session_state["reg_steps"], st.number_input),
                  help="Training steps (batches of 32) of each run; the 100 examples make 4 batches an epoch.")
for p in (why := ur.switch_problems(mine)):
    st.error(f"{p}.")
t = ur.trainer()
snap = t.snapshot() if t else None
shown = snap.state if snap else "none"
running = shown in ("preparing", "running")
b = st.columns([1.2, 1, 3])
b[0].button("Train both", type="primary", icon=":material/model_training:", key="reg_train", width="stretch",
            on_click=ur.start, args=([base, mine],), disabled=bool(why),
            help="Train both runs from step 0: the network as it is, and with your switches.")
b[1].button("Pause" if shown == "running" else "Resume", key="reg_pause", width="stretch", on_click=ur.pause_resume,
            disabled=shown not in ("running", "paused"), help="Pause or resume both runs.")
b[2].markdown(f"Red run's switches: **{', '.join(describe(ur.switches())) or 'none (the same run twice)'}**")
if t is not None and list(t.specs) != [base, mine]:
    st.info("The switches changed since these runs started: press **Train both** to train with them.")
if t is None:
    st.info("Press **Train both** (about half a minute on a laptop).")


def live(t, snap) -> None:
    """The two runs' numbers and curves, redrawn while they train (ui.live.follow)."""
    if snap.error:
        st.error(f"Training stopped: {snap.error}. Press Train both to start again.")
    if len(snap.runs) < 2:
        st.info("Preparing both runs …")
        return
    st.progress(min(1.0, max(r.step for r in snap.runs) / max(1, snap.runs[0].total_steps)),
                text=f"Both runs: {STATE_TEXT.get(snap.state, snap.state)}")
    cols = st.columns(4)
    for i, (r, who) in enumerate(zip(snap.runs, ur.WHO)):
        e = r.last_eval
        cols[2 * i].metric(f"{who} · test accuracy", f"{100 * e.get('test_acc', 0):.1f}%",
                           help=f"The {who.lower()} run ({r.name}): train accuracy {100 * e.get('train_acc', 0):.1f}% "
                                f"at step {r.step:,}.")
        cols[2 * i + 1].metric(f"{who} · train − test gap", vr.gap_text(gap(e)),
                               help="Training accuracy minus test accuracy: how much of what it learnt does not carry over.")
    for r, who in zip(snap.runs, ur.WHO):
        if r.message:
            (st.warning if r.status == "diverged" else st.success)(f"**{who} run** ({r.name}): {r.message}")
    curves = [Curve(r.name, color, 0, r.evals, r.status, r.message) for r, color in zip(snap.runs, ur.COLORS)]
    stops = ur.restored_steps(t)
    st.plotly_chart(vr.curves_figure(curves, "acc", stops), key="reg_acc")
    st.caption("Solid lines: the 100 training digits; dashed: held-out digits it never trains on (512 of them "
               "while training, all 1,000 at the end). "
               "The space between a run's two lines is its gap: look for the red pair to stay closer.")
    st.plotly_chart(vr.curves_figure(curves, "loss", stops), key="reg_loss")
    st.caption("When the dashed test loss turns up while the solid one keeps falling, the network has started "
               "memorising: that turn is where early stopping puts the weights back (the diamond).")
    if (batch := record(snap.runs[1], "batch", AugmentedBatch)) is not None:
        before, after = vr.batch_figures(batch)
        left, right = st.columns(2)
        left.plotly_chart(before, key="reg_seen_before")
        right.plotly_chart(after, key="reg_seen_after")
        st.caption("The exact batch the red run trained on at its latest step: left as loaded, right augmented.")


follow(ur.trainer, shown, 0.75, live)
