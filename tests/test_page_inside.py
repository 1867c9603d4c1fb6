"""AppTest of the "Inside the network" page: start a run from it, see every section fill with
the recorder's data, see a bad network's warning, choose the example."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import engine.trainer as trainer_mod
from engine.presets import load_preset
from engine.probes import ProbeRecord
from engine.spec import LayerSpec

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("stop_trainers")


def _page() -> AppTest:
    """The app on this page with no run yet: AppTest must run the first (Playground) page
    before switching, so it is given a network that cannot train, which leaves no run."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    spec = load_preset("tf_playground")
    at.session_state["pg_spec"] = spec.with_(layers=(*spec.layers[:-1], LayerSpec.make("linear", units=3)))
    at.switch_page("app_pages/playground.py").run()
    assert not trainer_mod.live_trainers()
    at.switch_page("app_pages/inside.py")
    return at


def _trainer():
    (t,) = trainer_mod.live_trainers()
    return t


def _steps(t, n: int) -> ProbeRecord:
    """Pause the trainer, train exactly n more steps, and return the recording of the last one."""
    t.pause()
    before = t.wait(lambda s: s.state in ("paused", "idle") and s.run is not None, 90).run.step
    t.step(n)

    def ready(s) -> bool:
        rec = s.run.views.get("probes") if s.run else None
        return s.state == "paused" and isinstance(rec, ProbeRecord) and rec.step == s.run.step >= before + n
    try:
        return t.wait(ready, 90).run.views["probes"]
    except TimeoutError:
        s = t.snapshot()
        raise AssertionError(f"{s.state} {s.error} {s.run and s.run.step}") from None


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def test_no_run_offers_a_one_click_start_and_every_section_shows_the_run():
    at = _page().run()
    assert not at.exception
    assert any("Nothing is training yet" in v for v in _texts(at.info))
    assert at.selectbox(key="inside_preset").value == "mnist_cnn"
    at.session_state["inside_preset"] = "lenet"                # two conv layers, small and quick
    at.button(key="inside_start").click().run()
    assert not at.exception
    t = _trainer()
    assert t.specs[0] == load_preset("lenet") and at.session_state["pg_spec"] == t.specs[0]
    rec = _steps(t, 3)
    at.run()
    assert not at.exception
    assert any(f"step {rec.step:,} of" in v for v in _texts(at.markdown))
    # Activations: input, output probabilities and one chart per layer (12 layers)
    assert len(at.get("plotly_chart")) == 2 + len(t.specs[0].layers)
    assert "true class" in " ".join(_texts(at.caption)) or "Green is the true class" in " ".join(_texts(at.caption))

    at.session_state["inside_section"] = "Filters"
    at.run()
    assert not at.exception and len(at.get("plotly_chart")) == 1
    assert at.selectbox(key="inside_filter_layer").options == ["layer 1 Conv2d 6@5x5 p2", "layer 4 Conv2d 16@5x5"]
    at.selectbox(key="inside_filter_layer").select_index(1).run()
    at.selectbox(key="inside_filter_channel").select_index(3).run()     # input channel 3 of 6
    assert not at.exception and at.session_state["inside_filter_channel"] == 2

    at.session_state["inside_section"] = "Gradient flow"
    at.run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 4                    # bars, lines, ratio, dead units
    assert any("No warning signs" in v for v in _texts(at.success))

    for kind in ("weights", "biases", "activations", "gradients"):
        at.session_state["inside_section"] = "Distributions"
        at.session_state["inside_kind"] = kind
        at.run()
        assert not at.exception and len(at.get("plotly_chart")) == 1


def test_the_example_choice_reaches_the_recorder():
    at = _page().run()
    at.session_state["inside_preset"] = "tf_playground"
    at.button(key="inside_start").click().run()
    t = _trainer()
    rec = t.views["probes"]
    t.pause()
    at.run()
    at.number_input(key="inside_example").set_value(17).run()
    assert rec.example == 17
    _steps(t, 2)
    at.run()
    title = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
    assert title.startswith("Input: test example #17")
    at.radio(key="inside_example_mode").set_value("misclassified").run()
    assert rec.example == "misclassified"
    assert any("hidden neuron" in str(p.proto) for p in at.get("page_link"))   # 2-D data: link to the neurons


def test_a_vanishing_gradient_network_gets_the_warning():
    """Built on the Playground (10 sigmoid layers, too wide for its neuron picture), looked at here."""
    spec = load_preset("tf_playground")
    layers = [l for _ in range(10) for l in (LayerSpec.make("linear", units=20), LayerSpec.make("sigmoid"))]
    bad = spec.with_(layers=(*layers, LayerSpec.make("linear", units=1)))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["pg_spec"] = bad
    at.switch_page("app_pages/playground.py").run()            # the Playground makes the run
    at.switch_page("app_pages/inside.py")
    at.session_state["inside_section"] = "Gradient flow"
    at.run()
    t = _trainer()
    assert t.specs[0] == bad
    _steps(t, 2)
    at.run()
    assert not at.exception
    warnings = _texts(at.warning)
    assert any(w.startswith("Vanishing gradients") and "layer 1 (Linear 20)" in w for w in warnings), warnings
    assert not _texts(at.success)


def test_the_example_picker_works_on_a_finished_run():
    """Issue 21.3: once the run has finished (no more views by itself), choosing another test
    example, or the latest one it gets wrong, still shows that example."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["pg_spec"] = load_preset("tf_playground").with_(epochs=3)
    at.switch_page("app_pages/playground.py").run()            # the Playground makes the run
    at.switch_page("app_pages/inside.py").run()
    t = _trainer()
    at.button(key="inside_train").click().run()
    t.wait(lambda s: s.state == "done", 60)
    at.run()
    assert not at.exception and t.snapshot().state == "done"

    def shown() -> str:
        return json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
    assert shown().startswith("Input: test example #0")
    at.number_input(key="inside_example").set_value(17).run()
    assert shown().startswith("Input: test example #17"), shown()
    at.radio(key="inside_example_mode").set_value("misclassified").run()
    rec = t.snapshot().run.views["probes"]
    assert rec.example.mode == "misclassified" and shown().startswith(f"Input: test example #{rec.example.index}")
    assert rec.example.index != 17 or not rec.example.correct


def test_starting_a_preset_from_the_popover_closes_it():
    """Issue 21.9: the "Start a preset" popover stayed open over the page after its button."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["pg_spec"] = load_preset("tf_playground").with_(epochs=3)
    at.switch_page("app_pages/playground.py").run()            # the Playground makes the run
    at.switch_page("app_pages/inside.py").run()
    at.session_state["inside_presets"] = True                  # the user opened it
    at.session_state["inside_preset"] = "tf_playground"
    at.run()
    at.button(key="inside_start").click().run()
    assert not at.exception
    assert at.session_state["inside_presets"] is False
    assert [l.kind for l in _trainer().specs[0].layers] == [l.kind for l in load_preset("tf_playground").layers]
