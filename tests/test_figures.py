"""The Playground's live figures are built from plain dicts without plotly's validation
(viz.style.figure, ~10x faster). Here every builder's output, in every branch, must pass
plotly's full validation, and keep the titles, axes and traces a reader needs."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import plotly.graph_objects as go
import pytest

from engine.run import Run
from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec
from engine.views import boundary_view, neurons_view
from engine.tasks import TASKS
from viz import playground as vz

L = LayerSpec.make
EVALS = {"step": [0, 10, 20], "epoch": [0, 0.5, 1.0], "train_loss": [0.7, 0.5, 0.3],
         "test_loss": [0.72, 0.55, None], "train_acc": [0.5, 0.7, 0.9], "test_acc": [0.5, 0.6, 0.8],
         "train_r2": [0.0, 0.4, 0.8], "test_r2": [0.0, 0.3, 0.7]}
BATCHES = {"step": [5, 10, 15, 20], "loss": [0.8, 0.6, 0.5, 0.4]}


def validated(fig: go.Figure) -> dict:
    """The figure's JSON, which plotly's full validation must accept (it raises on an unknown or
    bad property) and leave as it is (a named colour scale, say, would be rewritten as a list:
    the browser reads some names differently)."""
    d = fig.to_dict()
    assert go.Figure(d).to_dict() == d
    return d


@pytest.fixture(scope="module")
def views() -> dict:
    r = Run(RunSpec.make(data=DataSpec("xor", 80, 0.0, 0.5, ("x1", "x2", "x1*x2")),
                    layers=(L("linear", units=3), L("tanh"), L("linear", units=1)),
                    optim=OptimSpec("sgd", lr=0.1), batch_size=8, seed=0))
    return {"boundary": boundary_view(r), "neurons": neurons_view(r)}


@pytest.mark.parametrize("x", ["step", "epoch"])
@pytest.mark.parametrize("log", [False, True])
def test_loss_figure(x, log):
    d = validated(vz.loss_figure(EVALS, BATCHES, {"evals": EVALS}, x, log))
    names = [t["name"] for t in d["data"]]
    assert names[:2] == ["previous train", "previous test"] and names[-2:] == ["train loss", "test loss"]
    assert ("batch loss" in names) == (x == "step")
    assert d["data"][-1]["y"] == [0.72, 0.55]                      # the row without a test loss is skipped
    assert d["layout"]["title"]["text"] == "Loss"
    assert d["layout"]["xaxis"]["title"]["text"] == ("training step" if x == "step" else "epoch")
    assert d["layout"]["yaxis"].get("type") == ("log" if log else None)


@pytest.mark.parametrize("metric", ["acc", "r2"])
def test_score_figure(metric):
    score = TASKS["classification" if metric == "acc" else "regression"].score
    assert score.key == metric
    d = validated(vz.score_figure(EVALS, {"evals": EVALS}, "step", score.key, score.name, score.percent))
    assert [t["name"] for t in d["data"]][1:] == ([f"{s} accuracy" for s in ("train", "test")] if metric == "acc"
                                                  else [f"{s} R²" for s in ("train", "test")])
    if metric == "acc":
        assert d["data"][1]["y"] == pytest.approx([50, 70, 90]) and d["layout"]["yaxis"]["range"] == [0, 101]


@pytest.mark.parametrize("kind", ["probability", "regression", "class"])
@pytest.mark.parametrize("show_test,discretize", [(False, False), (True, True)])
def test_boundary_figure(views, kind, show_test, discretize):
    v = replace(views["boundary"], kind=kind)
    if kind == "class":
        v = replace(v, z=(v.z > 0.5).astype(np.float32))
    fig = vz.boundary_figure(v, show_test, discretize)
    d = validated(fig)
    points = d["data"][1:]
    assert fig.data[0].type == "heatmap" and np.asarray(fig.data[0].z).shape == v.z.shape
    assert any(t["name"].startswith("test") for t in points) == show_test
    assert d["layout"]["yaxis"]["scaleanchor"] == "x" and d["layout"]["xaxis"]["range"] == [-v.extent, v.extent]


def test_neurons_figure(views):
    d = validated(vz.neurons_figure(views["neurons"]))
    assert d["layout"]["images"][0]["source"].startswith("data:image/png;base64,")
    assert {t.get("name") for t in d["data"]} >= {"positive weight / output", "negative weight / output"}
    assert any("weight" in str(h) for t in d["data"] for h in (t.get("hovertext") or []))


def test_images_confusion_and_preview():
    imgs = np.random.default_rng(0).random((5, 8, 8))
    d = validated(vz.images_figure(imgs, [0, 1, 2, 1, 0], ["a", "b", "c"], [0, 2, 2, 1, 1], [0.9] * 5))
    assert len(d["layout"]["shapes"]) == 2                         # two wrong predictions framed in red
    d = validated(vz.confusion_figure([[3, 1], [0, 4]], ["no", "yes"]))
    assert d["layout"]["yaxis"]["autorange"] == "reversed" and d["data"][0]["x"] == ["no", "yes"]
    pts = np.random.default_rng(1).normal(size=(20, 2))
    d = validated(vz.scatter_preview(pts, np.arange(20) % 2, pts, np.arange(20) % 2, "classification", 3.0))
    assert [t["name"] for t in d["data"]] == ["train: blue", "train: orange", "test: blue", "test: orange"]
