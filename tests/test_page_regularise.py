"""AppTest of the Overfitting & augmentation page: the augmentation widgets redraw the batch at
once, a cutout too big for the images is a sentence, and both runs train to numbers and charts."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("stop_trainers")


def _titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_augmentation_widgets_redraw_the_batch_and_a_bad_cutout_is_a_sentence():
    at = AppTest.from_file(str(ROOT / "app_pages" / "regularise.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert _titles(at) == ["Before: 16 images of the batch of the first step, as loaded",
                           "After: what the network was given"]
    for kind in ("slider", "number_input", "selectbox", "select_slider", "toggle", "button"):
        for w in at.get(kind):
            assert w.help, (kind, w.label)
    caption = " ".join(c.value for c in at.caption)
    assert "shift ±2 px, rotate ±15°" in caption
    at.slider(key="reg_shift").set_value(0)
    at.slider(key="reg_rotate").set_value(0.0).run()
    assert "every change is off" in " ".join(c.value for c in at.caption)
    at.selectbox(key="reg_data").set_value("digits")
    at.slider(key="reg_cutout").set_value(10).run()
    assert not at.exception and len(at.get("plotly_chart")) == 0
    [err] = [e.value for e in at.error]
    assert err.startswith("augment.cutout:") and "8x8" in err


def test_both_runs_train_and_the_page_shows_their_gaps():
    at = AppTest.from_file(str(ROOT / "app_pages" / "regularise.py"), default_timeout=60)
    at.run()
    at.number_input(key="reg_steps").set_value(60)
    at.number_input(key="reg_early").set_value(0)
    at.slider(key="reg_dropout").set_value(0.5).run()
    at.button(key="reg_train").click().run()
    import engine.trainer as trainer_mod
    (t,) = trainer_mod.live_trainers()
    t.wait(lambda s: s.state == "done", timeout=60)
    time.sleep(0.2)
    at.run()
    assert not at.exception
    assert [l.kind for l in t.specs[1].layers].count("dropout") == 2 and t.specs[1].augment.shift == 2
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {"Grey · test accuracy", "Grey · train − test gap", "Red · test accuracy",
                            "Red · train − test gap"}
    snap = t.snapshot()
    for r, who in zip(snap.runs, ("Grey", "Red")):
        want = 100 * (r.last_eval["train_acc"] - r.last_eval["test_acc"])
        assert metrics[f"{who} · train − test gap"] == f"{want:.1f} points"
    titles = _titles(at)
    assert "Accuracy on training (solid) and test (dashed) digits, both runs" in titles
    seen = t.runs()[1].last_batch                                             # what the red run saw last:
    assert seen.step == 60 and f"Before: {len(seen.after)} images of the batch of step 60, as loaded" in titles
