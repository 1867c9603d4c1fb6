"""Playground figures: pure functions (plain data or the views' records in, go.Figure out).

Loss / accuracy curves, the decision boundary, the TensorFlow-Playground neuron grid, the
test-image grid, the confusion matrix and the data previews.
"""
from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from .style import (BLUE, BLUES, CLASS_COLORS, DIVERGING, LIVE_MARGIN, ORANGE, TEST_COLOR, TRAIN_COLOR,
                    figure, layout)

if TYPE_CHECKING:
    from engine.records import Boundary, Neurons

FADED = "rgba(120,120,120,0.45)"
WRONG = "#d62728"
RIGHT = "#2ca02c"


# ---------------------------------------------------------------- curves
def _xs(cols: dict, x: str) -> list:
    return cols.get(x) or []


def _pairs(cols: dict, x: str, y: str) -> tuple[list, list]:
    """Matching x and y values, skipping rows without a y."""
    xs, ys = _xs(cols, x), cols.get(y) or []
    keep = [(a, b) for a, b in zip(xs, ys) if a is not None and b is not None]
    return [a for a, _ in keep], [b for _, b in keep]


def _line(x: list, y: list, name: str, color: str, width: float = 2.5, dash: str = "solid",
          markers: bool = False) -> dict:
    return {"type": "scatter", "x": x, "y": y, "name": name, "mode": "lines+markers" if markers else "lines",
            "line": {"color": color, "width": width, "dash": dash}}


def loss_figure(evals: dict, batches: dict | None = None, previous: dict | None = None,
                x: str = "step", log: bool = False) -> go.Figure:
    """Train and test loss against steps or epochs; batch losses light; the previous run faded."""
    data = []
    if previous:
        for col, dash in (("train_loss", "dot"), ("test_loss", "dash")):
            px, py = _pairs(previous.get("evals", {}), x, col)
            data.append(_line(px, py, f"previous {col.split('_')[0]}", FADED, 1.5, dash))
    if batches and batches.get("step") and x == "step":
        data.append(_line(batches["step"], batches["loss"], "batch loss", "rgba(31,119,180,0.25)", 1))
    for col, color, label in (("train_loss", TRAIN_COLOR, "train loss"), ("test_loss", TEST_COLOR, "test loss")):
        px, py = _pairs(evals, x, col)
        data.append(_line(px, py, label, color, markers=len(px) < 30))
    return figure(data, layout("Loss", "training step" if x == "step" else "epoch",
                               "loss (log scale)" if log else "loss", yaxis={"type": "log"} if log else None,
                               margin=LIVE_MARGIN))


def score_figure(evals: dict, previous: dict | None, x: str, metric: str, name: str,
                 percent: bool) -> go.Figure:
    """Train and test score (the evaluation columns train_<metric>, test_<metric>: accuracy,
    R², ...) against steps or epochs; a percentage from 0 to 100 when `percent`."""
    scale = 100 if percent else 1
    data = []
    if previous:
        px, py = _pairs(previous.get("evals", {}), x, f"test_{metric}")
        data.append(_line(px, [v * scale for v in py], "previous test", FADED, 1.5, "dash"))
    for split, color in (("train", TRAIN_COLOR), ("test", TEST_COLOR)):
        px, py = _pairs(evals, x, f"{split}_{metric}")
        data.append(_line(px, [v * scale for v in py], f"{split} {name}", color, markers=len(px) < 30))
    return figure(data, layout(name[:1].upper() + name[1:], "training step" if x == "step" else "epoch",
                               f"{name} (%)" if percent else name,
                               yaxis={"range": [0, 101]} if percent else None, margin=LIVE_MARGIN))


# ---------------------------------------------------------------- decision boundary
def _points(pts: np.ndarray, y: np.ndarray, task: str, name: str, outline: str,
            symbol: str = "circle", n_classes: int = 2, size: int = 7) -> list[dict]:
    """Scatter traces of 2-D points: one per class, or one coloured by the target for regression."""
    if pts is None or len(pts) == 0:
        return []
    if task == "regression":
        return [{"type": "scatter", "x": pts[:, 0], "y": pts[:, 1], "mode": "markers", "name": name,
                 "marker": {"color": y, "colorscale": DIVERGING, "cmin": -1, "cmax": 1, "size": size,
                            "symbol": symbol, "line": {"color": outline, "width": 1}},
                 "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}<br>target %{marker.color:.2f}<extra>" + name + "</extra>"}]
    traces = []
    for c in range(max(n_classes, int(y.max()) + 1 if len(y) else 0)):
        m = y == c
        if not m.any():
            continue
        label = ("blue" if c == 0 else "orange") if n_classes == 2 else f"class {c}"
        traces.append({"type": "scatter", "x": pts[m, 0], "y": pts[m, 1], "mode": "markers",
                       "name": f"{name}: {label}",
                       "marker": {"color": CLASS_COLORS[c % len(CLASS_COLORS)], "size": size, "symbol": symbol,
                                  "line": {"color": outline, "width": 1.2}},
                       "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}<extra>" + f"{name}: {label}</extra>"})
    return traces


