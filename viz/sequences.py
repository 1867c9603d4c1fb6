"""Figures of the Sequences & text page: pure functions (evaluation columns and the page's view
records, engine/records.py, in; go.Figure out).

The loss per character with the bigram baseline, the next-character probabilities, a forecast
against the truth and the class probabilities of a typed sequence; inside the model for one
example: hidden states and gates, connectivity, attention per head, the embedding map and the
gradient through time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from .style import BLUE, BLUES, DIVERGING, LIVE_MARGIN, ORANGE, TEST_COLOR, TRAIN_COLOR, figure, layout

if TYPE_CHECKING:
    from engine.records import (AttentionMaps, Connectivity, EmbeddingPoints, Forecast, HiddenStates, NextChars,
                                SequenceClasses, TimeGradients)

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


RACE_COLORS = ("#d62728", "#9467bd", "#2ca02c")     # plain RNN, GRU, LSTM (engine.memory_race.CELLS order)


def race_figure(curves: dict[str, dict], chance: float, lag: int) -> go.Figure:
    """Held-out accuracy against steps for each contestant (name -> its evaluation columns), with
    chance (guessing) as a dashed line."""
    data = []
    for (name, evals), color in zip(curves.items(), RACE_COLORS):
        px, py = _pairs(evals, "step", "test_acc")
        data.append(_line(px, [v * 100 for v in py], name, color))
    end = max((max(e.get("step") or [0]) for e in curves.values()), default=0) or 1
    data.append({**_line([0, end], [chance * 100] * 2, "guessing", "#7f7f7f", 1.5, "dash"),
                 "hovertemplate": f"guessing {chance:.1%}<extra></extra>"})
    return figure(data, layout(f"Who remembers across {lag} steps?", "training step", "held-out accuracy (%)",
                               yaxis={"range": [0, 101]}, margin=LIVE_MARGIN))


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


# ---------------------------------------------------------------- inside the model, for one example
GATE_NAMES = {"cell": "candidate cell", "new": "candidate state"}      # gates whose values are tanh's (-1..1)
TANH_GATES = ("cell", "new")
GAP = 0.04                                                             # between subplots, share of the width


def _step_axis(tokens: tuple[str, ...], title: str, width: float = 800, **extra) -> dict:
    """An axis of steps 0..T-1 written as the tokens read at them (repeated letters stay apart);
    where the labels would not fit in `width` pixels, every k-th (counted back from the last)."""
    most = max(2, int(width // (7 * max(len(t) for t in tokens) + 5)))
    every = -(-len(tokens) // most)
    shown = list(range(len(tokens) - 1, -1, -every))[::-1]
    return {"title": {"text": title}, "tickmode": "array", "tickvals": shown,
            "ticktext": [tokens[t] for t in shown], "tickangle": 0, "showgrid": False, **extra}


def _panels(n: int, gap: float = GAP) -> list[list[float]]:
    """n side-by-side domains [start, end] of the width."""
    w = (1 - gap * (n - 1)) / n
    return [[round(i * (w + gap), 6), round(min(1.0, i * (w + gap) + w), 6)] for i in range(n)]


def step_label(tokens: tuple[str, ...], position: int) -> str:
    """'step 4 (“r”)': a step, counted from 1, and the token read at it."""
    return f"step {position + 1} (“{tokens[position]}”)"


def states_figure(rec: HiddenStates, what: str = "character") -> go.Figure:
    """The layer's state: one row per unit, one column per step (LSTMVis), blue - / orange +;
    `what` each step reads (character, value)."""
    units, steps = rec.states.shape
    more = f" (first {units} of {rec.n_units} units)" if units < rec.n_units else ""
    data = [{"type": "heatmap", "z": rec.states.tolist(), "x": list(range(steps)), "y": list(range(1, units + 1)),
             "colorscale": DIVERGING, "zmin": -1, "zmax": 1, "name": "state",
             "colorbar": {"title": {"text": "state"}, "thickness": 12},
             "customdata": [list(rec.tokens)] * units,
             "hovertemplate": "unit %{y}, after “%{customdata}”: %{z:.2f}<extra></extra>"}]
    return figure(data, layout(f"{rec.label} hidden state after each step{more}", f"step (the {what} read)",
                               "unit", height=380, hovermode="closest",
                               xaxis=_step_axis(rec.tokens, f"step (the {what} read)"), yaxis={"autorange": "reversed"},
                               margin={"l": 60, "r": 10, "t": 50, "b": 50}))


def gates_figure(rec: HiddenStates) -> go.Figure:
    """Each gate's value per unit and step, side by side: sigmoid gates 0 (shut) .. 1 (open) in
    blues; the candidate values (tanh) -1 .. 1 in the diverging pair."""
    names = list(rec.gates)
    data, lay = [], layout(f"{rec.label} gates at each step", "step", "unit", height=380, hovermode="closest",
                           margin={"l": 60, "r": 10, "t": 80, "b": 50})
    notes = []
    for i, (name, dom) in enumerate(zip(names, _panels(len(names)))):
        sfx = "" if i == 0 else str(i + 1)
        tanh = name in TANH_GATES
        g = rec.gates[name]
        data.append({"type": "heatmap", "z": g.tolist(), "x": list(range(g.shape[1])),
                     "y": list(range(1, g.shape[0] + 1)), "xaxis": f"x{sfx}", "yaxis": f"y{sfx}",
                     "name": GATE_NAMES.get(name, name), "colorscale": DIVERGING if tanh else BLUES,
                     "zmin": -1 if tanh else 0, "zmax": 1, "showscale": i == 0,
                     "colorbar": {"title": {"text": "gate (0 shut, 1 open)"}, "thickness": 12},
                     "hovertemplate": f"{GATE_NAMES.get(name, name)} · unit %{{y}}, step %{{x}}: %{{z:.2f}}"
                                      "<extra></extra>"})
        lay[f"xaxis{sfx}"] = {**_step_axis(rec.tokens, "step", 800 / len(names)), "domain": dom, "anchor": f"y{sfx}"}
        lay[f"yaxis{sfx}"] = {"title": {"text": "unit" if i == 0 else ""}, "autorange": "reversed",
                              "anchor": f"x{sfx}", "showticklabels": i == 0}
        notes.append({"text": f"<b>{GATE_NAMES.get(name, name)}</b>" + (" (−1..1)" if tanh else ""),
                      "x": sum(dom) / 2, "y": 1.0, "xref": "paper", "yref": "paper", "xanchor": "center",
                      "yanchor": "bottom", "showarrow": False})
    lay["annotations"] = notes
    return figure(data, lay)


def _text_size(tokens: tuple[str, ...], width: float = 800) -> int:
    """A font size (9-18 px) at which the widest token fits in its cell of a row `width` px wide."""
    cell = width / len(tokens)
    return int(max(9, min(18, cell / (0.65 * max(len(t) for t in tokens) + 0.5))))


def connectivity_figure(rec: Connectivity, row: int = -1, what: str = "character") -> go.Figure:
    """The input as a row of characters, each coloured by how strongly prediction `row` depends on
    it (gradient size, as a share of the largest); the step it is made at is outlined."""
    row = row % len(rec.positions)
    pos, strength = rec.positions[row], np.asarray(rec.strength[row], np.float64)
    top = float(strength.max()) or 1.0
    share = (strength / top).tolist()
    data = [{"type": "heatmap", "z": [share], "x": list(range(len(rec.tokens))), "y": [0], "text": [list(rec.tokens)],
             "texttemplate": "%{text}", "textfont": {"size": _text_size(rec.tokens)},
             "colorscale": BLUES, "zmin": 0, "zmax": 1,
             "xgap": 2, "name": "connectivity", "customdata": [strength.tolist()],
             "colorbar": {"title": {"text": "share of the<br>largest"}, "thickness": 12},
             "hovertemplate": "“%{text}” at step %{x}: %{z:.0%} (gradient %{customdata:.3g})<extra></extra>"}]
    box = {"type": "rect", "x0": pos - 0.5, "x1": pos + 0.5, "y0": -0.5, "y1": 0.5,
           "line": {"color": ORANGE, "width": 3}}
    where = f"at {step_label(rec.tokens, pos)}" if rec.causal else "after the last step"
    return figure(data, layout(f"What the prediction “{rec.targets[row]}” {where} depends on",
                               f"input step (the {what} read)", "", height=190, hovermode="closest",
                               xaxis=_step_axis(rec.tokens, f"input step (the {what} read)", showticklabels=False),
                               yaxis={"visible": False}, shapes=[box], margin={"l": 10, "r": 10, "t": 50, "b": 40}))


def attention_figure(rec: AttentionMaps) -> go.Figure:
    """One heatmap per layer (rows) and head (columns): row = the step attending (query), column =
    the step attended to (key), colour = the weight (each row sums to 1)."""
    n_layers, n_heads = len(rec.weights), max(w.shape[0] for w in rec.weights)
    t = len(rec.tokens)
    cols, gap_y = _panels(n_heads, 0.03), 0.12
    h = (1 - gap_y * (n_layers - 1)) / n_layers
    data, notes = [], []
    lay = layout("Attention weights per head", "key: the step looked at", "query: the step looking",
                 height=120 + 240 * n_layers, hovermode="closest", margin={"l": 70, "r": 10, "t": 80, "b": 50})
    for li, w in enumerate(rec.weights):
        top = 1 - li * (h + gap_y)
        for hi in range(w.shape[0]):
            k = li * n_heads + hi
            sfx = "" if k == 0 else str(k + 1)
            data.append({"type": "heatmap", "z": w[hi].tolist(), "x": list(range(t)), "y": list(range(t)),
                         "xaxis": f"x{sfx}", "yaxis": f"y{sfx}", "colorscale": BLUES, "zmin": 0, "zmax": 1,
                         "showscale": k == 0, "name": f"{rec.layers[li]} head {hi + 1}",
                         "colorbar": {"title": {"text": "weight"}, "thickness": 12},
                         "hovertemplate": "step %{y} looks at step %{x}: %{z:.2f}<extra>" +
                                          f"{rec.layers[li]}, head {hi + 1}</extra>"})
            lay[f"xaxis{sfx}"] = {**_step_axis(rec.tokens, "key: the step looked at" if li == n_layers - 1 else "",
                                               800 / n_heads),
                                  "domain": cols[hi], "anchor": f"y{sfx}"}
            lay[f"yaxis{sfx}"] = {**_step_axis(rec.tokens, "query: the step looking" if hi == 0 else "", 200),
                                  "domain": [round(max(0.0, top - h), 6), round(top, 6)], "anchor": f"x{sfx}",
                                  "autorange": "reversed",
                                  "showticklabels": hi == 0}
            notes.append({"text": f"{rec.layers[li]} · head {hi + 1}", "x": sum(cols[hi]) / 2, "y": top,
                          "xref": "paper", "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                          "showarrow": False})
    lay["annotations"] = notes
    return figure(data, lay)


def embedding_figure(rec: EmbeddingPoints, chosen: int | None = None) -> go.Figure:
    """Every token's learned vector on the first two principal axes, labelled; the chosen token
    (orange) joined to its nearest neighbours."""
    pts = np.asarray(rec.points, np.float64)
    near = set(rec.neighbours[chosen]) if chosen is not None else set()
    colors = [ORANGE if i == chosen else BLUE if i in near else "#7f7f7f" for i in range(len(pts))]
    data = []
    if chosen is not None:
        xs, ys = [], []
        for j in rec.neighbours[chosen]:
            xs += [pts[chosen, 0], pts[j, 0], None]
            ys += [pts[chosen, 1], pts[j, 1], None]
        data.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines", "hoverinfo": "skip",
                     "name": f"nearest to “{rec.labels[chosen]}”", "line": {"color": ORANGE, "width": 1}})
    data.append({"type": "scatter", "x": pts[:, 0].tolist(), "y": pts[:, 1].tolist(), "mode": "markers+text",
                 "text": list(rec.labels), "textposition": "top center", "textfont": {"size": 14},
                 "marker": {"color": colors, "size": 8}, "name": "tokens", "showlegend": False,
                 "hovertemplate": "“%{text}”<extra></extra>"})
    e0, e1 = rec.explained
    return figure(data, layout(f"Learned embeddings ({rec.dim} numbers each) in 2-D",
                               f"principal axis 1 ({e0:.0%} of the spread)",
                               f"principal axis 2 ({e1:.0%} of the spread)", height=460, hovermode="closest"))


def time_gradients_figure(rec: TimeGradients, row: int = -1, what: str = "character") -> go.Figure:
    """|d loss / d h_t| at each step t for the loss of prediction `row`, on a log axis: how much of
    the learning signal travels back to each earlier step (steps after it get none: not drawn)."""
    row = row % len(rec.positions)
    pos, norms = rec.positions[row], np.asarray(rec.norms[row], np.float64)
    keep = [t for t in range(len(norms)) if norms[t] > 0]
    data = [{"type": "scatter", "x": keep, "y": [float(norms[t]) for t in keep], "mode": "lines+markers",
             "name": "gradient size", "line": {"color": BLUE, "width": 2.5}, "marker": {"size": 8},
             "customdata": [rec.tokens[t] for t in keep],
             "hovertemplate": "state after “%{customdata}” (step %{x}): %{y:.3g}<extra></extra>"}]
    return figure(data, layout(f"{rec.label}: gradient of the loss at {step_label(rec.tokens, pos)} reaching "
                               "each earlier state",
                               f"step of the state h_t (the {what} read)", "|∂ loss / ∂ h_t| (log scale)",
                               height=320, hovermode="closest", xaxis=_step_axis(rec.tokens, f"step of the "
                               f"state h_t (the {what} read)", range=[-0.5, len(rec.tokens) - 0.5]),
                               yaxis={"type": "log", "exponentformat": "power"}))
