"""Few labels: start a digit classifier from pretrained weights (a rotation-prediction network
pretrained here without labels, or a run of this session's history), freeze the layers you choose,
train the rest on a few labelled digits, live; then held-out accuracy against the number of labels
for training from scratch, a linear probe, fine-tuning and a probe on a random network.

Layout and widgets only: the spec, the run, the sources and the comparison's worker are in
ui/transfer.py, the chart in viz/transfer.py, the engine in engine/transfer.py and few_labels.py.
"""
from __future__ import annotations

import streamlit as st

from engine.few_labels import METHODS
from ui import builder
from ui import live
from ui import transfer as tl
from ui.state import init_defaults
from viz.playground import score_figure
from viz.transfer import labels_figure

FAST_S, POLL_S = 0.6, 1.0
BODY_LRS = (0.0, 0.01, 0.1, 0.3, 1.0, 3.0)

init_defaults()

st.title("Few labels: transfer and self-supervised pretraining")
st.caption("Labels are expensive, unlabelled images are cheap. Pretrain a network on a task that needs **no labels** "
           "(here: say how far each digit was turned), then reuse its layers for the real task with only a few "
           "labelled digits: **freeze** them (a linear probe) or **fine-tune** them. Below, see what that buys "
           "against training from scratch.")

sources = tl.sources()
if st.session_state["tl_source"] not in sources:
    st.session_state["tl_source"] = tl.PRETEXT
spec = tl.spec()
loaded = tl.pretrained(spec)
problems = tl.problems(spec)
trainer = tl.sync_run(spec, not problems)
snap = trainer.snapshot() if trainer else None
shown = snap.state if snap else "none"
if st.session_state["tl_error"]:
    st.error(st.session_state["tl_error"])
    st.session_state["tl_error"] = ""


def settings() -> None:
    st.selectbox("Pretrained weights from", list(sources), key="tl_source", format_func=sources.get,
                 on_change=tl.on_source, help="Where the body's starting weights come from: a network trained here "
                 "to predict rotations (self-supervised: no labels), or any run of your history (Runs page) whose "
                 "first network has layers of the same shapes, such as an autoencoder's encoder.")
    st.file_uploader("… or upload weights (a state_dict .pt file)", type=["pt", "pth"], key="tl_upload",
                     on_change=tl.on_upload, help="A file saved with torch.save(model.state_dict(), path) from a "
                     "network whose first layers match this one's; read with weights_only=True (tensors only).")
    st.markdown("**Layers** · a toggle freezes a pretrained layer: its weights stay exactly as pretrained.")
    rows = tl.rows(spec)
    head = max((r.index for r in rows if r.n_params), default=None)
    for row in rows:
        i = row.index
        c1, c2 = st.columns([3, 2], vertical_alignment="center")
        what = ("pretrained" if i in loaded else "new head" if i == head
                else "new" if row.n_params else "no weights")
        c1.markdown(f"`{i}` {row.label} · *{what}*")
        if i in loaded:
            c2.toggle("freeze", key=f"tl_freeze_{i}", help="Frozen: not trained, left out of the optimizer, "
                      "and kept in evaluation mode, so not one bit of it changes.")
    st.button("Freeze every pretrained layer (linear probe)", key="tl_probe", on_click=tl.on_probe, args=(loaded,),
              disabled=not loaded, help="A linear probe trains only the new last layer on the frozen features: "
              "it measures how good the pretrained features are by themselves.")
    c1, c2 = st.columns(2)
    c1.select_slider("Body learning rate (× the head's)", BODY_LRS, key="tl_body_lr",
                     help="The pretrained layers that are not frozen learn at this share of the optimizer's "
                          "learning rate: below 1 changes the pretrained features gently.")
    c2.select_slider("Labelled examples", tl.LABEL_CHOICES, key="tl_labels",
                     help="How many labelled training digits the classifier sees (the classes in turn); "
                          "the 1,000 test digits stay the same.")
    st.number_input("Training steps", 1, 100_000, key="tl_steps", **builder.seed("tl_steps", st.session_state["tl_steps"], st.number_input), help="Updates of the classifier (batches of 32).")


