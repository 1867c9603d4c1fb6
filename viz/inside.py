"""Figures of the "Inside the network" page: pure functions (the recorder's records,
engine/probes/records.py, in; go.Figure out).

Conv filters and feature maps are drawn as one mosaic heatmap per layer (tiles separated by
blank gaps) on the shared diverging scale: orange positive, white zero, blue negative.
Gradient flow uses log axes; distributions follow TensorBoard (percentile bands over steps).
"""
from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from .style import BLUE, DIVERGING, GRAY, GREY, ORANGE, QUALITATIVE, base_layout

if TYPE_CHECKING:
    from engine.probes.records import ActivationMap, ConvCell, Example, Filters, ProbeRecord

RIGHT, WRONG = "#2ca02c", "#d62728"
GRAD_COLOR, WEIGHT_COLOR = QUALITATIVE[3], QUALITATIVE[6]
HEALTHY_RATIO = 1e-3                 # a common rule of thumb for update / weight per step
BAND_PAIRS = ((0, 8), (1, 7), (2, 6), (3, 5))   # indices into the 9 recorded percentiles
BAND_NAMES = ("min to max", "7% to 93%", "16% to 84%", "31% to 69%")


def depth_colors(n: int) -> list[str]:
    """One colour per layer, light (near the input) to dark (near the output)."""
    if n <= 1:
        return [sample_colorscale("Viridis", [0.0])[0]]
    return sample_colorscale("Viridis", [0.85 * (1 - i / (n - 1)) for i in range(n)])


