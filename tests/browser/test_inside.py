"""Inside the network in a real browser: from the Playground, open the page, start the MNIST
CNN preset from it, watch every section fill in while it trains, and keep a screenshot of
each (screenshots/inside_*.png)."""
from __future__ import annotations

import re
import time

from .conftest import assert_no_exception, open_page, shot, wait_idle

SECTIONS = ("Activations", "Filters", "Gradient flow", "Distributions")


def _main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def _step(page) -> int:
    m = re.search(r"step ([\d,]+) of", _main_text(page))
    return int(m.group(1).replace(",", "")) if m else -1


def _wait_for_step(page, at_least: int, timeout: float = 180) -> int:
    end = time.monotonic() + timeout
    while (step := _step(page)) < at_least:
        assert time.monotonic() < end, f"training stuck at step {step}"
        page.wait_for_timeout(500)
    return step


def _shot_all(page, name: str):
    """Grow the viewport to the content (Streamlit scrolls an inner box), then a screenshot."""
    need = page.evaluate("""() => Math.max(...[...document.querySelectorAll('*')]
        .filter(e => e.scrollHeight > e.clientHeight + 5 && getComputedStyle(e).overflowY !== 'visible')
        .map(e => e.scrollHeight), document.body.scrollHeight)""")
    page.set_viewport_size({"width": 1400, "height": max(1000, min(int(need) + 40, 6000))})
    page.mouse.move(5, 5)                                         # no tooltip in the picture
    page.wait_for_timeout(1200)                                   # charts re-layout to the new size
    try:                                                          # between two live refreshes
        page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')", timeout=10_000)
    except Exception:  # noqa: BLE001 - a busy machine: take it as it is
        pass
    path = shot(page, name)
    page.set_viewport_size({"width": 1400, "height": 1000})
    return path


def test_inside_the_network_during_mnist_training(page, app_url):
    open_page(page, app_url)                                      # the Playground (its own small run)
    page.locator("[data-testid='stSidebarNav'] a[href$='/inside']").click()
    page.wait_for_url("**/inside", wait_until="commit", timeout=60_000)
    page.get_by_text("Start a preset").first.wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_text("Start a preset").first.click()
    page.get_by_role("button", name="Start training").click()   # the default preset: MNIST CNN
    wait_idle(page)
    page.get_by_text("Preset to start").wait_for(state="hidden")  # the popover closes by itself (issue 21.9)
    page.locator("h1").first.click()                              # leave its button (no tooltip)
    page.get_by_text("What each layer makes of it").wait_for(timeout=120_000)
    page.get_by_text("MNIST digits").first.wait_for(timeout=120_000)
    first = _wait_for_step(page, 1)
    _wait_for_step(page, first + 100)                             # the live part keeps updating
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 7")
    assert_no_exception(page)
    paths = [_shot_all(page, "inside_activations")]
    for section in SECTIONS[1:]:
        page.locator("[data-testid='stButtonGroup'] button", has_text=section).first.click()
        wait_idle(page)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 1")
        page.wait_for_timeout(1500)                               # a live refresh or two
        assert_no_exception(page)
        paths.append(_shot_all(page, "inside_" + section.lower().replace(" ", "_")))
    assert "Vanishing" not in _main_text(page)                    # a sane CNN raises no flag
    button = page.locator(".st-key-inside_train button").first
    if "Pause" in button.inner_text():                            # the 1,000-step preset may be done:
        button.click()                                            # else stop the worker before leaving
        wait_idle(page)
    assert all(p.stat().st_size > 20_000 for p in paths)
