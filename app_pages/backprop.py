"""Backprop step by step: one neuron, then a 2-2-1 network learning XOR; every number by hand."""
from __future__ import annotations

import math

import streamlit as st

from engine.teach import backprop as bp
from ui.state import init_defaults
from viz import backprop as vz

init_defaults()          # idempotent; lets the page run on its own (page tests)
S = st.session_state
EXAMPLES = [f"({a:.0f}, {b:.0f}) → {t:.0f}" for (a, b), t in zip(bp.XOR_X, bp.XOR_T)]


def _n(v: float) -> str:
    """A number for a written-out formula: negatives in brackets."""
    return f"({v:g})" if v < 0 else f"{v:g}"


def _delta(d: float) -> str:
    return f"{d:+.4f}" if abs(d) >= 1e-3 or d == 0 else f"{d:+.1e}"


def _neuron() -> bp.NeuronStep:
    return bp.NeuronStep(S.bp_x1, S.bp_x2, S.bp_t, S.bp_w1, S.bp_w2, S.bp_b, S.bp_lr)


def _apply_neuron_update() -> None:
    new = _neuron().updated
    S.bp_w1, S.bp_w2, S.bp_b = (round(new[k], 6) for k in ("w1", "w2", "b"))


def _train(steps: int) -> None:
    net, history = bp.xor_train(bp.XorNet.from_flat(S.bp_net), S.bp_xor_lr, steps, S.bp_loss)
    S.bp_net, S.bp_history, S.bp_steps = net.flat(), S.bp_history + history, S.bp_steps + steps


def _reset() -> None:
    S.bp_net, S.bp_history, S.bp_steps = bp.start_params(S.bp_seed), [], 0


st.title("Backpropagation, step by step")
st.caption("Training = forward pass (compute the output and the loss), backward pass (the chain rule gives "
           "every weight's gradient ∂L/∂w), update (w ← w − learning rate × ∂L/∂w). Every number below is "
           "computed by hand in numpy; the tests check each one against torch.autograd.")

# ---------------------------------------------------------------- 1. one neuron
st.header("1. One neuron, one example")
st.latex(r"y = w_1 x_1 + w_2 x_2 + b \qquad L = (y - t)^2 \qquad "
         r"\frac{\partial L}{\partial w_1} = \frac{\partial L}{\partial y}\cdot\frac{\partial y}{\partial w_1}"
         r" = 2(y - t)\cdot x_1")
WIDGETS = {
    "bp_x1": ("input x1", "The first input value of the example."),
    "bp_x2": ("input x2", "The second input value of the example."),
    "bp_t": ("target t", "The value the neuron should output for this example."),
    "bp_w1": ("weight w1", "How strongly x1 pushes the output; learning changes it."),
    "bp_w2": ("weight w2", "How strongly x2 pushes the output; learning changes it."),
    "bp_b": ("bias b", "A constant added to the sum; learning changes it too."),
    "bp_lr": ("learning rate", "How big a step to take against the gradient; too big and the loss grows."),
}
for row in (("bp_x1", "bp_x2", "bp_t"), ("bp_w1", "bp_w2", "bp_b", "bp_lr")):
    for col, key in zip(st.columns(4), row):
        col.number_input(WIDGETS[key][0], -100.0, 100.0, key=key, step=0.1, format="%.4f", help=WIDGETS[key][1])

s = _neuron()
a, b, c = st.columns([1, 1, 4])
a.metric("y", f"{s.y:.4f}", help="The neuron's output: w1·x1 + w2·x2 + b.")
b.metric("loss L", f"{s.loss:.4f}", help="Squared error (y − t)²: 0 when the output hits the target.")
c.markdown(f"**Forward:** y = {_n(s.w1)}·{_n(s.x1)} + {_n(s.w2)}·{_n(s.x2)} + {_n(s.b)} = **{s.y:.4f}**  \n"
           f"**Loss:** L = ({s.y:.4f} − {_n(s.t)})² = **{s.loss:.4f}**  \n"
           f"**Backward:** ∂L/∂y = 2(y − t) = **{s.dL_dy:.4f}**, then times ∂y/∂w1 = x1, ∂y/∂w2 = x2, ∂y/∂b = 1")
st.plotly_chart(vz.neuron_figure(s), key="bp_neuron_chart")
st.caption("Each edge: its weight and the gradient of the loss with respect to it. A gradient's sign says "
           "which way to move the weight: against it.")
st.markdown("**The chain rule and the update, parameter by parameter**")
st.dataframe(vz.neuron_rows(s), hide_index=True)
left, right = st.columns([1, 2])
left.button("Apply the update (one gradient-descent step)", key="bp_apply", on_click=_apply_neuron_update,
            type="primary", help="Replace w1, w2 and b by their new values; press again to take another step.")
