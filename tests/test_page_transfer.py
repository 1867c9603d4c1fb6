"""AppTest of the Few labels page: a rotation run of the history is the source; a freeze toggle
freezes its first conv layer in the live run, which trains and shows its numbers and curve; the
comparison runs in its worker and draws the accuracy-against-labels chart and table."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import engine.trainer as trainer_mod
from engine.presets import load_preset
from engine.spec import to_dict
from engine.store import default_store, weights_of
from engine.tasks import build_run

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("stop_trainers")


@pytest.fixture(scope="module")
def source_id() -> str:
    """A rotation network (20 steps) saved in the test history."""
    spec = load_preset("mnist_rotation").with_(steps=20)
    run = build_run(spec)
    for _ in range(20):
        run.step()
    return default_store().save(spec=to_dict(spec), series={"step": [20]}, final={}, state="done", page="test",
                                name="rotation for the page test", weights=weights_of(run))


def _trainer(freeze: tuple[int, ...]):
    """The page's trainer for this freeze list (the one it replaced may still be stopping)."""
    (t,) = [t for t in trainer_mod.live_trainers() if t.page == "transfer" and t.specs[0].transfer.freeze == freeze]
    return t


def test_a_history_run_is_the_source_a_toggle_freezes_and_the_comparison_draws_its_chart(source_id):
    at = AppTest.from_file(str(ROOT / "app_pages" / "transfer.py"), default_timeout=60)
    at.session_state["tl_source"] = source_id
    at.session_state["tl_steps"] = 40
    at.run()
    assert not at.exception, at.exception[0].message
    assert f"Run {source_id[:8]}: rotation for the page test (test, rotation)" in at.selectbox(key="tl_source").options
    assert [t.key for t in at.toggle] == ["tl_freeze_0", "tl_freeze_3"]        # the two pretrained conv layers
    at.toggle(key="tl_freeze_0").set_value(True).run()
    t = _trainer((0,))
    assert t.specs[0].transfer.source == source_id
    t.wait(lambda s: s.state == "idle", timeout=60)
    before = t.runs()[0].model[0].weight.detach().clone()
    t.step(20)
    t.wait(lambda s: s.state == "paused" and s.run.step == 20, timeout=60)
    at.run()
    assert not at.exception, at.exception[0].message
    assert next(m.value for m in at.metric if m.label == "Step") == "20"
    assert float(next(m.value for m in at.metric if m.label == "Test accuracy").rstrip("%")) > 20
    assert torch.equal(t.runs()[0].model[0].weight, before)                    # frozen: not one bit changed
    assert any("frozen: 0 (Conv2d" in c.value and "rotation for the page test" in c.value for c in at.caption)
    assert [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")] == ["Accuracy"]
    at.button(key="tl_probe").click().run()
    assert _trainer((0, 3)) is not t                                          # the probe: both conv layers frozen
    at.session_state["tl_points"] = [10]
    at.number_input(key="tl_seeds").set_value(1)
    at.button(key="tl_compare").click().run()
    job = at.session_state["tl_job"]
    job._thread.join(120)
    assert job.result is not None and not job.error
    at.run()
    assert not at.exception, at.exception[0].message
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert "Held-out accuracy against labelled examples" in titles
    assert len(at.dataframe[0].value) == 4 and any("With 10 labels, fine-tuning" in m.value for m in at.markdown)


def test_an_autoencoder_run_gives_its_encoder_as_the_body():
    spec = load_preset("mnist_autoencoder").with_(steps=5)
    run = build_run(spec)
    for _ in range(5):
        run.step()
    rid = default_store().save(spec=to_dict(spec), series={"step": [5]}, final={}, state="done", page="autoencoder",
                               name="an autoencoder", weights=weights_of(run))
    at = AppTest.from_file(str(ROOT / "app_pages" / "transfer.py"), default_timeout=60)
    at.session_state["tl_source"] = rid
    at.run()
    assert not at.exception, at.exception[0].message
    t = _trainer(())
    assert [l.kind for l in t.specs[0].layers] == ["flatten", "linear", "relu", "linear", "relu", "linear"]
    assert t.specs[0].layers[-1].params["units"] == 10 and [x.key for x in at.toggle] == ["tl_freeze_1", "tl_freeze_3"]
    t.wait(lambda s: s.state == "idle", timeout=60)
    assert t.runs()[0].transfer.loaded == (1, 3)
    assert torch.equal(t.runs()[0].model[1].weight, run.encoder[1].weight)      # the encoder's first Linear
    assert any("Linear 10" in m.value and "new head" in m.value for m in at.markdown)
