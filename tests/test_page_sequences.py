"""AppTest of the Sequences & text page: it is in the navigation; the names char-LSTM trains
with the bigram baseline on its loss chart, samples that change as it learns and follow the
temperature, next-character probabilities for a typed prefix, Pause / Step / Reset, and the run
in the history; the word-language classifier and the sines forecaster show their own views."""
from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import engine.trainer as trainer_mod
from engine.data import load_dataset
from engine.presets import load_preset, preset_names
from engine.spec import LayerSpec
from engine.store import default_store
from engine.tasks.language import sample

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("stop_trainers")


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "sequences.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception[0].message
    return at


def _trainer():
    (t,) = [t for t in trainer_mod.live_trainers() if t.page == "sequences" and len(t.specs) == 1]   # not the race
    return t


def _charts(at: AppTest) -> dict[str, dict]:
    return {(f := json.loads(c.proto.spec))["layout"]["title"]["text"]: f for c in at.get("plotly_chart")}


def _trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name") == name)


def _samples(at: AppTest) -> tuple[int, list[str]]:
    """The step the samples on the page were drawn at, and the samples."""
    texts = [m.value for m in at.markdown]
    head = next(t for t in texts if " samples at step " in t)
    badges = next(t for t in texts if t.startswith((":blue-badge[", ":gray-badge[")))
    step = int(re.search(r"samples at step ([\d,]+)", head).group(1).replace(",", ""))
    return step, [b.split(" · ")[0] for b in re.findall(r"-badge\[([^\]]*)\]", badges)]


def _wait(t, until, timeout: float = 60):
    return t.wait(until, timeout)


def test_the_page_is_in_the_navigation_under_train():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    spec = load_preset("tf_playground")                         # a Playground network that cannot train: no run
    at.session_state["pg_spec"] = spec.with_(layers=(*spec.layers[:-1], LayerSpec.make("linear", units=3)))
    at.run()
    at.switch_page("app_pages/sequences.py").run()
    assert not at.exception, at.exception[0].message
    assert at.title[0].value == "Sequences & text"
    source = (ROOT / "app.py").read_text()
    train = source[source.index('"Train": ['):source.index('"Learn": [')]
    assert 'st.Page("app_pages/sequences.py", title="Sequences & text"' in train
    assert at.selectbox(key="seq_preset").options == [load_preset(n).name for n in preset_names(("sequences",))]


def test_train_the_names_lstm_samples_baseline_pause_and_history():
    at = _page()
    assert at.selectbox(key="seq_preset").value == "names_lstm_char_lm"
    spec = load_preset("names_lstm_char_lm")
    data = load_dataset(spec.data, spec.seed)
    table = at.dataframe[0].value
    assert list(table["layer"]) == ["input", "Embedding 28x24", "LSTM 128", "Linear 28", "total"]
    assert list(table["output shape"])[:4] == ["12 character ids", "12 × 24", "12 × 128", "12 × 28"]
    assert int(table["parameters"].iloc[-1]) == 672 + 78_848 + 3_612
    at.number_input(key="seq_epochs").set_value(200).run()     # long enough to pause it while it trains
    t = _trainer()
    assert t.specs[0] == spec.with_(epochs=200) and t.page == "sequences"

    at.button(key="seq_train").click().run()
    assert at.button(key="seq_train").label == "Pause"
    _wait(t, lambda s: len(s.run.evals["step"]) >= 3)
    at.run()
    charts = _charts(at)
    loss = charts["Loss per character"]
    base = _trace(loss, "bigram baseline")
    assert base["y"] == [data.baseline_loss, data.baseline_loss] and base["line"]["dash"] == "dash"
    assert base["x"][0] == 0 and base["x"][1] >= 2 * t.runs()[0].eval_every
    assert len(_trace(loss, "held-out loss")["x"]) >= 3
    assert loss["layout"]["yaxis"]["title"]["text"] == "loss (nats per character)"
    metrics = {m.label: m.value for m in at.metric}
    ev = t.snapshot().run.last_eval
    assert float(metrics["Perplexity"]) == pytest.approx(math.exp(ev["test_loss"]), abs=0.5)
    assert any(f"perplexity {math.exp(data.baseline_loss):.2f}" in c.value for c in at.caption)
    step1, names1 = _samples(at)
    assert len(names1) == 8 and step1 > 0
    # the samples change as the model learns (the same random draws, a newer model)
    _wait(t, lambda s: s.run.views["samples"].step >= step1 + 2 * t.runs()[0].eval_every)
    at.run()
    step2, names2 = _samples(at)
    assert step2 > step1 and names2 != names1
    assert "Next character at the start of a name" in _charts(at)

    # pause: the run stops, the button says Train, the run is in the history
    at.button(key="seq_train").click().run()
    snap = t.snapshot()
    assert snap.state == "paused" and at.button(key="seq_train").label == "Train"
    paused_at = snap.run.step
    time.sleep(0.5)
    assert t.snapshot().run.step == paused_at
    (rec,) = [r for r in default_store().list(page="sequences") if r.id == t.record_ids()[0]]
    assert rec.spec["data"]["name"] == "names" and rec.series["step"] == snap.run.evals["step"]

    # while paused: a colder temperature and a prefix are applied at once, by the worker
    at.slider(key="seq_temperature").set_value(0.5).run()
    step, names = _samples(at)
    assert step == paused_at
    assert names == [n or "(empty)" for n in sample(t.runs()[0], 8, 0.5, 0, 0)]     # paused: safe to read
    assert any("temperature 0.5" in m.value for m in at.markdown)
    at.button(key="seq_new_samples").click().run()                 # other random draws, same model
    assert _samples(at)[1] == [n or "(empty)" for n in sample(t.runs()[0], 8, 0.5, 0, 1)] != names
    at.text_input(key="seq_prefix").set_value("Mar").run()
    nxt = _charts(at)["Next character after “mar”"]
    bars = _trace(nxt, "the model's probability")
    assert len(bars["x"]) == len(data.vocab) - 1 and bars["x"][0] == "end"
    drawn = _trace(nxt, "what sampling draws from (temperature 0.5)")["y"]
    assert 99 < sum(bars["y"]) <= 100 and sum(drawn) == pytest.approx(100, abs=1e-3)   # padding is left out
    assert np.argmax(drawn) == np.argmax(bars["y"]) and max(drawn) > max(bars["y"])   # colder: sharper

    # step: exactly one more batch; reset: back to step 0 with fresh weights
    at.button(key="seq_step").click().run()
    assert _trainer().snapshot().run.step == paused_at + 1
    at.button(key="seq_reset").click().run()
    _wait(t, lambda s: s.state == "idle")
    at.run()
    assert {m.label: m.value for m in at.metric}["Step"] == "0"
    assert not at.exception and not at.error


