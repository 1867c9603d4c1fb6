"""Browser-test harness: the app on a free localhost port, driven by Debian's Chromium.

Without /usr/bin/chromium (or the playwright package) the tests skip with the reason;
under CI (CI=true) that is a failure instead, so CI always runs them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


@pytest.fixture(scope="session")
def app_url():
    """Start `streamlit run app.py` on a free port; yield its URL; stop it afterwards."""
    why = _missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run under CI: {why}")
        pytest.skip(why)
    from engine.bench import serve_app
    with open(ROOT / ".streamlit-test.log", "w") as log:
        try:
            with serve_app(log, timeout_s=60) as url:
                yield url
        except RuntimeError as e:
            pytest.fail(f"{e}; see {log.name}")


@pytest.fixture(scope="session")
def browser(app_url):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (its own Streamlit session) and page, 1400x1000."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    ctx.close()


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until the script has finished a run (never wait for network idle: the websocket never idles)."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def open_page(page, app_url: str, path: str = "playground", timeout: float = 60_000) -> None:
    """Open a page by its URL path; the Playground by default ("" is the course map, the app's
    root; a bare "?spec=..." goes to the Playground)."""
    if path.startswith("?"):
        path = "playground" + path
    page.goto(f"{app_url}/{path}")
    wait_idle(page, timeout)


def assert_no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, \
        page.locator("[data-testid='stException']").first.inner_text()


def shot(page, name: str) -> Path:
    """Full-page screenshot under screenshots/NAME.png (the README names the folder)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def choose(page, label: str, option, until: str, tries: int = 3, timeout: float = 40_000, typed: str = "") -> None:
    """Pick `option` (a name or a regex) in the selectbox labelled `label` and wait until `until`
    holds (a JS predicate, or a CSS selector, which also finds elements in a component's shadow
    DOM); again if it does not (a click that lands while the page is still redrawing closes the
    list without choosing). `typed` is typed first, to bring an option of a long list into view."""
    for attempt in range(tries):
        wait_idle(page)
        try:
            page.locator("[data-testid='stSelectbox']").filter(has_text=label).first.click()
            if typed:
                page.keyboard.type(typed)
            page.get_by_role("option", name=option).first.click(timeout=10_000)
            if until.lstrip().startswith("()"):
                page.wait_for_function(until, timeout=timeout)
            else:
                page.wait_for_selector(until, timeout=timeout)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try the choice again
            if attempt == tries - 1:
                raise
