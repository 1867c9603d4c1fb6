"""A classroom server (PLAYGROUND_BACKEND=process, a cap of one run): a second tab's run waits in
line and says so, and closing the first tab gives it the place at once."""
from __future__ import annotations

import os
import time
from urllib.parse import quote

import pytest

from engine.presets import load_preset
from ui.url import PARAM, encode_spec

from .conftest import ROOT, _missing, assert_no_exception, open_page, shot
from .test_sessions import TRAIN, _step, _until

pytestmark = pytest.mark.browser
ENV = {"PLAYGROUND_BACKEND": "process", "PLAYGROUND_MAX_RUNS": "1"}


@pytest.fixture(scope="module")
def classroom_url():
    """The app with the process backend and a cap of one run, on its own port."""
    why = _missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run under CI: {why}")
        pytest.skip(why)
    from engine.bench import serve_app
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:
        with open(ROOT / ".streamlit-classroom.log", "w") as log, serve_app(log, timeout_s=60) as url:
            yield url
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def _caption(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def test_a_run_beyond_the_cap_waits_in_line_and_closing_a_tab_frees_its_place(classroom_url, browser):
    """(the session's one Chromium: a second sync_playwright inside it would fail)"""
    path = f"?{PARAM}={quote(encode_spec(load_preset('tf_playground').with_(epochs=100_000)))}"
    ctx_a, ctx_b = (browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2))
    try:
        a, b = ctx_a.new_page(), ctx_b.new_page()
        for pg in (a, b):
            pg.set_default_timeout(60_000)
            open_page(pg, classroom_url, path)
            assert_no_exception(pg)
        a.locator(TRAIN).first.click()
        _until(lambda: _step(a) > 0, 90, "A's run (in its own process) should train")
        b.locator(TRAIN).first.click()
        _until(lambda: "waiting: 1st in line" in _caption(b), 30, "B should say it waits in line")
        assert "Pause" in b.locator(TRAIN).first.inner_text() and _step(b) == 0
        assert "Workers: process" in b.locator("[data-testid='stSidebar']").inner_text()
        shot(b, "classroom_waiting")
        ctx_a.close()                                   # A's tab closes: B gets the place
        closed = time.monotonic()
        _until(lambda: _step(b) > 0, 90, "B should start training once A's tab closed")
        assert "waiting" not in _caption(b)
        assert_no_exception(b)
        print(f"\n[classroom] B started {time.monotonic() - closed:.1f} s after A's tab closed")
    finally:
        for ctx in (ctx_a, ctx_b):
            try:
                ctx.close()
            except Exception:  # noqa: BLE001 - already closed
                pass
