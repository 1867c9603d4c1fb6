"""The Sequences & text page's figures (viz/sequences.py): each must pass plotly's full
validation and carry the numbers, titles and axis labels a reader needs."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from engine.records import Forecast, NextChars, SequenceClasses
from viz import sequences as vz

EVALS = {"step": [0, 50, 100], "train_loss": [3.3, 2.4, 2.1], "test_loss": [3.3, 2.5, None],
         "train_acc": [0.2, 0.6, 0.8], "test_acc": [0.2, 0.55, 0.7]}
BATCHES = {"step": [25, 50, 75, 120], "loss": [3.0, 2.6, 2.3, 2.0]}


def validated(fig: go.Figure) -> dict:
    """The figure's JSON, which plotly's full validation accepts and leaves as it is."""
    d = fig.to_dict()
    assert go.Figure(d).to_dict() == d
    return d


def _trace(d: dict, name: str) -> dict:
    return next(t for t in d["data"] if t["name"] == name)


def test_loss_figure_draws_the_bigram_baseline_across_the_steps():
    d = validated(vz.loss_figure(EVALS, BATCHES, 2.363))
    assert [t["name"] for t in d["data"]] == ["batch loss", "train loss", "held-out loss", "bigram baseline"]
    base = _trace(d, "bigram baseline")
    assert base["x"] == [0, 120] and base["y"] == [2.363, 2.363]      # to the last batch step
    assert base["line"]["dash"] == "dash"
    assert _trace(d, "held-out loss")["y"] == [3.3, 2.5]               # the row without a loss is skipped
    assert _trace(d, "train loss")["x"] == [0, 50, 100]
    assert d["layout"]["title"]["text"] == "Loss per character"
    assert d["layout"]["xaxis"]["title"]["text"] == "training step"
    assert d["layout"]["yaxis"]["title"]["text"] == "loss (nats per character)"
    # no baseline (a classifier): no line; the first evaluation alone still spans a step
    d = validated(vz.loss_figure({"step": [0], "train_loss": [1.6], "test_loss": [1.6]}, None, None,
                                 "Loss (cross-entropy)", "loss (nats per example)"))
    assert "bigram baseline" not in [t["name"] for t in d["data"]]
    assert d["layout"]["yaxis"]["title"]["text"] == "loss (nats per example)"
    assert validated(vz.loss_figure({"step": [0]}, None, 2.0))["data"][-1]["x"] == [0, 1]


def test_score_figure_in_percent():
    d = validated(vz.score_figure(EVALS))
    assert [t["name"] for t in d["data"]] == ["train accuracy", "held-out accuracy"]
    assert d["data"][1]["y"] == pytest.approx([20, 55, 70]) and d["layout"]["yaxis"]["range"] == [0, 101]
    assert d["layout"]["yaxis"]["title"]["text"] == "accuracy (%)"


def _next(probs, drawn=None, temperature=1.0, top_k=0, vocab=("<pad>", ".", "a", "b"), context="ab"):
    probs = np.asarray(probs, np.float32)
    return NextChars(10, 1, context, context, "", tuple(vocab), probs,
                     np.asarray(drawn if drawn is not None else probs, np.float32), temperature, top_k, True)


def test_next_char_figure_bars_and_the_samplers_distribution():
    d = validated(vz.next_char_figure(_next([0.1, 0.2, 0.3, 0.4])))
    (bars,) = d["data"]                                                # temperature 1, no top-k: one set
    assert bars["x"] == ["end", "a", "b"] and bars["y"] == pytest.approx([20, 30, 40])   # padding left out
    assert d["layout"]["title"]["text"] == "Next character after “ab”"
    assert d["layout"]["yaxis"]["title"]["text"] == "probability (%)"
    assert d["layout"]["xaxis"]["ticktext"] == ["end", "a", "b"]
    d = validated(vz.next_char_figure(_next([0.1, 0.2, 0.3, 0.4], [0, 0, 0.36, 0.64], 0.5, 2, context="")))
    model, drawn = d["data"]
    assert drawn["name"] == "what sampling draws from (temperature 0.5, top-2)"
    assert drawn["y"] == pytest.approx([0, 36, 64]) and model["y"] == pytest.approx([20, 30, 40])
    assert d["layout"]["title"]["text"] == "Next character at the start of a name"
    # a large vocabulary: the 30 most likely, most likely first; space shown by name
    vocab = ("<pad>", " ", *[chr(ord("a") + i) for i in range(26)], *"0123456789")
    p = np.arange(len(vocab), dtype=np.float32)
    p[1] = 100
    p /= p.sum()
    bars = validated(vz.next_char_figure(_next(p, vocab=vocab)))["data"][0]
    assert len(bars["x"]) == 30 and bars["x"][:3] == ["␣ (space)", "9", "8"]
    assert bars["y"] == sorted(bars["y"], reverse=True)


def test_forecast_figure_on_one_time_axis():
    rec = Forecast(5, 1, 2, 600, np.array([0.1, 0.2, 0.3], np.float32), np.array([0.4, 0.5], np.float32),
                   np.array([0.35, 0.45], np.float32))
    d = validated(vz.forecast_figure(rec))
    read, truth, pred = d["data"]
    assert read["x"] == [-2, -1, 0] and read["y"] == pytest.approx([0.1, 0.2, 0.3])
    assert truth["x"] == [1, 2] and truth["y"] == pytest.approx([0.4, 0.5])
    assert pred["name"] == "forecast" and pred["y"] == pytest.approx([0.35, 0.45])
    assert d["layout"]["title"]["text"] == "Forecast for held-out window 3 of 600"
    assert d["layout"]["xaxis"]["title"]["text"] == "time step (0 = the last value the model reads)"
    assert d["layout"]["yaxis"]["title"]["text"] == "value"


def test_classes_figure_marks_the_answer_and_the_true_class():
    rec = SequenceClasses(5, 1, "", "hello", "", 0, ("English", "French", "German"),
                          np.array([0.7, 0.2, 0.1], np.float32))
    d = validated(vz.classes_figure(rec))
    (bars,) = d["data"]
    assert bars["x"] == pytest.approx([70, 20, 10]) and bars["y"] == ["English ✓ true", "French", "German"]
    assert bars["marker"]["color"][0] == vz.ORANGE and bars["marker"]["color"][1] == vz.BLUE
    assert d["layout"]["title"]["text"] == "Class probabilities of “hello”"
    assert d["layout"]["xaxis"]["range"] == [0, 100]
    assert d["layout"]["xaxis"]["title"]["text"] == "probability (%)"
