"""Figures of the Runs page: the selected runs' curves overlaid, one stable colour per run."""
from __future__ import annotations

import hashlib
from typing import Sequence

import plotly.graph_objects as go

from .style import QUALITATIVE, figure, layout

METRIC_LABELS = {"test_loss": "held-out loss", "train_loss": "training loss", "test_acc": "held-out accuracy",
                 "train_acc": "training accuracy", "test_r2": "held-out R²", "train_r2": "training R²",
                 "test_perplexity": "held-out perplexity", "train_perplexity": "training perplexity"}


def run_color(run_id: str) -> str:
    """The run's colour on every chart of the page, whatever else is selected: from its id."""
    return QUALITATIVE[int(hashlib.sha1(run_id.encode()).hexdigest(), 16) % len(QUALITATIVE)]


def metric_label(key: str) -> str:
    return METRIC_LABELS.get(key, key.replace("_", " "))


def curves_figure(runs: Sequence, metric: str, height: int = 380) -> go.Figure:
    """`metric` over steps for each run (RunRecord-like: id, name, series, best), its best
    evaluation ringed."""
    data = []
    for r in runs:
        xs, ys = r.series.get("step", []), r.series.get(metric, [])
        pts = [(x, y) for x, y in zip(xs, ys) if isinstance(y, (int, float))]
        color = run_color(r.id)
        label = f"{r.name} ({r.id[:6]})"
        data.append({"type": "scatter", "mode": "lines", "name": label, "x": [p[0] for p in pts],
                     "y": [p[1] for p in pts], "line": {"color": color, "width": 2}})
        if r.best.get(metric) is not None and r.best.get("step") is not None:
            data.append({"type": "scatter", "mode": "markers", "name": f"{label}: best epoch",
                         "x": [r.best["step"]], "y": [r.best[metric]], "showlegend": False,
                         "marker": {"color": color, "size": 11, "symbol": "circle-open", "line": {"width": 2}},
                         "hovertemplate": f"best ({r.best.get('by', '').replace('_', ' ')}) at step %{{x}}: "
                                          "%{y:.4g}<extra></extra>"})
    return figure(data, layout(f"{metric_label(metric).capitalize()} of the selected runs", "step",
                               metric_label(metric), height, hovermode="closest",
                               legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0}))
