"""Figures of the Autoencoders page (pure: records and metric columns in, plotly figures out).
Digits are drawn as the data holds them (white ink on black); classes in the shared palette."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from engine.records import AeLatent, AeReconstructions, AeTraversal
from viz.playground import images_figure
from viz.style import CLASS_COLORS, GRAY, LIVE_MARGIN, TEST_COLOR, TRAIN_COLOR, figure, layout

BASELINE = "#7f7f7f"              # the numbers to beat, dashed
KL_COLOR = "#9467bd"
CHOSEN = "#000000"                # the chosen point: black, no class has it
PICK = 25                         # the plane's invisible click targets: PICK x PICK points


def _xs(cols: dict, key: str) -> tuple[list, list]:
    keep = [(s, v) for s, v in zip(cols.get("step") or [], cols.get(key) or []) if v is not None]
    return [s for s, _ in keep], [v for _, v in keep]


def _line(cols: dict, key: str, name: str, color: str, dash: str = "solid", fmt: str = ".1f") -> dict:
    x, y = _xs(cols, key)
    return {"type": "scatter", "x": x, "y": y, "name": name, "mode": "lines+markers" if len(x) < 30 else "lines",
            "line": {"color": color, "width": 2.5 if dash == "solid" else 1.5, "dash": dash},
            "hovertemplate": f"{name}: %{{y:{fmt}}}<extra></extra>"}


def losses_figure(evals: dict) -> go.Figure:
    """Reconstruction loss on training and test examples over steps, the mean image's loss as the
    bar to beat, and a VAE's KL term."""
    data = [_line(evals, "train_recon_loss", "train reconstruction", TRAIN_COLOR),
            _line(evals, "test_recon_loss", "test reconstruction", TEST_COLOR),
            _line(evals, "mean_loss", "predict the mean image", BASELINE, "dash")]
    if evals.get("test_kl"):
        data.append(_line(evals, "test_kl", "test KL (VAE)", KL_COLOR, "dot"))
    return figure(data, layout("Reconstruction loss", "training step", "loss per image (log scale)",
                               yaxis={"type": "log"}, margin=LIVE_MARGIN))


def knn_figure(evals: dict) -> go.Figure:
    """k-nearest-neighbour accuracy of the test codes over steps, beside PCA's at the same size."""
    x, y = _xs(evals, "knn_acc")
    data = [{"type": "scatter", "x": x, "y": [100 * v for v in y], "name": "autoencoder's codes",
             "mode": "lines+markers" if len(x) < 30 else "lines", "line": {"color": TEST_COLOR, "width": 2.5},
             "hovertemplate": "codes: %{y:.1f}%<extra></extra>"}]
    px, py = _xs(evals, "pca_knn_acc")
    if py:
        data.append({"type": "scatter", "x": px, "y": [100 * v for v in py], "name": "PCA of the pixels, same size",
                     "mode": "lines", "line": {"color": BASELINE, "width": 1.5, "dash": "dash"},
                     "hovertemplate": "PCA: %{y:.1f}%<extra></extra>"})
    return figure(data, layout("How well the codes sort the classes (5-NN accuracy)", "training step",
                               "test accuracy (%)", yaxis={"range": [0, 101]}, margin=LIVE_MARGIN))


def reconstructions_figure(rec: AeReconstructions) -> go.Figure:
    """Inputs on the top row, what the autoencoder rebuilds of each under it."""
    k = len(rec.inputs)
    names = [label or f"#{i + 1}" for i, label in enumerate(rec.labels)] + [f"{loss:.0f}" for loss in rec.losses]
    return images_figure(np.concatenate([rec.inputs, rec.outputs]), list(range(2 * k)), names, per_row=k,
                         row_px=120, title=f"Test images and their reconstructions, step {rec.step:,}")