def numbers(s, run, static: bool) -> None:
    if s.state == "error":
        st.error(f"The run stopped with an error: {s.error}. Press Reset to start again.")
    ev = run.last_eval
    c = st.columns(3)
    c[0].metric("Step", f"{run.step:,}", help=f"Updates so far, of {run.total_steps:,}.")
    c[1].metric("Test accuracy", f"{ev['test_acc']:.1%}" if "test_acc" in ev else "—",
                help="Share of the 1,000 held-out test digits classified right.")
    c[2].metric("Train accuracy", f"{ev['train_acc']:.1%}" if "train_acc" in ev else "—",
                help="On the few labelled digits it trains on: near 100% quickly, the gap to test is overfitting.")
    st.caption(f"{s.samples_per_s:,.0f} images/s on {s.device}" if s.state == "running" else
               f"Run: **{live.state_text(s.state)}** · saved to the run history whenever it stops")
    live.chart(score_figure(run.evals, None, "step", "acc", "accuracy", True), "tl_chart_acc", static)
    st.caption("Train and test accuracy as the classifier trains on the labelled digits. A good start (pretrained "
               "body) shows in the first steps of the test curve.")


left, right = st.columns([5, 6], gap="medium")
with left:
    settings()
with right:
    running = shown == "running"
    b = st.columns([1.2, 1, 1], vertical_alignment="center", gap="small")
    b[0].button("Pause" if running else "Train", key="tl_train", type="primary", on_click=tl.on_train,
                icon=":material/pause:" if running else ":material/play_arrow:", disabled=trainer is None,
                width="stretch", help="Train the classifier on the labelled digits, starting from the chosen weights.")
    b[1].button("Step", key="tl_step", on_click=tl.on_step, disabled=trainer is None, width="stretch",
                help="One update on one batch.")
    b[2].button("Reset", key="tl_reset", on_click=tl.on_reset, disabled=trainer is None, width="stretch",
                help="Start again from the pretrained weights and the same new head.")
    for problem in problems:
        st.error(problem, icon=":material/block:")
    if shown == "preparing":
        st.info("Preparing: loading the digits and the pretrained weights (the first time, the rotation network is "
                "pretrained here: about 30 s)…", icon=":material/hourglass_top:")
    if snap is not None and snap.run is not None and trainer.runs() and getattr(trainer.runs()[0], "transfer", None):
        st.caption(tl.transfer_text(trainer.runs()[0].transfer, sources))
    live.part(tl.trainer, shown, FAST_S, numbers, "tl")

st.divider()
st.subheader("Accuracy against labelled examples")
st.caption("For each number of labels and seed, the same network trains four ways on the same digits: from scratch, "
           "a linear probe and fine-tuning on the chosen pretrained weights, and a linear probe on a randomly "
           "initialised network (what frozen features give without any pretraining).")
c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="bottom")
with c1:
    st.pills("Label counts", tl.LABEL_CHOICES, selection_mode="multi", key="tl_points",
             help="The points of the curve: labelled training digits per run (click to add or leave out).")
c2.number_input("Seeds", 1, 5, key="tl_seeds", **builder.seed("tl_seeds", st.session_state["tl_seeds"], st.number_input), help="Runs per point with other labelled digits and initial weights: "
                "the band shows their spread (± one standard deviation).")
job = tl.job()
c3.button("Stop" if job is not None and job.running else "Compare methods", key="tl_compare", on_click=tl.on_compare,
          type="primary", width="stretch", help="Runs in the background (a few minutes for every point): you can "
          "keep using the page.")


polling = job is not None and job.running


@st.fragment(run_every=POLL_S if polling else None)
def comparison() -> None:
    j = tl.job()
    if polling and (j is None or not j.running):
        st.rerun()                                    # finished: redraw the button and stop polling
    if j is None:
        st.info("Press **Compare methods** to measure the curve for the chosen source (with every point and 3 seeds: "
                "about 4 minutes on 2 CPU cores).", icon=":material/insights:")
        return
    if j.error:
        st.error(f"The comparison could not run: {j.error}")
    if j.running:
        share, text = tl.progress_text(j)
        st.progress(share, text=text)
    if j.result is None:
        return
    rows = [r.to_dict() for r in j.result.rows]
    if not rows:
        st.warning("The comparison was stopped before any point was finished.")
        return
    st.plotly_chart(labels_figure(rows), key="tl_chart_labels", config={"displayModeBar": False})
    st.caption("Each line is one way of training, the band its spread over seeds (± one standard deviation). Where a "
               "line lies above another, that method makes more of the same labels.")
    if text := tl.verdict(rows):
        st.markdown(text)
    st.dataframe([{"method": METHODS[r["method"]], "labels": r["labels"], "mean accuracy": f"{100 * r['mean']:.1f}%",
                   "± std": f"{100 * r['std']:.1f}", "per seed": ", ".join(f"{100 * a:.1f}" for a in r["accs"])}
                  for r in rows], hide_index=True, height=36 * (len(rows) + 1) + 4)


comparison()
