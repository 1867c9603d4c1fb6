"""The Runs page's state and actions: which runs are compared, and rename / tag / delete /
reopen, all on engine.store's history (the page only lays them out)."""
from __future__ import annotations

import json
import time

import pandas as pd
import streamlit as st

from engine.spec import SpecError, from_dict
from engine.store import RunRecord, RunStore, default_store, differing

RUNS_DEFAULTS = {"runs_pages": list, "runs_selected": None, "runs_metric": None, "runs_target": None,
                 "runs_notice": "", "runs_rename": "", "runs_tags": ""}
SCORES = ("test_acc", "test_r2", "test_perplexity", "test_loss")


def store() -> RunStore | None:
    return default_store()


def label(r: RunRecord) -> str:
    return f"{r.name} · {r.page} · {time.strftime('%b %d %H:%M', time.localtime(r.created))} · {r.id[:6]}"


def score_text(d: dict) -> str:
    """The headline number of a metrics dict: accuracy, R², perplexity or loss."""
    for k in SCORES:
        v = d.get(k)
        if isinstance(v, (int, float)):
            return f"{v:.1%} accuracy" if k == "test_acc" else f"{v:.4g} {k.removeprefix('test_')}"
    return "—"


def table(runs: list[RunRecord]) -> pd.DataFrame:
    """One row per run: what it is, how it ended, its best epoch."""
    return pd.DataFrame([{
        "run": r.name, "page": r.page, "state": r.state,
        "saved": time.strftime("%Y-%m-%d %H:%M", time.localtime(r.updated)),
        "best held-out": score_text(r.best), "best at step": r.best.get("step"),
        "last held-out": score_text(r.final), "tags": ", ".join(r.tags), "id": r.id[:8]} for r in runs])


def differences(runs: list[RunRecord]) -> pd.DataFrame:
    """Only the spec fields that differ between the runs, one row per run."""
    diff = differing([r.spec for r in runs])
    rows = [{"run": label(r), **{k: _cell(v[i]) for k, v in diff.items()}} for i, r in enumerate(runs)]
    return pd.DataFrame(rows)


def _cell(v) -> str:
    return "—" if v is None else json.dumps(v) if isinstance(v, (list, dict)) else str(v)


def metrics(runs: list[RunRecord]) -> list[str]:
    """The evaluation columns every selected run has, scores first."""
    common = set.intersection(*(set(r.series) for r in runs)) if runs else set()
    keys = [k for k in common if k.startswith(("test_", "train_")) and k != "test_confusion"]
    return sorted(keys, key=lambda k: (not k.startswith("test_"), k not in SCORES, k))


# ---------------------------------------------------------------- actions (callbacks)
def _target(s: RunStore) -> RunRecord | None:
    rid = st.session_state.get("runs_target")
    return s.get(rid) if rid else None


def on_rename() -> None:
    s = store()
    if s and (r := _target(s)) and (name := st.session_state["runs_rename"].strip()):
        s.rename(r.id, name)
        st.session_state["runs_notice"] = f"Renamed to **{name[:200]}**."


def on_tags() -> None:
    s = store()
    if s and (r := _target(s)):
        s.tag(r.id, st.session_state["runs_tags"].split(","))
        st.session_state["runs_notice"] = "Tags saved."


def on_delete() -> None:
    s = store()
    if s and (r := _target(s)):
        s.delete(r.id)
        st.session_state["runs_target"] = None
        st.session_state["runs_selected"] = [i for i in (st.session_state["runs_selected"] or []) if i != r.id]
        st.session_state["runs_notice"] = f"Deleted **{r.name}** and its weights file."


def home(r: RunRecord) -> tuple[str, str]:
    """(title, page file) of the page that trains a run like `r`: the GAN lab, the Autoencoders
    page, the Sequences page for its sequence presets, else the Playground."""
    task = r.spec.get("task")
    if task in ("gan", "autoencoder"):
        return {"gan": ("GAN lab", "app_pages/gan.py"), "autoencoder": ("Autoencoders", "app_pages/autoencoder.py")}[task]
    if r.page == "sequences":
        return "Sequences & text", "app_pages/sequences.py"
    return "Playground", "app_pages/playground.py"


def reopen(r: RunRecord) -> str | None:
    """Put the run's spec on its page (home); the page to switch to, or None with a notice."""
    try:
        spec = from_dict(r.spec)
    except SpecError as e:
        st.session_state["runs_notice"] = "This run's spec can no longer be read: " + "; ".join(e.problems)
        return None
    title, page = home(r)
    done = f"Reopened the run **{r.name}** from the run history."
    if page == "app_pages/gan.py":
        from ui import gan
        gan.set_spec(spec, redraw=True)
    elif page == "app_pages/autoencoder.py":
        from ui import autoencoder
        autoencoder.set_spec(spec, redraw=True)
    elif page == "app_pages/sequences.py":
        from ui import sequences
        if (why := sequences.reopen(spec)) is not None:
            st.session_state["runs_notice"] = f"Not on the {title} page: {why}"
            return None
    else:
        from ui import playground as pg
        if problems := pg.not_offered(spec):
            st.session_state["runs_notice"] = "Not on the Playground: " + problems[0]
            return None
        pg.replace_spec(spec, done)
    return page
