"""Playground figures: pure functions (plain data in, go.Figure out).

Loss / accuracy curves, the decision boundary, the TensorFlow-Playground neuron grid, the
test-image grid, the confusion matrix and the data previews.
"""
from __future__ import annotations

import base64
import io
import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from .style import (BLUE, CLASS_COLORS, DIVERGING, ORANGE, TEST_COLOR, TRAIN_COLOR,
                    base_layout)

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


def loss_figure(evals: dict, batches: dict | None = None, previous: dict | None = None,
                x: str = "step", log: bool = False) -> go.Figure:
    """Train and test loss against steps or epochs; batch losses light; the previous run faded."""
    fig = go.Figure()
    if previous:
        for col, dash in (("train_loss", "dot"), ("test_loss", "dash")):
            px, py = _pairs(previous.get("evals", {}), x, col)
            fig.add_trace(go.Scatter(x=px, y=py, mode="lines", name=f"previous {col.split('_')[0]}",
                                     line=dict(color=FADED, dash=dash, width=1.5)))
    if batches and batches.get("step") and x == "step":
        fig.add_trace(go.Scatter(x=batches["step"], y=batches["loss"], mode="lines", name="batch loss",
                                 line=dict(color="rgba(31,119,180,0.25)", width=1)))
    for col, color, label in (("train_loss", TRAIN_COLOR, "train loss"), ("test_loss", TEST_COLOR, "test loss")):
        px, py = _pairs(evals, x, col)
        fig.add_trace(go.Scatter(x=px, y=py, mode="lines+markers" if len(px) < 30 else "lines",
                                 name=label, line=dict(color=color, width=2.5)))
    base_layout(fig, "Loss", "training step" if x == "step" else "epoch", "loss (log scale)" if log else "loss")
    if log:
        fig.update_yaxes(type="log")
    return fig


def accuracy_figure(evals: dict, previous: dict | None = None, x: str = "step",
                    metric: str = "acc") -> go.Figure:
    """Train and test accuracy (or R² for regression) in percent against steps or epochs."""
    fig = go.Figure()
    scale = 100 if metric == "acc" else 1
    name = "accuracy" if metric == "acc" else "R²"
    if previous:
        px, py = _pairs(previous.get("evals", {}), x, f"test_{metric}")
        fig.add_trace(go.Scatter(x=px, y=[v * scale for v in py], mode="lines", name=f"previous test",
                                 line=dict(color=FADED, dash="dash", width=1.5)))
    for split, color in (("train", TRAIN_COLOR), ("test", TEST_COLOR)):
        px, py = _pairs(evals, x, f"{split}_{metric}")
        fig.add_trace(go.Scatter(x=px, y=[v * scale for v in py], mode="lines+markers" if len(px) < 30 else "lines",
                                 name=f"{split} {name}", line=dict(color=color, width=2.5)))
    base_layout(fig, name.capitalize() if metric == "acc" else "R² (1 = perfect fit)",
                "training step" if x == "step" else "epoch", f"{name} (%)" if metric == "acc" else name)
    if metric == "acc":
        fig.update_yaxes(range=[0, 101])
    return fig


# ---------------------------------------------------------------- decision boundary
def _points(fig: go.Figure, pts: np.ndarray, y: np.ndarray, task: str, name: str, outline: str,
            symbol: str = "circle", n_classes: int = 2, size: int = 7) -> None:
    if pts is None or len(pts) == 0:
        return
    if task == "regression":
        fig.add_trace(go.Scatter(
            x=pts[:, 0], y=pts[:, 1], mode="markers", name=name,
            marker=dict(color=y, colorscale=DIVERGING, cmin=-1, cmax=1, size=size, symbol=symbol,
                        line=dict(color=outline, width=1)),
            hovertemplate="x1 %{x:.2f}, x2 %{y:.2f}<br>target %{marker.color:.2f}<extra>" + name + "</extra>"))
        return
    for c in range(max(n_classes, int(y.max()) + 1 if len(y) else 0)):
        m = y == c
        if not m.any():
            continue
        label = ("blue" if c == 0 else "orange") if n_classes == 2 else f"class {c}"
        fig.add_trace(go.Scatter(
            x=pts[m, 0], y=pts[m, 1], mode="markers", name=f"{name}: {label}",
            marker=dict(color=CLASS_COLORS[c % len(CLASS_COLORS)], size=size, symbol=symbol,
                        line=dict(color=outline, width=1.2)),
            hovertemplate="x1 %{x:.2f}, x2 %{y:.2f}<extra>" + f"{name}: {label}</extra>"))


