"""Draw a digit in a browser: train the MNIST CNN from the page if no MNIST run is saved, draw a
one with mouse strokes on the canvas, and read the network's answer and the 28x28 input."""
from .conftest import assert_no_exception, open_page, shot, wait_idle


def test_draw_a_one_and_the_network_reads_it(page, app_url):
    open_page(page, app_url, "draw")
    assert_no_exception(page)
    train = page.get_by_role("button", name="Train the MNIST CNN now")
    if train.count():
        train.click()
        page.wait_for_selector("canvas[aria-label^='drawing area']", timeout=120_000)
    wait_idle(page)
    canvas = page.locator("canvas[aria-label^='drawing area']")
    box = canvas.bounding_box()
    x, top = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15
    page.mouse.move(x, top)
    page.mouse.down()
    for i in range(1, 21):                                 # one straight stroke down: a "1"
        page.mouse.move(x + i * 0.3, top + i * box["height"] * 0.035)
    page.mouse.up()
    page.wait_for_function("() => document.body.innerText.includes('What the network receives')", timeout=30_000)
    wait_idle(page)
    assert_no_exception(page)
    titles = page.locator(".js-plotly-plot .gtitle").all_text_contents()
    assert any(t.startswith("It reads a 1") for t in titles), titles
    assert "What each layer made of it" in page.locator("[data-testid='stMain']").inner_text()
    shot(page, "draw")
