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


def _png_pixels(uri: str) -> np.ndarray:
    """(H, W, 3) pixels of an 8-bit RGB PNG data URI (filter 0 rows, as viz.style writes it)."""
    import base64
    import struct
    import zlib
    raw = base64.b64decode(uri.split(",", 1)[1])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", raw[16:24])
    idat, i = b"", 8
    while i < len(raw):
        n = struct.unpack(">I", raw[i:i + 4])[0]
        if raw[i + 4:i + 8] == b"IDAT":
            idat += raw[i + 8:i + 8 + n]
        i += 12 + n
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 3 * w)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, 3)


def test_the_loss_surface_stays_drawn_while_the_paths_play_and_marks_what_it_says():
    """Issue 21.6: plotly.js drops a contour trace while it plays frames; the same contour is a
    picture under the plot, brighter where the loss is low. The saddle surface marks both of its
    minima and its saddle point, over the paths (a path ending on a minimum hid its star)."""
    from engine import surfaces
    from viz import arena as va
    surf = surfaces.get_surface("saddle")
    xs, ys, z = surfaces.grid(surf, 61)
    p = surfaces.optimizer_path(surf, OptimSpec("adam", lr=0.05), surf.start, 60)
    fig = va.surface_figure(xs, ys, z, [va.PathData("Adam", "#d62728", 0, p.xy, p.values)], title="t",
                            minima=surf.minima, start=surf.start, saddles=surf.saddles)
    d = validated(fig)
    (img,) = d["layout"]["images"]
    assert img["layer"] == "below" and (img["x"], img["y"]) == (xs[0], ys[-1])
    assert (img["sizex"], img["sizey"]) == (xs[-1] - xs[0], ys[-1] - ys[0])
    px = _png_pixels(img["source"]).astype(int).sum(-1)       # brightness; row 0 is the top (y = 2.5)
    h, w = px.shape

    def at(x: float, y: float) -> float:                       # mean brightness around (x, y), over any level line
        r, c = round((ys[-1] - y) / (ys[-1] - ys[0]) * (h - 1)), round((x - xs[0]) / (xs[-1] - xs[0]) * (w - 1))
        return float(px[max(r - 4, 0):r + 5, max(c - 4, 0):c + 5].mean())
    assert at(0.0, 1.41) > at(0.0, 0.0) > at(2.3, 0.0) > at(2.4, 2.4)   # f = -1 < 0 < 5.3 < 8.9
    names = [t.get("name") for t in d["data"]]
    minima, saddle = names.index("minima"), names.index("saddle point (not a minimum)")
    assert sorted(map(tuple, zip(d["data"][minima]["x"], d["data"][minima]["y"]))) == sorted(surf.minima)
    assert (list(d["data"][saddle]["x"]), list(d["data"][saddle]["y"])) == ([0.0], [0.0])
    moving = d["frames"][0]["traces"]
    assert max(moving) < min(minima, saddle)                  # drawn after (over) the moving paths
    assert all(max(f["traces"]) < len(d["data"]) and len(f["data"]) == len(f["traces"]) for f in d["frames"])
    one = va.surface_figure(xs, ys, z, [], title="t", minima=((0.0, 1.0),))
    assert [t.name for t in one.data if t.name in ("minimum", "minima")] == ["minimum"]


def test_digits_are_white_ink_on_black_on_every_page():
    """Issue 21.9: Inside drew digits black on white, the Playground and the convolution lab white
    on black. One convention: the data's, bright = ink."""
    from engine.probes.records import Example
    from viz import conv_lab, inside
    digit = np.zeros((1, 8, 8), np.float32)
    digit[0, 2:6, 3:5] = 1.0                                                # a bright stroke
    ex = Example(index=0, mode="index", found=True, n_test=1, input=digit, feature_names=())
    heat = validated(inside.input_figure(ex))["data"][0]
    scale = heat["colorscale"]
    assert scale[0][1] == "#000000" and scale[-1][1] == "#ffffff"          # low = black, high (ink) = white
    gray = validated(conv_lab.grid_figure(digit[0], "t", gray=True))["data"][0]["colorscale"]
    assert gray == scale
    sheet = np.asarray(vz.images_figure(digit, [1], ["0", "1"]).data[0].z)
    tile = sheet[10:18, :8, 0]                                              # the digit, under its 10-pixel caption
    assert (tile[2:6, 3:5] == 255).all() and tile[0, 0] == 0                # ink white, background black
