"""Figures of the Sequences & text page: pure functions (evaluation columns and the page's view
records, engine/records.py, in; go.Figure out).

The loss per character with the bigram baseline, the next-character probabilities, a forecast
against the truth and the class probabilities of a typed sequence.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from .style import BLUE, LIVE_MARGIN, ORANGE, TEST_COLOR, TRAIN_COLOR, figure, layout

if TYPE_CHECKING:
    from engine.records import Forecast, NextChars, SequenceClasses

BASELINE_COLOR = "#555555"
PALE_BLUE = "rgba(8,119,189,0.3)"       # the model's own probabilities next to the sampler's
TRUTH_COLOR = "#2ca02c"
RIGHT = "#2ca02c"
MAX_BARS = 30                          # next characters: more than this, only the most likely are drawn
SHOWN = {" ": "␣ (space)", "\n": "⏎ (new line)", "\t": "⇥ (tab)"}


def _pairs(cols: dict, x: str, y: str) -> tuple[list, list]:
    """Matching x and y values, skipping rows without a y."""
    keep = [(a, b) for a, b in zip(cols.get(x) or [], cols.get(y) or []) if a is not None and b is not None]
    return [a for a, _ in keep], [b for _, b in keep]


def _line(x: list, y: list, name: str, color: str, width: float = 2.5, dash: str = "solid",
          markers: bool = False) -> dict:
    return {"type": "scatter", "x": x, "y": y, "name": name, "mode": "lines+markers" if markers else "lines",
            "line": {"color": color, "width": width, "dash": dash}}


# ---------------------------------------------------------------- loss
def score_figure(evals: dict, key: str = "acc", name: str = "accuracy", percent: bool = True) -> go.Figure:
    """Train and held-out score (the columns train_<key>, test_<key>) against steps; 0-100% when `percent`."""
    scale = 100 if percent else 1
    data = []
    for split, color, label in (("train", TRAIN_COLOR, "train"), ("test", TEST_COLOR, "held-out")):
        px, py = _pairs(evals, "step", f"{split}_{key}")
        data.append(_line(px, [v * scale for v in py], f"{label} {name}", color, markers=len(px) < 30))
    return figure(data, layout(name[:1].upper() + name[1:], "training step", f"{name} (%)" if percent else name,
                               yaxis={"range": [0, 101]} if percent else None, margin=LIVE_MARGIN))


def loss_figure(evals: dict, batches: dict | None = None, baseline: float | None = None,
                title: str = "Loss per character", y_title: str = "loss (nats per character)") -> go.Figure:
    """Train and held-out loss against steps, the batch losses light, and (language models) the
    bigram baseline's held-out loss as a dashed horizontal line across the steps drawn."""
    data = []
    if batches and batches.get("step"):
        data.append(_line(batches["step"], batches["loss"], "batch loss", "rgba(31,119,180,0.25)", 1))
    for col, color, label in (("train_loss", TRAIN_COLOR, "train loss"), ("test_loss", TEST_COLOR, "held-out loss")):
        px, py = _pairs(evals, "step", col)
        data.append(_line(px, py, label, color, markers=len(px) < 30))
    if baseline is not None:
        steps = [s for s in (evals.get("step") or []) + ((batches or {}).get("step") or []) if s is not None]
        end = max(max(steps, default=0), 1)
        data.append({**_line([0, end], [baseline, baseline], "bigram baseline", BASELINE_COLOR, 1.5, "dash"),
                     "hovertemplate": f"bigram baseline {baseline:.3f}<extra></extra>"})
    return figure(data, layout(title, "training step", y_title, margin=LIVE_MARGIN))


# ---------------------------------------------------------------- next character
def char_label(c: str, end_mark: bool) -> str:
    """How a character is written on an axis: the end mark of names, space and new line by name."""
    if end_mark and c == ".":
        return "end"
    return SHOWN.get(c, c)


