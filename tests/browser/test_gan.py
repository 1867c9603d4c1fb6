"""The GAN lab in headless Chromium: train the ring of 8 until the generated points cover most
modes, pause, one discriminator-only step, and screenshots of the ring and of the digits GAN."""
from __future__ import annotations

import math
import re
import time

from .conftest import choose, assert_no_exception, open_page, wait_idle
from .test_sequences import _shot_all

MODES = r"Modes covered\s*(\d+) of 8"
# the plane figure: how many generated points it draws, and its title (the step)
PLANE = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title && el.layout.title.text;
    if (t && t.includes('Real and generated') && el._fullData) {
      const fake = el._fullData.find(d => d.name === 'generated');
      return [t, fake ? fake.x.length : 0, el._fullData.some(d => d.type === 'heatmap')];
    }
  }
  return null;
}"""


def _step(page) -> int:
    m = re.search(r"Step\s*([\d,]+)", page.inner_text("body"))
    return int(m.group(1).replace(",", "")) if m else -1


def _modes(page) -> int:
    m = re.search(MODES, page.inner_text("body"))
    return int(m.group(1)) if m else -1


def test_train_the_ring_until_the_modes_are_covered(page, app_url):
    open_page(page, app_url, "gan")
    assert_no_exception(page)
    page.wait_for_function("() => document.body.innerText.includes('GAN lab')")
    train = page.locator(".st-key-gan_train button").first
    page.wait_for_function("() => { const b = document.querySelector('.st-key-gan_train button'); return b && !b.disabled; }",
                           timeout=60_000)
    train.click()
    page.wait_for_function("() => document.querySelector('.st-key-gan_train button').innerText.includes('Pause')")
    end = time.monotonic() + 120
    while _modes(page) < 6 and time.monotonic() < end:
        time.sleep(0.5)
    assert _modes(page) >= 6, page.inner_text("body")[:2000]
    train.click()                                                       # pause
    page.wait_for_function("() => document.body.innerText.includes('Run: paused')")
    wait_idle(page)
    plane = page.evaluate(PLANE)
    assert plane is not None, page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .map(el => el.layout && el.layout.title && el.layout.title.text)""")
    title, n_fake, heat = plane
    assert n_fake == 400 and heat, (title, n_fake, heat)
    step = int(re.search(r"step ([\d,]+)", title).group(1).replace(",", ""))
    page.locator(".st-key-gan_step_d button").first.click()            # one discriminator update
    end = time.monotonic() + 30
    while _step(page) != step + 1:
        assert time.monotonic() < end, (step, _step(page))
        time.sleep(0.3)
    wait_idle(page)
    assert_no_exception(page)
    _shot_all(page, "gan_ring")


def test_the_digits_gan_shows_a_grid_of_samples(page, app_url):
    open_page(page, app_url, "gan")
    page.wait_for_function("() => document.body.innerText.includes('GAN lab')")
    page.locator("[data-testid='stSelectbox']").filter(has_text="Preset").first.click()
    page.get_by_role("option", name=re.compile("Digits")).click()
    page.wait_for_function("() => document.body.innerText.includes('Walk position')", timeout=60_000)
    wait_idle(page)
    train = page.locator(".st-key-gan_train button").first
    page.wait_for_function("() => { const b = document.querySelector('.st-key-gan_train button'); return b && !b.disabled; }",
                           timeout=60_000)
    train.click()
    page.wait_for_function("() => /Looks like a digit\\s*\\d+%/.test(document.body.innerText)", timeout=60_000)
    end = time.monotonic() + 60
    while _step(page) < 1000 and time.monotonic() < end:               # pause well before its 6,000 steps
        time.sleep(0.2)
    train.click()
    page.wait_for_function("() => document.body.innerText.includes('Run: paused')")
    wait_idle(page)
    assert_no_exception(page)
    titles = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .map(el => el.layout && el.layout.title && el.layout.title.text).filter(Boolean)""")
    assert any("Generated from fixed noise" in t for t in titles), titles
    assert any("From noise a" in t for t in titles), titles
    _shot_all(page, "gan_digits")


def test_a_drawn_density_becomes_the_target_and_trains(page, app_url):
    open_page(page, app_url, "gan")
    page.wait_for_function("() => document.body.innerText.includes('GAN lab')")
    choose(page, "Target", re.compile("Your own points"), "canvas[aria-label^='drawing area']", typed="Your own")
    page.wait_for_function("() => document.body.innerText.includes('draw the points the generator should learn')")
    box = page.locator("canvas[aria-label^='drawing area']").bounding_box()
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] * 0.3
    page.mouse.move(cx + r, cy)
    page.mouse.down()
    for i in range(1, 41):                                             # a circle
        a = 2 * 3.14159 * i / 40
        page.mouse.move(cx + r * math.cos(a), cy + r * math.sin(a))
    page.mouse.up()
    page.wait_for_function("() => { const b = document.querySelector('.st-key-gan_train button'); "
                           "return b && !b.disabled; }", timeout=60_000)
    assert "draw the points the generator should learn" not in page.inner_text("body")
    train = page.locator(".st-key-gan_train button").first
    train.click()
    end = time.monotonic() + 60
    while _step(page) < 600 and time.monotonic() < end:                # pause well before its 3,000 steps
        time.sleep(0.2)
    train.click()
    page.wait_for_function("() => document.body.innerText.includes('Run: paused')")
    wait_idle(page)
    assert_no_exception(page)
    _shot_all(page, "gan_drawn")
    plane = page.evaluate(PLANE)
    assert plane is not None and plane[1] == 400, plane
