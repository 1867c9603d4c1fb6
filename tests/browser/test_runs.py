"""The Runs page in a browser: a run trained on the Playground is in the history, listed and
charted, and its settings open on the Playground again."""
from .conftest import assert_no_exception, open_page, shot, wait_idle


def test_a_playground_run_appears_on_the_runs_page_and_reopens(page, app_url):
    open_page(page, app_url)
    train = page.locator(".st-key-pg_train button").first
    train.click()
    page.wait_for_function("() => document.querySelector('.st-key-pg_train button').innerText.includes('Pause')")
    page.wait_for_timeout(1500)
    train.click()                                                   # pause: the run is saved
    page.wait_for_function("() => document.querySelector('.st-key-pg_train button').innerText.includes('Train')")
    wait_idle(page)
    page.get_by_role("link", name="Runs").click()
    page.wait_for_function("() => document.body.innerText.includes('What differs')")
    wait_idle(page)
    assert_no_exception(page)
    body = page.locator("[data-testid='stMain']").inner_text()
    assert "Every run of the Playground" in body and "Compare" in body
    page.wait_for_selector(".js-plotly-plot")
    title = page.locator(".js-plotly-plot .gtitle").first.text_content()
    assert title.endswith("of the selected runs"), title
    shot(page, "runs")
    page.get_by_role("button", name="Open in Playground").first.click()
    page.wait_for_function("() => document.body.innerText.includes('Reopened the run')")
    assert_no_exception(page)
