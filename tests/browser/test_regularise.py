"""The Overfitting & augmentation page in headless Chromium: the augmented batch is drawn at once,
both runs train, and the page shows each run's train/test gap; screenshots of each stage."""
from __future__ import annotations

import re

from .conftest import assert_no_exception, open_page, wait_idle
from .test_sequences import _shot_all

TITLES = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .map(el => el.layout && el.layout.title && el.layout.title.text).filter(Boolean)"""
GAP = r"Red · train − test gap\s*([\d.]+) points"
PLAIN_GAP = r"Grey · train − test gap\s*([\d.]+) points"


def test_see_the_augmented_batch_then_train_both_runs_and_read_their_gaps(page, app_url):
    open_page(page, app_url, "regularise")
    assert_no_exception(page)
    page.wait_for_function("() => document.body.innerText.includes('Overfitting & augmentation')")
    page.wait_for_function(f"() => ({TITLES})().some(t => t.includes('After: what the network was given'))",
                           timeout=60_000)
    wait_idle(page)
    assert "shift ±2 px, rotate ±15°" in page.inner_text("body")
    _shot_all(page, "regularise_augmentation")
    page.locator(".st-key-reg_train button").first.click()
    page.wait_for_function("() => document.body.innerText.includes('Both runs: finished')", timeout=180_000)
    wait_idle(page)
    assert_no_exception(page)
    text = page.inner_text("body")
    plain, mine = float(re.search(PLAIN_GAP, text).group(1)), float(re.search(GAP, text).group(1))
    assert plain > 15 and mine < plain, (plain, mine)         # measured: 23.1 and 15.4 points
    assert "Stopped early at step" in text
    titles = page.evaluate(TITLES)
    for start in ("Accuracy on training (solid)", "Loss on training (solid)", "Before: "):
        assert any(start in t for t in titles), (start, titles)
    _shot_all(page, "regularise_trained")
