"""Autoencoders: an encoder squeezes each digit into a code of a few numbers, a decoder rebuilds it;
live reconstructions, the code plane coloured by class (click a point to decode it), the decoded
grid, a traversal, and the codes' kNN accuracy. Train / Pause / Step / Reset.

Layout and widgets only: the spec, the run and the callbacks are in ui/autoencoder.py, the views
in engine/autoencoder_views.py, the figures in viz/autoencoder.py.
"""
from __future__ import annotations

import streamlit as st

from engine.data import DATASETS
from engine.records import AeLatent, AeReconstructions, AeTraversal
from engine.spec import AE_KINDS
from engine.tasks.autoencoder import AE_LOSSES, ARCHITECTURES, DECODER, ENCODER, architecture, recon_loss
from ui import autoencoder as ae
from ui import builder
from ui import live
from ui.state import init_defaults
from viz import autoencoder as vz

FAST_S, SLOW_S = 0.5, 0.8            # seconds between redraws: numbers / pictures and curves
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03)

init_defaults()

st.title("Autoencoders")
st.caption("An **encoder** squeezes each image into a **code** of a few numbers; a **decoder** rebuilds the image "
           "from the code alone. Both learn together to make the rebuilt image match the input, without labels. "
           "Press **▶ Train** and watch the digits sort themselves into groups on the code plane.")

spec = ae.spec()
data = ae.dataset(spec)
problems = ae.problems(spec)
trainer = ae.sync_run(spec, not problems)
snap = trainer.snapshot() if trainer else None
shown = snap.state if snap else "none"
if st.session_state["ae_error"]:
    st.error(st.session_state["ae_error"])
    st.session_state["ae_error"] = ""


# ---------------------------------------------------------------- settings
field, number = ae.EDITOR.field, ae.EDITOR.number          # widgets bound to the spec's fields


def code_settings() -> None:
    s = spec
    k = ae.key("data")
    names = list(ae.DATA)
    st.selectbox("Data", names, key=k, format_func=lambda n: DATASETS[n].label, on_change=ae.on_data, args=(k,),
                 **builder.seed(k, s.data.name, st.selectbox, names),
                 help="The images to squeeze and rebuild; their classes only colour the code plane and score the codes.")
    field(st.radio, "Architecture", ("architecture",), architecture(s), list(ARCHITECTURES), redraw=True,
          horizontal=True, format_func=ARCHITECTURES.get,
          help="Sets both networks to a default stack: MLP flattens the image into Linear layers; conv shrinks it "
               "with stride-2 Conv2d layers and grows it back with ConvTranspose2d layers, which reuse each filter "
               "over the whole image. Edit either on its tab.")
    field(st.radio, "Kind", ("autoencoder", "kind"), s.autoencoder.kind, AE_KINDS, redraw=True, horizontal=True,
          format_func=lambda n: {"plain": "plain", "variational": "variational (VAE)"}[n],
          help="Plain: the encoder outputs the code. Variational: it outputs a mean and a spread for each code "
               "number, the code is drawn from them, and a KL term pulls the codes toward a standard normal cloud.")
    c1, c2 = st.columns(2)
    with c1:
        number("Code size (numbers)", ("autoencoder", "latent_dim"), s.autoencoder.latent_dim, 1, 64, redraw=True,
               help="How many numbers the code has: 2 can be drawn as a plane; more rebuild better.")
    with c2:
        if s.autoencoder.kind == "variational":
            number("β (KL weight)", ("autoencoder", "beta"), s.autoencoder.beta, 0.0, 20.0, step=0.5, format="%g",
                   help="Weight of the KL term: higher packs the codes closer to N(0, 1) (smoother, blurrier).")
    loss = recon_loss(s, data)
    field(st.selectbox, "Reconstruction loss", ("loss",), s.loss, ["auto", *AE_LOSSES],
          format_func=lambda n: f"auto ({loss.label})" if n == "auto" else AE_LOSSES[n].label, help=loss.help)
    c1, c2 = st.columns(2)
    with c1:
        number("Training steps", ("steps",), s.steps, 1, 1_000_000, help="Updates before the run stops.")
    with c2:
        number("Batch size", ("batch_size",), s.batch_size, 1, 4096, help="Images per update.")


