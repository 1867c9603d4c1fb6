"""Figures of the GAN lab (pure: records and metric columns in, plotly figures out).

GAN Lab's colours: real data green, generated purple; the discriminator's heatmap runs from
purple (it calls the place fake) to green (it calls it real).
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from engine.records import GanImages, GanPlane
from viz.playground import images_figure
from viz.style import LIVE_MARGIN, figure, layout

REAL = "#1a9850"                    # real samples
FAKE = "#7b3294"                    # generated samples
D_COLOR, G_COLOR = "#2b83ba", "#d7191c"
SCORE_SCALE = [[0.0, "#c2a5cf"], [0.5, "#f7f7f7"], [1.0, "#a6dba0"]]   # fake-ish -> unsure -> real-ish
ARROWS = 120                        # generated points that get an arrow
ARROW_SHARE = 0.08                  # the longest arrow: this share of the plane's width
LAYERS = ("discriminator", "real", "generated", "arrows", "noise grid")


def _xs(cols: dict, key: str) -> tuple[list, list]:
    keep = [(s, v) for s, v in zip(cols.get("step") or [], cols.get(key) or []) if v is not None]
    return [s for s, _ in keep], [v for _, v in keep]


def _line(cols: dict, key: str, name: str, color: str, **extra) -> dict:
    x, y = _xs(cols, key)
    return {"type": "scatter", "x": x, "y": y, "name": name, "mode": "lines+markers" if len(x) < 30 else "lines",
            "line": {"color": color, "width": 2.5}, **extra}


def _arrows(start: np.ndarray, push: np.ndarray, extent: float) -> dict:
    """Line segments from each point along its push, the longest ARROW_SHARE of the plane, with
    a dot at the head (one trace: None breaks the line between arrows)."""
    length = np.linalg.norm(push, axis=1)
    scale = ARROW_SHARE * 2 * extent / max(float(length.max()), 1e-12)
    end = start + push * scale
    xs = np.stack([start[:, 0], end[:, 0], np.full(len(start), np.nan)], 1).ravel()
    ys = np.stack([start[:, 1], end[:, 1], np.full(len(start), np.nan)], 1).ravel()
    nan_to_none = lambda a: [None if math.isnan(v) else float(v) for v in a]
    return {"type": "scatter", "x": nan_to_none(xs), "y": nan_to_none(ys), "mode": "lines", "name": "generator's push",
            "line": {"color": "rgba(90,20,110,0.7)", "width": 1.2}, "hoverinfo": "skip"}


def plane_figure(rec: GanPlane, show: tuple[str, ...] = LAYERS, height: int = 520) -> go.Figure:
    """Real and generated points over the discriminator's output, with the generator's push on
    its samples and its warped noise grid (each part can be hidden)."""
    e = rec.extent
    prob = rec.score_label == "P(real)"
    data: list[dict] = []
    if "discriminator" in show:
        z = np.asarray(rec.scores)
        lim = 1.0 if prob else max(float(np.abs(z).max()), 1e-6)
        data.append({"type": "heatmap", "x": rec.axis, "y": rec.axis, "z": z, "colorscale": SCORE_SCALE,
                     "zmin": 0.0 if prob else -lim, "zmax": 1.0 if prob else lim, "zsmooth": "fast",
                     "colorbar": {"title": {"text": "D: " + ("P(real)" if prob else "score")}, "thickness": 12,
                                  "len": 0.75},
                     "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}<br>" + rec.score_label + " %{z:.2f}<extra></extra>"})
    if "noise grid" in show:
        for i, line in enumerate(rec.latent_lines):
            data.append({"type": "scatter", "x": line[:, 0], "y": line[:, 1], "mode": "lines",
                         "line": {"color": "rgba(120,120,120,0.55)", "width": 1}, "hoverinfo": "skip",
                         "name": "noise grid, mapped", "legendgroup": "grid", "showlegend": i == 0})
    if "real" in show:
        data.append({"type": "scatter", "x": rec.real[:, 0], "y": rec.real[:, 1], "mode": "markers", "name": "real",
                     "marker": {"color": REAL, "size": 5, "opacity": 0.8},
                     "hovertemplate": "real (%{x:.2f}, %{y:.2f})<extra></extra>"})
    if "generated" in show:
        data.append({"type": "scatter", "x": rec.fake[:, 0], "y": rec.fake[:, 1], "mode": "markers",
                     "name": "generated", "marker": {"color": FAKE, "size": 5, "opacity": 0.8},
                     "hovertemplate": "generated (%{x:.2f}, %{y:.2f})<extra></extra>"})
    if "arrows" in show and len(rec.fake):
        data.append(_arrows(rec.fake[:ARROWS], rec.push[:ARROWS], e))
    if rec.modes is not None:
        data.append({"type": "scatter", "x": rec.modes[:, 0], "y": rec.modes[:, 1], "mode": "markers",
                     "name": "mode centres", "marker": {"symbol": "x-thin", "size": 10, "line": {"width": 2, "color": "#333"}},
                     "hovertemplate": "mode centre (%{x:.1f}, %{y:.1f})<extra></extra>"})
    axis = {"range": [-e, e], "zeroline": False, "showgrid": False}
    return figure(data, layout(f"Real and generated samples at step {rec.step:,}", "x1", "x2", height,
                               xaxis={**axis, "constrain": "domain"}, yaxis={**axis, "scaleanchor": "x", "scaleratio": 1},
                               hovermode="closest", margin=LIVE_MARGIN | {"r": 110, "t": 80},
                               legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0}))


def losses_figure(evals: dict) -> go.Figure:
    """The discriminator's and the generator's loss on fixed held-out batches, over steps."""
    data = [_line(evals, "d_loss", "discriminator loss", D_COLOR), _line(evals, "g_loss", "generator loss", G_COLOR)]
    return figure(data, layout("Losses of the two networks", "training step", "loss", margin=LIVE_MARGIN))


def distance_figure(evals: dict, floor: float | None = None) -> go.Figure:
    """MMD² between held-out real samples and generated ones over steps (log axis), with the
    distance between two real samples as the floor it can reach."""
    x, y = _xs(evals, "distance")
    data = [{"type": "scatter", "x": x, "y": y, "name": "real vs generated", "mode": "lines+markers" if len(x) < 30
             else "lines", "line": {"color": FAKE, "width": 2.5},
             "hovertemplate": "step %{x}<br>MMD² %{y:.4f}<extra></extra>"}]
    if floor is not None and x:
        data.append({"type": "scatter", "x": [x[0], x[-1]], "y": [floor, floor], "mode": "lines",
                     "name": "real vs real", "line": {"color": REAL, "width": 1.5, "dash": "dash"},
                     "hovertemplate": f"two real samples: {floor:.4f}<extra></extra>"})
    return figure(data, layout("Distance to the real data (MMD²)", "training step", "MMD² (log scale)",
                               yaxis={"type": "log", "dtick": 1}, margin=LIVE_MARGIN))


def modes_figure(evals: dict, total: int) -> go.Figure:
    """How many of a mixture's modes hold generated samples, over steps."""
    data = [_line(evals, "modes_covered", "modes covered", FAKE, line_shape="hv")]
    x, _ = _xs(evals, "modes_covered")
    if x:
        data.append({"type": "scatter", "x": [x[0], x[-1]], "y": [total, total], "mode": "lines", "name": "all modes",
                     "line": {"color": REAL, "width": 1.5, "dash": "dash"}, "hoverinfo": "skip"})
    return figure(data, layout("Modes covered", "training step", f"modes (of {total})",
                               yaxis={"range": [0, total + 0.5], "dtick": max(1, total // 8)}, margin=LIVE_MARGIN))


def judge_figure(evals: dict) -> go.Figure:
    """A digit classifier's mean confidence on the samples and how many classes it sees in them."""
    x, conf = _xs(evals, "judge_confidence")
    _, seen = _xs(evals, "classes_seen")
    data = [{"type": "scatter", "x": x, "y": [100 * c for c in conf], "name": "classifier's confidence (%)",
             "mode": "lines", "line": {"color": FAKE, "width": 2.5}},
            {"type": "scatter", "x": x, "y": [10 * s for s in seen], "name": "classes seen (× 10)", "mode": "lines",
             "line": {"color": REAL, "width": 2, "dash": "dot"}, "customdata": seen,
             "hovertemplate": "%{customdata} classes<extra></extra>"}]
    return figure(data, layout("Do the samples look like digits?", "training step", "% (classes × 10)",
                               yaxis={"range": [0, 101]}, margin=LIVE_MARGIN))


def samples_figure(rec: GanImages) -> go.Figure:
    """The samples from fixed noise, each captioned with what a digit classifier reads in it."""
    labels = list(rec.labels) or [""] * len(rec.samples)
    names = list(dict.fromkeys(labels))
    return images_figure(rec.samples, [names.index(label) for label in labels], names, per_row=8, row_px=120,
                         title=f"Generated from fixed noise, step {rec.step:,}")


def walk_figure(rec: GanImages, at: int | None = None) -> go.Figure:
    """The walk from noise a to noise b, frame `at` framed."""
    k = len(rec.walk)
    names = [f"{i / (k - 1):.2f}" for i in range(k)]
    fig = images_figure(rec.walk, list(range(k)), names, title="From noise a (0) to noise b (1): a straight walk "
                        "through the noise", per_row=k, row_px=110)
    if at is not None:
        h, w = rec.walk.shape[1:3]
        gap, cap = max(2, w // 7), max(10, h // 2)
        x0 = at * (w + gap)
        fig.add_shape(type="rect", x0=x0 - 0.5, x1=x0 + w - 0.5, y0=cap - 0.5, y1=cap + h - 0.5,
                      line={"color": FAKE, "width": 3})
    return fig