# ---------------------------------------------------------------- mosaics
def mosaic(maps: np.ndarray, cols: int | None = None, gap: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(N, h, w) tiles -> one image with NaN gaps between tiles, and the tile number (from 1,
    0 in the gaps) of every pixel for the hover text."""
    n, h, w = maps.shape
    cols = cols or min(n, max(1, round(math.sqrt(n * 2))))
    rows = math.ceil(n / cols)
    img = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan, np.float32)
    tile = np.zeros(img.shape, np.int8 if n < 128 else np.int16)
    for k in range(n):
        r0, c0 = (k // cols) * (h + gap), (k % cols) * (w + gap)
        img[r0:r0 + h, c0:c0 + w] = maps[k]
        tile[r0:r0 + h, c0:c0 + w] = k + 1
    return img, tile


def _limit(a: np.ndarray) -> float:
    finite = np.abs(a[np.isfinite(a)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def mosaic_figure(maps: np.ndarray, title: str, what: str, value: str, tile_note: str,
                  cols: int | None = None, height: int | None = None, limit: float | None = None,
                  subtitle: str = "") -> go.Figure:
    """Tiles (N, h, w) on the diverging scale, symmetric around zero (or +-`limit`)."""
    img, tile = mosaic(maps, cols)
    lim = limit or _limit(maps)
    fig = go.Figure(go.Heatmap(
        z=img, customdata=tile, colorscale=DIVERGING, zmin=-lim, zmax=lim, zmid=0,
        colorbar=dict(title=dict(text=value, side="right"), thickness=12, len=0.9),
        hovertemplate=f"{what} %{{customdata}}<br>{value} %{{z:.3g}}<extra></extra>", hoverongaps=False))
    ratio = img.shape[0] / max(img.shape[1], 1)
    base_layout(fig, title, tile_note, "", height or int(min(620, max(220, 90 + 520 * ratio))), subtitle=subtitle)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed",
                     scaleanchor="x", constrain="domain")
    fig.update_layout(hovermode="closest", plot_bgcolor=GREY)      # grey gaps between the tiles
    return fig


def filters_figure(f: Filters, channel: int | None = None) -> go.Figure:
    """Every filter of one conv layer: weights of input channel `channel`, or their mean
    over all input channels (None)."""
    o, i, kh, kw = f.shape
    maps = f.mean if channel is None else f.weights[:, channel]
    source = ("" if i == 1 else ", averaged over its input channels" if channel is None
              else f", input channel {channel + 1}")
    shown = f" (first {len(maps)} of {o})" if len(maps) < o else ""
    return mosaic_figure(maps, f"Filters of layer {f.label}: {o} learned {kh}x{kw} kernels{shown}",
                         "filter", "weight", f"each tile = one filter{source}",
                         cols=min(len(maps), 8 if len(maps) <= 32 else 16))


# ---------------------------------------------------------------- the chosen example
def input_figure(example: Example) -> go.Figure:
    """The example the activations belong to: an image, or its feature values as bars."""
    x = np.asarray(example.input)
    title = f"Input: test example #{example.index}"
    if example.label is not None:
        title += f" (true label {example.class_names[example.label]})"
    if x.ndim == 3:                                                   # (C, H, W)
        img = x[0] if x.shape[0] == 1 else x.mean(0)
        fig = go.Figure(go.Heatmap(z=img, colorscale=GRAY, showscale=False,          # white ink on black
                                   hovertemplate="row %{y}, col %{x}<br>value %{z:.3g}<extra></extra>"))
        base_layout(fig, title, "pixel column", "pixel row", 300)
        fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
        fig.update_xaxes(constrain="domain")
        fig.update_layout(hovermode="closest")
        return fig
    names = list(example.feature_names) or [f"x{i + 1}" for i in range(x.size)]
    fig = go.Figure(go.Bar(x=names[: x.size], y=x.ravel(), name="feature value", marker_color=GREY,
                           marker_line_color="#555", marker_line_width=1))
    return base_layout(fig, title, "input feature", "value (after preprocessing)", 300)


def activation_figure(act: ActivationMap, class_names: Sequence[str] | None = None) -> go.Figure:
    """One layer's output for the chosen example: feature maps, a matrix, bars or a grid.
    `class_names` marks the last layer of a classifier: one bar per class."""
    values, shape, label = np.asarray(act.values), act.shape, act.label
    title = f"Layer {label}: output {'x'.join(map(str, shape))}"
    if values.ndim == 3:                                              # (C, H, W) feature maps
        shown = [f"the first {values.shape[0]} maps"] if values.shape[0] < shape[0] else []
        small = [f"shrunk to {values.shape[1]}x{values.shape[2]}"] if values.shape[1:] != tuple(shape[1:]) else []
        return mosaic_figure(values, title, "feature map", "activation", "each tile = one channel's feature map",
                             cols=min(len(values), 8), subtitle=", ".join(shown + small))
    if values.ndim == 2:                                              # (T, F): a sequence
        fig = go.Figure(go.Heatmap(z=values.T, colorscale=DIVERGING, zmid=0,
                                   colorbar=dict(title=dict(text="activation", side="right"), thickness=12)))
        base_layout(fig, title, "position in the sequence", "unit", 300)
        fig.update_layout(hovermode="closest")
        return fig
    if values.size <= 64:                                             # a few units: bars
        last = class_names is not None and len(class_names) == values.size
        xs = list(class_names) if last else list(range(1, values.size + 1))
        fig = go.Figure()
        for name, sign, color in (("positive", values >= 0, ORANGE), ("negative", values < 0, BLUE)):
            if sign.any():
                fig.add_trace(go.Bar(x=[x for x, k in zip(xs, sign) if k], y=values[sign], name=name,
                                     marker_color=color,
                                     hovertemplate=("class" if last else "unit") + " %{x}<br>value %{y:.3g}"))
        base_layout(fig, title, "class" if last else "unit", "score" if last else "activation", 300,
                    subtitle="a score per class, before softmax" if last else "")
        fig.update_xaxes(type="category", categoryorder="array", categoryarray=xs)
        fig.update_layout(hovermode="closest", barmode="relative")
        return fig
    cols = 32                                                         # many units: a grid of cells
    grid = np.full(math.ceil(values.size / cols) * cols, np.nan, np.float32)
    grid[: values.size] = values
    note = f"averaged in groups of {act.group}" if act.group > 1 else ""
    return mosaic_figure(grid.reshape(1, -1, cols), title, "units", "activation",
                         f"each cell = one unit, {cols} per row", height=340, subtitle=note)


def probabilities_figure(example: Example) -> go.Figure:
    """The network's answer for the example: one bar per class, the true class marked."""
    p, names = np.asarray(example.probs), example.class_names
    label, pred = example.label, example.pred
    fig = go.Figure()
    groups = (("true class", [label], RIGHT),
              ("wrong guess", [pred] if pred != label else [], WRONG),
              ("other classes", [k for k in range(len(p)) if k not in (label, pred)], GREY))
    for name, idx, color in groups:
        if idx:
            fig.add_trace(go.Bar(x=[names[k] for k in idx], y=[float(p[k]) for k in idx], name=name,
                                 marker_color=color, hovertemplate="class %{x}<br>probability %{y:.1%}"))
    verdict = "right" if pred == label else f"wrong: it says {names[pred]}"
    base_layout(fig, "Output: probability per class", "class", "probability", 300,
                subtitle=f"{verdict}; the true class is {names[label]}")
    fig.update_xaxes(categoryorder="array", categoryarray=list(names), type="category")
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    fig.update_layout(hovermode="closest", barmode="overlay")
    return fig


def regression_output_figure(example: Example) -> go.Figure:
    """The network's answer for the example: its prediction next to the true value, per target."""
    out, target = np.ravel(example.output), np.ravel(example.target)
    xs = [f"target {i + 1}" for i in range(out.size)]
    fig = go.Figure([go.Bar(x=xs, y=target, name="true value", marker_color=RIGHT),
                     go.Bar(x=xs, y=out, name="prediction", marker_color=QUALITATIVE[0])])
    return base_layout(fig, "Output: prediction vs true value", "target", "value", 300)


# ---------------------------------------------------------------- gradient flow
def _labels(rec: ProbeRecord, indices: Sequence[int]) -> list[str]:
    by_index = {l.index: l.label for l in rec.layers}
    return [by_index[i] for i in indices]


def _positive(a: np.ndarray) -> np.ndarray:
    """Log axes cannot show 0 or NaN: those become gaps."""
    a = np.asarray(a, np.float64)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)