def network_editor(role: str) -> None:
    what = ""
    if data is not None:
        code = spec.autoencoder.latent_dim
        out = (f"{2 * code} numbers (a mean and a log-variance per code number)"
               if spec.autoencoder.kind == "variational" else f"the code ({code} numbers)")
        what = (f"an image ({builder.shape_text(data.input_shape)}) → {out}" if role == ENCODER else
                f"the code ({code} numbers) → an image ({builder.shape_text(data.input_shape)}, or its pixels in a row)")
    ae.EDITOR.network(role, spec.net(role), ae.shape_rows(spec, role, data) if data is not None else None,
                      "This network's step size (each network has its own optimizer).", f"{ae.ROLES[role]}: {what}.",
                      LEARNING_RATES)


# ---------------------------------------------------------------- live parts
def numbers(s, run, static: bool) -> None:
    if s.state == "error":
        st.error(f"The run stopped with an error: {s.error}. Press Reset to start again.")
    if run.status == "diverged":
        st.error(run.message)
    ev = run.last_eval
    c = st.columns(4)
    c[0].metric("Step", f"{run.step:,}", help=f"Updates so far, of {run.total_steps:,}.")
    c[1].metric("Test loss", f"{ev['test_recon_loss']:.1f}" if "test_recon_loss" in ev else "—",
                help=f"Reconstruction loss: how far the rebuilt test images are from the originals, per image; always "
                     f"predicting the mean "
                     f"image scores {ev.get('mean_loss', float('nan')):.1f}.")
    c[2].metric("kNN accuracy", f"{ev['knn_acc']:.0%}" if "knn_acc" in ev else "—",
                help="How well the codes sort the classes: the share of test images whose 5 nearest training codes "
                     "have the same class.")
    if "test_kl" in ev:
        c[3].metric("KL (VAE)", f"{ev['test_kl']:.2f}", help="How far the codes' distribution is from N(0, 1), in nats.")
    if note := ae.knn_note(ev, len(data.class_names) if data else 10):
        st.caption(note)
    st.caption(f"{s.samples_per_s:,.0f} images/s on {s.device}" if s.state == "running" else
               f"Run: **{live.state_text(s)}** · saved to the run history whenever it stops")


def rebuilt(s, run, static: bool) -> None:
    if (rec := live.record(run, "reconstructions", AeReconstructions)) is not None:
        live.chart(vz.reconstructions_figure(rec), "ae_chart_reconstructions", static)
        n = spec.autoencoder.latent_dim
        st.caption("Top: test images the autoencoder never trained on, with their class; below: what it rebuilds "
                   "from their codes, with each one's loss. " + (
                       f"A {n}-number code keeps the shape of a digit, not its details." if n <= 3 else
                       f"A {n}-number code keeps more of the details than a 2-number one, which keeps only the shape."))


def plane(s, run, static: bool) -> None:
    rec = live.record(run, "latent", AeLatent)
    if rec is None:
        return
    c1, c2 = st.columns(2)
    u, v = st.session_state["ae_u"], st.session_state["ae_v"]
    with c1:
        fig = vz.latent_figure(rec, (u, v))
        if static:
            live.chart(fig, "ae_chart_latent", True)
        else:
            st.plotly_chart(fig, key=ae.PICK_KEY, on_select=ae.on_pick, selection_mode="points",
                            config={"displayModeBar": False})
        st.caption(ae.latent_caption(rec))
    with c2:
        if rec.grid is not None:
            live.chart(vz.grid_figure(rec), "ae_chart_grid", static)
            st.caption("The decoder's image for each point of a grid over the same plane: the map of what each "
                       "region of codes means. Neighbouring codes decode to similar images.")
    picked = ae.decoded(trainer, rec, u, v) if trainer is not None else None
    c1, c2 = st.columns([1, 2], vertical_alignment="center")
    with c1:
        if picked is not None and rec.grid is not None:
            live.chart(vz.decoded_figure(*picked), "ae_chart_decoded", True)
    with c2:
        st.markdown("**Decode a point.** Click the code plane, or type the point:")
        a, b = st.columns(2)
        a.number_input("Plane x", key="ae_u", step=0.1, format="%.2f", help="The chosen point's first coordinate.")
        b.number_input("Plane y", key="ae_v", step=0.1, format="%.2f", help="The chosen point's second coordinate.")
        if picked is None:
            st.caption("Pause the run to decode a chosen point (while it trains the weights move under it).")
        else:
            st.caption("The black cross on the plane marks it. Points far from every dot decode to images the "
                       "decoder was never asked to make.")


