"""AppTest of the Runs page on a history written by the engine: the table, only the settings
that differ, overlaid curves with stable colours and best epochs, rename, tag, delete, reopen."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.presets import load_preset
from engine.spec import to_dict
from engine.store import RunStore, differing
from viz.runs import curves_figure, run_color

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def history(tmp_path, monkeypatch):
    """Three playground runs that differ in the learning rate (and one in the seed)."""
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path))
    store = RunStore(tmp_path)
    base = load_preset("tf_playground")
    ids = []
    for i, (lr, seed) in enumerate(((0.03, 0), (0.1, 0), (0.3, 5))):
        spec = base.with_(optim=replace(base.optim, lr=lr), seed=seed)
        series = {"step": [0, 100, 200], "test_loss": [0.7, 0.3 - i * 0.05, 0.35 - i * 0.05],
                  "test_acc": [0.5, 0.9 + i * 0.01, 0.85 + i * 0.01], "train_loss": [0.7, 0.2, 0.1]}
        ids.append(store.save(spec=to_dict(spec), series=series, final={"test_acc": series["test_acc"][-1]},
                              state="done", page="playground", name=f"lr {lr}",
                              weights={"model": {"w": __import__("torch").zeros(2)}}))
    return store, ids


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "runs.py"), default_timeout=30)
    at.run()
    assert not at.exception, at.exception[0].value
    return at


def _figure(at) -> dict:
    (chart,) = at.get("plotly_chart")
    return json.loads(chart.proto.spec)


def test_only_the_settings_that_differ_are_compared():
    a = to_dict(load_preset("tf_playground"))
    b = json.loads(json.dumps(a))
    b["networks"]["model"]["optim"]["lr"] = 0.1
    b["networks"]["model"]["layers"].append({"kind": "relu"})
    assert differing([a, b]) == {"networks.model.optim.lr": [0.03, 0.1],
                                 "networks.model.layers[5].kind": [None, "relu"]}
    assert differing([a, a]) == {}


def test_the_page_lists_compares_and_overlays_the_runs(history):
    store, ids = history
    at = _page()
    table = at.dataframe[0].value
    assert list(table["run"]) == ["lr 0.3", "lr 0.1", "lr 0.03"]                  # newest first
    assert list(table["best at step"]) == [100, 100, 100]
    assert list(table["best held-out"]) == ["92.0% accuracy", "91.0% accuracy", "90.0% accuracy"]
    diff = at.dataframe[1].value                                                  # only lr and seed differ
    assert [c for c in diff.columns if c != "run"] == ["seed", "networks.model.optim.lr"]
    fig = _figure(at)
    lines = [t for t in fig["data"] if t["mode"] == "lines"]
    assert [t["line"]["color"] for t in lines] == [run_color(i) for i in reversed(ids)]
    assert fig["layout"]["xaxis"]["title"]["text"] == "step"
    assert fig["layout"]["title"]["text"] == "Held-out accuracy of the selected runs"
    rings = [t for t in fig["data"] if t["mode"] == "markers"]
    assert [t["x"] for t in rings] == [[100]] * 3 and rings[0]["y"] == [0.92]
    at.selectbox(key="runs_metric").set_value("test_loss").run()
    assert _figure(at)["layout"]["yaxis"]["title"]["text"] == "held-out loss"
    at.multiselect(key="runs_selected").set_value([ids[0]]).run()                 # one run: nothing to diff
    assert len(at.dataframe) == 1 and len([t for t in _figure(at)["data"] if t["mode"] == "lines"]) == 1


def test_rename_tag_delete_and_reopen(history):
    store, ids = history
    at = _page()
    at.selectbox(key="runs_target").set_value(ids[1]).run()
    at.text_input(key="runs_rename").input("tuned").run()
    at.button(key="runs_do_rename").click().run()
    assert store.get(ids[1]).name == "tuned" and "Renamed to **tuned**" in at.success[0].value
    at.text_input(key="runs_tags").input("best, lr").run()
    at.button(key="runs_do_tags").click().run()
    assert store.get(ids[1]).tags == ("best", "lr")
    assert at.button(key="runs_delete").disabled                                   # needs the confirmation
    at.checkbox(key="runs_confirm").check().run()
    at.button(key="runs_delete").click().run()
    assert store.get(ids[1]) is None and not (store.folder / f"{ids[1]}.pt").exists()
    assert list(at.dataframe[0].value["run"]) == ["lr 0.3", "lr 0.03"] and not at.exception
    at.selectbox(key="runs_target").set_value(ids[0]).run()
    at.button(key="runs_open").click().run()
    assert at.session_state["pg_spec"].optim.lr == 0.03                            # on the Playground now


def test_an_empty_or_damaged_history_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path))
    (tmp_path / "runs.db").write_bytes(b"garbage" * 50)
    at = _page()
    assert "was damaged" in at.warning[0].value and "No runs yet" in at.info[0].value


def test_the_curves_figure_rings_each_best_epoch():
    class R:
        id, name = "abc123", "run"
        series = {"step": [0, 10, 20], "test_loss": [1.0, 0.5, 0.7]}
        best = {"step": 10, "test_loss": 0.5, "by": "test_loss"}
    fig = curves_figure([R()], "test_loss").to_plotly_json()
    assert fig["data"][0]["y"] == [1.0, 0.5, 0.7] and fig["data"][1]["x"] == [10]
    assert fig["data"][0]["line"]["color"] == fig["data"][1]["marker"]["color"] == run_color("abc123")


@pytest.mark.parametrize("preset, key", [("ring8_gan", "gan_spec"), ("digits_autoencoder", "ae_spec"),
                                         ("names_lstm_char_lm", "seq_preset")])
def test_a_run_reopens_on_the_page_that_trains_it(tmp_path, monkeypatch, preset, key):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path))
    spec = load_preset(preset)
    spec = spec.with_(epochs=spec.epochs + 3, steps=0 if key == "seq_preset" else spec.steps + 7)
    page = {"gan_spec": "gan", "ae_spec": "autoencoder", "seq_preset": "sequences"}[key]
    RunStore(tmp_path).save(spec=to_dict(spec), series={"step": [0]}, final={}, state="done", page=page, name="mine")
    at = _page()
    title = {"gan": "GAN lab", "autoencoder": "Autoencoders", "sequences": "Sequences & text"}[page]
    assert at.button(key="runs_open").label == f"Open in {title}"
    at.button(key="runs_open").click().run()
    # a lone page under AppTest has no navigation to switch to: only that may be missing
    assert all("Could not find page: `app_pages/" in e.message for e in at.exception)
    if key == "seq_preset":                           # the preset it came from, with its epochs
        assert at.session_state["seq_preset"] == preset and at.session_state["seq_epochs"] == spec.epochs
    else:
        assert at.session_state[key] == spec


def test_a_sequence_run_unlike_every_preset_says_why_it_cannot_reopen(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path))
    spec = load_preset("names_lstm_char_lm").with_(seed=99)
    RunStore(tmp_path).save(spec=to_dict(spec), series={"step": [0]}, final={}, state="done", page="sequences")
    at = _page()
    at.button(key="runs_open").click().run()
    assert at.success[0].value.startswith("Not on the Sequences & text page: this page trains its presets as they are")
