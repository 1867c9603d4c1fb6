"""One colour language for every page (TensorFlow Playground's orange/blue pair)."""
from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import get_colorscale

# The default template is applied once, lazily; `template="plotly_white"` on each figure costs ~100 ms.
pio.templates.default = "plotly_white"

BLUE = "#0877bd"          # class 0, negative values
ORANGE = "#f59322"        # class 1, positive values
GREY = "#e8eaeb"
# diverging scale for decision boundaries, weights, kernels: blue (-) -> white -> orange (+)
DIVERGING = [[0.0, BLUE], [0.5, "#ffffff"], [1.0, ORANGE]]
SEQUENTIAL = "Viridis"
# images on every page as the data holds them: bright = ink, so digits are white on black
GRAY = [[0.0, "#000000"], [1.0, "#ffffff"]]
BLUES = get_colorscale("Blues")   # as a list: plotly.js reads the name "Blues" as a different scale
# qualitative palette for runs (each optimizer's own colour is in its registry entry, engine.optim)
QUALITATIVE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
CLASS_COLORS = [BLUE, ORANGE, "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                "#17becf", "#d62728"]
TRAIN_COLOR, TEST_COLOR = "#1f77b4", "#ff7f0e"


# Margins for a live chart with tick labels and axis titles: fixed, so plotly.js does not
# measure the labels and then draw the chart a second time to fit them ("automargin"), which
# doubles the browser's time per redraw (loss chart: 60 ms -> 25 ms).
LIVE_MARGIN = {"l": 64, "r": 10, "t": 50, "b": 50}


def layout(title: str, x: str, y: str, height: int = 320, xaxis: dict | None = None,
           yaxis: dict | None = None, margin: dict | None = None, **extra) -> dict:
    """Every chart's starting layout as a plain dict: title, axis titles (plus any other axis
    settings), a horizontal legend, and margins that grow to fit the tick labels, or, given
    `margin` (e.g. LIVE_MARGIN), stay fixed; `extra` adds or overrides keys."""
    fixed = {"automargin": False} if margin else {}
    return {"title": {"text": title, "x": 0, "xanchor": "left"}, "height": height,
            "margin": margin or {"l": 10, "r": 10, "t": 50, "b": 10},
            "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
            "hovermode": "x unified", "xaxis": {"title": {"text": x}, **fixed, **(xaxis or {})},
            "yaxis": {"title": {"text": y}, **fixed, **(yaxis or {})}, **extra}


def figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure from plain trace and layout dicts in one go, skipping plotly's per-property
    validation: about 10x faster to build (1-2 ms instead of 15-40 ms), which matters for the
    charts a page redraws twice a second. tests/test_figures.py validates every builder's output."""
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def base_layout(fig: go.Figure, title: str, x: str, y: str, height: int = 320, subtitle: str = "") -> go.Figure:
    """`layout` applied to a figure built step by step; axis titles go to every subplot's axes.
    `subtitle`: a smaller second line under the title (a chart half the page wide has room for
    about 50 characters of title: the rest goes there rather than off the edge)."""
    fig.update_layout({k: v for k, v in layout(title, x, y, height).items() if k not in ("xaxis", "yaxis")})
    if subtitle:
        fig.update_layout(title=dict(text=f"{title}<br><sup>{subtitle}</sup>", yref="container", y=1,
                                     yanchor="top", pad=dict(t=12)), margin=dict(t=72))
    fig.update_xaxes(title_text=x)
    fig.update_yaxes(title_text=y)
    return fig


def png_data_uri(rgb: np.ndarray) -> str:
    """An (H, W, 3) uint8 picture as a PNG data URI (for a plotly layout image), written with
    zlib: rows from the top, no external image library."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))          # filter 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()
