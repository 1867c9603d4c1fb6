"""Convolution-lab figures: pure functions (arrays in, go.Figure out).

Grids are drawn as heatmaps with row 0 at the top, like an image; outlined cells (the
receptive field, the chosen output cell, a pooling window) are line traces, so they get
a legend entry. Images are grayscale; kernels and feature maps use the diverging
blue (-) / white (0) / orange (+) scale.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .style import DIVERGING, GRAY, base_layout

FIELD_COLOR = "#e6194b"      # receptive field / pooling window: a red that reads on gray and on blue/orange
FIELD_FILL = "rgba(230,25,75,0.35)"
CELL_COLOR = "#111111"       # the chosen output cell: black reads on white, blue and orange
EDGE_COLOR = "#ffd700"       # the image's own border, when padding is shown around it


@dataclass(frozen=True)
class Outline:
    """Cells to outline on a grid figure, with one legend entry."""
    name: str
    color: str
    cells: Sequence[tuple[int, int]]     # (row, col) in the figure's coordinates
    width: float = 2.5
    fill: str | None = None              # rgba fill of the cells, or None
    inset: float = 0.06                  # negative: drawn outside the cell, to stand out


def _square_path(cells: Sequence[tuple[int, int]], inset: float = 0.0) -> tuple[list, list]:
    xs: list = []
    ys: list = []
    for r, c in cells:
        a, b = c - 0.5 + inset, c + 0.5 - inset
        top, bottom = r - 0.5 + inset, r + 0.5 - inset
        xs += [a, b, b, a, a, None]
        ys += [top, top, bottom, bottom, top, None]
    return xs, ys


def _rect_path(r0: int, c0: int, r1: int, c1: int) -> tuple[list, list]:
    """The outline of the block of cells rows r0..r1, columns c0..c1."""
    a, b, top, bottom = c0 - 0.5, c1 + 0.5, r0 - 0.5, r1 + 0.5
    return [a, b, b, a, a], [top, top, bottom, bottom, top]


def grid_figure(z: np.ndarray, title: str, *, origin: tuple[int, int] = (0, 0), gray: bool = False,
                outlines: Sequence[Outline] = (), text: bool = False, colorbar: str = "value",
                border: tuple[int, int] | None = None, clickable: bool = False, height: int = 420,
                x_title: str = "column (pixel)", y_title: str = "row (pixel)") -> go.Figure:
    """A (H, W) grid as a heatmap whose top-left cell is `origin` (row, col). gray: black-white
    0..1 (an image); otherwise diverging around 0. border: (H, W) of the image inside a
    padded grid, outlined. clickable: an invisible marker per cell, so a click selects it."""
    h, w = z.shape
    rows = np.arange(h) + origin[0]
    cols = np.arange(w) + origin[1]
    fig = go.Figure()
    if gray:
        heat = dict(colorscale=GRAY, zmin=0.0, zmax=1.0)
    else:
        m = float(np.abs(z).max()) or 1.0
        heat = dict(colorscale=DIVERGING, zmin=-m, zmax=m)
    fig.add_trace(go.Heatmap(
        z=z, x=cols, y=rows, **heat, colorbar=dict(title=dict(text=colorbar, side="right"), thickness=12),
        texttemplate="%{z:.2f}" if text else None, textfont=dict(size=14),
        hovertemplate="row %{y}, column %{x}<br>value %{z:.3f}<extra></extra>",
        hoverinfo="skip" if clickable else None, name=colorbar, showlegend=False))
    if border is not None:
        xs, ys = _rect_path(0, 0, border[0] - 1, border[1] - 1)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="edge of the image (outside: padding)",
                                 line=dict(color=EDGE_COLOR, width=2, dash="dash"), hoverinfo="skip"))
    for o in outlines:
        xs, ys = _square_path(o.cells, inset=o.inset)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=o.name, hoverinfo="skip",
                                 fill="toself" if o.fill else None, fillcolor=o.fill,
                                 line=dict(color=o.color, width=o.width)))
    if clickable:
        cc, rr = np.meshgrid(cols, rows)
        fig.add_trace(go.Scatter(
            x=cc.ravel(), y=rr.ravel(), mode="markers", name="click a cell", showlegend=False,
            marker=dict(symbol="square", size=max(4, min(30, 330 // max(h, w))), color="rgba(0,0,0,0)"),
            customdata=z.ravel(), hovertemplate="row %{y}, column %{x}<br>value %{customdata:.3f}"
                                                "<br>click to explain this cell<extra></extra>",
            selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0))))
    base_layout(fig, title, x_title, y_title, height=height)
    fig.update_layout(hovermode="closest", legend=dict(y=-0.02, yanchor="top", x=0, xanchor="left"),
                      margin=dict(l=10, r=10, t=50, b=10), clickmode="event+select", dragmode=False)
    fig.update_xaxes(range=[cols[0] - 0.5, cols[-1] + 0.5], constrain="domain", showgrid=False,
                     zeroline=False, side="top", title_standoff=4)
    fig.update_yaxes(range=[rows[-1] + 0.5, rows[0] - 0.5], scaleanchor="x", constrain="domain",
                     showgrid=False, zeroline=False)
    return fig


def input_figure(padded: np.ndarray, padding: int, taps: Sequence[tuple[int, int]], image_shape: tuple[int, int],
                 title: str = "Input (with padding)") -> go.Figure:
    """The padded input in gray; the image's border; the receptive field's pixels outlined."""
    return grid_figure(padded, title, origin=(-padding, -padding), gray=True, colorbar="brightness",
                       outlines=[Outline("receptive field (pixels the kernel multiplies)", FIELD_COLOR, taps,
                                               width=1.5, fill=FIELD_FILL)],
                       border=image_shape if padding else None)


def kernel_figure(kernel: np.ndarray, title: str = "Kernel (weights)") -> go.Figure:
    """The kernel's weights as numbers on a diverging heatmap."""
    k = kernel.shape[0]
    fig = grid_figure(kernel, title, text=True, colorbar="weight", height=300,
                      x_title="kernel column", y_title="kernel row")
    fig.update_xaxes(tickvals=list(range(k)))
    fig.update_yaxes(tickvals=list(range(k)))
    fig.update_traces(texttemplate="%{z:.2g}", textfont=dict(size=13 if k == 3 else 10),   # fits a cell
                      selector=dict(type="heatmap"))
    return fig


