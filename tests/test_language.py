"""Sequence tasks end to end: the character language model against its bigram baseline, the
word-language classifier, a forecaster, the language model's refusals, causality and sampling."""
import math

import numpy as np
import pytest
import torch

from engine.presets import load_preset
from engine.spec import DataSpec, LayerSpec, RunSpec
from engine.tasks import TASKS, build_run, problems

L = LayerSpec.make
NAMES = DataSpec("names", n_samples=6000, test_fraction=0.2)


def _train(spec: RunSpec):
    run = build_run(spec)
    for _ in range(run.total_steps):
        run.step()
    return run, run.evaluate(full=True)


def test_the_names_char_lstm_beats_the_bigram_baseline_by_a_clear_margin():
    run, ev = _train(load_preset("names_lstm_char_lm"))
    assert ev["baseline_loss"] == pytest.approx(2.3632, abs=1e-3)     # the dataset's bigram, same split
    assert ev["test_loss"] < ev["baseline_loss"] - 0.3, ev              # measured: 1.915 vs 2.363
    assert ev["perplexity"] == pytest.approx(math.exp(ev["test_loss"]))
    assert ev["test_acc"] > 0.33                                        # next-character accuracy (0.39)


def test_the_word_language_gru_reaches_80_percent_on_held_out_words():
    _, ev = _train(load_preset("language_gru_classifier"))
    assert ev["test_acc"] >= 0.80, ev                                   # measured: 0.836 (five languages)


def test_the_lstm_forecaster_explains_the_series():
    _, ev = _train(load_preset("sines_lstm_forecast"))
    assert ev["test_r2"] > 0.95, ev                                     # measured: 0.989


@pytest.mark.parametrize("layer, says", [
    (L("lstm", hidden=16, bidirectional=True), "reads the sequence backwards, so it sees the characters"),
    (L("gru", hidden=16, sequence=False), "outputs one summary of the whole sequence"),
    (L("attention", heads=2, causal=False), "lets every step attend to later steps"),
    (L("seq_pool"), "mixes all steps into one vector"),
])
def test_a_language_model_that_could_see_the_future_is_refused_with_the_reason(layer, says):
    spec = RunSpec.make(task="language_model", data=NAMES,
                        layers=(L("embedding", vocab=28, dim=16), layer, L("linear", units=28)))
    msgs = problems(spec)
    assert any(says in m and m.startswith("layer 2 (") for m in msgs), msgs


def test_the_last_layer_must_score_every_character_of_the_vocabulary():
    spec = RunSpec.make(task="language_model", data=NAMES,
                        layers=(L("embedding", vocab=28, dim=16), L("lstm", hidden=16), L("linear", units=10)))
    (msg,) = problems(spec)
    assert "outputs 12 × 10, but a language model needs one score per character" in msg
    assert "12 × 28; end with a Linear layer of 28 units" in msg
    spec = spec.with_(layers=(L("lstm", hidden=16), L("linear", units=28)))
    assert "put an Embedding layer first" in problems(spec)[0]
    wrong = RunSpec.make(task="language_model", data=DataSpec("circle"), layers=(L("linear", units=2),))
    assert any("set task to classification" in m for m in problems(wrong))


@pytest.mark.parametrize("preset", ["names_lstm_char_lm", "names_transformer_char_lm"])
def test_a_later_character_never_changes_an_earlier_prediction(preset):
    run = build_run(load_preset(preset))
    for _ in range(5):
        run.step()
    x = run.x_test[:4].clone()
    changed = x.clone()
    changed[:, 6] = (changed[:, 6] % 27) + 1                             # another real character at step 6
    a, b = run.outputs(x), run.outputs(changed)
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6)                 # steps before 6: untouched
    assert not torch.allclose(a[:, 6:], b[:, 6:], atol=1e-4)             # from 6 on: it reads it


def test_sampling_is_seeded_uses_the_vocabulary_and_stops_at_the_end_of_a_name():
    run = build_run(load_preset("names_lstm_char_lm"))
    for _ in range(200):
        run.step()
    a = run.sample(6, temperature=1.0, seed=3)
    assert a == run.sample(6, temperature=1.0, seed=3) and a != run.sample(6, temperature=1.0, seed=4)
    letters = set("abcdefghijklmnopqrstuvwxyz")
    assert all(set(s) <= letters and len(s) <= 11 for s in a), a        # no pad, no '.', at most T - 1
    greedy = run.sample(3, temperature=1.0, top_k=1, seed=0)
    assert len(set(greedy)) == 1                                         # top-1: the same name each time
    assert run.sample(1, temperature=1e-4, seed=9) == greedy[:1]         # temperature -> 0: the argmax


def test_the_language_model_task_is_a_plug_in_with_its_own_loss_and_score():
    task = TASKS["language_model"]
    assert task.losses == ("auto", "next_token") and task.score.key == "perplexity"
    run = build_run(load_preset("names_transformer_char_lm"))
    assert run.loss_name == "next_token" and run.speed == "autograd"
    ev = run.evaluate()
    v = len(run.data.vocab)
    assert ev["train_loss"] == pytest.approx(math.log(v), abs=0.4)      # untrained: about uniform
    np.testing.assert_allclose(ev["train_perplexity"], math.exp(ev["train_loss"]), rtol=1e-6)