def log_range(*arrays: np.ndarray, decades: float = 2.0) -> list[float] | None:
    """A log axis range (in powers of ten) around the positive finite values, at least
    `decades` wide: plotly labels a log axis spanning less than a decade with plain numbers
    (78, 80, 82 ... for values near 80), which reads as a linear scale. None: nothing to show."""
    v = np.concatenate([np.ravel(np.asarray(a, np.float64)) for a in arrays])
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return None
    lo, hi = math.log10(v.min()) - 0.3, math.log10(v.max()) + 0.3
    return [min(lo, hi - decades), hi]


def missing(values: np.ndarray) -> str:
    """Why a log axis shows nothing of `values`: "" (something to draw), "0" (all exactly 0),
    "not a number" (inf or NaN, e.g. after the loss blew up) or "none yet" (not measured)."""
    v = np.asarray(values, np.float64)
    if (np.isfinite(v) & (v > 0)).any():
        return ""
    if (v == 0).any():
        return "0"
    return "not a number" if np.isinf(v).any() else "none yet"


def wrap(text: str, width: int = 80) -> str:
    """Plotly draws a text on one line: break it into lines of at most `width` characters."""
    return "<br>".join(textwrap.wrap(text, width))


def _names(labels: Sequence[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _legend_for(n: int) -> dict:
    """A legend that never covers the title: one row above the plot for a few entries, a
    column to its right for three and more (a wrapped row grew up into the title)."""
    if n >= 3:
        return dict(orientation="v", yanchor="top", y=1.0, xanchor="left", x=1.02)
    return dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1)


def gradient_bars_figure(rec: ProbeRecord) -> go.Figure:
    """Latest step: mean |gradient| and mean |weight| of every layer with weights (log scale).
    A gradient the log axis cannot draw (exactly 0, or not a number) gets a marker at the
    bottom and a sentence under the title, instead of an empty place."""
    h, labels = rec.history, _labels(rec, rec.param_layers)
    g, w = np.asarray(h.g_mean[-1], np.float64), np.asarray(h.w_mean[-1], np.float64)
    rng = log_range(g, w) or [-3.0, 1.0]
    data = [
        go.Bar(x=labels, y=_positive(g), name="mean |gradient|", marker_color=GRAD_COLOR,
               hovertemplate="%{x}<br>mean |gradient| %{y:.2e}<extra></extra>"),
        go.Bar(x=labels, y=_positive(w), name="mean |weight|", marker_color=WEIGHT_COLOR,
               hovertemplate="%{x}<br>mean |weight| %{y:.2e}<extra></extra>")]
    notes = []
    bottom = 10 ** (rng[0] + 0.04 * (rng[1] - rng[0]))
    for why, sentence, symbol in (
            ("0", "gradient exactly 0 in {}: no learning signal reaches those weights, they have "
                  "stopped learning (after a blow-up, every ReLU may output 0)", "x-thin"),
            ("not a number", "gradient not a number in {}: it overflowed, the run blew up", "asterisk-open")):
        hit = [i for i in range(len(labels)) if missing(g[i:i + 1]) == why]
        if hit:
            notes.append(sentence.format("every layer" if len(hit) == len(labels) > 1
                                         else _names([labels[i] for i in hit])))
            data.append(go.Scatter(x=[labels[i] for i in hit], y=[bottom] * len(hit), mode="markers",
                                   name=f"gradient {why}", marker=dict(symbol=symbol, size=14, color=GRAD_COLOR,
                                                                       line=dict(width=3, color=GRAD_COLOR)),
                                   hovertemplate=f"%{{x}}<br>mean |gradient| is {why}<extra></extra>"))
    fig = go.Figure(data)
    title = f"Gradient flow at step {int(h.step[-1])}: size per layer"
    lines = [line for n in notes for line in textwrap.wrap(n[0].upper() + n[1:] + ".", 95)]
    if lines:
        title += "<br><sup>" + "<br>".join(lines) + "</sup>"
    base_layout(fig, title, "layer (input on the left, output on the right)",
                "mean absolute value (log scale)", 340 + 16 * len(lines))
    fig.update_yaxes(type="log", exponentformat="power", range=rng)
    if lines:                                            # the title's lines from the top down, clear of the plot
        fig.update_layout(title=dict(yref="container", y=1, yanchor="top", pad=dict(t=12)))
    fig.update_layout(barmode="group", hovermode="closest", margin=dict(t=50 + 20 * len(lines)),
                      legend=_legend_for(3 if lines else 2))       # notes under the title: legend aside
    return fig


def lines_figure(rec: ProbeRecord, values: np.ndarray, steps: np.ndarray, title: str, y: str,
                 reference: float | None = None, reference_note: str = "") -> go.Figure:
    """One line per layer over steps of a history column `values` (T, P) (log scale), coloured
    by depth; `steps` (T,) are the steps of its rows (rows where it is negative are left out).
    A layer with nothing to draw says why in its legend entry; an empty chart says it in the middle."""
    keep = np.asarray(steps) >= 0
    values = np.asarray(values, np.float64)[keep]
    labels = _labels(rec, rec.param_layers)
    fig = go.Figure()
    for col, (label, color) in enumerate(zip(labels, depth_colors(len(labels)))):
        why = missing(values[:, col])
        name = f"{label} ({why}, not drawn)" if why in ("0", "not a number") else label
        fig.add_trace(go.Scatter(x=steps[keep], y=_positive(values[:, col]), name=name,
                                 mode="lines+markers" if keep.sum() < 3 else "lines",
                                 line=dict(color=color, width=2), connectgaps=True,
                                 hovertemplate=f"{label}<br>step %{{x}}<br>%{{y:.2e}}<extra></extra>"))
    rng = log_range(values, [reference] if reference else [])
    if missing(values):
        why = {"0": "every value recorded so far is exactly 0, which a log scale cannot draw: "
                    "no learning signal reaches the weights",
               "not a number": "every value recorded so far is not a number: the run blew up"}.get(
            missing(values), "nothing is recorded yet: it appears after the first training steps")
        fig.add_annotation(text=wrap("Nothing to draw: " + why + ".", 50), xref="paper", yref="paper",
                           x=0.5, y=0.5, showarrow=False, font=dict(size=13, color="#555"),
                           bgcolor="rgba(255,255,255,0.85)")
    if reference:
        fig.add_hline(y=reference, line=dict(color="#888", dash="dash", width=1),
                      annotation_text=reference_note, annotation_position="top left")
    base_layout(fig, title, "training step", y, 340)
    fig.update_yaxes(type="log", exponentformat="power", range=rng)
    fig.update_layout(hovermode="closest", legend=_legend_for(len(labels)))
    return fig


def gradient_lines_figure(rec: ProbeRecord) -> go.Figure:
    h = rec.history
    return lines_figure(rec, h.g_mean, h.step, "Gradient size per layer over training",
                        "mean |gradient| (log scale)")


def ratio_figure(rec: ProbeRecord) -> go.Figure:
    h = rec.history
    return lines_figure(rec, h.ratio, h.ratio_step, "How much one step changes the weights: |update| / |weights|",
                        "update / weight (log scale)", HEALTHY_RATIO, "rule of thumb ≈ 0.001")


def dead_figure(rec: ProbeRecord) -> go.Figure:
    """Share of dead units per ReLU layer on the recorded batch."""
    dead = rec.dead
    labels = _labels(rec, list(dead))
    shares = [float(v) for v in dead.values()]
    fig = go.Figure(go.Bar(x=labels, y=shares, name="dead units", marker_color=[
        WRONG if s >= 0.5 else QUALITATIVE[0] for s in shares],
        hovertemplate="%{x}<br>%{y:.0%} of units never active<extra></extra>"))
    fig.add_hline(y=0.5, line=dict(color="#888", dash="dash", width=1), annotation_text="warning at 50%",
                  annotation_position="top left")
    base_layout(fig, f"Dead ReLU units (never active on {rec.batch} test examples)", "ReLU layer",
                "share of units", 300)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    fig.update_layout(hovermode="closest", showlegend=True)
    return fig


# ---------------------------------------------------------------- distributions
def distributions_figure(rec: ProbeRecord, kind: str) -> go.Figure:
    """TensorBoard's view for one kind (weights, biases, activations, gradients): per layer,
    percentile bands over steps (left) and the current histogram (right)."""
    d = rec.dist[kind]
    steps, labels = np.asarray(rec.history.step), _labels(rec, d.layers)
    n = len(labels)
    titles = [t for label in labels for t in (f"{label}: {kind} over steps", f"{label}: {kind} now")]
    height = 110 + 230 * n
    fig = make_subplots(rows=n, cols=2, column_widths=[0.62, 0.38], subplot_titles=titles,
                        vertical_spacing=80 / height if n > 1 else 0.1, horizontal_spacing=0.08)
    shades = [0.12, 0.22, 0.34, 0.5]
    back = np.concatenate([steps, steps[::-1]])                   # x of a closed band: there and back
    axes: dict = {}
    for r, label in enumerate(labels, start=1):
        pct = np.asarray(d.pct[:, r - 1], np.float64)             # (T, 9)
        first = r == 1
        for (lo, hi), name, alpha in zip(BAND_PAIRS, BAND_NAMES, shades):
            fig.add_trace(go.Scatter(x=back, y=np.concatenate([pct[:, hi], pct[::-1, lo]]), fill="toself",
                                     mode="lines", line=dict(width=0), fillcolor=f"rgba(245,147,34,{alpha})",
                                     name=name, legendgroup=name, showlegend=first, hoverinfo="skip"), r, 1)
        fig.add_trace(go.Scatter(x=steps, y=pct[:, 4], mode="lines", name="median", legendgroup="median",
                                 showlegend=first, line=dict(color="#b35c00", width=1.5),
                                 hovertemplate="step %{x}<br>median %{y:.3g}<extra></extra>"), r, 1)
        hist = d.hist[r - 1]
        edges, counts = np.asarray(hist.edges), np.asarray(hist.counts)
        if counts.size:
            fig.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges),
                                 marker_color=QUALITATIVE[0], name="histogram now", legendgroup="hist",
                                 showlegend=first,
                                 hovertemplate="value %{x:.3g}<br>count %{y}<extra></extra>"), r, 2)
        left, right = 2 * r - 1, 2 * r                            # plotly's axis numbers, row by row
        axes[f"yaxis{left if left > 1 else ''}"] = dict(title_text="value")
        axes[f"yaxis{right}"] = dict(title_text="count")
        if r == n:
            axes[f"xaxis{left if left > 1 else ''}"] = dict(title_text="training step")
            axes[f"xaxis{right}"] = dict(title_text="value")
    fig.update_annotations(font_size=12)
    fig.update_layout(title=dict(text=f"Distribution of {kind} per layer over training", x=0),
                      height=height, margin=dict(l=10, r=10, t=80, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0 + 40 / height, xanchor="right", x=1),
                      hovermode="closest", bargap=0, **axes)
    return fig


