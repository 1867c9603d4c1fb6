"""The Sequences & text page's views (engine/sequence_views.py) against the functions and
models they read: samples equal `sample`, next-character probabilities equal the model's
softmax, the forecast equals the model's output on that window, the class probabilities equal
the softmax of the typed word; settings are checked and versioned, and `Trainer.refresh_views()`
computes the views again while a run is idle."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.data.tokens import encode
from engine.presets import load_preset
from engine.sequence_views import (ClassesView, ForecastView, NextCharView, SampleView, fold,
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
