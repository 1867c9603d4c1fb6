"""Browser tests of the three Learn pages: each main control works; screenshots for review.

One browser session for the module: the app's root is opened once, then the tests move
between pages with the sidebar links (no full reload of the frontend per test)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import assert_no_exception, open_page, shot, wait_idle


@pytest.fixture(scope="module")
def learn(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)
    open_page(pg, app_url)
    yield pg
    ctx.close()


def _go(page, path: str, marker: str, charts: int, height: int) -> None:
    """Switch to a Learn page with its sidebar link, in a viewport tall enough for the whole page
    (Streamlit scrolls an inner box, so a full-page screenshot is only as tall as the viewport)."""
    page.set_viewport_size({"width": 1400, "height": height})
    page.locator(f"[data-testid='stSidebarNav'] a[href$='/{path}']").click()
    page.wait_for_url(f"**/{path}")
    page.get_by_text(marker).first.wait_for()
    wait_idle(page)
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}")


def _fit(page) -> None:
    """Grow the viewport to the page's content, so the full-page screenshot shows all of it."""
    need = page.evaluate("""() => Math.max(...[...document.querySelectorAll('*')]
        .filter(e => e.scrollHeight > e.clientHeight + 5 && getComputedStyle(e).overflowY !== 'visible')
        .map(e => e.scrollHeight), document.body.scrollHeight)""")
    if need > page.viewport_size["height"]:
        page.set_viewport_size({"width": 1400, "height": min(int(need) + 80, 8000)})
        wait_idle(page)
        page.wait_for_timeout(500)
    page.mouse.move(700, 5)                      # no tooltip in the picture
    page.wait_for_timeout(800)


def _metric_value(page, label: str):
    box = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return box.locator("[data-testid='stMetricValue']")


def _metric(page, label: str) -> str:
    return _metric_value(page, label).inner_text()


def _choose(page, label: str, option: str) -> None:
    page.locator("[data-testid='stSelectbox']").filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def test_conv_lab(learn):
    page = learn
    _go(page, "conv_lab", "How output cell", charts=5, height=3000)
    assert_no_exception(page)
    before = _metric(page, "Sum of the products")
    assert before == _metric(page, "torch's conv2d")            # the hand sum equals torch's value
    _fit(page)
    shot(page, "conv_lab")
    # a different kernel gives a different output, still equal to torch's
    _choose(page, "Kernel", "Gaussian blur")
    expect(_metric_value(page, "Sum of the products")).not_to_have_text(before)
    wait_idle(page)
    after = _metric(page, "Sum of the products")
    assert after != before and after == _metric(page, "torch's conv2d")
    # clicking near the top-left of the output chart chooses a cell there
    chart = page.locator("[data-testid='stPlotlyChart']").nth(2).locator(".nsewdrag").first
    box = chart.bounding_box()
    chart.click(position={"x": box["width"] * 0.1, "y": box["height"] * 0.1})
    expect(page.get_by_role("spinbutton", name="Output row")).not_to_have_value("10")
    wait_idle(page)
    row = int(page.get_by_role("spinbutton", name="Output row").input_value())
    col = int(page.get_by_role("spinbutton", name="Output column").input_value())
    assert (row, col) != (10, 17) and row < 8 and col < 8, (row, col)
    expect(page.get_by_text(f"How output cell (row {row}, column {col})")).to_be_visible()
    assert_no_exception(page)


def test_activations(learn):
    page = learn
    _go(page, "activations", "Softmax: from scores", charts=9, height=3600)
    assert_no_exception(page)
    expect(page.get_by_text("63.8%")).to_have_count(1)            # softmax of 2, 1, 0.1, -1
    _fit(page)
    shot(page, "activations")
    box = page.get_by_role("textbox", name="Scores z (comma-separated)")
    box.fill("1, 1")
    box.press("Enter")
    expect(page.get_by_text("50.0%")).to_have_count(2)            # equal scores: equal probabilities
    expect(page.get_by_text("63.8%")).to_have_count(0)
    assert_no_exception(page)


def test_backprop(learn):
    page = learn
    _go(page, "backprop", "Backward for input", charts=4, height=3900)
    assert_no_exception(page)
    expect(page.get_by_text("Correct: 2 of 4")).to_have_count(1)
    page.get_by_role("button", name="Run 1000 steps").click()
    page.get_by_text("Loss after 1000 steps").wait_for()
    wait_idle(page)
    expect(page.get_by_text("Correct: 4 of 4")).to_have_count(1)  # it learnt XOR
    assert float(_metric(page, "Loss after 1000 steps")) < 0.05
    assert_no_exception(page)
    _fit(page)
    shot(page, "backprop")
