"""Draw a digit: the current MNIST model reads what you draw (or photograph), and shows the
exact 28x28 input it received, its answer, where it looked and what each layer made of it.
Layout only: logic in ui.draw and engine.digits, figures in viz.draw."""
from __future__ import annotations


import numpy as np
import streamlit as st

from engine.build import describe
from engine.digits import DigitError, explain, from_photo, mnist_like, model_input, read_drawing
from engine.spec import from_dict
from engine.teach.conv import ConvError, read_upload
from ui import draw as ud
from ui.canvas import digit_canvas
from ui.live import follow, settle
from ui.state import init_defaults
from viz import draw as vd

init_defaults()

st.title("Draw a digit")
st.caption("Draw a digit with the mouse (or a finger) and a network trained on MNIST reads it as you draw. "
           "Your drawing is prepared the way MNIST's digits were: cropped, scaled into a 20x20 box and "
           "centred by its mass on a 28x28 field. That field, exactly, is what the network receives.")

runs = ud.candidates()
t = ud.trainer()
if not runs:
    st.info("No trained MNIST network is saved yet. Train one on the Playground (dataset: MNIST digits), "
            "or train the MNIST CNN preset here: about 15 seconds.")
    busy = t is not None and t.snapshot().active
    if st.button("Train the MNIST CNN now", type="primary", disabled=busy, icon=":material/model_training:"):
        ud.start_training()
        settle(ud.trainer(), lambda s: s.active)
        st.rerun()

    def progress(_t, snap) -> None:
        run = snap.run
        if run is not None:
            st.progress(min(1.0, run.step / max(1, run.total_steps)),
                        text=f"Training: step {run.step:,} of {run.total_steps:,}")
        if snap.state == "error":
            st.error(snap.error)
    if t is not None:
        follow(ud.trainer, t.snapshot().state, 0.5, progress)
    st.stop()

by_id = {r.id: r for r in runs}
rid = st.selectbox("Network", list(by_id), format_func=lambda i: ud.label(by_id[i]), key="draw_run",
                   help="Saved runs trained on MNIST digits (from the run history), newest first.")
model, prep = ud.model_for(rid)
spec = from_dict(by_id[rid].spec)
st.caption("Its layers: " + " → ".join(describe(layer) for layer in spec.layers))

draw_tab, photo_tab = st.tabs(["Draw", "Upload a photo"])
with draw_tab:
    url = digit_canvas("draw_canvas")
with photo_tab:
    photo = st.file_uploader("A photo of one handwritten digit (PNG or JPEG, at most 5 MB)",
                             type=["png", "jpg", "jpeg"], key="draw_photo", max_upload_size=5)

digit, problem = None, ""
try:
    if photo is not None:
        digit = mnist_like(from_photo(read_upload(photo.getvalue(), size=280)))
    elif url:
        digit = mnist_like(read_drawing(url))
except (DigitError, ConvError) as e:
    problem = str(e)
if problem:
    st.error(problem)
if digit is None or not digit.any():
    st.info("Draw a digit in the black square (or upload a photo) to see what the network makes of it.")
    st.stop()

try:
    seen = explain(model, model_input(digit, prep))
except DigitError as e:
    st.error(str(e))
    st.stop()
left, mid, right = st.columns(3)
left.plotly_chart(vd.digit_figure(digit, "What the network receives (28x28)"), key="draw_input")
left.caption("Your drawing after MNIST's preparation: white ink on black, 0 to 1 per pixel.")
mid.plotly_chart(vd.probs_figure(seen["probs"]), key="draw_probs")
mid.caption("The network's probability for each digit (softmax of its ten outputs).")
right.plotly_chart(vd.digit_figure(seen["saliency"], "Where it looked (saliency)",
                                   scale=[[0, "#ffffff"], [1, "#f59322"]]), key="draw_saliency")
right.caption("How much each pixel moves the winning digit's score (|gradient|, largest = 1): "
              "orange pixels decided the answer.")

st.subheader("What each layer made of it")
for i, (layer, out) in enumerate(zip(spec.layers, seen["layers"])):
    if np.asarray(out).ndim == 3:
        st.plotly_chart(vd.maps_figure(out, f"Layer {i + 1}: {describe(layer)}, {out.shape[0]} maps of "
                                            f"{out.shape[1]}x{out.shape[2]}"), key=f"draw_layer{i}")
st.caption("Orange: the layer's filter found its pattern there; blue: the opposite. The first eight "
           "channels of each image-shaped layer are shown.")