def _plane_layout(title: str, extent: float, height: int, grid: bool, margin: dict | None = None) -> dict:
    """Square x1/x2 axes over [-extent, extent]."""
    axis = {"range": [-extent, extent], "zeroline": False, **({} if grid else {"showgrid": False})}
    return layout(title, "x1", "x2", height, xaxis={**axis, "constrain": "domain"},
                  yaxis={**axis, "scaleanchor": "x", "scaleratio": 1}, hovermode="closest", margin=margin)


def boundary_figure(view: Boundary, show_test: bool = False, discretize: bool = False,
                    height: int = 440) -> go.Figure:
    """The model's output over the input plane as a heatmap, with the data points on top."""
    kind, axis, z = view.kind, view.axis, np.asarray(view.z)
    task = "regression" if kind == "regression" else "classification"
    n_classes = view.n_classes
    heat = {"type": "heatmap", "x": axis, "y": axis, "opacity": 0.75, "colorscale": DIVERGING,
            "zsmooth": False if discretize else "fast"}
    if kind == "probability":
        heat |= {"z": (z > 0.5).astype(np.float32) if discretize else z, "zmin": 0, "zmax": 1,
                 "colorbar": {"title": {"text": "P(orange)"}, "thickness": 12, "len": 0.8},
                 "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}<br>P(orange) %{z:.2f}<extra></extra>"}
    elif kind == "regression":
        heat |= {"z": np.sign(z) if discretize else z, "zmin": -1, "zmax": 1,
                 "colorbar": {"title": {"text": "prediction"}, "thickness": 12, "len": 0.8},
                 "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}<br>prediction %{z:.2f}<extra></extra>"}
    else:
        k = max(n_classes, 2)
        scale = []
        for c in range(k):
            col = CLASS_COLORS[c % len(CLASS_COLORS)]
            scale += [[c / k, col], [(c + 1) / k, col]]
        heat = {"type": "heatmap", "x": axis, "y": axis, "z": z, "zmin": -0.5, "zmax": k - 0.5, "colorscale": scale,
                "opacity": 0.55, "showscale": False,
                "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}<br>class %{z}<extra></extra>"}
    data = [heat, *_points(view.points_train, np.asarray(view.y_train), task, "train", "white",
                           n_classes=n_classes)]
    if show_test:
        data += _points(view.points_test, np.asarray(view.y_test), task, "test", "black",
                        symbol="diamond", n_classes=n_classes)
    title = "Decision boundary" if task == "classification" else "Regression surface"
    colorbar = heat.get("showscale", True)                              # room for it on the right
    return figure(data, _plane_layout(title, view.extent, height, grid=False,
                                      margin=LIVE_MARGIN | {"r": 110 if colorbar else 10}))


# ---------------------------------------------------------------- neuron grid
def _rgb(values: np.ndarray, vmax: float) -> np.ndarray:
    """Values -> (H, W, 3) uint8 on the blue-white-orange scale, symmetric in [-vmax, vmax]."""
    t = np.clip(values / (vmax or 1.0), -1, 1)[..., None]                     # (H, W, 1)
    white = np.array([255, 255, 255], np.float32)
    blue, orange = np.array([8, 119, 189], np.float32), np.array([245, 147, 34], np.float32)
    rgb = np.where(t < 0, white + (blue - white) * (-t), white + (orange - white) * t)
    return rgb.astype(np.uint8)


