"""Figures of the Overfitting & augmentation page (pure: records and metric columns in, figures
out): a batch before and after augmentation, and the train and test curves of two runs on one
chart, train solid and test dashed, so the gap between them is the space between two lines."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from engine.records import AugmentedBatch
from viz.arena import Curve
from viz.playground import images_figure
from viz.style import LIVE_MARGIN, figure, layout

PER_ROW = 4                     # images per row: half the page wide, each big enough to see a 2-pixel shift
METRICS = {   # metric -> (column suffix, scale, axis title, log axis)
    "acc": ("acc", 100.0, "accuracy (%)", False),
    "loss": ("loss", 1.0, "loss (cross-entropy, log scale)", True),
}


def batch_figures(rec: AugmentedBatch) -> tuple[go.Figure, go.Figure]:
    """The batch as loaded and as the network got it, each image under its label."""
    k = len(rec.before)
    when = f"step {rec.step:,}" if rec.step > 1 else "the first step"
    before = images_figure(rec.before, list(range(k)), list(rec.labels), per_row=PER_ROW,
                           title=f"Before: {k} images of the batch of {when}, as loaded")
    after = images_figure(rec.after, list(range(k)), list(rec.labels), per_row=PER_ROW,
                          title="After: what the network was given" if rec.changes else "After: no change (all off)")
    return before, after


def curves_figure(curves: Sequence[Curve], metric: str = "acc", stops: Sequence[int | None] = ()) -> go.Figure:
    """Train (solid) and test (dashed) `metric` of each run against steps; a diamond marks the step
    whose weights early stopping put back (`stops[i]`, None where it did not stop)."""
    suffix, scale, ytitle, log = METRICS[metric]
    data = []
    for i, c in enumerate(curves):
        xs = c.evals.get("step") or []
        for split, dash in (("train", "solid"), ("test", "dash")):
            ys = [None if v is None else v * scale for v in c.evals.get(f"{split}_{suffix}") or []]
            data.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines", "name": f"{c.name}: {split}",
                         "legendgroup": c.name, "line": {"color": c.color, "dash": dash, "width": 2.4 if split == "test" else 1.6},
                         "hovertemplate": f"{c.name}, {split}: %{{y:.3g}}<extra></extra>"})
        best = stops[i] if i < len(stops) else None
        if best is not None and best in xs:
            j = xs.index(best)
            y = (c.evals.get(f"test_{suffix}") or [None] * len(xs))[j]
            if y is not None:
                data.append({"type": "scatter", "x": [best], "y": [y * scale], "mode": "markers",
                             "name": f"{c.name}: weights put back (step {best})", "legendgroup": c.name,
                             "marker": {"symbol": "diamond", "size": 12, "color": c.color,
                                        "line": {"width": 1.5, "color": "black"}},
                             "hovertemplate": f"early stopping restored step {best}<extra></extra>"})
    name = {"acc": "Accuracy", "loss": "Loss"}[metric]
    yaxis = {"type": "log", "dtick": 1, "tickformat": "~g"} if log else {"range": [0, 101]}
    return figure(data, layout(f"{name} on training (solid) and test (dashed) digits, both runs",
                               "training step (batches of 32)", ytitle, 380, yaxis=yaxis, margin=LIVE_MARGIN,
                               legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0}))


def gap_text(gap: float | None) -> str:
    """A train-test accuracy gap as the page says it: '23.1 points'."""
    return "—" if gap is None or not np.isfinite(gap) else f"{100 * gap:.1f} points"