def walk(s, run, static: bool) -> None:
    if (rec := live.record(run, "traversal", AeTraversal)) is not None:
        live.chart(vz.traversal_figure(rec), "ae_chart_traversal", static)
        st.caption("Each row changes one number of the code, the others held at their average: what that number "
                   "controls (slant, width, which digit).")


def curves(s, run, static: bool) -> None:
    c1, c2 = st.columns(2)
    with c1:
        live.chart(vz.losses_figure(run.evals), "ae_chart_losses", static)
        st.caption("The reconstruction loss on training and test images; the dashed line is what always predicting "
                   "the average image scores. A VAE also shows its KL term (dotted).")
    with c2:
        live.chart(vz.knn_figure(run.evals), "ae_chart_knn", static)
        st.caption("How often a test image's 5 nearest training codes share its class: the codes' quality as one "
                   "number. Dashed: the same for a linear code (PCA of the pixels) with as many numbers.")


# ---------------------------------------------------------------- the page
left, right = st.columns([5, 7], gap="medium")
with left:
    presets = ae.presets()
    st.selectbox("Preset", list(presets), key="ae_preset", on_change=ae.on_preset,
                 format_func=lambda n: presets[n].name or n, help="A ready-made autoencoder: data, networks, code.")
    code_tab, enc_tab, dec_tab = st.tabs(["The code", "Encoder", "Decoder"])
    with code_tab:
        code_settings()
    with enc_tab:
        network_editor(ENCODER)
    with dec_tab:
        network_editor(DECODER)
with right:
    running = shown == "running"
    b = st.columns([1.2, 1, 1], vertical_alignment="center", gap="small")
    b[0].button("Pause" if running else "Train", key="ae_train", type="primary", on_click=ae.on_train,
                icon=":material/pause:" if running else ":material/play_arrow:", disabled=trainer is None,
                width="stretch", help="Start or pause training; the run keeps going while you visit other pages.")
    b[1].button("Step", key="ae_step", on_click=ae.on_step, disabled=trainer is None, width="stretch",
                help="One update of both networks on one batch.")
    b[2].button("Reset", key="ae_reset", on_click=ae.on_reset, disabled=trainer is None, width="stretch",
                help="Start again from the same random weights.")
    for problem in problems:
        st.error(problem, icon=":material/block:")
    if trainer is not None and trainer.history_error:
        st.warning(f"Note: {trainer.history_error}.")
    if shown == "preparing":
        st.info("Preparing the run: loading the images and building both networks (a few seconds)…",
                icon=":material/hourglass_top:")
    live.part(ae.trainer, shown, FAST_S, numbers, "ae")
    live.part(ae.trainer, shown, SLOW_S, rebuilt, "ae")
st.divider()
st.subheader("The code plane")
if shown in ("running", "preparing"):
    live.part(ae.trainer, shown, SLOW_S, plane, "ae")
elif snap is not None and snap.run is not None:
    plane(snap, snap.run, False)              # outside a fragment: a click on the plane reruns the page
live.part(ae.trainer, shown, SLOW_S, walk, "ae")
st.divider()
live.part(ae.trainer, shown, SLOW_S, curves, "ae")
