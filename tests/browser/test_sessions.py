"""Two browser sessions at once: each trains its own Playground run, and closing one stops
its worker (read from the sidebar's "Training workers on this server: N").

Streamlit clears a session's `cache_resource(scope="session")` entries, calling their
`on_release` (ui.session stops the session's trainers), as soon as the session's websocket
disconnects; only the session's state is kept for a reconnect, for
`server.disconnectedSessionTTL` seconds (120 by default). So the worker count drops within
about a second of closing the tab, and the test reports how long it took."""
from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest

from engine.presets import load_preset
from ui.url import PARAM, encode_spec

from .conftest import assert_no_exception, open_page

pytestmark = pytest.mark.browser
TRAIN = ".st-key-pg_train button"
WORKERS = re.compile(r"Training workers on this server:\s*(\d+)")
STEP = re.compile(r"Step ([\d,]+) of")


def _workers(page) -> int:
    text = page.locator("[data-testid='stSidebar']").inner_text()
    m = WORKERS.search(text)
    assert m, f"no worker count in the sidebar: {text!r}"
    return int(m.group(1))


def _step(page) -> int:
    """The step the page shows under the live metrics ("Step 1,234 of ...")."""
    m = STEP.search(page.locator("[data-testid='stMain']").inner_text())
    return int(m.group(1).replace(",", "")) if m else 0


def _toggle(page) -> str:
    """Press Train/Pause: a full script run, so the sidebar (outside the live fragment) is
    redrawn. Returns the label the button had."""
    label = "Pause" if "Pause" in page.locator(TRAIN).first.inner_text() else "Train"
    _press(page, label)
    return label


def _press(page, label: str) -> None:
    """Click Train or Pause and wait until the button shows the other label."""
    button = page.locator(TRAIN).first
    assert label in button.inner_text(), button.inner_text()
    button.click()
    other = "Pause" if label == "Train" else "Train"
    page.wait_for_function(f"() => document.querySelector('{TRAIN}').innerText.includes('{other}')",
                           timeout=60_000)


def _until(fn, timeout: float, what: str, every: float = 0.3):
    end = time.monotonic() + timeout
    while not (value := fn()):
        assert time.monotonic() < end, what
        time.sleep(every)
    return value


def test_two_sessions_train_independently_and_closing_one_stops_its_worker(browser, app_url, capsys):
    ctx_a = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx_b = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        a, b = ctx_a.new_page(), ctx_b.new_page()
        # TF Playground's default with more epochs, through the page's link: no run ends mid-test
        path = f"?{PARAM}={quote(encode_spec(load_preset('tf_playground').with_(epochs=100_000)))}"
        for pg in (a, b):
            pg.set_default_timeout(60_000)
            open_page(pg, app_url, path)
            assert_no_exception(pg)
        _press(a, "Train")
        _press(b, "Train")
        _until(lambda: _step(a) > 0 and _step(b) > 0, 60, "both runs should make progress")
        # pausing A leaves B training: the runs are independent
        _press(a, "Pause")
        b_before = _step(b)
        _until(lambda: _step(b) > b_before, 30, "B should keep training while A is paused")
        assert "Pause" in b.locator(TRAIN).first.inner_text(), "B should still be training"
        # both sessions' workers are live; closing A's tab stops A's worker only
        _toggle(b)                                          # B pauses; the sidebar is redrawn
        both = _workers(b)
        assert both >= 2, both
        ctx_a.close()
        closed = time.monotonic()

        def dropped():
            _toggle(b)
            return _workers(b) <= both - 1
        _until(dropped, 60, f"closing a session should stop its worker ({both} live before)", every=0.5)
        released = time.monotonic() - closed
        assert _workers(b) == both - 1, "only the closed session's worker stops; B's lives on"
        assert_no_exception(b)
        if "Pause" in b.locator(TRAIN).first.inner_text():
            _press(b, "Pause")
        with capsys.disabled():
            print(f"\n[sessions] closing a tab stopped its worker within {released:.1f} s "
                  f"({both} -> {both - 1} live workers)")
    finally:
        for ctx in (ctx_a, ctx_b):
            try:
                ctx.close()
            except Exception:  # noqa: BLE001 - already closed
                pass