def boundary_figure(view: dict, show_test: bool = False, discretize: bool = False,
                    height: int = 440) -> go.Figure:
    """The model's output over the input plane as a heatmap, with the data points on top."""
    kind, axis, z = view["kind"], view["axis"], np.asarray(view["z"])
    task = "regression" if kind == "regression" else "classification"
    n_classes = view.get("n_classes", 2)
    fig = go.Figure()
    if kind == "probability":
        zz = (z > 0.5).astype(np.float32) if discretize else z
        fig.add_trace(go.Heatmap(x=axis, y=axis, z=zz, zmin=0, zmax=1, colorscale=DIVERGING, opacity=0.75,
                                 zsmooth=False if discretize else "best",
                                 colorbar=dict(title="P(orange)", thickness=12, len=0.8),
                                 hovertemplate="x1 %{x:.2f}, x2 %{y:.2f}<br>P(orange) %{z:.2f}<extra></extra>"))
    elif kind == "regression":
        zz = np.sign(z) if discretize else z
        fig.add_trace(go.Heatmap(x=axis, y=axis, z=zz, zmin=-1, zmax=1, colorscale=DIVERGING, opacity=0.75,
                                 zsmooth=False if discretize else "best",
                                 colorbar=dict(title="prediction", thickness=12, len=0.8),
                                 hovertemplate="x1 %{x:.2f}, x2 %{y:.2f}<br>prediction %{z:.2f}<extra></extra>"))
    else:
        k = max(n_classes, 2)
        scale = []
        for c in range(k):
            col = CLASS_COLORS[c % len(CLASS_COLORS)]
            scale += [[c / k, col], [(c + 1) / k, col]]
        fig.add_trace(go.Heatmap(x=axis, y=axis, z=z, zmin=-0.5, zmax=k - 0.5, colorscale=scale, opacity=0.55,
                                 showscale=False,
                                 hovertemplate="x1 %{x:.2f}, x2 %{y:.2f}<br>class %{z}<extra></extra>"))
    _points(fig, view["points_train"], np.asarray(view["y_train"]), task, "train", "white", n_classes=n_classes)
    if show_test:
        _points(fig, view["points_test"], np.asarray(view["y_test"]), task, "test", "black",
                symbol="diamond", n_classes=n_classes)
    e = view["extent"]
    title = "Decision boundary" if task == "classification" else "Regression surface"
    base_layout(fig, title, "x1", "x2", height=height)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(range=[-e, e], constrain="domain", showgrid=False, zeroline=False)
    fig.update_yaxes(range=[-e, e], scaleanchor="x", scaleratio=1, showgrid=False, zeroline=False)
    return fig


# ---------------------------------------------------------------- neuron grid
def _rgb(values: np.ndarray, vmax: float) -> np.ndarray:
    """Values -> (H, W, 3) uint8 on the blue-white-orange scale, symmetric in [-vmax, vmax]."""
    t = np.clip(values / (vmax or 1.0), -1, 1)[..., None]                     # (H, W, 1)
    white = np.array([255, 255, 255], np.float32)
    blue, orange = np.array([8, 119, 189], np.float32), np.array([245, 147, 34], np.float32)
    rgb = np.where(t < 0, white + (blue - white) * (-t), white + (orange - white) * t)
    return rgb.astype(np.uint8)


