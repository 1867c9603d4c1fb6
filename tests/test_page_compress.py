"""AppTest of the "Compress a model" page: with no run it trains a small preset itself, then shows
the variants table with the engine's numbers, the accuracy-sparsity curve, quantization and the
distillation curves on request, and the chart of every variant with its Pareto front."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import engine.trainer as trainer_mod
from engine.compress import PruneConfig, accuracy, prune_variants
from engine.presets import load_preset
from engine.spec import LayerSpec
from ui import compress as uc

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.usefixtures("stop_trainers")


def _page() -> AppTest:
    """The app on this page with no run: the Playground is given a network that cannot train."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    spec = load_preset("tf_playground")
    at.session_state["pg_spec"] = spec.with_(layers=(*spec.layers[:-1], LayerSpec.make("linear", units=3)))
    at.switch_page("app_pages/playground.py").run()
    assert not trainer_mod.live_trainers()
    at.switch_page("app_pages/compress.py")
    return at


def _train_here(at: AppTest, preset: str):
    at.session_state["cx_preset"] = preset
    at.button(key="cx_train").click().run()
    assert not at.exception
    (t,) = trainer_mod.live_trainers()
    t.wait(lambda s: s.state == "done", 60)
    at.run()
    assert not at.exception, at.exception
    return t


def _titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def _table(at: AppTest) -> list[dict]:
    df = at.dataframe[0].value
    return df.to_dict("records")


def test_no_run_trains_here_then_prunes_quantizes_and_distils():
    at = _page().run()
    assert not at.exception
    assert any("no trained network" in i.value for i in at.info)
    at.session_state["cx_finetune"] = 20                       # keep the test short
    at.session_state["cx_distill_steps"] = 100
    at.session_state["cx_seeds"] = 2
    t = _train_here(at, "mlp_digits")
    assert t.specs[0].steps == uc.START_PRESETS["mlp_digits"][1]
    titles = _titles(at)
    assert titles[0] == "Accuracy as more weights are pruned<br><sup>pruning single weights, one threshold for all layers</sup>"
    assert titles[1] == "Every variant made in this session: accuracy against size"
    rows = _table(at)
    assert [r["variant"] for r in rows] == ["original (float32)", "pruned 80% (global, unstructured)",
                                            "pruned 80% (global, unstructured) + 20 fine-tune steps"]
    # the page's numbers are the engine's on the same run and settings
    run = t.runs()[0]
    pruned, tuned = prune_variants(run, PruneConfig(0.8, finetune_steps=20))
    assert rows[1]["test accuracy"] == f"{pruned.accuracy:.1%}" and rows[2]["test accuracy"] == f"{tuned.accuracy:.1%}"
    assert rows[1]["non-zero parameters"] == f"{pruned.nonzero:,} of 4,810"
    assert rows[0]["test accuracy"] == f"{accuracy(run.model, run):.1%}"
    assert len(at.caption) >= 4

    at.button(key="cx_quantize").click().run()
    assert not at.exception
    assert _table(at)[-1]["variant"] == "int8 weights and activations (dynamic)"
    at.button(key="cx_distil").click().run()
    assert not at.exception
    titles = _titles(at)
    assert len(titles) == 3 and titles[1].startswith("A small student, with and without the teacher<br><sup>student: 1,210 parameters")
    names = [r["variant"] for r in _table(at)]
    assert names[-2].startswith("student /4 distilled") and names[-1] == "student /4 alone"
    pareto = json.loads(at.get("plotly_chart")[2].proto.spec)
    front = [d for d in pareto["data"] if d["name"].startswith("Pareto front")]
    assert len(front) == 1 and len(front[0]["x"]) >= 1
    assert sum(len(d["x"]) for d in pareto["data"] if d is not front[0]) == 6    # every variant made
    for spec in (json.loads(c.proto.spec) for c in at.get("plotly_chart")):
        assert spec["layout"]["xaxis"]["title"]["text"] and spec["layout"]["yaxis"]["title"]["text"]

    at.slider(key="cx_sparsity").set_value(50).run()          # a new setting adds its variants
    assert not at.exception
    pareto = json.loads(at.get("plotly_chart")[2].proto.spec)
    assert sum(len(d["x"]) for d in pareto["data"] if not d["name"].startswith("Pareto")) == 8


def test_a_conv_net_gets_int8_convs_in_the_table_and_a_network_without_hidden_layers_has_no_student():
    at = _page().run()
    at.session_state["cx_finetune"] = 0
    _train_here(at, "shapes_cnn")
    at.button(key="cx_quantize").click().run()
    assert not at.exception
    assert any("conv layers get int8 weights only" in c.value for c in at.caption)     # dynamic: convs weight-only
    assert any(r.get("note") == "convs weight-only" for r in _table(at))
    row = next(r for r in _table(at) if r["variant"] == "int8 weights and activations (dynamic)")
    assert int(row["size (zipped)"].split("(")[1].rstrip("%)")) < 45          # measured 37%; 54% with float convs
    at.session_state["pg_spec"] = load_preset("logistic_regression").with_(steps=60)
    at.switch_page("app_pages/playground.py").run()
    at.button(key="pg_train").click().run()
    (pt,) = [t for t in trainer_mod.live_trainers() if t.specs[0].data.name == "breast_cancer"]
    pt.wait(lambda s: s.state in ("done", "paused"), 60)
    at.switch_page("app_pages/compress.py").run()
    at.radio(key="cx_source").set_value("playground").run()
    assert not at.exception
    at.button(key="cx_distil").click().run()
    assert any("no hidden layer" in w.value for w in at.warning)