with right:
    nxt = s.next()
    if math.isfinite(nxt.loss):
        st.caption(f"After the update the loss would be {nxt.loss:.4f} (now {s.loss:.4f})"
                   + (": the step overshoots, lower the learning rate." if nxt.loss > s.loss else "."))

# ---------------------------------------------------------------- 2. XOR network
st.divider()
st.header("2. A 2-2-1 network learns XOR")
st.caption("XOR outputs 1 when exactly one input is 1. No single straight line separates it, so the network "
           "needs a hidden layer: two sigmoid neurons h1, h2 feed one sigmoid output o.")
st.latex(r"h_j = \sigma\Big(\sum_i w_{ji} x_i + b_j\Big) \qquad o = \sigma(v_1 h_1 + v_2 h_2 + c) \qquad "
         r"\sigma'(z) = \sigma(z)\,(1 - \sigma(z))")
a, b, c, d = st.columns([1, 1, 1.4, 2.2])
a.number_input("Start seed", 0, 10_000, key="bp_seed", on_change=_reset,
               help="Draws the starting weights; changing it restarts. Some starts get stuck (try seed 0).")
b.number_input("Learning rate", 0.01, 20.0, key="bp_xor_lr", step=0.5,
               help="Step size of gradient descent; XOR with sigmoids likes a large one, such as 2.")
c.selectbox("Loss", list(bp.LOSSES), key="bp_loss", format_func=lambda k: bp.LOSSES[k].split(" ")[0],
            help="Squared error (o − t)², or cross-entropy, whose gradient at the output is simply o − t.")
d.radio("Example shown on the diagram", range(4), key="bp_example", format_func=EXAMPLES.__getitem__,
        horizontal=True, help="Which of the four XOR inputs to trace through the network.")
a, b, c, d = st.columns([1, 1, 1, 2])
a.button("Next step", key="bp_next", on_click=_train, args=(1,), type="primary",
         help="One gradient-descent step on all four examples: the weights change by −lr × the mean gradient.")
b.button("Run 1000 steps", key="bp_run", on_click=_train, args=(1000,),
         help="Repeat the same step 1,000 times and watch the loss fall and the boundary bend.")
c.button("Reset", key="bp_reset", on_click=_reset, help="Back to the starting weights of this seed.")

p = bp.xor_pass(bp.XorNet.from_flat(S.bp_net), S.bp_loss)
if not math.isfinite(p.loss):
    st.error("The loss is no longer a number: the learning rate is too large. Lower it and press Reset.")
    st.stop()
correct = int(((p.o > 0.5) == (p.t > 0.5)).sum())
d.metric(f"Loss after {S.bp_steps} steps", f"{p.loss:.4f}",
         delta=f"{_delta(p.loss - S.bp_history[-1])} since the last step" if S.bp_history else None,
         delta_color="inverse", help="Mean loss over the four examples; 0 is perfect.")
st.markdown(f"**Correct:** {correct} of 4 examples (output above 0.5 counts as 1).")

n = S.bp_example
st.plotly_chart(vz.xor_figure(p, n), key="bp_xor_chart")
st.caption("Nodes: the forward value and δ = ∂l/∂z for this input. Edges: weight and ∂l/∂w = δ of the node it "
           "enters × the value it carries. Orange = positive weight, blue = negative; thicker = larger.")
st.markdown(f"**Backward for input {EXAMPLES[n]}**, from the loss back to the inputs (each line is one "
            "chain-rule product, using values from the lines above it)")
rows = vz.xor_chain_rows(p, n)
st.dataframe(rows, hide_index=True, height=35 * (len(rows) + 1) + 3)
st.markdown(f"**The update:** each example's gradient ∂l/∂p, their mean ∂L/∂p, and the new value "
            f"= value − {S.bp_xor_lr:g} × mean")
rows = vz.xor_update_rows(p, S.bp_xor_lr)
st.dataframe(rows, hide_index=True, height=35 * (len(rows) + 1) + 3)
st.caption("Press 'Next step' and the 'new value' column becomes the 'value' column.")

left, right = st.columns(2)
with left:
    st.plotly_chart(vz.loss_figure(S.bp_history + [p.loss], S.bp_loss), key="bp_loss_chart")
    st.caption("The loss should fall; a long flat stretch is a plateau where the sigmoids barely move.")
with right:
    axis, out = bp.xor_grid(p.net)
    st.plotly_chart(vz.boundary_figure(axis, out, p.x, p.t), key="bp_boundary_chart")
    st.caption("Solved when both orange points sit in orange and both blue points in blue; the dashed line "
               "is where the output is 0.5.")
