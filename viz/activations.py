"""Activation-function figures: pure functions (arrays in, go.Figure out)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import BLUE, ORANGE, base_layout

VANISH_FILL = "rgba(120,120,120,0.18)"


def activation_figure(x: np.ndarray, y: np.ndarray, dy: np.ndarray, vanishing: list[tuple[float, float]],
                      label: str, threshold: float, height: int = 330,
                      turning: Sequence[tuple[float, str]] = ()) -> go.Figure:
    """f(x) and f'(x) on one chart; the stretches where |f'| stays < threshold shaded grey, and
    the points where f' only passes through 0 (f's lowest or highest point) marked on f'."""
    fig = go.Figure()
    lo, hi = float(x[0]), float(x[-1])
    top = float(max(y.max(), dy.max(), 1.0))
    bottom = float(min(y.min(), dy.min(), 0.0))
    pad = 0.08 * (top - bottom)
    for n, (a, b) in enumerate(vanishing):        # shaded bands as filled traces: they get a legend entry
        fig.add_trace(go.Scatter(x=[a, b, b, a, a], y=[bottom - pad, bottom - pad, top + pad, top + pad, bottom - pad],
                                 fill="toself", fillcolor=VANISH_FILL, line=dict(width=0), mode="lines",
                                 name=f"|f′(x)| < {threshold:g}: gradient vanishes", legendgroup="vanish",
                                 showlegend=n == 0, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name="f(x)", line=dict(color=BLUE, width=3),
                             hovertemplate="x = %{x:.2f}<br>f(x) = %{y:.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=dy, mode="lines", name="f′(x) (autograd)",
                             line=dict(color=ORANGE, width=2.5, dash="dash"),
                             hovertemplate="x = %{x:.2f}<br>f′(x) = %{y:.4f}<extra></extra>"))
    if turning:
        fig.add_trace(go.Scatter(x=[t for t, _ in turning], y=[0.0] * len(turning), mode="markers",
                                 name="f′ = 0 at one point: f turns", marker=dict(color=ORANGE, size=10,
                                                                                 symbol="circle-open", line=dict(width=2.5)),
                                 customdata=[k for _, k in turning],
                                 hovertemplate="x = %{x:.2f}: f′ = 0, the %{customdata} point of f<extra></extra>"))
    base_layout(fig, f"{label}: f(x) and its derivative f′(x)", "input x", "f(x), f′(x)", height=height)
    fig.update_xaxes(range=[lo, hi], zeroline=True, zerolinecolor="#999")
    fig.update_yaxes(range=[bottom - pad, top + pad], zeroline=True, zerolinecolor="#999")
    fig.update_layout(hovermode="x unified", legend=dict(y=-0.3, yanchor="top", x=0, xanchor="left"),
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def softmax_figure(z: np.ndarray, p: np.ndarray, temperature: float, height: int = 320) -> go.Figure:
    """The scores z (left) and the probabilities softmax(z / T) (right), one bar per class."""
    names = [f"class {i}" for i in range(len(z))]
    fig = make_subplots(1, 2, subplot_titles=("scores z (logits): any real number",
                                              f"probabilities p = softmax(z / {temperature:g}): sum to 1"))
    fig.add_trace(go.Bar(x=names, y=z, name="score z", marker_color=[ORANGE if v >= 0 else BLUE for v in z],
                         text=[f"{v:.2f}" for v in z], textposition="outside",
                         hovertemplate="%{x}: z = %{y:.3f}<extra></extra>"), 1, 1)
    fig.add_trace(go.Bar(x=names, y=p, name="probability p", marker_color="#2ca02c",
                         text=[f"{v:.1%}" for v in p], textposition="outside",
                         hovertemplate="%{x}: p = %{y:.4f}<extra></extra>"), 1, 2)
    base_layout(fig, "Softmax: scores in, probabilities out", "class", "score z", height=height)
    fig.update_xaxes(title_text="class", row=1, col=2)
    fig.update_yaxes(title_text="probability p", range=[0, 1.15], row=1, col=2)
    zmin, zmax = float(min(z.min(), 0)), float(max(z.max(), 0))
    span = (zmax - zmin) or 1.0
    fig.update_yaxes(range=[zmin - 0.15 * span, zmax + 0.15 * span], row=1, col=1)
    fig.update_layout(hovermode="closest", margin=dict(l=10, r=10, t=70, b=10),
                      legend=dict(y=1.12, yanchor="bottom", x=1, xanchor="right"))
    fig.update_annotations(font_size=13)
    return fig
