"""Few labels page figures: held-out accuracy against labelled examples, one line per method with
its spread over seeds as a band. Pure: rows of numbers in, a figure out."""
from __future__ import annotations

import plotly.graph_objects as go

from .style import QUALITATIVE, figure, layout

COLORS = {"scratch": QUALITATIVE[6], "probe": QUALITATIVE[0], "finetune": QUALITATIVE[2],
          "random_probe": QUALITATIVE[1]}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def labels_figure(rows: list[dict], height: int = 420) -> go.Figure:
    """rows: {method, label, labels, mean, std} (engine.few_labels.LabelsRow.to_dict); accuracy in %
    against labelled examples on a log axis, mean ± std over seeds as a band."""
    data = []
    methods = list(dict.fromkeys(r["method"] for r in rows))
    counts = sorted({r["labels"] for r in rows})
    for m in methods:
        mine = sorted((r for r in rows if r["method"] == m), key=lambda r: r["labels"])
        x = [r["labels"] for r in mine]
        mean = [100 * r["mean"] for r in mine]
        lo = [100 * (r["mean"] - r["std"]) for r in mine]
        hi = [100 * (r["mean"] + r["std"]) for r in mine]
        color = COLORS.get(m, QUALITATIVE[len(data) % len(QUALITATIVE)])
        data.append({"type": "scatter", "x": x + x[::-1], "y": hi + lo[::-1], "fill": "toself", "mode": "lines",
                     "line": {"width": 0}, "fillcolor": _rgba(color, 0.25), "hoverinfo": "skip",
                     "showlegend": False, "legendgroup": m, "name": f"{mine[0]['label']} ± std"})
        data.append({"type": "scatter", "x": x, "y": mean, "mode": "lines+markers", "name": mine[0]["label"],
                     "legendgroup": m, "line": {"color": color, "width": 2.5},
                     "customdata": [100 * r["std"] for r in mine],
                     "hovertemplate": "%{y:.1f}% ± %{customdata:.1f} with %{x:,} labels"})
    lay = layout("Held-out accuracy against labelled examples", "labelled examples (log scale)",
                 "test accuracy (%)", height, xaxis={"type": "log", "tickvals": counts,
                                                     "ticktext": [f"{n:,}" for n in counts]},
                 yaxis={"range": [0, 101]},
                 hovermode="closest")
    lay["legend"] = {"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0}
    lay["margin"] = {"l": 10, "r": 10, "t": 50, "b": 10}
    return figure(data, lay)
