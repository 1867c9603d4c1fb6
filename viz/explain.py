"""Figures of the Explain page: pure functions (engine.records' explanation records in,
go.Figure out).

Every map is drawn over its image on one shared scale: each map divided by its own largest
absolute value, so +1 (orange) is the pixel that most supports the class in that map, -1 (blue)
the one that most speaks against it, and 0 is see-through. A method's colour is the same on the
maps' titles, the sanity check and the curves: its position in the explanation."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import BLUE, CLASS_COLORS, DIVERGING, GRAY, ORANGE, QUALITATIVE, figure, layout

if TYPE_CHECKING:
    from engine.records import FeatureExplanation, GradientField, ImageExplanation

# blue (against) -> see-through (no effect) -> orange (for): the image shows where the map is ~0
OVERLAY = [[0.0, "rgba(8,119,189,1)"], [0.5, "rgba(255,255,255,0)"], [1.0, "rgba(245,147,34,1)"]]


def method_color(i: int) -> str:
    return QUALITATIVE[i % len(QUALITATIVE)]


def _scaled(heat: np.ndarray) -> np.ndarray:
    lim = float(np.abs(heat).max())
    return heat / lim if lim > 0 else heat


def map_note(a, object_share: float | None) -> str:
    """The short figure under a map's name: IG's completeness gap, the share on the object."""
    notes = []
    if a.completeness_gap is not None:
        notes.append(f"gap {a.completeness_gap:.2%}")
    if a.inside_share is not None:
        notes.append(f"{a.inside_share:.0%} on the object")
    return " · ".join(notes)


def maps_figure(e: ImageExplanation, height: int = 280) -> go.Figure:
    """The image, then each method's map over it, side by side on one colour scale."""
    n = len(e.maps) + 1
    name = e.class_names[e.target]
    titles = [f"the image ({e.class_names[e.true]})"] + [
        f"<b style='color:{method_color(i)}'>{a.label}</b><br>"
        f"<span style='font-size:11px;color:#444'>{map_note(a, e.object_share) or ' '}</span>"
        for i, a in enumerate(e.maps)]
    fig = make_subplots(rows=1, cols=n, horizontal_spacing=0.012, subplot_titles=titles)
    img = np.asarray(e.image)
    grey = img if img.ndim == 2 else img.mean(-1)
    for c in range(1, n + 1):
        fig.add_trace(go.Heatmap(z=grey[::-1], colorscale=GRAY, zmin=0, zmax=1, showscale=False,
                                 hovertemplate="pixel value %{z:.2f}<extra></extra>"), 1, c)
    if e.mask is not None:                            # the object's outline on the first panel
        fig.add_trace(go.Contour(z=e.mask[::-1].astype(float), contours={"start": 0.5, "end": 0.5, "size": 1,
                                 "coloring": "none"}, line={"color": "#2ca02c", "width": 2}, showscale=False,
                                 hoverinfo="skip", name="the object"), 1, 1)
    for i, a in enumerate(e.maps):
        fig.add_trace(go.Heatmap(z=_scaled(a.heat)[::-1], colorscale=OVERLAY, zmin=-1, zmax=1,
                                 showscale=i == len(e.maps) - 1,
                                 colorbar={"title": {"text": "share of the<br>map's largest", "side": "top"},
                                           "tickvals": [-1, 0, 1], "len": 0.9, "thickness": 12,
                                           "ticktext": ["-1 against", "0 no effect", f"+1 for {name}"]},
                                 hovertemplate=f"{a.label}: %{{z:.2f}} of its largest<extra></extra>"), 1, i + 2)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, scaleanchor="x")
    for k in range(2, n + 1):
        fig.update_yaxes(scaleanchor=f"x{k}", row=1, col=k)
    fig.update_annotations(font_size=13)
    fig.update_layout(title={"text": f"Which pixels made the network say <b>{name}</b> "
                                     f"({e.probs[e.target]:.0%}), test example {e.index}", "x": 0},
                      height=height, margin={"l": 10, "r": 10, "t": 80, "b": 10}, showlegend=False)
    return fig


def sanity_figure(e: ImageExplanation, height: int = 340) -> go.Figure:
    """Rank correlation of each method's map with the trained model's as layers are randomised."""
    s = e.sanity
    x = ["trained (no layer random)"] + list(s.layers)
    data = []
    for i, a in enumerate(e.maps):
        y = [1.0] + [None if v != v else round(float(v), 4) for v in s.correlation[a.method]]
        data.append({"type": "scatter", "mode": "lines+markers", "x": x, "y": y, "name": a.label,
                     "line": {"color": method_color(i)},
                     "hovertemplate": f"{a.label}: %{{y:.2f}}<extra></extra>"})
    low = min([-0.3, *(float(v) for c in s.correlation.values() for v in c if v == v)])
    lay = layout("Sanity check: does each map change when the weights are made random?",
                 "layers re-initialised, one more each step from the output down",
                 "rank correlation with the trained map", height,
                 yaxis={"range": [low - 0.05, 1.05]}, hovermode="x unified")
    lay["legend"] = {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.3, "yanchor": "top"}
    lay["margin"] = {"l": 10, "r": 10, "t": 50, "b": 10}
    return figure(data, lay)


