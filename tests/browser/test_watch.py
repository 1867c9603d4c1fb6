"""Training you can watch, and clicking through the trained network (issue 21), in Chromium: a
2-D run trains past its epochs until Pause, the Speed control slows it, and a click on a conv
layer's feature map on Inside the network shows its filter and one cell's arithmetic."""
from __future__ import annotations

import re
import time

from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec
from ui.playground import default_spec
from ui.url import encode_spec

from .conftest import assert_no_exception, open_page, wait_idle
from .test_inside import _shot_all

L = LayerSpec.make
DIGITS_CNN = RunSpec.make(data=DataSpec("digits", 300), layers=(
    L("conv2d", channels=4, kernel=3, padding=1), L("relu"), L("flatten"), L("linear", units=10)),
    optim=OptimSpec("adam", lr=0.01), batch_size=32, epochs=200, seed=4, device="cpu")


def _main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def _step(page, required: bool = True) -> int:
    """The step counter the page shows, which says the run trains until paused (-1 before it shows)."""
    m = re.search(r"Step ([\d,]+) \(trains until paused\)", _main_text(page))
    assert m or not required, "no step counter that says the run trains until paused"
    return int(m.group(1).replace(",", "")) if m else -1


def _steps_in(page, seconds: float) -> int:
    """Steps the page shows the run taking over `seconds` of wall time."""
    first = _step(page)
    page.wait_for_timeout(seconds * 1000)
    return _step(page) - first


def test_a_2d_run_trains_until_paused_and_the_speed_control_slows_it(page, app_url):
    spec = default_spec().with_(epochs=2)                            # 50 steps: the default would stop there
    assert spec.until_paused and spec.data.name == "circle"
    open_page(page, app_url, f"?spec={encode_spec(spec)}")
    page.locator(".st-key-pg_train button").first.click()
    wait_idle(page)
    end = time.monotonic() + 180
    while _step(page, required=False) <= 4 * 50:                     # well past the epochs' 50 steps
        assert time.monotonic() < end, f"stuck at step {_step(page, required=False)}"
        page.wait_for_timeout(500)
    assert "Pause" in page.locator(".st-key-pg_train button").first.inner_text()   # still training
    full = _steps_in(page, 4)
    slider = page.locator(".st-key-pg_speed_slider input[type='range']")
    slider.focus()
    slider.press("End")                                              # the slowest: 1 step/s
    wait_idle(page)
    assert slider.get_attribute("aria-valuetext") == "1 step/s"
    page.wait_for_timeout(1500)                                      # the worker has the new pace
    slow = _steps_in(page, 4)
    assert 0 < slow < full, (slow, full)
    _shot_all(page, "playground_until_paused_slow")
    assert_no_exception(page)
    page.locator(".st-key-pg_train button").first.click()                  # Pause
    page.wait_for_function("() => document.querySelector('.st-key-pg_train button').innerText.includes('Train')",
                           timeout=60_000)
    wait_idle(page)
    assert _steps_in(page, 2.5) == 0                                 # paused: no more steps
    assert "paused" in _main_text(page)


def _metric(page, label: str) -> str:
    box = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return box.locator("[data-testid='stMetricValue']").inner_text()


def test_a_click_on_a_feature_map_shows_its_filter_and_one_cells_arithmetic(page, app_url):
    open_page(page, app_url, f"?spec={encode_spec(DIGITS_CNN)}")
    for _ in range(3):                                               # three trained steps, then paused
        page.locator(".st-key-pg_step button").first.click()
        wait_idle(page)
    page.locator("[data-testid='stSidebarNav'] a[href$='/inside']").click()
    page.wait_for_url("**/inside", wait_until="commit", timeout=60_000)
    wait_idle(page)
    page.locator("[data-testid='stButtonGroup'] button", has_text="Feature maps").first.click()
    wait_idle(page)
    page.get_by_text("How cell (row 4, column 4) of map 1 is computed").wait_for(timeout=60_000)
    area = page.locator(".st-key-inside_cell_maps .nsewdrag").first.bounding_box()
    page.mouse.click(area["x"] + 0.9 * area["width"], area["y"] + 0.15 * area["height"])   # map 4, near its top
    wait_idle(page)
    page.get_by_text(re.compile(r"How cell \(row [0-2], column \d\) of map 4 is computed")).wait_for(timeout=30_000)
    assert_no_exception(page)
    by_hand, computed = _metric(page, "Cell by hand"), _metric(page, "The layer computed")
    assert by_hand == computed and re.fullmatch(r"-?\d+\.\d{4}", by_hand), (by_hand, computed)
    text = _main_text(page)
    assert "Filter 4, channel 1: its weights" in text and f"total = {float(by_hand):+.4f}" in text
    assert _shot_all(page, "inside_feature_maps").stat().st_size > 20_000