def test_the_word_classifier_and_the_forecaster_show_their_views():
    at = _page()
    at.selectbox(key="seq_preset").set_value("language_gru_classifier").run()
    t = _trainer()
    assert t.specs[0].data.name == "language"
    _wait(t, lambda s: s.state == "idle")
    for _ in range(3):
        at.button(key="seq_step").click().run()
    at.text_input(key="seq_text").set_value("Bonjour").run()
    charts = _charts(at)
    assert {"Loss (cross-entropy)", "Accuracy", "Class probabilities of “bonjour”"} <= set(charts)
    bars = charts["Class probabilities of “bonjour”"]["data"][0]
    assert bars["y"] == ["English", "French", "German", "Spanish", "Finnish"]
    assert sum(bars["x"]) == pytest.approx(100, abs=0.01)
    assert "bigram baseline" not in [tr["name"] for tr in charts["Loss (cross-entropy)"]["data"]]
    assert [m.label for m in at.metric] == ["Step", "Held-out loss", "Held-out accuracy"]

    at.selectbox(key="seq_preset").set_value("sines_lstm_forecast").run()
    t = _trainer()
    _wait(t, lambda s: s.state == "idle")
    at.button(key="seq_step").click().run()
    at.number_input(key="seq_window").set_value(5).run()
    data = load_dataset(t.specs[0].data, t.specs[0].seed)
    fig = _charts(at)[f"Forecast for held-out window 5 of {len(data.x_test):,}"]
    read, truth, pred = fig["data"]
    assert len(read["x"]) == 32 and truth["x"] == list(range(1, 9)) and len(pred["y"]) == 8
    assert truth["y"] == pytest.approx(data.y_test[4].tolist(), abs=1e-6)
    assert "Loss (mean squared error)" in _charts(at)
    assert not at.exception and not at.error


