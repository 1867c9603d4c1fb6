"""The Sequences & text page's views (engine/sequence_views.py) against the functions and
models they read: samples equal `sample`, next-character probabilities equal the model's
softmax, the forecast equals the model's output on that window, the class probabilities equal
the softmax of the typed word; settings are checked and versioned, and `Trainer.refresh_views()`
computes the views again while a run is idle; inside the model, the records match the model and
the probes, respect causality, and leave training exactly as it was."""
from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.data.tokens import encode
from engine.layers.sequence import attention_weights
from engine.presets import load_preset
from engine.probes.sequence import connectivity, step_states, time_gradients
from engine.sequence_views import (ClassesView, ForecastView, InsideView, NextCharView, SampleView, fold,
                                   sequence_views)
from engine.tasks import build_run
from engine.tasks.language import draw_probs, next_probs, sample
from engine.trainer import Trainer


def _run(preset: str, n_samples: int, steps: int):
    spec = load_preset(preset)
    run = build_run(spec.with_(data=replace(spec.data, n_samples=n_samples)))
    for _ in range(steps):
        run.step()
    return run


@pytest.fixture(scope="module")
def names():
    return _run("names_lstm_char_lm", 800, 30)


def test_samples_are_the_samplers_and_copied_names_are_marked(names):
    view = SampleView(n=6, temperature=0.7, top_k=5, seed=3)
    rec = view(names)
    assert rec.texts == tuple(sample(names, 6, 0.7, 5, 3))
    assert (rec.step, rec.version, rec.temperature, rec.top_k, rec.seed) == (30, 1, 0.7, 5, 3)
    known = view.known(names.data)
    first = "".join(names.data.vocab[i] for i in names.data.x_train[0] if i > 1)
    assert first in known and len(known) == len({tuple(r) for r in names.data.x_train.tolist()})
    assert rec.known == tuple(t in known for t in rec.texts)
    # a greedy draw (top-1) from the start mark gives the same text every time
    view.set(top_k=1, n=3)
    greedy = view(names)
    assert greedy.version == 2 and len(set(greedy.texts)) == 1
    assert view(names).texts == greedy.texts                           # same seed, same model: same texts


def test_next_characters_are_the_models_softmax(names):
    view = NextCharView("Mar!", temperature=0.5, top_k=3)
    rec = view(names)
    vocab = names.data.vocab
    ids = [1] + [vocab.index(c) for c in "mar"]                         # the start mark, then m, a, r
    assert (rec.typed, rec.context, rec.dropped, rec.end_mark) == ("Mar!", "mar", "!", True)
    np.testing.assert_allclose(rec.probs, next_probs(names, ids), rtol=1e-6)
    assert rec.probs.sum() == pytest.approx(1.0, abs=1e-5)
    # what sampling draws from: softmax(logits / 0.5), padding out, the 3 most likely only
    with torch.no_grad():
        logits = names.outputs(torch.tensor([ids], device=names.device))[0, -1].double()
    p = torch.softmax(logits / 0.5, -1).numpy()
    p[0] = 0
    top = np.argsort(p)[-3:]
    want = np.zeros_like(p)
    want[top] = p[top] / p[top].sum()
    np.testing.assert_allclose(rec.drawn, want, atol=1e-6)
    assert np.count_nonzero(rec.drawn) == 3 and rec.drawn.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(rec.drawn, draw_probs(next_probs(names, ids, 0.5), 3), atol=1e-7)
    # nothing typed: the first letter of a name; too much typed: cut to what the model reads
    assert view.set(prefix="") is None and view(names).context == ""
    steps = names.data.input_shape[0]
    view.set(prefix="a" * (steps + 3))
    long = view(names)
    assert long.context == "a" * (steps - 1) and long.dropped == "aaaa"


def test_fold_keeps_what_the_vocabulary_can_read():
    vocab = ["<pad>", ".", "a", "m", "r", "y"]
    assert fold(vocab, "Ma.ry!", 3) == ("mar", ".!y")
    assert fold(["<pad>", "A", "b"], "Abab", 10) == ("Abb", "a")      # capitals in the vocabulary: no lower-casing


def test_forecast_is_the_models_output_on_that_window():
    run = _run("sines_lstm_forecast", 300, 20)
    view = ForecastView(index=4)
    rec = view(run)
    d = run.data
    assert (rec.index, rec.n_windows, rec.step) == (4, len(d.x_test), 20)
    np.testing.assert_array_equal(rec.window, d.x_test[4, :, 0])
    np.testing.assert_array_equal(rec.truth, d.y_test[4])
    with torch.no_grad():
        want = run.model(torch.as_tensor(d.x_test[4:5]))[0].numpy()
    np.testing.assert_allclose(rec.forecast, want, rtol=1e-5, atol=1e-6)
    view.set(index=10**6)                                              # past the end: the last window
    assert view(run).index == len(d.x_test) - 1
    assert SampleView()(run) is None and ClassesView()(run) is None


