"""Explain a prediction: which inputs made the network decide what it did, by five attribution
methods (Captum), with the checks that tell a map that explains the model from one that only
looks plausible. Layout only: logic in ui.explain and engine.explain, figures in viz.explain."""
from __future__ import annotations

import streamlit as st

from engine.data import DATASETS
from engine.explain import BASELINES, METHODS, MISCLASSIFIED, conv_layers, kind, methods_for
from ui import builder
from ui import explain as ux
from ui.state import init_defaults
from viz import explain as vx

init_defaults()
st.title("Explain a prediction")
st.caption("Why did the network answer what it did? Attribution methods score every input (every pixel, "
           "every feature) by how much it pushed the answer. They can disagree, so each comes with a check.")

t = ux.STUDY.pick()   # the Playground's paused run or a preset trained here (ui/study.py)
snap = t.snapshot()
run = t.runs()[0]
what = kind(run)
if what is None:
    st.warning("This page explains classifiers of images, tables or 2-D points; this run is a "
               f"{run.spec.task} run on {run.spec.data.name}. Train a preset here or change the Playground's run.",
               icon=":material/warning:")
    st.stop()
names = list(run.data.class_names)
n_test = len(run.data.y_test)
acc = snap.run.last_eval.get("test_acc") if snap.run is not None else None
st.markdown(f"Explaining **{run.spec.name or 'your network'}** on **{DATASETS[run.spec.data.name].label}**, "
            f"trained {run.step_count:,} steps" + (f", test accuracy {acc:.1%}." if acc is not None else "."))

# ---------------------------------------------------------------- controls
c1, c2, c3 = st.columns([1.6, 1, 1.2], vertical_alignment="bottom")
if what != "plane":
    c1.radio("Which test example", ["pick", "misclassified"], key="ex_mode", horizontal=True,
             format_func={"pick": "One I pick by number", "misclassified": "The latest one it gets wrong"}.get,
             help="Test examples were never trained on. A wrong answer is often the most telling one to explain.")
    with c2:
        builder.number_box("Test example number", 0, max(n_test - 1, 0), "ex_example",
                           st.session_state["ex_example"], step=1, disabled=st.session_state["ex_mode"] != "pick",
                           help=f"Any of the {n_test:,} test examples (0 to {n_test - 1:,}).")
if st.session_state["ex_target"] not in range(len(names)):     # a class of another run's data
    st.session_state["ex_target"] = ux.PREDICTED
default = "the predicted class" if what != "plane" else f"class {names[-1]}"
c3.selectbox("Class to explain", [ux.PREDICTED, *range(len(names))], key="ex_target",
             format_func=lambda c: default if c == ux.PREDICTED else f"class {names[c]}",
             help="Explain the network's own answer, or ask what speaks for (or against) another class.")
target = None if st.session_state["ex_target"] == ux.PREDICTED else int(st.session_state["ex_target"])
index = MISCLASSIFIED if st.session_state["ex_mode"] == "misclassified" else int(st.session_state["ex_example"] or 0)

