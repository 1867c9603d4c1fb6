"""The Few labels page in headless Chromium: the rotation network is pretrained here (once), the
classifier fine-tunes from it on 100 labelled digits, then the comparison (3 label counts, 2 seeds)
runs in its worker with a progress bar and draws the accuracy-against-labels chart; screenshots."""
from __future__ import annotations

import re

from .conftest import assert_no_exception, open_page, wait_idle
from .test_sequences import _shot_all

TITLES = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .map(el => el.layout && el.layout.title && el.layout.title.text).filter(Boolean)"""


def _test_acc(page) -> float:
    m = re.search(r"Test accuracy\s*([\d.]+)%", page.inner_text("body"))
    return float(m.group(1)) if m else -1.0


def test_fine_tune_from_the_rotation_network_and_compare_methods(page, app_url):
    open_page(page, app_url, "transfer")
    assert_no_exception(page)
    page.wait_for_function("() => document.body.innerText.includes('Run: ready')", timeout=300_000)   # pretrained
    wait_idle(page)
    assert "starts layers 0 (Conv2d" in page.inner_text("body")         # the conv layers took the weights
    _shot_all(page, "transfer_ready")
    page.locator(".st-key-tl_train button").first.click()
    page.wait_for_function("() => document.body.innerText.includes('Run: finished')", timeout=120_000)
    wait_idle(page)
    assert _test_acc(page) > 75, page.inner_text("body")[:1500]          # 100 labels, fine-tuned: about 83%
    for n in ("30", "300"):                                               # keep 10, 100 and 1,000 labels
        page.locator(".st-key-tl_points button").filter(has_text=re.compile(rf"^{n}$")).first.click()
        wait_idle(page)
    seeds = page.locator(".st-key-tl_seeds input")
    seeds.fill("2")
    seeds.press("Enter")
    wait_idle(page)
    page.locator(".st-key-tl_compare button").first.click()
    page.wait_for_selector("[data-testid='stProgress']", timeout=30_000)
    assert "runs · next:" in page.inner_text("body")
    page.wait_for_function("() => document.body.innerText.includes('fine-tuning the pretrained network scores')",
                           timeout=300_000)
    wait_idle(page)
    assert_no_exception(page)
    assert any("Held-out accuracy against labelled examples" in t for t in page.evaluate(TITLES))
    _shot_all(page, "transfer_compared")
