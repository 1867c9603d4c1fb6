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


# the page position of a clickable point of the network diagram: the nth point of the trace named
# `trace` (or with customdata starting with `kind`), as [x, y] on the page
DIAGRAM_POINT = """([kind, nth]) => {
  const el = document.querySelector("[class*='st-key-pg_diagram_'] .js-plotly-plot");
  if (!el || !el._fullData) return null;
  const fl = el._fullLayout, r = el.getBoundingClientRect();
  const hits = [];
  for (const d of el._fullData) (d.customdata || []).forEach((c, i) => {
    if (c && c[0] === kind) hits.push([d.x[i], d.y[i]]);
  });
  if (hits.length <= nth) return null;
  const [x, y] = hits[nth];
  return [r.left + fl._size.l + fl.xaxis.l2p(x), r.top + fl._size.t + fl.yaxis.l2p(y)];
}"""


def _click_diagram(page, kind: str, nth: int = 0) -> None:
    page.locator("[class*='st-key-pg_diagram_']").first.scroll_into_view_if_needed()
    page.wait_for_function(f"(a) => ({DIAGRAM_POINT})(a) !== null", arg=[kind, nth])
    x, y = page.evaluate(DIAGRAM_POINT, [kind, nth])
    page.mouse.click(x, y)


def test_the_diagram_is_the_editor(page, app_url):
    """TF Playground's default net (4-2 tanh on the circle): + on hidden 1 makes it 5 wide in the
    spec, the link and the shape table; a clicked neuron shows large; a clicked weight is set."""
    from ui.url import decode_spec
    open_page(page, app_url)
    _click_diagram(page, "neuron+", 0)
    page.wait_for_function("() => document.body.innerText.includes('Changed on the diagram: hidden layer 1 has 5 neurons')")
    wait_idle(page)
    assert_no_exception(page)
    end = time.monotonic() + 10
    while True:                                                     # the link follows the spec
        units = [l.params.get("units") for l in decode_spec(page.url.split("spec=")[1].split("&")[0]).layers]
        if units == [5, None, 2, None, 1] or time.monotonic() > end:
            break
        time.sleep(0.3)
    assert units == [5, None, 2, None, 1]
    page.locator("[data-testid='stTabs'] [role='tab']", has_text="Network").first.click()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stNumberInput\"] input')]"
                           ".some(i => i.value === '5')")
    # the shape table's total: 2x5 + 5, 5x2 + 2 and 2x1 + 1 (it was 25 with 4 neurons)
    page.wait_for_function("() => document.body.innerText.includes('30 weights and biases in all')")
    _click_diagram(page, "neuron", 3)                               # the 2nd neuron of hidden 1
    page.wait_for_function("() => document.body.innerText.includes('h1.2 (hidden 1): its output over the plane')"
                           " || [...document.querySelectorAll('.js-plotly-plot')].some(e => e.layout && "
                           "e.layout.title.text.includes('h1.2 (hidden 1)'))")
    _click_diagram(page, "weight", 0)                               # x1 -> h1.1
    label = page.get_by_role("spinbutton", name="Weight x1 → h1.1")
    label.fill("2.5")
    label.press("Enter")
    wait_idle(page)
    page.locator(".st-key-pg_set_weight button").first.click()
    page.wait_for_function("""() => [...document.querySelectorAll("[class*='st-key-pg_diagram_'] .js-plotly-plot")]
        .some(e => e._fullData && e._fullData.some(d => (d.hovertext || []).some(t => String(t).startsWith('x1 → h1.1: weight +2.500'))))""")
    wait_idle(page)
    assert_no_exception(page)
    page.locator("[class*='st-key-pg_diagram_']").first.scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    page.set_viewport_size({"width": 1400, "height": 2300})
    time.sleep(1)
    assert shot(page, "playground_diagram").stat().st_size > 50_000
