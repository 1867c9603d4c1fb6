"""Explain a prediction in a browser: with no run in the session, train the shapes preset from the
page, read the maps, the checks and the curves, switch to the latest misclassified example, and
keep a screenshot (screenshots/explain.png)."""
import re

from .conftest import assert_no_exception, open_page, shot, wait_idle
from .test_inside import _shot_all


def _titles(page) -> list[str]:
    return page.locator(".js-plotly-plot .gtitle").all_text_contents()


def test_explain_a_shape_trained_on_the_page(page, app_url):
    open_page(page, app_url, "explain")
    assert_no_exception(page)
    assert "no trained network" in page.locator("[data-testid='stMain']").inner_text()
    page.get_by_role("button", name="Train it now").click()            # the default: shapes, 200 steps
    page.wait_for_function("() => document.body.innerText.includes('completeness gap')", timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    page.locator(".js-plotly-plot").nth(3).wait_for(timeout=60_000)
    titles = _titles(page)
    assert any(t.startswith("Which pixels made the network say") for t in titles), titles
    assert any(t.startswith("Deletion") for t in titles) and any(t.startswith("Insertion") for t in titles)
    assert any(t.startswith("Sanity check") for t in titles)
    text = page.locator("[data-testid='stMain']").inner_text()
    assert "mass on the object" in text and "x its area" in text
    _shot_all(page, "explain")

    page.get_by_text("The latest one it gets wrong").click()
    wait_idle(page)
    page.wait_for_function("() => document.body.innerText.includes('Explaining')", timeout=60_000)
    assert_no_exception(page)
    shot(page, "explain_misclassified")


def _train_preset(page, label: str, wait_for: str) -> None:
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Preset to train here")
    if not box.is_visible():
        page.get_by_text("Train a small preset here instead").click()
        box.wait_for(state="visible")
        page.wait_for_timeout(600)                                      # the expander's opening animation
    box.click()
    page.get_by_role("option", name=re.compile(re.escape(label))).click()    # waits for the open list
    wait_idle(page)
    page.get_by_role("button", name="Train it now").click()
    page.wait_for_function(f"() => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
                           f".some(t => t.textContent.startsWith({wait_for!r}))", timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)


def test_a_table_and_the_plane_explained(page, app_url):
    open_page(page, app_url, "explain")
    page.get_by_role("button", name="Train it now").click()            # shapes first, then the others
    page.wait_for_function("() => document.body.innerText.includes('completeness gap')", timeout=120_000)
    wait_idle(page)
    _train_preset(page, "Breast cancer", "Which features pushed")
    assert "IG completeness gap" in page.locator("[data-testid='stMain']").inner_text()
    _shot_all(page, "explain_table")
    _train_preset(page, "2-D circle", "Which way the score")
    _shot_all(page, "explain_plane")