def _png_uri(rgba: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


EDIT_Y = 1.25                      # the diagram's row of edit buttons, above the column titles (data units)


def neurons_figure(view: Neurons, height: int | None = None, editable: bool = False,
                   picked: tuple | None = None) -> go.Figure:
    """TensorFlow Playground's picture: a column per layer, a small heatmap per neuron of what
    it outputs over the plane, and the weights between them as lines (colour = sign,
    thickness = size). All heatmaps are drawn into one image and the lines are grouped into
    a few traces, so the figure stays cheap to build at every refresh.

    `editable`: a row of buttons above the columns (− / + a neuron and ✕ the layer over each
    hidden column, ⊕ a layer in each gap) and every neuron and weight clickable; each point's
    customdata says what it is (ui/diagram.py): ("neuron+", block), ("layer+", gap),
    ("neuron", column, unit), ("weight", block, out, in). `picked` (one of those) is ringed."""
    cols, weights = view.columns, view.weights
    n_rows = max(len(c.maps) for c in cols)
    box, pitch, col_gap, px = 0.8, 1.05, 2.2, 40       # neuron size, row pitch, column pitch (data units); pixels per unit
    xs = [i * col_gap for i in range(len(cols))]

    def centre(ci: int, u: int) -> tuple[float, float]:
        top = (n_rows - len(cols[ci].maps)) * pitch / 2
        return xs[ci], -(top + u * pitch + box / 2)

    data = []
    # weights: lines bucketed by sign and thickness -> at most 2 x 6 traces
    wmax = max((float(np.abs(w).max()) for w in weights if w.size), default=1.0) or 1.0
    buckets: dict[tuple[bool, int], tuple[list, list]] = {}
    hx, hy, htxt, hcd = [], [], [], []
    for li, w in enumerate(weights):                                     # w: (out, in)
        for o in range(w.shape[0]):
            for i in range(w.shape[1]):
                (x0, y0), (x1, y1) = centre(li, i), centre(li + 1, o)
                v = float(w[o, i])
                bx, by = buckets.setdefault((v > 0, min(5, int(6 * abs(v) / wmax))), ([], []))
                bx += [x0 + box / 2, x1 - box / 2, None]
                by += [y0, y1, None]
                hx.append((x0 + x1) / 2)
                hy.append((y0 + y1) / 2)
                htxt.append(f"{cols[li].labels[i]} → {cols[li + 1].labels[o]}: weight {v:+.3f}"
                            + (" (click to set it)" if editable else ""))
                hcd.append(["weight", li, o, i])
    for (positive, level), (bx, by) in sorted(buckets.items()):
        data.append({"type": "scatter", "x": bx, "y": by, "mode": "lines", "hoverinfo": "skip", "showlegend": False,
                     "line": {"color": ORANGE if positive else BLUE, "width": 0.6 + 1.1 * level}})
    data.append({"type": "scatter", "x": hx, "y": hy, "mode": "markers", "hovertext": htxt, "hoverinfo": "text",
                 "customdata": hcd, "marker": {"size": 7, "color": "rgba(0,0,0,0)"}, "showlegend": False})
    # neurons: every map drawn into one transparent canvas
    left, right, bottom = xs[0] - box / 2, xs[-1] + box / 2, -n_rows * pitch
    canvas = np.zeros((round(-bottom * px), round((right - left) * px), 4), np.uint8)   # (H, W, RGBA)
    size = round(box * px)
    nx, ny, ntxt, ncd, notes = [], [], [], [], []
    for ci, col in enumerate(cols):
        maps = np.asarray(col.maps)                                      # (units, G, G), row = x2 upwards
        for u, m in enumerate(maps):
            cx, cy = centre(ci, u)
            tile = Image.fromarray(_rgb(m[::-1], float(np.abs(m).max()) or 1.0)).resize((size, size), Image.BILINEAR)
            r0, c0 = round(-(cy + box / 2) * px), round((cx - box / 2 - left) * px)
            canvas[r0:r0 + size, c0:c0 + size, :3] = np.asarray(tile)
            canvas[r0:r0 + size, c0:c0 + size, 3] = 255
            for edge in (np.s_[r0, c0:c0 + size], np.s_[r0 + size - 1, c0:c0 + size],
                         np.s_[r0:r0 + size, c0], np.s_[r0:r0 + size, c0 + size - 1]):
                canvas[edge] = (85, 85, 85, 255)
            if ci == 0:
                notes.append(dict(x=cx - box / 2 - 0.08, y=cy, text=col.labels[u], showarrow=False,
                                  xanchor="right", font=dict(size=11)))
            nx.append(cx)
            ny.append(cy)
            ntxt.append(f"{col.labels[u]}: output from {m.min():+.2f} to {m.max():+.2f}"
                        + (" (click to see it large)" if editable else ""))
            ncd.append(["neuron", ci, u])
        notes.append(dict(x=xs[ci], y=0.1, text=f"<b>{col.name}</b><br>{len(maps)} "
                          f"{'feature' if ci == 0 else 'neuron'}{'s' if len(maps) != 1 else ''}",
                          showarrow=False, yanchor="bottom", font=dict(size=12)))
    data.append({"type": "scatter", "x": nx, "y": ny, "mode": "markers", "hovertext": ntxt, "hoverinfo": "text",
                 "customdata": ncd, "marker": {"size": 26, "color": "rgba(0,0,0,0)", "symbol": "square"},
                 "showlegend": False})
    if editable:
        data.append(_edit_buttons(view, xs))
    if picked and picked[0] == "neuron":
        px_, py_ = centre(picked[1], picked[2])
        data.append({"type": "scatter", "x": [px_], "y": [py_], "mode": "markers", "hoverinfo": "skip",
                     "showlegend": False, "marker": {"size": 34, "symbol": "square-open", "color": "#222",
                                                     "line": {"width": 2.5}}})
    elif picked and picked[0] == "weight":
        _, li, o, i = picked
        (x0, y0), (x1, y1) = centre(li, i), centre(li + 1, o)
        data.append({"type": "scatter", "x": [x0 + box / 2, x1 - box / 2], "y": [y0, y1], "mode": "lines",
                     "hoverinfo": "skip", "showlegend": False, "line": {"color": "#222", "width": 5}})
    for color, label in ((ORANGE, "positive weight / output"), (BLUE, "negative weight / output")):
        data.append(_line([None], [None], label, color, 4))
    image = {"source": _png_uri(canvas), "xref": "x", "yref": "y", "x": left, "y": 0, "sizex": right - left,
             "sizey": -bottom, "sizing": "stretch", "layer": "above"}
    return figure(data, layout("What every neuron computes", "", "",
                               height or int(max(260, 110 + n_rows * 60) + (30 if editable else 0)),
                               xaxis={"visible": False, "range": [left - 0.9, right + 0.3]},
                               yaxis={"visible": False, "range": [bottom - 0.1, EDIT_Y + 0.45 if editable else 0.9],
                                      "scaleanchor": "x", "scaleratio": 1},
                               hovermode="closest", plot_bgcolor="white", annotations=notes, images=[image]))


def neuron_figure(view: Neurons, column: int, unit: int, points: np.ndarray | None, y: np.ndarray | None,
                  task: str, n_classes: int = 2, height: int = 340) -> go.Figure:
    """One neuron of the diagram large: its output over the plane, the training points on top."""
    col = view.columns[column]
    z = np.asarray(col.maps[unit])
    vmax = float(np.abs(z).max()) or 1.0
    heat = {"type": "heatmap", "x": view.axis, "y": view.axis, "z": z, "zmin": -vmax, "zmax": vmax,
            "colorscale": DIVERGING, "opacity": 0.8, "zsmooth": "fast",
            "colorbar": {"title": {"text": "output"}, "thickness": 12, "len": 0.8},
            "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}<br>output %{z:.3f}<extra></extra>"}
    data = [heat, *_points(points, y, task, "train", "white", n_classes=n_classes, size=5)] if points is not None \
        else [heat]
    return figure(data, _plane_layout(f"{col.labels[unit]} ({col.name}): its output over the plane", view.extent,
                                      height, grid=False, margin=LIVE_MARGIN | {"r": 100}))


def _edit_buttons(view: Neurons, xs: list[float]) -> dict:
    """The diagram's buttons: − / + a neuron and ✕ the layer over each hidden column, ⊕ a new
    hidden layer in each gap between columns."""
    bx, by, text, tips, cd = [], [], [], [], []
    hidden = len(view.columns) - 2
    for b in range(hidden):
        x, name = xs[b + 1], view.columns[b + 1].name
        for dx, sym, action, tip in ((-0.45, "−", "neuron-", f"one neuron fewer in {name}"),
                                     (0.0, "+", "neuron+", f"one more neuron in {name}"),
                                     (0.45, "✕", "layer-", f"remove {name}")):
            bx.append(x + dx), by.append(EDIT_Y), text.append(sym), tips.append(tip), cd.append([action, b])
    for g in range(len(view.columns) - 1):
        bx.append((xs[g] + xs[g + 1]) / 2), by.append(EDIT_Y), text.append("⊕")
        tips.append("add a hidden layer here"), cd.append(["layer+", g])
    return {"type": "scatter", "x": bx, "y": by, "mode": "markers+text", "text": text, "customdata": cd,
            "hovertext": tips, "hoverinfo": "text", "textfont": {"size": 15, "color": "#333"},
            "textposition": "middle center", "showlegend": False, "name": "edit",
            "marker": {"size": 22, "color": "#f0f2f6", "line": {"color": "#9aa0a6", "width": 1}}}


# ---------------------------------------------------------------- images
def images_figure(images: np.ndarray, true: Sequence[int], class_names: Sequence[str],
                  pred: Sequence[int] | None = None, confidence: Sequence[float] | None = None,
                  title: str = "Test images: prediction (true label)", per_row: int = 8,
                  row_px: int | None = None) -> go.Figure:
    """A grid of images (K, H, W) or (K, H, W, 3) in [0, 1], drawn as one picture; with
    predictions each caption says 'prediction confidence (true)', wrong ones in red with a red frame."""
    imgs = (np.asarray(images) * 255).astype(np.uint8)
    if imgs.ndim == 3:
        imgs = np.repeat(imgs[..., None], 3, axis=3)                      # (K, H, W, 3)
    k, h, w = imgs.shape[:3]
    rows = max(1, math.ceil(k / per_row))
    gap, cap = max(2, w // 7), max(10, h // 2)                        # pixels between tiles, caption band
    sheet = np.full((rows * (h + cap + gap), per_row * (w + gap), 3), 255, np.uint8)
    name = lambda c: class_names[c] if 0 <= c < len(class_names) else str(c)
    notes, frames = [], []
    for i in range(k):
        r, c = divmod(i, per_row)
        y0, x0 = r * (h + cap + gap) + cap, c * (w + gap)
        sheet[y0:y0 + h, x0:x0 + w] = imgs[i]
        if pred is None:
            text, color = name(true[i]), "#333"
        else:
            ok = pred[i] == true[i]
            conf = f" {confidence[i]:.0%}" if confidence is not None else ""
            text, color = f"{'✓' if ok else '✗'} {name(pred[i])}{conf} ({name(true[i])})", RIGHT if ok else WRONG
            if not ok:
                frames.append(dict(type="rect", x0=x0 - 0.5, y0=y0 - 0.5, x1=x0 + w - 0.5, y1=y0 + h - 0.5,
                                   line=dict(color=WRONG, width=3)))
        notes.append(dict(x=x0 + w / 2, y=y0 - 1, text=text, showarrow=False, yanchor="bottom",
                          font=dict(size=11, color=color)))
    px_h = row_px or (150 if per_row <= 4 else 75)                      # screen pixels per row of tiles
    return figure([{"type": "image", "z": sheet, "hoverinfo": "skip"}],
                  layout(title, "", "", rows * px_h + 70, xaxis={"visible": False}, yaxis={"visible": False},
                         showlegend=False, annotations=notes, shapes=frames))


# ---------------------------------------------------------------- confusion matrix
def confusion_figure(cm: Sequence[Sequence[int]], class_names: Sequence[str]) -> go.Figure:
    """Rows = true class, columns = predicted class; the diagonal is what the model gets right."""
    cm = np.asarray(cm)
    names = [str(n) for n in class_names][:len(cm)]
    heat = {"type": "heatmap", "z": cm, "x": names, "y": names, "colorscale": BLUES, "showscale": False,
            "text": cm, "texttemplate": "%{text}",
            "hovertemplate": "true %{y}, predicted %{x}: %{z} examples<extra></extra>"}
    return figure([heat], layout("Confusion matrix (test set)", "predicted class", "true class",
                                 max(260, 60 + 32 * len(names)), xaxis={"type": "category", "side": "bottom"},
                                 yaxis={"autorange": "reversed", "type": "category"}, hovermode="closest"))


# ---------------------------------------------------------------- data previews
def scatter_preview(points_train: np.ndarray, y_train: np.ndarray, points_test: np.ndarray | None,
                    y_test: np.ndarray | None, task: str, extent: float, n_classes: int = 2) -> go.Figure:
    """The 2-D data set: train points filled, test points as diamonds with a dark outline."""
    data = _points(points_train, np.asarray(y_train).reshape(-1), task, "train", "white", n_classes=n_classes, size=6)
    if points_test is not None:
        data += _points(points_test, np.asarray(y_test).reshape(-1), task, "test", "#333",
                        symbol="diamond", n_classes=n_classes, size=6)
    return figure(data, _plane_layout("The data", extent, 330, grid=True))
