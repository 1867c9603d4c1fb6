"""The Playground in headless Chromium: pick the spiral, train, and the decision boundary moves."""
from __future__ import annotations

import time
from dataclasses import replace

from engine.presets import load_preset
from engine.spec import LayerSpec
from ui.url import encode_spec

from .conftest import assert_no_exception, open_page, shot, wait_idle

BOUNDARY_Z = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title && el.layout.title.text;
    if (t && t.includes('Decision boundary') && el._fullData && el._fullData[0] && el._fullData[0].z)
      return Array.from(el._fullData[0].z).flatMap(r => Array.from(r));
  }
  return null;
}"""


# the live loss chart: True while it is a static picture, False when interactive, None if absent
LOSS_STATIC = """() => {
  const el = document.querySelector('.st-key-pg_loss .js-plotly-plot');
  return el && el._context ? !!el._context.staticPlot : null;
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


def test_spiral_trains_and_the_boundary_changes(page, app_url):
    # a link with TensorFlow Playground's recipe for the spiral (sine features, 8 + 8 tanh
    # neurons, Adam) on the circle data; then the spiral is picked with the dataset widget
    spec = load_preset("tf_playground")
    L = LayerSpec.make
    spec = spec.with_(data=replace(spec.data, features=("x1", "x2", "sin(x1)", "sin(x2)")),
                      layers=(L("linear", units=8), L("tanh"), L("linear", units=8), L("tanh"), L("linear", units=1)),
                      optim=replace(spec.optim, name="adam"), epochs=100_000)     # trains until paused
    open_page(page, app_url, "?spec=" + encode_spec(spec))
    assert_no_exception(page)
    page.wait_for_function("() => document.body.innerText.includes('Loaded the run from the link')")
    _select(page, "Dataset", "2-D points · Spiral")
    page.wait_for_function("() => document.body.innerText.includes('Two interleaved spirals')")
    before = _boundary(page)
    wait_idle(page)
    train = page.locator(".st-key-pg_train button").first
    train.click()
    page.wait_for_function("() => document.querySelector('.st-key-pg_train button').innerText.includes('Pause')")
    # the live charts' own redraws while training are static pictures (half the drawing time)
    page.wait_for_function(LOSS_STATIC, timeout=20_000)
    # wait until the boundary has moved and the network has had a few seconds to fit the spiral
    end = time.monotonic() + 40
    while True:
        after = _boundary(page)
        moved = sum(abs(a - b) for a, b in zip(before, after)) / len(before)
        if moved > 0.1 or time.monotonic() > end:
            break
        time.sleep(0.5)
    assert moved > 0.1, f"the decision boundary did not change (mean change {moved:.4f})"
    time.sleep(2)
    train.click()                                       # pause
    page.wait_for_function("() => document.querySelector('.st-key-pg_train button').innerText.includes('Train')")
    wait_idle(page)
    assert_no_exception(page)
    assert page.evaluate(LOSS_STATIC) is False, "a paused run's loss chart is interactive again (hover, zoom)"
    assert "spec=" in page.url                          # the spec is in the link
    page.mouse.move(0, 0)                               # no tooltip in the screenshot
    page.set_viewport_size({"width": 1400, "height": 2300})      # Streamlit scrolls inside the page
    time.sleep(1)
    assert shot(page, "playground").stat().st_size > 50_000


SELECTED_TAB = "[data-testid='stTabs'] [role='tab'][aria-selected='true']"


def _tab(page) -> str:
    return page.locator(SELECTED_TAB).first.inner_text()


def _stays_on(page, name: str) -> None:
    """The page has settled and the tab `name` is (still) the selected one."""
    wait_idle(page)
    page.wait_for_function("([sel, name]) => (document.querySelector(sel) || {}).innerText?.includes(name)",
                           arg=[SELECTED_TAB, name], timeout=10_000)
    assert name in _tab(page)


def test_the_chosen_settings_tab_stays_open_when_a_message_comes_or_goes(page, app_url):
    """Issue 21.2: deleting Flatten (a message appears, the link's notice goes) and moving the
    learning rate after the "adapted" notice (it goes) keep the tab the user chose."""
    open_page(page, app_url, "?spec=" + encode_spec(load_preset("mnist_cnn")))
    page.wait_for_function("() => document.body.innerText.includes('Loaded the run from the link')")
    wait_idle(page)
    page.get_by_role("tab", name="Network").click()
    _stays_on(page, "Network")
    flatten = page.locator("div[class*='_card']").filter(has_text="4. Flatten").last    # the innermost: the card
    flatten.locator("[class*='_del'] button").first.click()
    page.wait_for_function("() => document.body.innerText.includes('add a Flatten')")
    page.wait_for_function("() => !document.body.innerText.includes('Loaded the run from the link')")
    _stays_on(page, "Network")

    page.get_by_role("tab", name="Data").click()
    _select(page, "Dataset", "2-D points · Spiral")
    page.wait_for_function("() => document.body.innerText.includes('network was adapted')")
    wait_idle(page)
    page.get_by_role("tab", name="Training").click()
    _stays_on(page, "Training")
    page.locator("[data-testid='stSlider']").filter(has_text="Learning rate").get_by_role("slider").first.press("ArrowRight")
    page.wait_for_function("() => !document.body.innerText.includes('network was adapted')")
    _stays_on(page, "Training")
    assert_no_exception(page)
