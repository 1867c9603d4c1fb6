"""The course map (ui/course.py, app_pages/start.py): every concept has a page that exists and is
registered, a sentence, and a preset that exists and that page offers; the start page lists them
and opens one with its preset."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.presets import PLAYGROUND_GROUPS, SUPERVISED, load_preset, preset_names
from ui import course
from ui.playground import not_offered
from ui.url import encode_spec

ROOT = Path(__file__).resolve().parent.parent
APP = (ROOT / "app.py").read_text()

pytestmark = pytest.mark.usefixtures("stop_trainers")


def test_every_concept_has_a_registered_page_a_sentence_and_an_offered_preset():
    names = [c.name for c in course.CONCEPTS]
    assert len(set(names)) == len(names)
    for c in course.available():
        assert (ROOT / c.page).is_file() and f'"{c.page}"' in APP, c       # the page exists, app.py registers it
        assert c.look_for.endswith(".") and len(c.look_for.split()) >= 8, c
        if c.preset:
            spec = load_preset(c.preset)                                   # the preset exists
            assert c.page in course.OPENERS, c
            if c.page == course.PLAYGROUND:
                assert not not_offered(spec) and c.preset in preset_names(PLAYGROUND_GROUPS, SUPERVISED)
            elif c.page == course.SEQUENCES:
                assert c.preset in preset_names(("sequences",))
            elif c.page == course.GAN:
                from ui.gan import presets as gan_presets
                assert c.preset in gan_presets()


def test_the_map_covers_the_course_and_every_registered_page():
    shown = {c.name for c in course.available()}
    for concept in ("Neurons and activations", "Gradient descent", "Backpropagation", "Hidden layers (MLPs)",
                    "Convolution", "Pooling", "CNNs on digits", "Metrics", "Optimizers", "Regularisation"):
        assert concept in shown
    pages = {c.page for c in course.available()}
    registered = {p.relative_to(ROOT).as_posix() for p in (ROOT / "app_pages").glob("*.py")} - {"app_pages/start.py"}
    assert registered <= pages, registered - pages                        # a new page gets a concept
    assert ("Autoencoders" in shown) == (ROOT / "app_pages" / "autoencoder.py").is_file()


def _start() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception[0].message
    return at


def test_the_start_page_is_the_default_and_lists_every_concept():
    at = _start()
    text = " ".join(m.value for m in at.markdown)
    for c in course.available():
        assert c.name in text and c.look_for in text
    assert len([b for b in at.button if b.key and b.key.startswith("course_")]) == \
        len([c for c in course.available() if c.preset])


def test_a_concepts_button_opens_its_page_with_its_preset():
    at = _start()
    i, c = next((i, c) for i, c in enumerate(course.available()) if c.preset == "tf_playground_spiral_6x8")
    at.button(key=f"course_{i}").click().run()
    assert not at.exception, at.exception[0].message
    assert at.session_state["pg_spec"] == load_preset(c.preset)
    assert any(w.key and w.key.endswith("_init") and w.value == "tf_playground" for w in at.selectbox)
    at = _start()
    j = next(j for j, c in enumerate(course.available()) if c.preset == "sines_lstm_forecast")
    at.button(key=f"course_{j}").click().run()
    assert not at.exception and at.session_state["seq_preset"] == "sines_lstm_forecast"


def test_an_old_link_to_the_root_still_opens_the_playground():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["spec"] = encode_spec(load_preset("xor_2_sigmoid"))
    at.run()
    assert not at.exception, at.exception[0].message
    assert at.session_state["pg_spec"] == load_preset("xor_2_sigmoid")