# ---------------------------------------------------------------- one conv cell (CNN Explainer)
MAX_CLICK_POINTS = 4000             # invisible click markers on a mosaic of maps, at most


def _tile_outline(k: int, cols: int, h: int, w: int, gap: int = 1) -> tuple[list, list]:
    """The outline of tile k of a mosaic (mosaic()'s layout), in pixel coordinates."""
    r0, c0 = (k // cols) * (h + gap), (k % cols) * (w + gap)
    a, b, top, bottom = c0 - 0.5, c0 + w - 0.5, r0 - 0.5, r0 + h - 0.5
    return [a, b, b, a, a], [top, top, bottom, bottom, top]


def mosaic_cell(act: ActivationMap, x: float, y: float) -> tuple[int, int, int] | None:
    """The (map, row, column) at the full-size map under point (x, y) of feature_maps_figure's
    mosaic (pixel coordinates); None in a gap or outside."""
    values = np.asarray(act.values)
    n, h, w = values.shape
    cols = min(n, 8)
    r, c = int(round(y)), int(round(x))
    (tr, rr), (tc, cc) = divmod(r, h + 1), divmod(c, w + 1)
    k = tr * cols + tc
    if r < 0 or c < 0 or rr >= h or cc >= w or tc >= cols or k >= n:
        return None
    return k, rr * act.shape[1] // h, cc * act.shape[2] // w


def feature_maps_figure(act: ActivationMap, chosen: int) -> go.Figure:
    """A conv layer's maps for the example (activation_figure's mosaic) with the chosen map
    outlined and an invisible marker on its pixels (every few, MAX_CLICK_POINTS at most), so a click
    picks a map and a cell (mosaic_cell reads it back); the hover names the map, row and column."""
    values = np.asarray(act.values)                                   # (N, h, w), maybe shrunk
    n, h, w = values.shape
    cols = min(n, 8)
    fig = activation_figure(act)
    _, tile = mosaic(values, cols)
    every = max(1, math.ceil(math.sqrt(int((tile > 0).sum()) / MAX_CLICK_POINTS)))
    rr, cc = np.nonzero(tile)
    keep = (rr % every == 0) & (cc % every == 0)
    rr, cc = rr[keep], cc[keep]
    k = tile[rr, cc].astype(int) - 1
    full_h, full_w = act.shape[1:]
    rows = (rr - (k // cols) * (h + 1)) * full_h // h                 # the cell in the full-size map
    cols_ = (cc - (k % cols) * (w + 1)) * full_w // w
    fig.add_trace(go.Scatter(
        x=cc, y=rr, mode="markers", name="click a map", showlegend=False,
        marker=dict(symbol="square", size=max(4, min(14, 700 // max(1, tile.shape[1]))) * every,
                    color="rgba(0,0,0,0)"),
        customdata=np.stack([k, rows, cols_, k + 1], 1),
        hovertemplate="map %{customdata[3]}, row %{customdata[1]}, column %{customdata[2]}"
                      "<br>click to explain this cell<extra></extra>",
        selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0))))
    if 0 <= chosen < n:
        xs, ys = _tile_outline(chosen, cols, h, w)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"chosen map ({chosen + 1})", hoverinfo="skip",
                                 line=dict(color="#111111", width=3)))
    fig.update_layout(clickmode="event+select", dragmode=False, showlegend=True,
                      legend=dict(orientation="h", y=-0.02, yanchor="top", x=0, xanchor="left"))
    return fig


def cell_input_figure(cell: ConvCell, channel: int) -> go.Figure:
    """The conv layer's input (one channel, padded) with the patch the filter slid over at the
    chosen cell outlined: gray for the network's input image, diverging for a hidden layer's maps."""
    from .conv_lab import FIELD_COLOR, FIELD_FILL, Outline, grid_figure
    a = cell.inputs[channel]                                          # (H, W)
    p = cell.settings.padding
    padded = np.pad(a, p) if p else a
    image = cell.layer == 0 and a.min() >= 0 and a.max() <= 1
    title = f"Input channel {channel + 1} of {cell.n_in}" if cell.n_in > 1 else "Input"
    title += " (padded)" if p else ""
    taps = [(t.row, t.col) for t in cell.cells[channel].terms]
    return grid_figure(padded, title, origin=(-p, -p),
                       gray=image, colorbar="brightness" if image else "input",
                       outlines=[Outline("patch the filter slides over (its receptive field)", FIELD_COLOR, taps,
                                         width=1.5, fill=FIELD_FILL)],
                       border=a.shape if p else None, height=380)


def cell_sum_text(cell: ConvCell, digits: int = 4) -> str:
    """The cell's arithmetic in one block: each input channel's patch x kernel summed, the bias,
    the total by hand, and what the layer itself computed."""
    lines = [f"channel {c + 1:>2}: sum of {len(cell.cells[0].terms)} products (patch x kernel) = {v:+.{digits}f}"
             for c, v in enumerate(cell.channel_sums)]
    lines += [f"            + bias = {cell.bias:+.{digits}f}",
              f"              total = {cell.total:+.{digits}f}   (the layer computed {cell.value:+.{digits}f})"]
    return "\n".join(lines)