def latent_figure(rec: AeLatent, chosen: tuple[float, float] | None = None, height: int = 520) -> go.Figure:
    """Every test example as a dot at its code, coloured by class; an invisible grid of points
    makes every place of the plane clickable; the chosen point as a red cross."""
    ax = _axis_titles(rec)
    data: list[dict] = []
    lo, hi = rec.points.min(0), rec.points.max(0)
    pad = 0.05 * np.maximum(hi - lo, 1e-3)
    u = np.linspace(lo[0] - pad[0], hi[0] + pad[0], PICK)
    v = np.linspace(lo[1] - pad[1], hi[1] + pad[1], PICK) if rec.dim > 1 else np.zeros(1)
    uu, vv = np.meshgrid(u, v)
    data.append({"type": "scatter", "x": uu.ravel(), "y": vv.ravel(), "mode": "markers", "name": "click to decode",
                 "marker": {"size": 16, "color": "rgba(0,0,0,0)"}, "hoverinfo": "none", "showlegend": False})
    for c, name in enumerate(rec.class_names or ("",)):
        pts = rec.points[rec.labels == c]
        data.append({"type": "scatter", "x": pts[:, 0], "y": pts[:, 1], "mode": "markers", "name": name or "codes",
                     "marker": {"size": 5, "opacity": 0.75, "color": CLASS_COLORS[c % len(CLASS_COLORS)]},
                     "hovertemplate": f"class {name}<br>({ax[0]} %{{x:.2f}}, {ax[1]} %{{y:.2f}})<extra></extra>"})
    if chosen is not None:
        data.append({"type": "scatter", "x": [chosen[0]], "y": [chosen[1]], "mode": "markers", "name": "chosen point",
                     "marker": {"symbol": "x", "size": 14, "color": CHOSEN, "line": {"width": 1, "color": "white"}},
                     "hovertemplate": "chosen (%{x:.2f}, %{y:.2f})<extra></extra>"})
    return figure(data, layout(f"Test examples at their codes, step {rec.step:,}", ax[0], ax[1], height,
                               hovermode="closest", margin=LIVE_MARGIN | {"r": 110},
                               legend={"orientation": "v", "yanchor": "top", "y": 1.0, "xanchor": "left", "x": 1.02,
                                       "title": {"text": "class"}}))


def _axis_titles(rec: AeLatent) -> tuple[str, str]:
    if rec.explained is None:
        return "code number 1 (z1)", "code number 2 (z2)" if rec.dim > 1 else "(one number: no second axis)"
    return (f"principal axis 1 of the codes ({rec.explained[0]:.0%} of their spread)",
            f"principal axis 2 ({rec.explained[1]:.0%})")


def grid_figure(rec: AeLatent, height: int = 520) -> go.Figure:
    """The decoder's image at every point of a grid over the code plane, on the plane's own axes."""
    g = rec.grid
    rows, cols, h, w = g.shape
    sheet = np.zeros((rows * h, cols * w), np.float32)
    for j in range(rows):                                  # heatmap rows go up: each tile flipped upright
        for i in range(cols):
            sheet[j * h:(j + 1) * h, i * w:(i + 1) * w] = g[j, i][::-1]
    du = (rec.grid_u[-1] - rec.grid_u[0]) / max(cols - 1, 1)
    dv = (rec.grid_v[-1] - rec.grid_v[0]) / max(rows - 1, 1) if rows > 1 else 1.0
    x = rec.grid_u[0] - du / 2 + (np.arange(cols * w) + 0.5) * du / w
    y = rec.grid_v[0] - dv / 2 + (np.arange(rows * h) + 0.5) * dv / h
    ax = _axis_titles(rec)
    data = [{"type": "heatmap", "x": x, "y": y, "z": sheet, "colorscale": GRAY, "zmin": 0, "zmax": 1,
             "showscale": False, "hovertemplate": f"{ax[0]} %{{x:.2f}}<br>{ax[1]} %{{y:.2f}}<extra></extra>"}]
    return figure(data, layout(f"What the decoder makes of each place of the plane, step {rec.step:,}", ax[0], ax[1],
                               height, hovermode="closest", margin=LIVE_MARGIN, showlegend=False))


def traversal_figure(rec: AeTraversal) -> go.Figure:
    """One row per code number: it moves from its mean - 2 std to + 2 std, the others stay at their mean."""
    d, s = rec.values.shape
    names = [f"z{rec.dims[i] + 1} = {rec.values[i, j]:.2f}" for i in range(d) for j in range(s)]
    return images_figure(rec.images.reshape(d * s, *rec.images.shape[2:]), list(range(d * s)), names, per_row=s,
                         row_px=110, title="One code number at a time, from its mean − 2 std to + 2 std")


def decoded_figure(image: np.ndarray, code: Sequence[float]) -> go.Figure:
    """The decoder's output for the chosen code, large."""
    text = ", ".join(f"{c:.2f}" for c in code)
    return images_figure(image[None], [0], [f"code ({text})"], per_row=1, row_px=240, title="Decoded from the chosen point")