def test_classes_of_a_typed_word_and_of_a_held_out_one():
    run = _run("language_gru_classifier", 500, 20)
    d = run.data
    view = ClassesView("Bonjour")
    rec = view(run)
    assert (rec.text, rec.dropped, rec.true) == ("bonjour", "", None)
    x = torch.as_tensor(encode(["bonjour"], d.vocab, d.input_shape[0], left=True))
    with torch.no_grad():
        want = torch.softmax(run.model(x), -1)[0].numpy()
    np.testing.assert_allclose(rec.probs, want, rtol=1e-5)
    assert rec.probs.sum() == pytest.approx(1.0, abs=1e-5) and rec.class_names == tuple(d.class_names)
    view.set(text="")
    held = view(run)
    assert held.true == int(d.y_test[0]) and held.text == "".join(d.vocab[i] for i in d.x_test[0] if i)
    assert NextCharView()(run) is None and ForecastView()(run) is None


def test_settings_are_checked_and_versioned():
    with pytest.raises(ValueError, match="temperature"):
        SampleView(temperature=0)
    with pytest.raises(ValueError, match="top_k"):
        NextCharView(top_k=-1)
    view = SampleView()
    with pytest.raises(ValueError, match="no setting colour"):
        view.set(colour=1)
    assert view.version == 1
    view.set(temperature=1.0)                                          # no change: same version
    assert view.version == 1
    view.set(temperature=0.5)
    assert view.version == 2 and view.values["temperature"] == 0.5


def test_refresh_computes_the_views_again_while_idle():
    spec = load_preset("names_lstm_char_lm")
    spec = spec.with_(data=replace(spec.data, n_samples=600))
    views = sequence_views(temperature=1.0)
    t = Trainer(spec, views=views)
    try:
        first = t.wait(lambda s: s.state == "idle").run.views["samples"]
        assert first.version == 1 and first.step == 0
        views["samples"].set(temperature=0.4, seed=7)
        t.refresh_views()
        snap = t.wait(lambda s: s.run.views["samples"].version == 2, 10)
        rec = snap.run.views["samples"]
        assert snap.state == "idle" and snap.run.step == 0
        assert (rec.temperature, rec.seed) == (0.4, 7)
        assert rec.texts == tuple(sample(t.runs()[0], 8, 0.4, 0, 7))      # idle: the model is not moving
        assert snap.run.views["forecast"] is None and snap.run.views["classes"] is None
    finally:
        t.stop()


# ---------------------------------------------------------------- inside the model
def _names_ids(run, name: str) -> list[int]:
    return [1] + [run.data.vocab.index(c) for c in name]


def test_inside_an_lstm_states_gates_connectivity_gradients_and_embeddings(names):
    view = InsideView("Mar!")
    rec = view(names)
    vocab = names.data.vocab
    ids = _names_ids(names, "mar")
    assert (rec.example, rec.dropped, rec.message, rec.step, rec.version) == ("“mar” (typed)", "!", "", 30, 1)
    # hidden states: units × steps of the first recurrent layer, the layer's own outputs
    x = torch.tensor([ids])
    (want,) = step_states(names.model, x)
    names.model.train()
    st = rec.states
    assert st.label == "LSTM" and st.tokens == (".", "m", "a", "r") and st.n_units == 128
    assert st.states.shape == (128, 4) and set(st.gates) == {"input", "forget", "cell", "output"}
    np.testing.assert_allclose(st.states, want.states.T, atol=1e-6)
    assert all(g.shape == (128, 4) for g in st.gates.values())
    # connectivity: one prediction per step (the true next character: m, a, r, then the end of the name)
    c = rec.connectivity
    assert c.positions == (0, 1, 2, 3) and c.targets == ("m", "a", "r", "end") and c.causal
    assert c.strength.shape == (4, 4)
    for p, t in enumerate(ids[1:] + [1]):
        np.testing.assert_allclose(c.strength[p], connectivity(names.model.eval(), x, position=p, target=t),
                                   rtol=1e-4, atol=1e-7)
        assert np.all(c.strength[p, p + 1:] == 0) and np.all(c.strength[p, :p + 1] > 0)   # causal: not after p
    names.model.train()
    # gradient through time: row p is the loss of the prediction at step p alone
    g = rec.gradients
    assert g.norms.shape == (4, 4) and g.positions == (0, 1, 2, 3)
    y = torch.full((1, 4), -100)
    y[0, 2] = vocab.index("r")
    np.testing.assert_allclose(g.norms[2], time_gradients(copy.deepcopy(names.model), x, y, names.loss_fn),
                               rtol=1e-4, atol=1e-9)
    assert np.all(g.norms[2, 3:] == 0) and np.all(g.norms[2, :3] > 0)
    # the embedding map: one point per vocabulary entry, each labelled, with its neighbours
    e = rec.embedding
    assert e.points.shape == (len(vocab), 2) and len(e.labels) == len(vocab) == 28 and e.dim == 24
    assert e.labels[:3] == ("pad", ".", "a") and all(len(n) == 5 and i not in n for i, n in enumerate(e.neighbours))
    assert all(list(s) == sorted(s, reverse=True) for s in e.similarity)
    assert rec.attention is None and "no attention layer" in rec.why_not["attention"]
    assert set(rec.why_not) == {"attention"}


