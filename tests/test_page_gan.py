"""AppTest of the GAN lab: the ring trains and its picture, curves and modes show; one-sided steps
move only one network; a broken generator is refused by name; the digits target refits both
networks and shows samples and the walk; the run is in the history."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import engine.trainer as trainer_mod
from engine.store import default_store

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("stop_trainers")


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "gan.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception[0].message
    return at


def _trainer():
    (t,) = [t for t in trainer_mod.live_trainers() if t.page == "gan"]
    return t


def _charts(at: AppTest) -> dict[str, dict]:
    return {(f := json.loads(c.proto.spec))["layout"]["title"]["text"]: f for c in at.get("plotly_chart")}


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _key(at: AppTest, suffix: str) -> str:
    """The full key of a widget of this spec generation (gan<gen>_<suffix>)."""
    return f"gan{at.session_state['gan_gen']}_{suffix}"


def test_the_ring_trains_and_shows_its_picture_curves_and_modes():
    at = _page()
    t = _trainer()
    t.wait(lambda s: s.state == "idle")
    at.button(key="gan_train").click().run()
    t.wait(lambda s: s.run.step >= 600, timeout=120)
    at.button(key="gan_train").click().run()                               # pause
    t.wait(lambda s: s.state == "paused")
    at.run()
    assert not at.exception
    charts = _charts(at)
    plane = next(f for title, f in charts.items() if title.startswith("Real and generated samples at step"))
    assert {d.get("name") for d in plane["data"]} >= {"real", "generated", "generator's push", "mode centres"}
    assert {"Losses of the two networks", "Distance to the real data (MMD²)", "Modes covered"} <= set(charts)
    assert _metric(at, "Modes covered").endswith("of 8")
    assert float(_metric(at, "Distance (MMD²)")) < 0.5                     # from about 1.8 untrained
    assert any("probability" in c.value and "on generated ones" in c.value for c in at.caption)
    (record,) = [r for r in default_store().list() if r.id == t.record_ids()[0]]
    assert record.page == "gan" and record.final["modes_total"] == 8


def test_one_sided_steps_move_one_network_and_the_step_count():
    at = _page()
    t = _trainer()
    t.wait(lambda s: s.state == "idle")
    run = t.runs()[0]
    g, d = ([p.detach().clone() for p in net.parameters()] for net in (run.G, run.D))
    at.button(key="gan_step_d").click().run()
    assert _metric(at, "Step") == "1"
    assert all(torch.equal(a, b) for a, b in zip(g, run.G.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(d, run.D.parameters()))
    d = [p.detach().clone() for p in run.D.parameters()]
    at.button(key="gan_step_g").click().run()
    assert _metric(at, "Step") == "2"
    assert all(torch.equal(a, b) for a, b in zip(d, run.D.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(g, run.G.parameters()))


def test_a_generator_of_the_wrong_size_is_refused_naming_it_and_the_digits_target_refits_both():
    at = _page()
    at.number_input(key=_key(at, "generator_L4_units")).set_value(3).run()   # the generator's last Linear
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("generator: the last layer (Linear 3) outputs 3") for e in errors), errors
    assert at.button(key="gan_train").disabled
    at.selectbox(key=_key(at, "target")).set_value("digits").run()
    assert not at.exception and not [e.value for e in at.error]
    spec = at.session_state["gan_spec"]
    assert spec.data.name == "digits" and spec.data.preprocessing == "symmetric" and spec.gan.latent_dim == 16
    assert spec.net("generator").layers[-2].params["units"] == 64                # 8 x 8 pixels, then tanh
    assert at.slider(key="gan_walk").value == 4
    t = _trainer()
    t.wait(lambda s: s.state == "idle")
    t.step(30)
    t.wait(lambda s: s.state == "paused" and s.run.step == 30, timeout=60)
    at.run()
    titles = set(_charts(at))
    assert any(title.startswith("Generated from fixed noise, step 30") for title in titles), titles
    assert any(title.startswith("From noise a (0) to noise b (1)") for title in titles)
    assert "Do the samples look like digits?" in titles
    assert _metric(at, "Looks like a digit").endswith("%")


def test_the_playground_refuses_a_gan_spec_and_names_where_it_trains():
    from engine.presets import load_preset
    from ui.playground import not_offered
    assert not_offered(load_preset("ring8_gan")) == [
        "data.name: Ring of 8 gaussians is not trained on the Playground, which offers 2-d points, tables, images, "
        "your files"]
    assert not_offered(load_preset("digits_gan")) == [
        "task: GAN runs train 2 networks, and the Playground edits one; open the spec on its own page"]
