"""AppTest of the Optimizer arena page: a race from a preset and from the Playground's spec,
the controls, the ranking and downloads; the surface paths and their sliders; the lr finder."""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import engine.trainer as trainer_mod
from engine.presets import load_preset

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("stop_trainers")


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "arena.py"), default_timeout=60)
    at.session_state["arena_surface"] = "bowl"           # the cheapest surface (60 steps) while racing
    at.run()
    assert not at.exception, at.exception[0].value
    return at


def _trainer():
    (t,) = trainer_mod.live_trainers()
    return t


def _figures(at) -> dict[str, dict]:
    """Plotly figures on the page by title."""
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return {f["layout"]["title"]["text"]: f for f in figs}


def _array(v) -> np.ndarray:
    """A trace's x or y: a list, or plotly's typed array {"dtype", "bdata" (base64)}."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v, dtype=float)


def _texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_race_from_a_preset_with_controls_ranking_and_downloads():
    at = _page()
    at.selectbox(key="arena_preset").set_value("xor_2_sigmoid")
    at.number_input(key="arena_steps").set_value(60)
    at.number_input(key="arena_n").set_value(3).run()
    at.selectbox(key="arena_c2_opt").set_value("adam")
    at.select_slider(key="arena_c2_lr").set_value(0.01).run()
    assert "XOR truth table" in _texts(at.markdown)
    at.button(key="arena_start").click().run()
    _trainer().wait(lambda s: s.state == "done", 90)
    time.sleep(0.2)
    at.run()
    assert not at.exception, at.exception[0].value
    assert "**Done** · step 60 of 60" in _texts(at.markdown)
    table = at.dataframe[0].value
    assert list(table["rank"]) == [1, 2, 3]
    assert table["contestant"].iloc[0] == "Adam, lr 0.01"
    assert set(table["status"]) == {"done"}
    figs = _figures(at)
    loss = figs["Loss of every contestant"]
    names = {t["name"] for t in loss["data"]}
    assert {"SGD, lr 0.01", "SGD + momentum 0.9, lr 0.01", "Adam, lr 0.01"} <= names
    assert loss["layout"]["xaxis"]["title"]["text"] == "training step (batches seen)"
    assert "Accuracy of every contestant" in figs
    assert len(at.get("download_button")) == 2

    assert at.button(key="arena_step").disabled                 # a finished race takes no more steps
    assert at.button(key="arena_pause").disabled
    at.button(key="arena_reset").click().run()
    snap = _trainer().wait(lambda s: s.state == "idle", 30)
    assert [r.step for r in snap.runs] == [0, 0, 0]
    at.button(key="arena_step").click().run()
    assert [r.step for r in _trainer().snapshot().runs] == [10, 10, 10]
    assert "step 10 of 60" in _texts(at.markdown)
    at.segmented_control(key="arena_x").set_value("time_s").run()
    loss = _figures(at)["Loss of every contestant"]
    assert loss["layout"]["xaxis"]["title"]["text"] == "training time (seconds, wall clock)"
    assert not at.exception


def test_race_uses_the_playgrounds_network_and_flags_a_changed_line_up():
    at = _page()
    spec = load_preset("tf_playground")
    at.session_state["pg_spec"] = spec
    at.radio(key="arena_source").set_value("playground")
    at.number_input(key="arena_steps").set_value(20)
    at.number_input(key="arena_n").set_value(2).run()
    assert "from the Playground's current network" in _texts(at.markdown)
    at.button(key="arena_start").click().run()
    t = _trainer()
    assert [s.layers for s in t.specs] == [spec.layers, spec.layers]
    assert t.specs[0].data == spec.data and t.specs[0].seed == spec.seed
    at.select_slider(key="arena_c1_lr").set_value(0.1).run()
    assert "changed since this race started" in _texts(at.info)


def test_surface_paths_follow_the_sliders_and_match_gradient_descent():
    at = _page()
    at.selectbox(key="arena_surface").set_value("bowl").run()
    at.slider(key="arena_condition").set_value(10.0)
    at.multiselect(key="arena_surf_opts").set_value(["sgd", "adam"])
    at.select_slider(key="arena_surf_lr_bowl_sgd").set_value(0.1).run()
    assert not at.exception, at.exception[0].value
    fig = _figures(at)["Quadratic bowl: optimizer paths from (-2.5, 1.5)"]
    assert len(fig["frames"]) > 10 and fig["layout"]["sliders"][0]["steps"][-1]["label"] == "60"
    (sgd,) = [t for t in fig["data"] if t.get("name") == "SGD (lr 0.1)" and t["mode"] == "lines"]
    x, y = _array(sgd["x"])[:4], _array(sgd["y"])[:4]
    # gradient descent on 0.5 (x^2 + 10 y^2) with lr 0.1: x *= 0.9, y *= 0.0 (one step to the axis)
    np.testing.assert_allclose(x, -2.5 * 0.9 ** np.arange(4), atol=1e-9)
    np.testing.assert_allclose(y, [1.5, 0, 0, 0], atol=1e-9)
    assert "step 60" in fig["layout"]["annotations"][0]["text"]
    assert "Distance to the best value, step by step" in _figures(at)

    at.select_slider(key="arena_surf_lr_bowl_sgd").set_value(0.25).run()     # lr K = 2.5: diverges
    assert "SGD (lr 0.25) flew off the surface" in _texts(at.warning)
    at.toggle(key="arena_surf_3d").set_value(True).run()
    assert not at.exception
    assert any(t["type"] == "surface" for f in _figures(at).values() for t in f["data"])


def test_lr_finder_suggests_a_rate_and_applies_it():
    at = _page()
    at.selectbox(key="arena_preset").set_value("tf_playground").run()
    at.number_input(key="arena_ns_circle").set_value(200)
    at.selectbox(key="arena_lr_row").set_value(3)              # contestant 4: Adam
    at.slider(key="arena_lr_steps").set_value(80).run()
    at.button(key="arena_lr_run").click().run()
    assert not at.exception, at.exception[0].value
    sweeps = lambda: [t for t in trainer_mod.live_trainers() if t.names == ["lr range test"]]
    for t in sweeps():                                          # it trains in a worker: wait, then redraw
        t.wait(lambda s: not s.active, timeout=60)
        at.run()
    assert not sweeps()                                         # the finished worker was stopped
    res = at.session_state["arena_lr_result"]
    assert res["lr_min"] <= res["low"] <= res["suggested"] <= res["high"] <= res["lr_max"]
    assert "suggested learning rate" in _texts(at.success)
    fig = _figures(at)["Learning-rate range test: loss as the learning rate grows"]
    assert fig["layout"]["xaxis"]["type"] == "log"
    apply = [b for b in at.button if b.label.startswith("Use ")]
    apply[0].click().run()
    lr = at.session_state["arena_c3_lr"]
    assert abs(np.log10(lr) - np.log10(res["suggested"])) < 0.25
