"""Compress a model: prune it, quantize it to int8, distil it into a smaller student, and see the
price of each in accuracy, size and speed. Layout only: logic in ui.compress and engine.compress,
figures in viz.compress."""
from __future__ import annotations

import streamlit as st

from engine.compress import QUANT_MODES, SCOPES, STRUCTURES, kind, pareto_front
from engine.data import DATASETS
from ui import compress as uc
from ui.state import init_defaults
from viz import compress as vc

init_defaults()
st.title("Compress a model")
st.caption("A trained network is often bigger and slower than it needs to be. Make it smaller three ways and "
           "see what each costs: pruning (set weights to zero), quantization (store them in 8 bits) and "
           "distillation (teach a smaller network). The trained run itself is never changed.")

t = uc.STUDY.pick()   # the Playground's paused run or a preset trained here (ui/study.py)
snap = t.snapshot()
run = t.runs()[0]
if why := kind(run):
    st.warning(f"Nothing to compress: {why}. Train a preset here or change the Playground's run.",
               icon=":material/warning:")
    st.stop()
label = f"{run.spec.name or 'your network'}, {run.step_count:,} steps"
with st.spinner("Measuring the original…"):
    base = uc.original(t, label)
st.markdown(f"Compressing **{run.spec.name or 'your network'}** on **{DATASETS[run.spec.data.name].label}**, "
            f"trained {run.step_count:,} steps: test accuracy **{base.accuracy:.1%}**, **{base.params:,}** "
            f"parameters, **{base.bytes / 1024:,.1f} KB** zipped.")

# ---------------------------------------------------------------- pruning
st.subheader("Pruning: set the smallest weights to zero")
c1, c2, c3, c4 = st.columns([1.4, 1, 1, 1])
c1.slider("Sparsity (% of weights set to zero)", 0, 99, key="cx_sparsity", step=1,
          help="Magnitude pruning: the weights closest to zero matter least, so they go first.")
c2.radio("Where", list(SCOPES), key="cx_scope", format_func=SCOPES.get,
         help="Global: the smallest weights of the whole network, so some layers lose more than others. "
              "Per layer: every layer loses the same share.")
c3.radio("What", list(STRUCTURES), key="cx_structure", format_func=STRUCTURES.get,
         help="Single weights keep the layer's shape (zeros inside); whole channels or neurons can really be cut "
              "out, which is what makes a network faster. The output layer keeps all its classes.")
c4.slider("Fine-tune steps", 0, 200, key="cx_finetune", step=10,
          help="After pruning, train a few steps with the pruned weights held at zero: the rest learn to cover.")
with st.spinner("Pruning, fine-tuning and drawing the curve…"):
    pruned, curve = uc.pruning(t, label)

# ---------------------------------------------------------------- quantization
st.subheader("Quantization: store the weights in 8 bits")
q1, q2 = st.columns([2, 1], vertical_alignment="bottom")
q1.radio("How", list(QUANT_MODES), key="cx_quant", format_func=QUANT_MODES.get, horizontal=True,
         help="int8 stores each weight in 1 byte instead of 4, with a scale per row or output channel (torchao). "
              "Dynamic also rounds each batch's activations to int8 and multiplies in integers (Linear layers; "
              "conv layers keep float activations).")
q2.button("Quantize", icon=":material/compress:", key="cx_quantize", on_click=uc.ask, args=(t, "quant"),
          width="stretch", help="Quantize a copy of the model's Linear and Conv2d layers to int8 and measure it.")
quant = None
if uc.asked(t, "quant"):
    with st.spinner("Quantizing…"):
        quant = uc.quantized(t, label, st.session_state["cx_quant"])
    if isinstance(quant, str):
        st.warning(f"No quantized model: {quant}.", icon=":material/warning:")
        quant = None
    elif quant.note:
        st.caption("Note: the conv layers get int8 weights only (one scale per output channel), and their "
                   "activations stay float32: torchao 0.18 has no int8 convolution on the CPU.")

# ---------------------------------------------------------------- distillation
st.subheader("Distillation: teach a smaller network")
d1, d2, d3, d4, d5, d6 = st.columns(6)
d1.selectbox("Student size", [2, 4, 8], key="cx_shrink", format_func=lambda k: f"widths / {k}",
             help="The student is your network with every hidden layer this many times narrower.")
d2.slider("Temperature", 1.0, 10.0, key="cx_temperature", step=0.5,
          help="Softens both networks' answers, so the student also learns which wrong classes the teacher "
               "finds likely ('this 4 looks a bit like a 9').")
d3.slider("Soft-loss weight", 0.0, 1.0, key="cx_alpha", step=0.05,
          help="How much the student copies the teacher's soft answers (the rest: the true labels). 0 = no teacher.")
d4.slider("Student steps", 50, 1000, key="cx_distill_steps", step=50, help="Training steps of each student.")
d5.selectbox("Labelled examples", [50, 100, 200, 500, 0], key="cx_labels",
             format_func=lambda n: "all" if n == 0 else f"{n:,}",
             help="How many training examples (with labels) the students learn from. A teacher helps most "
                  "when labels are few.")
d6.slider("Seeds", 1, 5, key="cx_seeds",
          help="Each seed trains a pair of students from the same start and batches: with and without the teacher.")
st.button("Distil", icon=":material/school:", key="cx_distil", on_click=uc.ask, args=(t, "distill"),
          help="Train the students (a few seconds per seed) and compare them.")
dist = None
if uc.asked(t, "distill"):
    with st.spinner("Training the students…"):
        dist = uc.distilled(t, label)
    if isinstance(dist, str):
        st.warning(f"No student: {dist}.", icon=":material/warning:")
        dist = None

# ---------------------------------------------------------------- results
st.subheader("What each costs")
variants = [base, *pruned, *([quant] if quant else []), *(dist[1] if dist else [])]
st.dataframe(uc.table_rows(variants, base), hide_index=True, width="stretch")
st.caption(f"Size: the saved weights (torch.save) zipped with zlib, so zeros cost almost nothing (unzipped, a "
           f"pruned file is as big as the original); in brackets, the share of the original. CPU time: the median "
           f"of 7 forward passes over a batch of {base.batch} test examples; zeros inside a layer do not make it "
           f"faster, and int8 pays off only on layers much larger than these. Press Quantize and Distil to add "
           f"their rows.")
a, b = st.columns(2)
a.plotly_chart(vc.sparsity_figure(curve, base.accuracy, st.session_state["cx_sparsity"] / 100), key="cx_curve")
a.caption("Accuracy usually holds until most weights are gone, then falls off a cliff; a short fine-tune "
          "pushes the cliff further right.")
if dist:
    d = dist[0]
    b.plotly_chart(vc.distill_figure(d), key="cx_distill_chart")
    b.caption(f"Each student learns from the same labelled examples; orange above blue means the teacher helped: by {100 * d.gain.mean():+.1f} points at the end on "
              f"average ({100 * d.gain.min():+.1f} to {100 * d.gain.max():+.1f} over the seeds).")
else:
    b.info("Press **Distil** to train a smaller student with and without the teacher.", icon=":material/school:")
every = uc.session_variants()
front = pareto_front([(v.accuracy, v.bytes) for _, v in every])
st.plotly_chart(vc.pareto_figure(every, front), key="cx_pareto")
st.caption("Up and to the left is better. The ringed points are the Pareto front: for each, no other variant is "
           "both smaller and at least as accurate. Every setting you try in this session is added.")
