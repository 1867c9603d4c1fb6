"""AppTest of the "Explain a prediction" page: with no run it trains a small preset itself, then
shows the maps, the checks and the curves, with the engine's numbers; a table gets its bars and
2-D data its gradient field; the Playground's run is explained once it is paused."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import engine.trainer as trainer_mod
from engine.explain import ExplainConfig, explain_image
from engine.presets import load_preset
from engine.spec import LayerSpec
from ui import explain as ux

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.usefixtures("stop_trainers")


def _page() -> AppTest:
    """The app on this page with no run: the Playground is given a network that cannot train."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    spec = load_preset("tf_playground")
    at.session_state["pg_spec"] = spec.with_(layers=(*spec.layers[:-1], LayerSpec.make("linear", units=3)))
    at.switch_page("app_pages/playground.py").run()
    assert not trainer_mod.live_trainers()
    at.switch_page("app_pages/explain.py")
    return at


def _train_here(at: AppTest, preset: str):
    at.session_state["ex_preset"] = preset
    at.button(key="ex_train").click().run()
    assert not at.exception
    (t,) = trainer_mod.live_trainers()
    t.wait(lambda s: s.state == "done", 60)
    at.run()
    assert not at.exception, at.exception
    return t


def _charts(at: AppTest) -> dict[str, dict]:
    return {i: json.loads(c.proto.spec) for i, c in enumerate(at.get("plotly_chart"))}


def _titles(at: AppTest) -> list[str]:
    return [spec["layout"]["title"]["text"] for spec in _charts(at).values()]


def test_no_run_trains_shapes_here_and_shows_every_map_check_and_curve():
    at = _page().run()
    assert not at.exception
    assert any("no trained network" in i.value for i in at.info)
    t = _train_here(at, "shapes_cnn")
    assert t.specs[0].steps == ux.START_PRESETS["shapes_cnn"][1]
    titles = _titles(at)
    assert len(titles) == 4                                      # maps, deletion, insertion, sanity
    assert titles[0].startswith("Which pixels made the network say")
    assert titles[1].startswith("Deletion") and titles[2].startswith("Insertion") and "Sanity check" in titles[3]
    maps = _charts(at)[0]
    assert len([d for d in maps["data"] if d["type"] == "heatmap"]) == 2 * 6 - 1   # 6 images + 5 maps over them
    for spec in list(_charts(at).values())[1:]:
        assert spec["layout"]["xaxis"]["title"]["text"] and spec["layout"]["yaxis"]["title"]["text"]
        assert len(spec["data"]) == 5                           # one line per method, each named
    assert len(at.caption) >= 5
    # the page's numbers are the engine's on the same run, example and settings
    e = explain_image(t.runs()[0], 0, ExplainConfig(gradcam_layer=3))      # the page's defaults
    metrics = {m.label: m.value for m in at.metric}
    ig = {a.method: a for a in e.maps}["ig"]
    assert metrics["IG completeness gap"] == f"{ig.completeness_gap:.2%}"
    assert metrics["Object's share of the image"] == f"{e.object_share:.0%}"
    assert metrics["IG: mass on the object"] == f"{ig.inside_share:.0%}"

    at.radio(key="ex_mode").set_value("misclassified").run()       # the latest one it gets wrong
    assert not at.exception
    assert any("really" in m.value and "says" in m.value for m in at.markdown)
    at.multiselect(key="ex_methods").set_value(["ig", "gradcam"]).run()
    at.toggle(key="ex_sanity").set_value(False).run()
    at.selectbox(key="ex_target").set_value(3).run()                # explain "line" instead
    assert not at.exception and len(at.get("plotly_chart")) == 3   # maps, deletion, insertion
    assert "Explaining **line**" in " ".join(m.value for m in at.markdown)

    _train_here(at, "mlp_digits")                                   # no conv layer: no Grad-CAM, 10 classes
    assert at.multiselect(key="ex_methods").value == ["ig"] and at.session_state["ex_target"] == 3
    assert at.multiselect(key="ex_methods").options == ["Saliency", "Integrated Gradients", "SmoothGrad", "Occlusion"]
    assert len(at.get("plotly_chart")) == 3


def test_a_table_gets_feature_bars_and_the_plane_a_gradient_field():
    at = _page().run()
    _train_here(at, "logistic_regression")
    assert _titles(at)[0].startswith("Which features pushed the score")
    assert any(m.label == "IG completeness gap" for m in at.metric)
    at.session_state["ex_preset"] = "tf_playground"
    at.button(key="ex_train").click().run()
    (t,) = trainer_mod.live_trainers()
    t.wait(lambda s: s.state == "done", 60)
    at.run()
    assert not at.exception
    assert _titles(at)[0].startswith("Which way the score of")


def test_the_playground_run_is_explained_once_paused():
    at = _page()
    at.session_state["pg_spec"] = load_preset("mlp_digits")
    at.switch_page("app_pages/playground.py").run()
    at.button(key="pg_train").click().run()
    at.switch_page("app_pages/explain.py").run()
    assert not at.exception
    (t,) = trainer_mod.live_trainers()
    if t.snapshot().active:
        assert any("Pause it" in b.label for b in at.button)
        at.button(key="ex_pause").click().run()
        t.wait(lambda s: not s.active, 30)
        at.run()
    assert not at.exception
    titles = _titles(at)
    assert titles[0].startswith("Which pixels made the network say") and len(titles) == 4
