"""The Sequences & text page's figures (viz/sequences.py): each must pass plotly's full
validation and carry the numbers, titles and axis labels a reader needs."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from engine.records import (AttentionMaps, Connectivity, EmbeddingPoints, Forecast, HiddenStates, NextChars,
                            SequenceClasses, TimeGradients)
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


# ---------------------------------------------------------------- inside the model
TOKENS = (".", "a", "n", "n", "a")


def _axes(d: dict) -> dict:
    return {k: v for k, v in d["layout"].items() if k.startswith(("xaxis", "yaxis"))}


def test_states_and_gates_figures_are_units_by_steps_with_the_characters_as_ticks():
    rng = np.random.default_rng(0)
    gates = {g: rng.uniform(0, 1, (6, 5)).astype(np.float32) for g in ("input", "forget", "cell", "output")}
    rec = HiddenStates("LSTM", TOKENS, rng.uniform(-1, 1, (6, 5)).astype(np.float32), gates, 128)
    d = validated(vz.states_figure(rec))
    (hm,) = d["data"]
    assert np.asarray(hm["z"]).shape == (6, 5) and (hm["zmin"], hm["zmax"]) == (-1, 1)
    assert d["layout"]["title"]["text"] == "LSTM hidden state after each step (first 6 of 128 units)"
    assert d["layout"]["xaxis"]["ticktext"] == list(TOKENS) and d["layout"]["xaxis"]["tickvals"] == [0, 1, 2, 3, 4]
    assert d["layout"]["xaxis"]["title"]["text"] == "step (the character read)"
    assert d["layout"]["yaxis"]["title"]["text"] == "unit"
    d = validated(vz.gates_figure(rec))
    assert [t["name"] for t in d["data"]] == ["input", "forget", "candidate cell", "output"]
    assert [t["zmin"] for t in d["data"]] == [0, 0, -1, 0]                 # the candidate is a tanh
    assert d["layout"]["title"]["text"] == "LSTM gates at each step"
    assert len(_axes(d)) == 8 and all(a["title"]["text"] == "step" for k, a in _axes(d).items() if k[0] == "x")
    doms = [d["layout"][f"xaxis{s}"]["domain"] for s in ("", "2", "3", "4")]
    assert all(a[1] < b[0] for a, b in zip(doms, doms[1:]))               # side by side, not overlapping


def test_connectivity_figure_colours_each_character_by_its_share():
    strength = np.array([[2.0, 1.0, 0, 0, 0], [4.0, 1.0, 2.0, 0.5, 0.0]], np.float32)
    rec = Connectivity(TOKENS, (1, 3), ("n", "a"), strength, True)
    d = validated(vz.connectivity_figure(rec, 1))
    (hm,) = d["data"]
    assert hm["text"] == [list(TOKENS)] and hm["z"][0] == pytest.approx([1, 0.25, 0.5, 0.125, 0])
    assert hm["customdata"][0] == pytest.approx([4, 1, 2, 0.5, 0])
    (box,) = d["layout"]["shapes"]
    assert (box["x0"], box["x1"]) == (2.5, 3.5)                           # the step of the prediction
    assert d["layout"]["title"]["text"] == "What the prediction “a” at step 4 (“n”) depends on"
    assert d["layout"]["xaxis"]["title"]["text"] == "input step (the character read)"
    last = validated(vz.connectivity_figure(Connectivity(TOKENS, (4,), ("French",), strength[1:], False)))
    assert last["layout"]["title"]["text"] == "What the prediction “French” after the last step depends on"


def test_attention_figure_one_heatmap_per_layer_and_head():
    w = np.tril(np.ones((5, 5), np.float32))
    w = w / w.sum(-1, keepdims=True)
    rec = AttentionMaps(TOKENS, ("attention layer 1", "attention layer 2"), (np.stack([w] * 3),) * 2, (True, True))
    d = validated(vz.attention_figure(rec))
    assert len(d["data"]) == 6 and d["data"][4]["name"] == "attention layer 2 head 2"
    assert np.asarray(d["data"][0]["z"]).sum(1) == pytest.approx([1] * 5)
    assert [a["text"] for a in d["layout"]["annotations"]][:3] == [f"attention layer 1 · head {h}" for h in (1, 2, 3)]
    assert d["layout"]["title"]["text"] == "Attention weights per head"
    assert d["layout"]["xaxis4"]["title"]["text"] == "key: the step looked at"          # the bottom row
    assert d["layout"]["yaxis"]["title"]["text"] == "query: the step looking"           # the first column
    assert d["layout"]["yaxis4"]["ticktext"] == list(TOKENS)
    assert all(0 <= v <= 1 for a in _axes(d).values() for v in a.get("domain", [0, 1]))


def test_embedding_figure_one_labelled_point_per_token_and_the_neighbours_joined():
    pts = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
    rec = EmbeddingPoints(("pad", ".", "a", "b"), pts, (0.6, 0.3), 8, ((2, 3), (3, 2), (3, 1), (2, 1)),
                          ((0.9, 0.1), (0.8, 0.2), (0.7, 0.5), (0.7, 0.2)))
    d = validated(vz.embedding_figure(rec, 2))
    lines, points = d["data"]
    assert points["text"] == ["pad", ".", "a", "b"] and len(points["x"]) == 4
    assert points["marker"]["color"][2] == vz.ORANGE and points["marker"]["color"][3] == vz.BLUE
    assert lines["x"] == [0, 1, None, 0, 1, None] and lines["name"] == "nearest to “a”"
    assert d["layout"]["xaxis"]["title"]["text"] == "principal axis 1 (60% of the spread)"
    assert d["layout"]["yaxis"]["title"]["text"] == "principal axis 2 (30% of the spread)"
    assert d["layout"]["title"]["text"] == "Learned embeddings (8 numbers each) in 2-D"
    assert len(validated(vz.embedding_figure(rec))["data"]) == 1


def test_time_gradients_figure_on_a_log_axis_without_the_steps_after_the_loss():
    norms = np.array([[0.5, 0, 0, 0, 0], [0.01, 0.05, 0.2, 1.0, 0.0]], np.float32)
    rec = TimeGradients("RNN", TOKENS, (0, 3), norms)
    d = validated(vz.time_gradients_figure(rec, 1))
    (line,) = d["data"]
    assert line["x"] == [0, 1, 2, 3] and line["y"] == pytest.approx([0.01, 0.05, 0.2, 1.0])
    assert line["customdata"] == [".", "a", "n", "n"]
    assert d["layout"]["yaxis"]["type"] == "log"
    assert d["layout"]["title"]["text"] == "RNN: gradient of the loss at step 4 (“n”) reaching each earlier state"
    assert d["layout"]["xaxis"]["title"]["text"] == "step of the state h_t (the character read)"
    assert d["layout"]["yaxis"]["title"]["text"] == "|∂ loss / ∂ h_t| (log scale)"


def test_long_sequences_get_fewer_step_ticks_so_labels_never_overlap():
    tokens = tuple(f"{v:.1f}" for v in np.linspace(-1, 1, 32))
    gates = {g: np.zeros((4, 32), np.float32) for g in ("reset", "update", "new")}
    rec = HiddenStates("GRU", tokens, np.zeros((4, 32), np.float32), gates, 4)
    full = validated(vz.states_figure(rec))["layout"]["xaxis"]
    assert full["tickvals"] == list(range(1, 32, 2)) and full["ticktext"][-1] == tokens[-1]      # every 2nd, the last
    panels = validated(vz.gates_figure(rec))["layout"]
    assert all(len(panels[f"xaxis{s}"]["tickvals"]) <= 8 for s in ("", "2", "3"))
    short = validated(vz.states_figure(HiddenStates("GRU", TOKENS, np.zeros((4, 5), np.float32), {}, 4)))
    assert short["layout"]["xaxis"]["tickvals"] == [0, 1, 2, 3, 4]
