"""Figures of the Draw-a-digit page: what the network receives, what it answers, where it looked."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .style import BLUE, ORANGE, figure, layout


def digit_figure(img: np.ndarray, title: str, scale: str = "Greys", height: int = 300) -> go.Figure:
    """A 28x28 image as the network sees it: white ink on black (MNIST's own colours)."""
    colors = [[0, "#000000"], [1, "#ffffff"]] if scale == "Greys" else scale
    return figure([{"type": "heatmap", "z": np.asarray(img)[::-1].tolist(), "colorscale": colors,
                    "zmin": 0, "zmax": 1, "showscale": False,
                    "hovertemplate": "row %{y}, column %{x}: %{z:.2f}<extra></extra>"}],
                  layout(title, "column (pixel)", "row (pixel)", height, hovermode="closest",
                         xaxis={"constrain": "domain", "showgrid": False},
                         yaxis={"scaleanchor": "x", "showgrid": False, "autorange": True,
                                "tickvals": [0, 7, 14, 21, 27], "ticktext": ["27", "20", "13", "6", "0"]}))


def probs_figure(probs: np.ndarray, height: int = 300) -> go.Figure:
    """The ten class probabilities, the predicted digit in orange."""
    p = np.asarray(probs, float)
    best = int(p.argmax())
    return figure([{"type": "bar", "x": [str(d) for d in range(len(p))], "y": p.tolist(),
                    "marker": {"color": [ORANGE if d == best else BLUE for d in range(len(p))]},
                    "hovertemplate": "digit %{x}: %{y:.1%}<extra></extra>"}],
                  layout(f"It reads a {best} ({p[best]:.0%} sure)", "digit", "probability", height,
                         yaxis={"range": [0, 1], "tickformat": ".0%"}, hovermode="closest"))


def maps_figure(maps: np.ndarray, title: str, n: int = 8, height: int = 170) -> go.Figure:
    """The first `n` channels of a layer's output for the digit, side by side."""
    from plotly.subplots import make_subplots
    maps = np.asarray(maps)[:n]
    fig = make_subplots(rows=1, cols=len(maps), horizontal_spacing=0.01,
                        subplot_titles=[f"channel {c + 1}" for c in range(len(maps))])
    for c, m in enumerate(maps):
        lim = float(np.abs(m).max()) or 1.0
        fig.add_trace(go.Heatmap(z=m[::-1], zmin=-lim, zmax=lim, showscale=False,
                                 colorscale=[[0, BLUE], [0.5, "#ffffff"], [1, ORANGE]],
                                 hovertemplate="%{z:.2f}<extra></extra>"), 1, c + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, showgrid=False)
    fig.update_layout(title={"text": title, "x": 0}, height=height, margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return fig