def test_inside_the_model_after_a_few_steps():
    at = _page()
    t = _trainer()
    _wait(t, lambda s: s.state == "idle")
    for _ in range(2):
        at.button(key="seq_step").click().run()
    assert not at.exception, at.exception[0].message
    assert "Inside the model" in [h.value for h in at.subheader]
    assert [tab.label for tab in at.tabs] == ["Hidden state", "Connectivity", "Embedding map", "Gradient through time"]
    assert any(c.value.startswith("**Attention** is not shown: the model has no attention layer") for c in at.caption)
    charts = _charts(at)
    assert {"LSTM hidden state after each step", "LSTM gates at each step",
            "Learned embeddings (24 numbers each) in 2-D"} <= set(charts)
    data = load_dataset(t.specs[0].data, t.specs[0].seed)
    n = int(np.count_nonzero(data.x_test[0]))
    assert np.asarray(charts["LSTM hidden state after each step"]["data"][0]["z"]).shape == (128, n)
    assert len(charts["Learned embeddings (24 numbers each) in 2-D"]["data"][-1]["x"]) == len(data.vocab)
    # a typed name: one prediction per character read; the chosen one follows it back
    at.text_input(key="seq_inside_text").set_value("Mar!").run()
    assert any("Looking at **“mar” (typed)**" in c.value and "Left out: '!'" in c.value for c in at.caption)
    charts = _charts(at)
    conn = charts["What the prediction “end” at step 4 (“r”) depends on"]["data"][0]
    assert conn["text"] == [[".", "m", "a", "r"]] and max(conn["z"][0]) == pytest.approx(1)
    at.select_slider(key="seq_inside_at").set_value(1).run()
    charts = _charts(at)
    conn = charts["What the prediction “a” at step 2 (“m”) depends on"]["data"][0]
    assert conn["z"][0][2:] == [0, 0] and min(conn["z"][0][:2]) > 0          # causal: not the later steps
    grads = charts["LSTM: gradient of the loss at step 2 (“m”) reaching each earlier state"]
    assert grads["data"][0]["x"] == [0, 1] and grads["layout"]["yaxis"]["type"] == "log"
    a = data.vocab.index("a")
    at.selectbox(key="seq_inside_char").set_value(a).run()
    assert any(m.value.startswith("Nearest to “a” in all 24 numbers") for m in at.markdown)
    # text the model cannot read: a sentence, the held-out name instead, no exception
    at.text_input(key="seq_inside_text").set_value("!!!").run()
    assert [w.value for w in at.warning] == ["The model cannot read “!!!”: none of its characters is in its "
                                            "vocabulary; showing a held-out example instead."]
    assert not at.exception and not at.error

    at.selectbox(key="seq_preset").set_value("names_transformer_char_lm").run()
    t = _trainer()
    _wait(t, lambda s: s.state == "idle")
    at.button(key="seq_step").click().run()
    assert [tab.label for tab in at.tabs] == ["Connectivity", "Attention", "Embedding map"]
    att = _charts(at)["Attention weights per head"]
    assert len(att["data"]) == 8                                              # 2 layers × 4 heads
    assert any(c.value.startswith("**Hidden state** is not shown") for c in at.caption)
    assert any(c.value.startswith("**Gradient through time** is not shown") for c in at.caption)
    assert not at.exception and not at.error


def test_a_text_file_becomes_what_the_language_model_reads(tmp_path, monkeypatch):
    """What an upload leaves (ui.sequences.take_text): the model's Embedding and output sized for the
    file's characters, the caption naming it, Step training on it; back to the preset's data."""
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    text = tmp_path / "song.txt"
    text.write_text("row row row your boat, gently down the stream; merrily merrily life is but a dream. " * 20)
    at = _page()
    at.session_state["seq_own_text"], at.session_state["seq_own_name"] = str(text), "song.txt"
    at.run()
    assert not at.exception
    caption = next(c.value for c in at.caption if c.value.startswith("Your text **song.txt**"))
    vocab = len(set(text.read_text())) + 1                          # every character and the pad
    assert f"{vocab - 1} different characters" in caption
    layers = at.dataframe[0].value
    assert layers["parameters"].iloc[1] == vocab * 24              # Embedding(vocab, 24), after the input row
    at.button(key="seq_step").click().run()
    (mine,) = [t for t in trainer_mod.live_trainers() if t.page == "sequences" and t.alive
               and t.specs[0].data.name == "text_file"]            # (the preset's own run may still be stopping)
    t = _wait(mine, lambda s: s.run is not None and s.run.step == 1)
    assert t.run.evals["test_loss"][-1] < math.log(vocab) * 1.2     # a next-character loss over this vocabulary
    at.button(key="seq_preset_text").click().run()
    assert at.session_state["seq_own_text"] == "" and not any(c.value.startswith("Your text") for c in at.caption)


def test_a_file_that_is_not_text_is_refused_with_a_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    from ui import sequences as sq
    errors: list[str] = []
    monkeypatch.setattr(sq, "_report", errors.append)
    monkeypatch.setattr(sq.st, "session_state", {**{k: (v() if callable(v) else v) for k, v in sq.SEQ_DEFAULTS.items()}})
    assert sq.take_text("id-1", "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00binary" * 10)
    assert sq.st.session_state["seq_own_text"] == ""
    assert errors == [errors[0]] and errors[0].startswith("That file cannot be used: photo.txt ")
    assert not sq.take_text("id-1", "photo.txt", b"again")            # each upload is taken once


def test_the_memory_race_trains_three_cells_side_by_side():
    at = _page()
    assert at.slider(key="seq_race_lag").value == 30
    at.slider(key="seq_race_lag").set_value(8).run()
    at.button(key="seq_race_go").click().run()
    (race,) = [t for t in trainer_mod.live_trainers() if t.page == "sequences" and len(t.specs) == 3 and t.alive]
    assert [s.data.lag for s in race.specs] == [8, 8, 8]
    _wait(race, lambda s: all(r.step >= 100 for r in s.runs))
    race.pause()
    _wait(race, lambda s: s.state == "paused")
    at.run()
    fig = _charts(at)["Who remembers across 8 steps?"]
    assert [t["name"] for t in fig["data"]] == ["plain RNN", "GRU", "LSTM", "guessing"]
    assert fig["data"][3]["y"] == [12.5, 12.5]
    assert all(len(t["y"]) >= 2 for t in fig["data"][:3])
    assert any(m.value.startswith(("At a lag of 8", "All three", "None recalls")) for m in at.markdown)
