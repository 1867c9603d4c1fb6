"""Compress a model in a browser: with no run in the session, train the MLP preset from the page,
read the variants table and the accuracy-sparsity curve, press Quantize and Distil, read the
distillation curves and the Pareto chart, and keep a screenshot (screenshots/compress.png)."""
from .conftest import assert_no_exception, open_page, wait_idle
from .test_inside import _shot_all


def _titles(page) -> list[str]:
    return page.locator(".js-plotly-plot .gtitle").all_text_contents()


def _wait_title(page, start: str) -> None:
    page.wait_for_function(f"() => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
                           f".some(t => t.textContent.startsWith({start!r}))", timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)


def test_compress_an_mlp_trained_on_the_page(page, app_url):
    open_page(page, app_url, "compress")
    assert_no_exception(page)
    assert "no trained network" in page.locator("[data-testid='stMain']").inner_text()
    page.get_by_role("button", name="Train it now").click()            # the default: 8x8 digits, 400 steps
    _wait_title(page, "Accuracy as more weights are pruned")
    assert "Every variant made in this session: accuracy against size" in _titles(page)
    text = page.locator("[data-testid='stMain']").inner_text()
    assert "Compressing" in text and "KB zipped" in text
    page.get_by_role("button", name="Quantize").click()
    wait_idle(page)
    page.get_by_role("button", name="Distil").click()
    _wait_title(page, "A small student")
    assert_no_exception(page)
    assert len(page.locator(".js-plotly-plot").all()) == 3
    assert "the teacher helped" in page.locator("[data-testid='stMain']").inner_text()
    _shot_all(page, "compress")