if what == "image":
    offered = methods_for(run)
    if st.session_state["ex_methods"] is None:
        st.session_state["ex_methods"] = list(offered)
    st.session_state["ex_methods"] = [m for m in st.session_state["ex_methods"] if m in offered]   # no Grad-CAM
                                                                                                 # without conv
    st.multiselect("Methods", list(offered), key="ex_methods", format_func=METHODS.get,
                   help="Saliency: |gradient|. Integrated Gradients: gradients summed along a path from a baseline. "
                        "SmoothGrad: saliency averaged over noisy copies. Occlusion: cover a patch, see the score "
                        "drop. Grad-CAM: where a conv layer's maps matter for the class.")
    d1, d2, d3, d4, d5 = st.columns([1, 1, 1, 1, 1.5])
    d1.selectbox("Baseline", list(BASELINES), key="ex_baseline", format_func=BASELINES.get,
                 help="What 'no information' looks like: IG walks from it to the image; Occlusion and the "
                      "deletion curves paint it over pixels.")
    d2.slider("IG steps", 8, 256, key="ex_ig_steps", step=8,
              help="Points along Integrated Gradients' path; more steps, smaller completeness gap.")
    d3.slider("Occlusion window", 1, 9, key="ex_window", help="Side of the square patch Occlusion covers, pixels.")
    d4.slider("Occlusion stride", 1, 5, key="ex_stride", help="How far the patch moves each time, pixels.")
    convs = dict(conv_layers(run))
    if convs:
        if st.session_state["ex_layer"] not in convs:
            st.session_state["ex_layer"] = list(convs)[-1]
        d5.selectbox("Grad-CAM layer", list(convs), key="ex_layer", format_func=convs.get,
                     help="Grad-CAM weighs this conv layer's maps by their gradient: later layers see bigger "
                          "things, coarser.")
    st.toggle("Run the sanity check (a few seconds)", key="ex_sanity",
              help="Randomise the weights layer by layer and see whether the maps change; a map that does not "
                   "is not explaining the model.")
    methods = tuple(m for m in offered if m in st.session_state["ex_methods"])
    if not methods:
        st.info("Pick at least one method.")
        st.stop()
    with st.spinner("Computing the maps…"):
        e = ux.explanation(t, what, index, ux.config(methods, target))
    if index == MISCLASSIFIED and e.pred == e.true:
        st.info("The network gets every test example right; showing the last one.")
    st.markdown(f"Test example **{e.index}**: really **{names[e.true]}**, the network says **{names[e.pred]}** "
                f"({e.probs[e.pred]:.0%}). Explaining **{names[e.target]}**.")
    st.plotly_chart(vx.maps_figure(e), key="ex_maps")
    st.caption("Each map over the image: orange pixels pushed the answer up, blue pushed it down, see-through ones "
               "did not matter. Each map is scaled to its own strongest pixel (±1), so compare where, not how much."
               + (" The green line on the image outlines the object." if e.mask is not None else ""))
    by = {a.method: a for a in e.maps}
    m = st.columns(4)
    if "ig" in by:
        m[0].metric("IG completeness gap", f"{by['ig'].completeness_gap:.2%}",
                    help="IG's attributions should add up to f(image) - f(baseline), the change in the class score. "
                         f"Here that change is {e.f_x - e.f_baseline:.3f}; the gap is how far the sum misses, as a "
                         "share of it. More steps make it smaller.")
    if e.object_share is not None:
        m[1].metric("Object's share of the image", f"{e.object_share:.0%}",
                    help="A map that looks at random would put about this share of its mass on the object.")
        for col, meth in zip(m[2:], [k for k in ("ig", "occlusion") if k in by]):
            col.metric(f"{'IG' if meth == 'ig' else METHODS[meth]}: mass on the object", f"{by[meth].inside_share:.0%}",
                       f"{by[meth].inside_share / e.object_share:.1f}x its area", delta_color="off",
                       help="Share of the map's absolute values on the object's pixels, against its share of "
                            "the image.")
    a, b = st.columns(2)
    a.plotly_chart(vx.curves_figure(e, "deletion"), key="ex_deletion")
    a.caption("Remove the pixels a map ranks highest first (paint the baseline over them): if the map is right, "
              "the probability falls fast, leaving a small area under the curve.")
    b.plotly_chart(vx.curves_figure(e, "insertion"), key="ex_insertion")
    b.caption("Start from the baseline and put the top-ranked pixels back first: a good map brings the answer "
              "back quickly (large area).")
    if e.sanity is not None:
        st.plotly_chart(vx.sanity_figure(e), key="ex_sanity_chart")
        st.caption("1 means the map stayed the same when the weights were randomised: such a map shows the image, "
                   "not what the network learned. Falling towards 0 is what a faithful method does.")
elif what == "table":
    e = ux.explanation(t, what, index, ux.config(("ig",), target, sanity=False))
    st.markdown(f"Test row **{e.index}**: really **{names[e.true]}**, the network says **{names[e.pred]}**. "
                f"Explaining **{e.target_name}**.")
    st.metric("IG completeness gap", f"{e.completeness_gap:.2%}",
              help="The bars add up to the change of the class score from the all-zeros row (the training "
                   f"average, for standardised features) to this row: {e.f_x - e.f_baseline:.3f}.")
    st.plotly_chart(vx.features_figure(e), key="ex_features")
    st.caption("Each bar is one feature's share of the score's change from the average row to this one; the "
               "longest bars decided the answer.")
else:
    e = ux.explanation(t, what, 0, ux.config((), target, sanity=False))
    st.plotly_chart(vx.field_figure(e), key="ex_field")
    st.caption("Colour: the network's score for the class at each point. Arrows: the input gradient, the way "
               "that score rises fastest; long arrows mark where a small move of the point changes the answer most.")