def curves_figure(e: ImageExplanation, which: str, height: int = 420) -> go.Figure:
    """Deletion (most important pixels removed first) or insertion (added first) curves."""
    name = e.class_names[e.target]
    data = []
    for i, a in enumerate(e.maps):
        c = a.deletion if which == "deletion" else a.insertion
        data.append({"type": "scatter", "mode": "lines", "x": (c.fraction * 100).round(1).tolist(),
                     "y": c.prob.round(4).tolist(), "name": f"{a.label} (area {c.auc:.2f})",
                     "line": {"color": method_color(i)},
                     "hovertemplate": f"{a.label}: %{{y:.0%}}<extra></extra>"})
    title, x = (("Deletion curve (a low area is better)",
                 "pixels replaced by the baseline, most important first (%)") if which == "deletion" else
                ("Insertion curve (a high area is better)",
                 "pixels put back onto the baseline, most important first (%)"))
    lay = layout(title, x, f"probability of {name}", height, yaxis={"range": [0, 1.02], "tickformat": ".0%"})
    lay["legend"] = {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.25, "yanchor": "top"}
    return figure(data, lay)


def features_figure(r: FeatureExplanation, top: int = 15, height: int | None = None) -> go.Figure:
    """The features that moved the class score most, by Integrated Gradients (largest at the top)."""
    order = np.argsort(-np.abs(r.attr))[:top][::-1]
    names = [r.feature_names[i] for i in order]
    vals = r.attr[order]
    return figure([{"type": "bar", "orientation": "h", "x": vals.round(5).tolist(), "y": names,
                    "marker": {"color": [ORANGE if v >= 0 else BLUE for v in vals]},
                    "customdata": r.values[order].round(3).tolist(),
                    "hovertemplate": "%{y} = %{customdata}: %{x:+.3f}<extra></extra>"}],
                  layout(f"Which features pushed the score for {r.target_name} up (orange) or down (blue)",
                         "contribution to the score (Integrated Gradients, logit units)", "feature",
                         height or 120 + 24 * len(names), hovermode="closest"))


def field_figure(f: GradientField, height: int = 460) -> go.Figure:
    """The class score over the plane (colour) and its gradient (arrows: the way it rises fastest)."""
    axis = f.axis.tolist()
    lim = float(np.abs(f.score).max()) or 1.0
    spacing = float(axis[1] - axis[0]) if len(axis) > 1 else 1.0
    norm = np.hypot(f.gx, f.gy)
    scale = 0.9 * spacing / float(norm.max() or 1.0)                # the longest arrow spans one grid cell
    xx, yy = np.meshgrid(f.axis, f.axis)
    u, v = f.gx * scale, f.gy * scale
    xs, ys = [], []
    for x0, y0, du, dv in zip(xx.ravel(), yy.ravel(), u.ravel(), v.ravel()):
        x1, y1 = x0 + du, y0 + dv
        ang = np.arctan2(dv, du)
        head = 0.3 * np.hypot(du, dv)
        xs += [x0, x1, None, x1 - head * np.cos(ang - 0.5), x1, x1 - head * np.cos(ang + 0.5), None]
        ys += [y0, y1, None, y1 - head * np.sin(ang - 0.5), y1, y1 - head * np.sin(ang + 0.5), None]
    data = [{"type": "heatmap", "x": axis, "y": axis, "z": f.score.round(4).tolist(), "colorscale": DIVERGING,
             "zmin": -lim, "zmax": lim, "opacity": 0.8, "zsmooth": "best",
             "colorbar": {"title": {"text": f"score of<br>{f.target_name}"}, "thickness": 12},
             "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}: score %{z:.2f}<extra></extra>"}]
    classes = np.unique(f.labels)
    for c in classes:
        pts = f.points[f.labels == c][:300]
        data.append({"type": "scatter", "mode": "markers", "x": pts[:, 0].round(3).tolist(),
                     "y": pts[:, 1].round(3).tolist(),
                     "name": f"test points: {f.class_names[int(c)] if int(c) < len(f.class_names) else int(c)}",
                     "marker": {"size": 6, "color": CLASS_COLORS[int(c) % len(CLASS_COLORS)],
                                "line": {"color": "#222222", "width": 0.8}},
                     "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}<extra></extra>"})
    rounded = lambda v: [None if a is None else round(float(a), 4) for a in v]
    data.append({"type": "scatter", "mode": "lines", "x": rounded(xs), "y": rounded(ys), "hoverinfo": "skip",
                 "line": {"color": "#222222", "width": 1.5}, "name": "gradient (uphill)"})   # on top of the points
    return figure(data, layout(f"Which way the score of {f.target_name} rises fastest (its gradient)",
                               "x1", "x2", height, hovermode="closest",
                               xaxis={"range": [-f.extent, f.extent], "constrain": "domain"},
                               yaxis={"range": [-f.extent, f.extent], "scaleanchor": "x"}))