def _png_uri(rgb: np.ndarray, scale: int = 3) -> str:
    img = Image.fromarray(rgb[::-1]).resize((rgb.shape[1] * scale, rgb.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def neurons_figure(view: dict, height: int | None = None) -> go.Figure:
    """TensorFlow Playground's picture: a column per layer, a small heatmap per neuron of what
    it outputs over the plane, and the weights between them as lines (colour = sign,
    thickness = size)."""
    cols = view["columns"]
    weights = view["weights"]
    n_rows = max(len(c["maps"]) for c in cols)
    box, gap_y = 0.8, 0.25                      # neuron box size and vertical gap (data units)
    pitch = box + gap_y
    xs = [i * 2.2 for i in range(len(cols))]    # column centres
    fig = go.Figure()

    def centre(ci: int, u: int) -> tuple[float, float]:
        n = len(cols[ci]["maps"])
        top = (n_rows - n) * pitch / 2
        return xs[ci], -(top + u * pitch + box / 2)

    # weights first, so the neuron images sit on top of the lines
    wmax = max((float(np.abs(w).max()) for w in weights if w.size), default=1.0) or 1.0
    hx, hy, htxt = [], [], []
    for li, w in enumerate(weights):                                  # w: (out, in)
        for o in range(w.shape[0]):
            for i in range(w.shape[1]):
                (x0, y0), (x1, y1) = centre(li, i), centre(li + 1, o)
                v = float(w[o, i])
                fig.add_shape(type="line", x0=x0 + box / 2, y0=y0, x1=x1 - box / 2, y1=y1, layer="below",
                              line=dict(color=ORANGE if v > 0 else BLUE, width=0.5 + 5 * abs(v) / wmax))
                hx.append((x0 + x1) / 2)
                hy.append((y0 + y1) / 2)
                htxt.append(f"{cols[li]['labels'][i]} → {cols[li + 1]['labels'][o]}: weight {v:+.3f}")
    fig.add_trace(go.Scatter(x=hx, y=hy, mode="markers", marker=dict(size=6, color="rgba(0,0,0,0)"),
                             hovertext=htxt, hoverinfo="text", name="weights", showlegend=False))
    nx, ny, ntxt = [], [], []
    for ci, col in enumerate(cols):
        maps = np.asarray(col["maps"])                                     # (units, G, G)
        for u, m in enumerate(maps):
            cx, cy = centre(ci, u)
            vmax = float(np.abs(m).max()) or 1.0
            fig.add_layout_image(source=_png_uri(_rgb(m, vmax)), xref="x", yref="y",
                                 x=cx - box / 2, y=cy + box / 2, sizex=box, sizey=box,
                                 sizing="stretch", layer="above")
            fig.add_shape(type="rect", x0=cx - box / 2, y0=cy - box / 2, x1=cx + box / 2, y1=cy + box / 2,
                          line=dict(color="#555", width=1))
            nx.append(cx)
            ny.append(cy)
            ntxt.append(f"{col['labels'][u]}: output from {m.min():+.2f} to {m.max():+.2f}")
        fig.add_annotation(x=xs[ci], y=0.35, text=f"<b>{col['name']}</b><br>{len(maps)} "
                           f"{'feature' if ci == 0 else 'neuron'}{'s' if len(maps) != 1 else ''}",
                           showarrow=False, yanchor="bottom", font=dict(size=12))
    fig.add_trace(go.Scatter(x=nx, y=ny, mode="markers", marker=dict(size=28, color="rgba(0,0,0,0)", symbol="square"),
                             hovertext=ntxt, hoverinfo="text", name="neurons", showlegend=False))
    # legend entries for the weight colours
    for color, label in ((ORANGE, "positive weight / output"), (BLUE, "negative weight / output")):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=color, width=4), name=label))
    height = height or int(max(260, 95 + n_rows * 62))
    base_layout(fig, "What every neuron computes", "", "", height=height)
    fig.update_layout(hovermode="closest", plot_bgcolor="white")
    fig.update_xaxes(visible=False, range=[xs[0] - 1, xs[-1] + 1])
    fig.update_yaxes(visible=False, range=[-(n_rows * pitch) - 0.1, 1.1], scaleanchor="x", scaleratio=1)
    return fig