def output_figure(fmap: np.ndarray, cell: tuple[int, int], title: str = "Output (feature map)",
                  window: Sequence[tuple[int, int]] = (), window_name: str = "pooling window",
                  clickable: bool = True) -> go.Figure:
    """The feature map on a diverging scale with the chosen cell (and a pooling window) outlined."""
    outlines = [Outline("chosen output cell", CELL_COLOR, [cell], width=3, inset=-0.3)]
    if window:
        outlines = [Outline(window_name, FIELD_COLOR, window, width=1.5, fill=FIELD_FILL)]
    return grid_figure(fmap, title, outlines=outlines, colorbar="output", clickable=clickable)


def terms_table(terms) -> list[dict]:
    """Rows for the sum-of-products table: one per kernel tap."""
    return [{"kernel (row, col)": f"({t.ki}, {t.kj})",
             "input pixel (row, col)": f"({t.row}, {t.col})" + (" padding" if t.padded else ""),
             "pixel value": round(t.value, 4), "× weight": round(t.weight, 4),
             "= product": round(t.product, 4)} for t in terms]


def products_figure(values: np.ndarray, weights: np.ndarray, total: float, title: str,
                    gray: bool = True) -> go.Figure:
    """Three small grids, CNN-Explainer style: the receptive field's pixels, the kernel, and
    their elementwise products, whose sum is the output value. All (k, k). gray: the pixels are
    an image in 0..1; otherwise (a hidden layer's maps, a standardised image) diverging around 0."""
    from plotly.subplots import make_subplots
    k = values.shape[0]
    products = values * weights
    fig = make_subplots(1, 3, horizontal_spacing=0.08, subplot_titles=(
        "pixels under the kernel", "× kernel weights", f"= products (they sum to {total:.4f})"))
    m = float(max(np.abs(weights).max(), np.abs(products).max(), 1e-9))
    size = 15 if k == 3 else 11
    v = float(np.abs(values).max()) or 1.0
    pixels = (values, GRAY, 0.0, 1.0, "pixel") if gray else (values, DIVERGING, -v, v, "input")
    for n, (z, scale, lo, hi, name) in enumerate([pixels,
                                                  (weights, DIVERGING, -m, m, "weight"),
                                                  (products, DIVERGING, -m, m, "product")]):
        fig.add_trace(go.Heatmap(
            z=z, colorscale=scale, zmin=lo, zmax=hi, showscale=False, name=name,
            text=[[f"{round(v, 2) + 0.0:.2f}" for v in row] for row in z], texttemplate="%{text}",
            textfont=dict(size=size),
            hovertemplate=f"{name} %{{z:.4f}}<extra></extra>"), 1, n + 1)
        fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, title_text="kernel column",
                         row=1, col=n + 1)
        fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed",
                         scaleanchor=f"x{'' if n == 0 else n + 1}", row=1, col=n + 1)
    fig.update_yaxes(title_text="kernel row", row=1, col=1)
    base_layout(fig, title, "kernel column", "kernel row", height=300)
    fig.update_layout(hovermode="closest", margin=dict(l=10, r=10, t=70, b=10), showlegend=False)
    fig.update_annotations(font_size=13)
    return fig