def next_char_figure(rec: NextChars, max_bars: int = MAX_BARS) -> go.Figure:
    """P(next character) as bars in vocabulary order (padding left out); with more than `max_bars`
    characters, the most likely ones, most likely first. When the sampler's temperature or top-k
    changes the distribution, its probabilities are drawn next to the model's own."""
    probs, drawn = np.asarray(rec.probs, np.float64), np.asarray(rec.drawn, np.float64)
    ids = np.arange(1, len(rec.vocab))
    if len(ids) > max_bars:
        ids = ids[np.argsort(-np.maximum(probs[ids], drawn[ids]), kind="stable")[:max_bars]]
    labels = [char_label(rec.vocab[i], rec.end_mark) for i in ids]
    same = rec.temperature == 1.0 and rec.top_k == 0
    data = [{"type": "bar", "x": labels, "y": (probs[ids] * 100).tolist(), "name": "the model's probability",
             "marker": {"color": BLUE if same else PALE_BLUE, "line": {"color": BLUE, "width": 1}},
             "hovertemplate": "%{x}: %{y:.1f}%<extra>the model</extra>"}]
    if not same:
        k = f", top-{rec.top_k}" if rec.top_k else ""
        data.append({"type": "bar", "x": labels, "y": (drawn[ids] * 100).tolist(),
                     "name": f"what sampling draws from (temperature {rec.temperature:g}{k})",
                     "marker": {"color": ORANGE},
                     "hovertemplate": "%{x}: %{y:.1f}%<extra>sampling</extra>"})
    after = f"after “{rec.context}”" if rec.context else "at the start of a name" if rec.end_mark else ""
    title = f"Next character {after}".strip()
    return figure(data, layout(title, "next character", "probability (%)", height=300, hovermode="closest",
                               barmode="group", xaxis={"type": "category", "tickangle": 0, "tickmode": "array",
                                                       "tickvals": labels, "ticktext": labels,
                                                       "tickfont": {"size": 11}},
                               yaxis={"rangemode": "tozero"}))


# ---------------------------------------------------------------- forecast
def forecast_figure(rec: Forecast) -> go.Figure:
    """The window the model reads (steps -W+1 .. 0), the true next H values and the forecast
    (steps 1 .. H), on one time axis."""
    w, h = len(rec.window), len(rec.truth)
    past, future = list(range(-w + 1, 1)), list(range(1, h + 1))
    data = [_line(past, np.asarray(rec.window).tolist(), "what it reads", BLUE, 2),
            _line(future, np.asarray(rec.truth).tolist(), "what came next", TRUTH_COLOR, 2.5, markers=True),
            _line(future, np.asarray(rec.forecast).tolist(), "forecast", ORANGE, 2.5, "dash", markers=True)]
    shape = {"type": "line", "x0": 0.5, "x1": 0.5, "y0": 0, "y1": 1, "yref": "paper",
             "line": {"color": BASELINE_COLOR, "width": 1, "dash": "dot"}}
    return figure(data, layout(f"Forecast for held-out window {rec.index + 1} of {rec.n_windows:,}",
                               "time step (0 = the last value the model reads)", "value", height=320,
                               shapes=[shape]))


# ---------------------------------------------------------------- classes of a sequence
def classes_figure(rec: SequenceClasses, title: str = "") -> go.Figure:
    """One horizontal bar per class (probability, %); the most likely in orange, the true class
    (of a held-out example) outlined in green."""
    probs = np.asarray(rec.probs, np.float64) * 100
    best = int(probs.argmax())
    colors = [ORANGE if i == best else BLUE for i in range(len(probs))]
    outline = [RIGHT if i == rec.true else "rgba(0,0,0,0)" for i in range(len(probs))]
    names = [f"{n} ✓ true" if i == rec.true else n for i, n in enumerate(rec.class_names)]
    data = [{"type": "bar", "orientation": "h", "x": probs.tolist(), "y": names, "name": "probability",
             "marker": {"color": colors, "line": {"color": outline, "width": 3}},
             "text": [f"{p:.1f}%" for p in probs], "textposition": "auto",
             "hovertemplate": "%{y}: %{x:.1f}%<extra></extra>"}]
    title = title or f"Class probabilities of “{rec.text}”"
    return figure(data, layout(title, "probability (%)", "class", height=60 + 36 * len(probs) + 60,
                               hovermode="closest", showlegend=False, xaxis={"range": [0, 100]},
                               yaxis={"autorange": "reversed", "type": "category"}))
