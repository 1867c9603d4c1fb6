"""The Autoencoders page in headless Chromium: train the MNIST autoencoder until its codes sort
the digits, pause, click the code plane to decode a point, and screenshots of the whole page."""
from __future__ import annotations

import re
import time

from .conftest import choose, assert_no_exception, open_page, wait_idle
from .test_sequences import _shot_all

KNN = r"kNN accuracy\s*(\d+)%"
TITLES = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .map(el => el.layout && el.layout.title && el.layout.title.text).filter(Boolean)"""
CHOSEN = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title && el.layout.title.text;
    if (t && t.includes("Test examples at their codes") && el._fullData) {
      const c = el._fullData.find(d => d.name === 'chosen point');
      return c ? [c.x[0], c.y[0]] : null;
    }
  }
  return null;
}"""


def _knn(page) -> int:
    m = re.search(KNN, page.inner_text("body"))
    return int(m.group(1)) if m else -1


def test_train_the_mnist_autoencoder_and_decode_a_clicked_point(page, app_url):
    open_page(page, app_url, "autoencoder")
    assert_no_exception(page)
    page.wait_for_function("() => document.body.innerText.includes('Autoencoders')")
    train = page.locator(".st-key-ae_train button").first
    page.wait_for_function("() => { const b = document.querySelector('.st-key-ae_train button'); return b && !b.disabled; }",
                           timeout=60_000)
    page.wait_for_function("() => document.body.innerText.includes('Run: ready')", timeout=60_000)
    wait_idle(page)
    assert "Preparing the run" not in page.inner_text("body")
    _shot_all(page, "autoencoder_untrained")
    train.click()
    page.wait_for_function("() => document.querySelector('.st-key-ae_train button').innerText.includes('Pause')")
    end = time.monotonic() + 150
    while _knn(page) < 40 and time.monotonic() < end:
        time.sleep(0.5)
    assert _knn(page) >= 40, page.inner_text("body")[:2000]          # untrained: 16%
    if "Pause" in train.inner_text():                                   # not yet through its 2,000 steps
        train.click()                                                   # pause
        page.wait_for_function("() => document.body.innerText.includes('Run: paused')")
    else:
        page.wait_for_function("() => document.body.innerText.includes('Run: finished')")
    wait_idle(page)
    titles = page.evaluate(TITLES)
    for start in ("Test images and their reconstructions", "Test examples at their codes", "What the decoder makes", "One code number",
                  "Reconstruction loss", "How well the codes sort", "Decoded from the chosen point"):
        assert any(start in t for t in titles), (start, titles)
    before = page.evaluate(CHOSEN)
    plot = page.locator(".st-key-ae_pick .js-plotly-plot").first
    plot.scroll_into_view_if_needed()
    box = page.locator(".st-key-ae_pick .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)   # upper left of the plane
    end = time.monotonic() + 30
    while page.evaluate(CHOSEN) == before:
        assert time.monotonic() < end, ("the click did not choose a point", before)
        time.sleep(0.3)
    wait_idle(page)
    assert_no_exception(page)
    _shot_all(page, "autoencoder_mnist")


def test_the_vae_preset_trains_and_shows_its_kl(page, app_url):
    open_page(page, app_url, "autoencoder")
    choose(page, "Preset", re.compile("variational"),                   # the VAE's own KL weight, then ready
           "() => document.body.innerText.includes('KL weight') && document.body.innerText.includes('Run: ready')")
    wait_idle(page)
    train = page.locator(".st-key-ae_train button").first
    train.click()
    page.wait_for_function("() => /KL \\(VAE\\)\\s*[\\d.]+/.test(document.body.innerText)", timeout=60_000)
    end = time.monotonic() + 90
    while _knn(page) < 40 and time.monotonic() < end:
        time.sleep(0.5)
    if "Pause" in train.inner_text():                  # a fast machine may have trained all 2,000 steps
        train.click()                                  # (then Train would start it again, not pause it)
        page.wait_for_function("() => document.body.innerText.includes('Run: paused')")
    else:
        page.wait_for_function("() => document.body.innerText.includes('Run: finished')")
    wait_idle(page)
    assert_no_exception(page)
    assert _knn(page) >= 40, page.inner_text("body")[:2000]
    assert any("test KL" in t or "Reconstruction loss" in t for t in page.evaluate(TITLES))
    _shot_all(page, "autoencoder_vae")


def _test_loss(page) -> float:
    m = re.search(r"Test loss\s*([\d.]+)", page.inner_text("body"))
    return float(m.group(1)) if m else float("inf")


def test_the_conv_preset_trains_and_shows_its_conv_decoder(page, app_url):
    open_page(page, app_url, "autoencoder")
    page.locator("[data-testid='stSelectbox']").filter(has_text="Preset").first.click()
    page.get_by_role("option", name=re.compile("conv autoencoder")).click()
    page.wait_for_function("() => document.body.innerText.includes('Run: ready')", timeout=120_000)
    wait_idle(page)
    radio = page.locator("[data-testid='stRadio']").filter(has_text="Architecture").first
    assert radio.locator("input[type='radio']:checked").count() == 1
    assert "conv" in radio.locator("label:has(input:checked)").inner_text()
    train = page.locator(".st-key-ae_train button").first
    train.click()
    end = time.monotonic() + 150
    while _test_loss(page) > 150 and time.monotonic() < end:          # untrained: about 542; the mean image 204
        time.sleep(0.5)
    assert _test_loss(page) <= 150, page.inner_text("body")[:2000]
    if "Pause" in train.inner_text():
        train.click()
        page.wait_for_function("() => document.body.innerText.includes('Run: paused')", timeout=120_000)
    else:
        page.wait_for_function("() => document.body.innerText.includes('Run: finished')", timeout=120_000)
    wait_idle(page)
    page.get_by_role("tab", name="Decoder").click()
    page.wait_for_function("() => document.body.innerText.includes('ConvTranspose2d')")
    body = page.inner_text("body")
    assert "Unflatten" in body and "1 × 28 × 28" in body                # the decoder's cards end at the image
    assert_no_exception(page)
    _shot_all(page, "autoencoder_conv")
