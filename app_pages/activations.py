"""Activation functions: each one and its derivative, where learning stalls, and softmax."""
from __future__ import annotations

import streamlit as st

from engine.teach import activations as act
from ui.state import init_defaults
from viz import activations as vz

init_defaults()          # idempotent; lets the page run on its own (page tests)
S = st.session_state

st.title("Activation functions")
st.caption("A neuron adds up its weighted inputs, then passes the sum x through an activation function f. "
           "Backprop multiplies the error signal by the slope f′(x): where the slope is almost 0 the "
           "gradient vanishes and the weights before it stop learning.")

st.multiselect("Functions", list(act.ACTIVATIONS), key="act_names", format_func=lambda n: act.ACTIVATIONS[n].label,
               help="Which activation functions to plot; each gets its own chart with its derivative.")   # the whole
a, b, c = st.columns([1.2, 1, 1.4])                                                                  # row: every name shows
a.slider("Input range x", -10.0, 10.0, key="act_range", step=0.5,
         help="The stretch of inputs to plot; large |x| shows where sigmoid-like functions saturate.")
b.slider("LeakyReLU slope α", 0.0, 0.5, key="act_slope", step=0.01,
         help="LeakyReLU's slope for negative inputs; 0 turns it into a plain ReLU.")
c.select_slider("Vanishing threshold: shade where |f′(x)| stays below", [0.001, 0.01, 0.05, 0.1],
                key="act_threshold",
                help="A gradient this small barely moves the weights; the grey bands show where that happens.")

lo, hi = S.act_range
if hi - lo < 1:
    st.error("The input range is too narrow to plot: move the two ends of 'Input range x' at least 1 apart.")
elif not S.act_names:
    st.info("Choose at least one function above.")
else:
    st.caption("In every chart: blue is the function, orange dashed is its slope f′ computed by autograd "
               "(what backprop multiplies by), grey bands are where that slope stays almost 0 (the function "
               "is flat there and learning stalls); an orange ring is where f′ only passes through 0.")
    cols = st.columns(2)
    for n, name in enumerate(S.act_names):
        info = act.ACTIVATIONS[name]
        cur = act.curve(name, lo, hi, 401, S.act_slope, S.act_threshold)
        with cols[n % 2], st.container(border=True):
            label = f"{info.label} (α = {S.act_slope:g})" if name == "leaky_relu" else info.label
            st.plotly_chart(vz.activation_figure(cur.x, cur.y, cur.dy, cur.vanishing, label, S.act_threshold,
                                                 turning=cur.turning), key=f"act_chart_{name}")
            st.latex(info.formula)
            turn = act.describe_turning(cur.turning)
            st.markdown(f"**Output range:** {info.range_text}  \n"
                        f"**Gradient vanishes** (|f′| stays below {S.act_threshold:g}): "
                        f"{act.describe_intervals(cur.vanishing, lo, hi)}" + (f"  \n{turn}" if turn else ""))
            st.caption(f"When to use it: {info.usage}")

st.divider()
st.subheader("Softmax: from scores to probabilities")
st.caption(act.SOFTMAX_USAGE)
a, b = st.columns([2, 1])
a.text_input("Scores z (comma-separated)", key="act_vector",
             help="The raw outputs (logits) of a classifier's last layer, one per class; edit them and watch the "
                  "probabilities.")
b.slider("Temperature T", 0.1, 5.0, key="act_temperature", step=0.1,
         help="Softmax of z / T: a low temperature sharpens the probabilities towards the largest score, "
              "a high one flattens them.")
try:
    z = act.parse_vector(S.act_vector)
except ValueError as e:
    st.error(f"The scores cannot be read: {e}.")
else:
    r = act.softmax(z, S.act_temperature)
    st.plotly_chart(vz.softmax_figure(r.z, r.p, S.act_temperature), key="act_softmax_chart")
    st.caption("The largest score gets the largest probability; adding the same number to every score "
               "changes nothing, because only differences matter.")
    st.latex(r"p_i = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}} \qquad "
             r"\frac{\partial p_i}{\partial z_i} = \frac{p_i (1 - p_i)}{T}")
    st.dataframe({"class": [f"class {i}" for i in range(len(z))], "score z": r.z,
                  "e^(z/T − max)": r.exp, "probability p": r.p,
                  "∂p_i/∂z_i (autograd)": r.jacobian.diagonal()},
                 hide_index=True, column_config={k: st.column_config.NumberColumn(format="%.4f")
                                                 for k in ("score z", "e^(z/T − max)", "probability p",
                                                           "∂p_i/∂z_i (autograd)")})
    st.caption(f"The probabilities sum to {r.p.sum():.4f}. Subtracting the largest score before e^ keeps the "
               "numbers from overflowing and does not change p.")
