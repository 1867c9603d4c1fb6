"""Runs: every run of every page, kept across restarts (engine.store). Compare the selected
runs (only the settings that differ, their curves overlaid, their best epochs), rename, tag,
delete, reopen on the page that trains it, export as CSV. Layout only: logic in ui.runs, figures in viz.runs."""
from __future__ import annotations

import json

import streamlit as st

from engine.tracking import ENV as MLFLOW_ENV
from ui import runs as ur
from ui.state import init_defaults
from viz import runs as vr

init_defaults()

st.title("Runs")
st.caption("Every run of the Playground, the arena and the command line is saved when it stops "
           "(paused, finished, diverged or its tab closed), with its settings, curves and weights. "
           "They stay here after the server restarts.")

store = ur.store()
if store is None:
    st.error("The run history cannot be opened: its folder is not writable (set PLAYGROUND_RUNS_DIR "
             "to a folder the server may write).")
    st.stop()
if store.warning:
    st.warning(store.warning)
if store.mirror_error:
    st.warning(f"MLflow: {store.mirror_error}.")
elif store.mirror is not None:
    st.caption(f"Every run is also logged to the MLflow tracking store in `{MLFLOW_ENV}` "
               f"(experiment “{store.mirror.experiment}”).")
if notice := st.session_state["runs_notice"]:
    st.success(notice)
    st.session_state["runs_notice"] = ""

every = store.list()
if not every:
    st.info("No runs yet. Train something on the Playground (or `python -m engine run --preset xor_2_sigmoid`) "
            "and it appears here.")
    st.stop()

pages = sorted({r.page for r in every})
st.multiselect("Pages", pages, key="runs_pages", placeholder="all pages",
               help="Show only the runs of these pages.")
runs = [r for r in every if not st.session_state["runs_pages"] or r.page in st.session_state["runs_pages"]]
st.dataframe(ur.table(runs), hide_index=True, width="stretch")
st.caption("Newest first. **Best held-out** is the evaluation with the highest held-out accuracy "
           "(or R², or the lowest loss), and **best at step** when it came: often not the last.")

by_id = {r.id: r for r in runs}
if st.session_state["runs_selected"] is None:
    st.session_state["runs_selected"] = [r.id for r in runs[:3]]
st.session_state["runs_selected"] = [i for i in st.session_state["runs_selected"] if i in by_id]
st.multiselect("Compare", list(by_id), key="runs_selected", format_func=lambda i: ur.label(by_id[i]),
               help="The runs whose settings and curves are compared below.")
chosen = [by_id[i] for i in st.session_state["runs_selected"]]

if chosen:
    st.subheader("What differs")
    diff = ur.differences(chosen)
    if len(diff.columns) > 1:
        st.dataframe(diff, hide_index=True, width="stretch")
        st.caption("Only the settings that are not the same in every selected run.")
    else:
        st.caption("The selected runs have the same settings." if len(chosen) > 1
                   else "Select two runs or more to see what differs between them.")
    options = ur.metrics(chosen)
    if options:
        if st.session_state["runs_metric"] not in options:
            st.session_state["runs_metric"] = options[0]
        st.selectbox("Curve", options, key="runs_metric", format_func=vr.metric_label)
        st.plotly_chart(vr.curves_figure(chosen, st.session_state["runs_metric"]), key="runs_curves")
        st.caption("Each run keeps its colour; a ring marks its best epoch.")
    st.download_button("Download the selected runs' curves (CSV)", store.export_csv([r.id for r in chosen]),
                       file_name="runs.csv", mime="text/csv", icon=":material/download:")

st.subheader("One run")
if st.session_state["runs_target"] not in by_id:
    st.session_state["runs_target"] = runs[0].id
st.selectbox("Run", list(by_id), key="runs_target", format_func=lambda i: ur.label(by_id[i]))
target = by_id[st.session_state["runs_target"]]
name_col, tag_col = st.columns(2)
name_col.text_input("Name", key="runs_rename", placeholder=target.name, max_chars=200)
name_col.button("Rename", key="runs_do_rename", on_click=ur.on_rename)
tag_col.text_input("Tags (comma-separated)", key="runs_tags", placeholder=", ".join(target.tags) or "baseline, tuned")
tag_col.button("Save tags", key="runs_do_tags", on_click=ur.on_tags)
open_col, spec_col, del_col = st.columns(3)
home = ur.home(target)[0]
if open_col.button(f"Open in {home}", key="runs_open", icon=":material/open_in_new:",
                   help=f"Load this run's settings on the {home} page (train it again, change it)."):
    if (page := ur.reopen(target)) is not None:
        st.switch_page(page)
    st.rerun()
spec_col.download_button("Download its spec (JSON)", json.dumps(target.spec, indent=2),
                         file_name=f"{target.id[:8]}.json", mime="application/json", key="runs_spec")
confirm = del_col.checkbox("Yes, delete it", key="runs_confirm")
del_col.button("Delete this run", key="runs_delete", on_click=ur.on_delete, disabled=not confirm,
               icon=":material/delete:", help="Removes the run and its weights file.")