def test_inside_held_out_names_bad_input_and_versions(names):
    view = InsideView()
    rec = view(names)
    row = names.data.x_test[0]
    n = int(np.count_nonzero(row))
    assert rec.example == f"held-out name 1 of {len(names.data.x_test):,}" and rec.states.states.shape == (128, n)
    assert rec.connectivity.targets[-1] == "end"
    view.set(text="!!! 42")                                             # nothing the model can read
    bad = view(names)
    assert bad.version == 2 and "cannot read “!!! 42”" in bad.message and bad.example == rec.example
    np.testing.assert_array_equal(bad.states.states, rec.states.states)
    view.set(text="a" * 40)                                            # longer than the model reads
    long = view(names)
    assert long.states.states.shape == (128, names.data.input_shape[0]) and long.dropped


def test_inside_never_changes_training():
    """The same run stepped with and without the inside view between steps: the same losses and
    weights, bit for bit; the view leaves the model's gradients and mode as they were."""
    a, b = _run("names_lstm_char_lm", 400, 0), _run("names_lstm_char_lm", 400, 0)
    view = InsideView("mar")
    for _ in range(3):
        la, lb = float(a.step()), float(b.step())
        assert la == lb
        grads = [p.grad.clone() for p in a.model.parameters()]
        a.model.train()
        view(a)
        assert a.model.training and all(m.training for m in a.model.modules())
        assert all(torch.equal(p.grad, g) for p, g in zip(a.model.parameters(), grads))
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), k


def test_inside_a_transformer_attention_per_head_and_no_recurrent_views():
    run = _run("names_transformer_char_lm", 400, 5)
    rec = InsideView("anna")(run)
    att = rec.attention
    assert att.layers == ("attention layer 1", "attention layer 2") and att.causal == (True, True)
    assert att.tokens == (".", "a", "n", "n", "a") and all(w.shape == (4, 5, 5) for w in att.weights)
    seen = np.tril(np.ones((5, 5), bool))                                           # key <= query
    for w in att.weights:
        np.testing.assert_allclose(w.sum(-1), 1, atol=1e-5)                         # each row sums to 1
        assert np.all(w[:, ~seen] == 0) and np.all(w[:, seen] > 0)                # causal: no looking ahead
    want = attention_weights(run.model, torch.tensor([_names_ids(run, "anna")]))
    np.testing.assert_allclose(att.weights[1], want[1][0].numpy(), atol=1e-6)
    assert rec.states is None and rec.gradients is None and set(rec.why_not) == {"states", "gradients"}
    c = rec.connectivity
    assert c.strength.shape == (5, 5) and np.all(c.strength[~seen] == 0) and np.all(c.strength[seen] > 0)


def test_inside_a_classifier_and_a_forecaster_one_prediction_after_the_last_step():
    run = _run("language_gru_classifier", 500, 5)
    steps = run.data.input_shape[0]
    rec = InsideView("Bonjour")(run)
    assert rec.states.states.shape == (64, steps) and set(rec.states.gates) == {"reset", "update", "new"}
    assert rec.connectivity.positions == (steps - 1,) and not rec.connectivity.causal
    assert rec.connectivity.tokens[-7:] == tuple("bonjour") and rec.connectivity.tokens[0] == "·"
    with torch.no_grad():
        pred = int(run.model(torch.as_tensor(encode(["bonjour"], run.data.vocab, steps, left=True))).argmax())
    assert rec.connectivity.targets == (run.data.class_names[pred],)
    assert rec.gradients.norms.shape == (1, steps) and np.all(rec.gradients.norms > 0)
    assert rec.embedding.points.shape == (len(run.data.vocab), 2)
    fc = _run("sines_lstm_forecast", 300, 5)
    rec = InsideView(index=3)(fc)
    w = fc.data.x_test.shape[1]
    assert rec.example == f"held-out window 4 of {len(fc.data.x_test):,}" and rec.states.states.shape == (32, w)
    assert rec.connectivity.strength.shape == (1, w) and rec.gradients.norms.shape == (1, w)
    assert rec.connectivity.tokens[0] == f"{fc.data.x_test[3, 0, 0]:.1f}"
    assert rec.embedding is None and "no embedding table" in rec.why_not["embedding"]


def test_inside_is_in_the_pages_views_and_refreshes_while_idle():
    spec = load_preset("names_lstm_char_lm")
    t = Trainer(spec.with_(data=replace(spec.data, n_samples=400)), views=sequence_views(inside_text="ann"))
    try:
        first = t.wait(lambda s: s.state == "idle").run.views["inside"]
        assert first.example == "“ann” (typed)" and first.step == 0
        t.views["inside"].set(text="bo")
        t.refresh_views()
        rec = t.wait(lambda s: s.run.views["inside"].version == 2, 10).run.views["inside"]
        assert rec.states.tokens == (".", "b", "o")
    finally:
        t.stop()
