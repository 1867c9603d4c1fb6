"""The Playground in headless Chromium: pick the spiral, train, and the decision boundary moves."""
from __future__ import annotations

import time

from .conftest import assert_no_exception, open_page, shot, wait_idle

BOUNDARY_Z = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title && el.layout.title.text;
    if (t && t.includes('Decision boundary') && el._fullData && el._fullData[0] && el._fullData[0].z)
      return Array.from(el._fullData[0].z).flatMap(r => Array.from(r));
  }
  return null;
}"""


def _boundary(page, timeout: float = 30.0) -> list[float]:
    end = time.monotonic() + timeout
    while (z := page.evaluate(BOUNDARY_Z)) is None:
        assert time.monotonic() < end, "no decision boundary chart on the page"
        time.sleep(0.3)
    return z


def _select(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    page.locator("[data-testid='stSelectbox']").filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def _tab(page, name: str) -> None:
    page.get_by_role("tab").filter(has_text=name).first.click()


def test_spiral_trains_and_the_boundary_changes(page, app_url):
    open_page(page, app_url)
    assert_no_exception(page)
    _select(page, "Dataset", "2-D points · Spiral")
    page.wait_for_function("() => document.body.innerText.includes('Two interleaved spirals')")
    # TensorFlow Playground's recipe for the spiral: sine features, 8 + 8 neurons
    features = page.locator("[data-testid='stMultiSelect']").filter(has_text="Input features").first
    for f in ("sin(x1)", "sin(x2)"):
        features.click()
        page.get_by_role("option", name=f, exact=True).click()
        wait_idle(page)
    page.keyboard.press("Escape")
    _tab(page, "Network")
    for i in (0, 1):
        box = page.get_by_label("units", exact=True).nth(i)
        box.fill("8")
        box.press("Enter")
        wait_idle(page)
    _tab(page, "Training")
    _select(page, "Optimizer", "Adam")
    _tab(page, "Data")
    before = _boundary(page)
    wait_idle(page)
    train = page.locator(".st-key-pg_train button").first
    train.click()
    page.wait_for_function("() => document.querySelector('.st-key-pg_train button').innerText.includes('Pause')")
    # wait until the boundary has moved and the network has had a few seconds to fit the spiral
    end = time.monotonic() + 40
    while True:
        after = _boundary(page)
        moved = sum(abs(a - b) for a, b in zip(before, after)) / len(before)
        if moved > 0.1 or time.monotonic() > end:
            break
        time.sleep(0.5)
    assert moved > 0.1, f"the decision boundary did not change (mean change {moved:.4f})"
    time.sleep(4)
    train.click()
    page.wait_for_function("() => document.querySelector('.st-key-pg_train button').innerText.includes('Train')")
    wait_idle(page)
    assert_no_exception(page)
    assert "spec=" in page.url                          # the spec is in the link
    page.mouse.move(0, 0)                               # no tooltip in the screenshot
    page.set_viewport_size({"width": 1400, "height": 2300})      # Streamlit scrolls inside the page
    time.sleep(1)
    assert shot(page, "playground").stat().st_size > 50_000