# ---------------------------------------------------------------- images
def images_figure(images: np.ndarray, true: Sequence[int], class_names: Sequence[str],
                  pred: Sequence[int] | None = None, confidence: Sequence[float] | None = None,
                  title: str = "Test images: prediction (true label)", per_row: int = 8) -> go.Figure:
    """A grid of images (K, H, W) or (K, H, W, 3) in [0, 1]; with predictions, the title says
    'pred (true)' and wrong ones are red with a red frame."""
    k = len(images)
    rows = max(1, math.ceil(k / per_row))
    names = [class_names[t] if t < len(class_names) else str(t) for t in true]
    titles = []
    for i in range(k):
        if pred is None:
            titles.append(names[i])
        else:
            p = class_names[pred[i]] if pred[i] < len(class_names) else str(pred[i])
            ok = pred[i] == true[i]
            conf = f" {confidence[i]:.0%}" if confidence is not None else ""
            color = RIGHT if ok else WRONG
            titles.append(f"<span style='color:{color}'>{'✓' if ok else '✗'} {p}{conf}<br>({names[i]})</span>")
    fig = make_subplots(rows=rows, cols=per_row, subplot_titles=titles, horizontal_spacing=0.01,
                        vertical_spacing=0.12 if pred is not None else 0.08)
    for i, img in enumerate(images):
        r, c = i // per_row + 1, i % per_row + 1
        img = np.asarray(img)
        if img.ndim == 3:
            fig.add_trace(go.Image(z=(img * 255).astype(np.uint8), hoverinfo="skip"), row=r, col=c)
        else:
            fig.add_trace(go.Heatmap(z=img[::-1], colorscale="Greys", reversescale=True, zmin=0, zmax=1,
                                     showscale=False, hoverinfo="skip"), row=r, col=c)
        if pred is not None and pred[i] != true[i]:
            fig.add_shape(type="rect", xref="x domain", yref="y domain", x0=0, y0=0, x1=1, y1=1,
                          line=dict(color=WRONG, width=3), row=r, col=c)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_annotations(font_size=11)
    h = rows * (150 if pred is not None else 120) + 60
    fig.update_layout(title=dict(text=title, x=0, xanchor="left"), height=h, margin=dict(l=10, r=10, t=70, b=10),
                      template="plotly_white", showlegend=False)
    return fig


# ---------------------------------------------------------------- confusion matrix
def confusion_figure(cm: Sequence[Sequence[int]], class_names: Sequence[str]) -> go.Figure:
    """Rows = true class, columns = predicted class; the diagonal is what the model gets right."""
    cm = np.asarray(cm)
    names = [str(n) for n in class_names][:len(cm)]
    fig = go.Figure(go.Heatmap(
        z=cm, x=names, y=names, colorscale="Blues", showscale=False, text=cm, texttemplate="%{text}",
        hovertemplate="true %{y}, predicted %{x}: %{z} examples<extra></extra>"))
    base_layout(fig, "Confusion matrix (test set)", "predicted class", "true class",
                height=max(260, 60 + 32 * len(names)))
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    return fig


# ---------------------------------------------------------------- data previews
def scatter_preview(points_train: np.ndarray, y_train: np.ndarray, points_test: np.ndarray | None,
                    y_test: np.ndarray | None, task: str, extent: float, n_classes: int = 2) -> go.Figure:
    """The 2-D data set: train points filled, test points as diamonds with a dark outline."""
    fig = go.Figure()
    _points(fig, points_train, np.asarray(y_train).reshape(-1), task, "train", "white", n_classes=n_classes, size=6)
    if points_test is not None:
        _points(fig, points_test, np.asarray(y_test).reshape(-1), task, "test", "#333",
                symbol="diamond", n_classes=n_classes, size=6)
    base_layout(fig, "The data", "x1", "x2", height=330)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(range=[-extent, extent], constrain="domain", zeroline=False)
    fig.update_yaxes(range=[-extent, extent], scaleanchor="x", scaleratio=1, zeroline=False)
    return fig
