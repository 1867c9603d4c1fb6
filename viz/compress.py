"""Figures of the Compress page: pure functions (engine.records' Variant, SparsityCurve and
Distillation in, go.Figure out)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from .style import BLUE, ORANGE, QUALITATIVE, figure, layout

if TYPE_CHECKING:
    from engine.records import Distillation, SparsityCurve, Variant

# one colour per kind of variant, on the Pareto chart and its legend
KIND_COLORS = {"original": "#222222", "pruned": QUALITATIVE[1], "fine-tuned": QUALITATIVE[0],
               "quantized": QUALITATIVE[2], "student": QUALITATIVE[6], "distilled": QUALITATIVE[3]}
KIND_LABELS = {"original": "original", "pruned": "pruned", "fine-tuned": "pruned + fine-tuned",
               "quantized": "quantized (int8)", "student": "student alone", "distilled": "student distilled"}


def _legend_below(lay: dict, y: float = -0.25) -> dict:
    lay["legend"] = {"orientation": "h", "x": 0, "xanchor": "left", "y": y, "yanchor": "top"}
    return lay


def _subtitled(lay: dict, subtitle: str) -> dict:
    """A smaller second title line: a chart half the page wide has room for about 50 characters."""
    lay["title"] = {"text": f"{lay['title']['text']}<br><sup>{subtitle}</sup>", "x": 0, "xanchor": "left"}
    lay["margin"] = {**lay["margin"], "t": 72}
    return lay


def sparsity_figure(c: SparsityCurve, original: float, chosen: float | None = None, height: int = 400) -> go.Figure:
    """Test accuracy against the share of weights pruned: right after pruning and after the fine-tune."""
    x = (c.sparsity * 100).round(1).tolist()
    data = [{"type": "scatter", "mode": "lines+markers", "x": x, "y": c.accuracy.round(4).tolist(),
             "name": "right after pruning", "line": {"color": QUALITATIVE[1]},
             "hovertemplate": "%{x}% pruned: %{y:.1%}<extra>after pruning</extra>"}]
    if c.finetuned is not None:
        data.append({"type": "scatter", "mode": "lines+markers", "x": x, "y": c.finetuned.round(4).tolist(),
                     "name": f"after {c.finetune_steps} fine-tune steps", "line": {"color": QUALITATIVE[0]},
                     "hovertemplate": "%{x}% pruned: %{y:.1%}<extra>fine-tuned</extra>"})
    data.append({"type": "scatter", "mode": "lines", "x": [0, 100], "y": [original, original],
                 "name": f"original ({original:.1%})", "line": {"color": "#222222", "dash": "dash", "width": 1},
                 "hoverinfo": "skip"})
    scope = "one threshold for all layers" if c.scope == "global" else "each layer alike"
    what = "single weights" if c.structure == "unstructured" else "whole channels"
    lay = layout("Accuracy as more weights are pruned",
                 "weights set to zero (% of the Linear and Conv2d weights)", "test accuracy", height,
                 xaxis={"range": [-2, 100]}, yaxis={"range": [0, 1.02], "tickformat": ".0%"}, hovermode="closest")
    if chosen is not None:
        lay["shapes"] = [{"type": "line", "x0": chosen * 100, "x1": chosen * 100, "y0": 0, "y1": 1, "yref": "paper",
                          "line": {"color": "#888888", "dash": "dot", "width": 1}}]
        lay["annotations"] = [{"x": chosen * 100, "y": 0.02, "yref": "paper", "text": "your sparsity",
                               "showarrow": False, "xanchor": "right", "font": {"size": 11, "color": "#555555"}}]
    return figure(data, _legend_below(_subtitled(lay, f"pruning {what}, {scope}")))


def distill_figure(d: Distillation, height: int = 400) -> go.Figure:
    """Each student's test accuracy during training, with the teacher and alone: the mean over the
    seeds as a line, the lowest to highest seed as a band."""
    x = d.steps.tolist()
    data = []
    for name, acc, color in ((f"student with the teacher (T={d.temperature:g}, soft loss {d.alpha:.0%})",
                              d.with_teacher, ORANGE), ("the same student alone (labels only)", d.alone, BLUE)):
        lo, hi, mean = acc.min(0), acc.max(0), acc.mean(0)
        data.append({"type": "scatter", "mode": "lines", "x": x + x[::-1],
                     "y": np.concatenate([hi, lo[::-1]]).round(4).tolist(), "fill": "toself", "fillcolor": color,
                     "opacity": 0.2, "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False})
        data.append({"type": "scatter", "mode": "lines+markers", "x": x, "y": mean.round(4).tolist(), "name": name,
                     "line": {"color": color}, "hovertemplate": "step %{x}: %{y:.1%}<extra></extra>"})
    data.append({"type": "scatter", "mode": "lines", "x": [x[0], x[-1]], "y": [d.teacher_accuracy] * 2,
                 "name": f"teacher ({d.teacher_accuracy:.1%}, {d.teacher_params:,} parameters)",
                 "line": {"color": "#222222", "dash": "dash", "width": 1}, "hoverinfo": "skip"})
    seeds = f"mean of {len(d.seeds)} seeds, band: lowest to highest" if len(d.seeds) > 1 else "one seed"
    lay = layout("A small student, with and without the teacher",
                 f"training steps (each student sees the same {d.train_examples:,} labelled examples)",
                 "test accuracy", height, yaxis={"tickformat": ".0%"}, hovermode="x unified")
    return figure(data, _legend_below(_subtitled(lay, f"student: {d.student_params:,} parameters; {seeds}")))


def pareto_figure(variants: list[tuple[str, Variant]], front: list[int], height: int = 460) -> go.Figure:
    """Every variant's accuracy against its size, one colour per kind; the Pareto front (no variant
    is both smaller and at least as accurate) joined by a line and ringed."""
    data = []
    for kind, label in KIND_LABELS.items():
        idx = [i for i, (_, v) in enumerate(variants) if v.kind == kind]
        if not idx:
            continue
        data.append({"type": "scatter", "mode": "markers", "name": label,
                     "x": [round(variants[i][1].bytes / 1024, 2) for i in idx],
                     "y": [round(variants[i][1].accuracy, 4) for i in idx],
                     "customdata": [[variants[i][1].name, variants[i][0]] for i in idx],
                     "marker": {"size": 11, "color": KIND_COLORS[kind], "symbol": "circle"},
                     "hovertemplate": "%{customdata[0]} (%{customdata[1]})<br>%{x:,.1f} KB, %{y:.1%}<extra></extra>"})
    pts = [variants[i][1] for i in front]
    data.append({"type": "scatter", "mode": "lines+markers", "name": "Pareto front (best trade-offs)",
                 "x": [round(v.bytes / 1024, 2) for v in pts], "y": [round(v.accuracy, 4) for v in pts],
                 "line": {"color": "#888888", "dash": "dot", "shape": "hv"},
                 "marker": {"size": 19, "color": "rgba(0,0,0,0)", "line": {"color": "#222222", "width": 2}},
                 "hoverinfo": "skip"})
    lay = layout("Every variant made in this session: accuracy against size",
                 "size on disk, zipped (KB, log scale)", "test accuracy", height,
                 xaxis={"type": "log"}, yaxis={"tickformat": ".1%"}, hovermode="closest")
    return figure(data, _legend_below(lay, -0.2))
