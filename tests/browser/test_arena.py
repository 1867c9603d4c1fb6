"""Browser test of the Optimizer arena: a 4-optimizer race on MNIST, the Rosenbrock paths and the
learning-rate finder."""
from .conftest import assert_no_exception, open_page, shot, wait_idle


def _set_number(page, label: str, value: int) -> None:
    box = page.get_by_role("spinbutton", name=label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def _legend(chart) -> list[str]:
    return chart.locator(".legendtext").evaluate_all("els => els.map(e => e.textContent)")


def test_race_on_mnist_and_rosenbrock_paths(page, app_url):
    open_page(page, app_url)                                 # the app registers its pages first
    open_page(page, app_url, "arena")
    assert_no_exception(page)
    race = page.get_by_role("tabpanel").first
    assert "MNIST" in race.inner_text()                      # the default preset races on real digits
    _set_number(page, "Examples", 200)
    _set_number(page, "Race steps", 30)
    page.get_by_role("button", name="Start race").click()
    page.get_by_text("Done · step 30 of 30").wait_for(timeout=300_000)
    wait_idle(page)
    assert_no_exception(page)
    text = race.inner_text()
    for name in ("SGD, lr 0.01", "SGD + momentum 0.9, lr 0.01", "RMSprop, lr 0.001", "Adam, lr 0.001"):
        assert name in text                                  # all four in the ranking table
    charts = race.locator(".js-plotly-plot")
    assert charts.count() == 2                               # loss and accuracy
    assert "Adam, lr 0.001" in _legend(charts.first)
    page.set_viewport_size({"width": 1400, "height": 2300})  # Streamlit scrolls inside the page
    page.mouse.move(5, 5)                                    # no tooltip in the picture
    page.wait_for_timeout(500)
    wait_idle(page)
    assert shot(page, "arena_race").stat().st_size > 50_000

    page.set_viewport_size({"width": 1400, "height": 1700})
    page.get_by_role("tab", name="Paths on 2-D loss surfaces").click()
    wait_idle(page)
    panel = page.get_by_role("tabpanel", name="Paths on 2-D loss surfaces")
    panel.locator(".js-plotly-plot").first.wait_for()
    assert "Rosenbrock valley: optimizer paths" in panel.inner_text()
    legend = _legend(panel.locator(".js-plotly-plot").first)
    assert any(t.startswith("Adam") for t in legend) and any(t.startswith("SGD (") for t in legend)
    assert_no_exception(page)
    page.mouse.move(5, 5)
    assert shot(page, "arena_rosenbrock").stat().st_size > 50_000

    chart = panel.locator(".js-plotly-plot").first              # the animation plays from step 0
    current = chart.locator(".slider-container .slider-label").first
    assert current.text_content().strip() == "step 500"
    chart.locator(".updatemenu-button").first.click()           # Play
    page.wait_for_function("el => el.textContent.trim() !== 'step 500'", arg=current.element_handle())
    assert current.text_content().strip().startswith("step ")
    # while it plays, plotly.js drops the contour trace; the surface's picture under it stays (issue 21.6)
    picture = chart.locator(".subplot.xy .imagelayer image")
    assert picture.count() == 1 and picture.get_attribute("href").startswith("data:image/png")
    box, plot = picture.bounding_box(), chart.locator(".nsewdrag").first.bounding_box()
    assert abs(box["width"] - plot["width"]) < 3 and abs(box["height"] - plot["height"]) < 3

    # the learning-rate finder trains in a worker of its own: progress, then the curve
    page.get_by_role("tab", name="Learning-rate finder").click()
    wait_idle(page)
    lr = page.get_by_role("tabpanel", name="Learning-rate finder")
    lr.get_by_role("button", name="Run the range test").click()
    lr.get_by_text("suggested learning rate").wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    assert "Learning-rate range test" in lr.inner_text()
    assert lr.locator(".js-plotly-plot").count() == 1
    page.mouse.move(5, 5)                                    # no tooltip in the picture
    page.wait_for_timeout(500)
    assert shot(page, "arena_lr_finder").stat().st_size > 30_000
