"""The Sequences & text page in headless Chromium: train the names char-LSTM, the samples
change as it learns, pause, and a screenshot a beginner can read."""
from __future__ import annotations

import time

from .conftest import SCREENSHOTS, assert_no_exception, open_page, shot, wait_idle

# the samples box: its heading and the sampled names (one badge each)
SAMPLES = """() => {
  const el = document.querySelector('.st-key-seq_samples_box');
  const badges = el ? [...el.querySelectorAll('.stMarkdownBadge')].map(b => b.innerText.split(' · ')[0]) : [];
  return badges.length ? [el.querySelector('p').innerText, ...badges].join('\\n') : null;
}"""
BASELINE = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = el.layout && el.layout.title && el.layout.title.text;
    if (t && t.includes('Loss per character') && el._fullData)
      return el._fullData.filter(d => d.name === 'bigram baseline').map(d => Array.from(d.y));
  }
  return null;
}"""


# the number of points of each line of the memory race's chart (None before it is drawn)
RACE_POINTS = """() => {
  const el = document.querySelector('.st-key-seq_race_box .js-plotly-plot');
  return el && el._fullData ? el._fullData.map(d => d.x ? d.x.length : 0) : null;
}"""


def _shot_all(page, name: str):
    """Grow the viewport to the content (Streamlit scrolls an inner box), then a screenshot."""
    need = page.evaluate("""() => Math.max(...[...document.querySelectorAll('*')]
        .filter(e => e.scrollHeight > e.clientHeight + 5 && getComputedStyle(e).overflowY !== 'visible')
        .map(e => e.scrollHeight), document.body.scrollHeight)""")
    page.set_viewport_size({"width": 1400, "height": max(1000, min(int(need) + 40, 4000))})
    page.mouse.move(5, 5)                                         # no tooltip in the picture
    page.wait_for_timeout(1200)                                   # charts re-layout to the new size
    path = shot(page, name)
    page.set_viewport_size({"width": 1400, "height": 1000})
    return path


def _samples(page, timeout: float = 30.0) -> str:
    end = time.monotonic() + timeout
    while not (text := page.evaluate(SAMPLES)):
        assert time.monotonic() < end, "no samples on the page"
        time.sleep(0.3)
    return text


def _names(text: str) -> list[str]:
    """The sampled names: the lines after the heading."""
    return text.splitlines()[1:]


def test_train_the_names_model_and_the_samples_change(page, app_url):
    open_page(page, app_url, "sequences")
    assert_no_exception(page)
    page.wait_for_function("() => document.body.innerText.includes('What the model writes')")
    page.wait_for_function(SAMPLES, timeout=60_000)                 # the untrained model's samples
    before = _samples(page)
    assert "samples at step 0" in before, before
    epochs = page.locator(".st-key-seq_epochs input").first        # long enough to pause it while it trains
    epochs.fill("100")
    epochs.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('Epoch 0.0 of 100')")
    wait_idle(page)
    page.wait_for_function(SAMPLES, timeout=60_000)
    train = page.locator(".st-key-seq_train button").first
    train.click()
    page.wait_for_function("() => document.querySelector('.st-key-seq_train button').innerText.includes('Pause')")
    end, seen = time.monotonic() + 60, {before}
    while time.monotonic() < end:
        seen.add(_samples(page))
        if len({tuple(_names(s)) for s in seen}) >= 3:
            break
        time.sleep(0.5)
    assert len({tuple(_names(s)) for s in seen}) >= 3, f"the samples did not change while training: {seen}"
    time.sleep(2)
    train.click()                                                    # pause
    page.wait_for_function("() => document.body.innerText.includes('Run: paused')")
    assert "Train" in train.inner_text()
    wait_idle(page)
    assert_no_exception(page)
    base = page.evaluate(BASELINE)
    assert base and len(base[0]) == 2 and base[0][0] == base[0][1] and 1.5 < base[0][0] < 3.3, base
    after = _samples(page)
    assert "samples at step 0" not in after and len(_names(after)) == 8, after
    page.locator("[data-testid='stTextInput'] input").first.fill("mar")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('Next character after “mar”')")
    wait_idle(page)
    assert "Run: paused" in page.inner_text("body")
    assert _shot_all(page, "sequences_names_lstm").stat().st_size > 50_000


def _inside_shot(page, name: str, key: str = "seq_inside_box"):
    """A screenshot of one section alone (Inside the model by default), once its charts are drawn."""
    box = page.locator(f".st-key-{key}")
    page.add_style_tag(content="[data-testid='stHeader'] {display: none}")     # not over the section
    height = box.bounding_box()["height"]
    page.set_viewport_size({"width": 1400, "height": max(1000, min(int(height) + 200, 4000))})
    box.scroll_into_view_if_needed()
    page.mouse.move(5, 5)                                          # no tooltip in the picture
    page.wait_for_timeout(1200)                                    # charts re-layout to the new size
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    box.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 1000})
    return path


def _tab(page, label: str) -> None:
    page.locator(".st-key-seq_inside_box [role='tab']", has_text=label).first.click()
    page.wait_for_timeout(500)


def _wait_chart(page, title: str) -> None:
    """Until a shown chart of the section has `title` in its title (plotly draws after the script's run)."""
    page.wait_for_function("""t => [...document.querySelectorAll('.st-key-seq_inside_box .js-plotly-plot')]
        .some(el => el.offsetParent !== null && el.layout && el.layout.title.text.includes(t))""", arg=title)


def test_inside_the_model_tabs(page, app_url):
    open_page(page, app_url, "sequences")
    page.wait_for_function("() => document.body.innerText.includes('Inside the model')", timeout=60_000)
    step = page.locator(".st-key-seq_step button").first
    for _ in range(12):                                               # a little training: visible structure
        step.click()
        wait_idle(page)
    text = page.locator(".st-key-seq_inside_text input").first
    text.fill("Maria")
    text.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('“maria” (typed)')")
    wait_idle(page)
    assert_no_exception(page)
    _wait_chart(page, "LSTM hidden state after each step")
    assert "Attention is not shown" in page.locator(".st-key-seq_inside_box").inner_text()
    sizes = [_inside_shot(page, "sequences_inside_states").stat().st_size]
    for label, name, title in (("Connectivity", "connectivity", "What the prediction “end” at step 6"),
                               ("Embedding map", "embedding", "Learned embeddings"),
                               ("Gradient through time", "gradients", "LSTM: gradient of the loss")):
        _tab(page, label)
        _wait_chart(page, title)
        sizes.append(_inside_shot(page, f"sequences_inside_{name}").stat().st_size)
    assert min(sizes) > 10_000, sizes
    # the transformer: attention per head
    page.locator(".st-key-seq_preset").get_by_role("combobox").first.click()
    page.keyboard.press("ArrowDown")                                  # (after the tabs, a click alone does not open it)
    page.get_by_role("option", name="Tiny transformer language model on first names", exact=True).click()
    page.wait_for_function("() => document.body.innerText.includes('Hidden state is not shown')", timeout=60_000)
    wait_idle(page)
    for _ in range(10):
        step.click()
        wait_idle(page)
    _tab(page, "Attention")
    _wait_chart(page, "Attention weights per head")
    assert_no_exception(page)
    assert _inside_shot(page, "sequences_inside_attention").stat().st_size > 10_000


def test_your_own_text_and_the_memory_race(page, app_url, tmp_path):
    open_page(page, app_url, "sequences")
    text = tmp_path / "rhyme.txt"
    text.write_text("twinkle twinkle little star, how I wonder what you are. " * 40)
    page.locator(".st-key-seq_text_file input[type='file']").set_input_files(str(text))
    page.wait_for_function("() => document.body.innerText.includes('Your text rhyme.txt')", timeout=60_000)
    wait_idle(page)
    assert_no_exception(page)
    assert "Start of a text" in page.locator("body").inner_text()
    race = page.locator(".st-key-seq_race_go button").first
    race.scroll_into_view_if_needed()                                    # (a click mid-scroll can land on the slider)
    page.wait_for_timeout(500)
    race.click()                                                         # lag 30: the classic gap
    # three curves with a few points each (who wins is tests/test_memory_race.py's to assert: the
    # LSTM pulls away near step 800, which a loaded machine takes minutes to reach)
    end = time.monotonic() + 120
    while not all(n >= 4 for n in (page.evaluate(RACE_POINTS) or [0])[:3]):
        assert time.monotonic() < end, (page.evaluate(RACE_POINTS), page.locator(".st-key-seq_race_box").inner_text()[-300:])
        time.sleep(0.5)
    box = page.locator(".st-key-seq_race_box").inner_text()
    assert "At a lag of 30" in box or "None recalls the symbol so far at a lag of 30" in box, box
    assert _inside_shot(page, "sequences_race", "seq_race_box").stat().st_size > 10_000
    page.locator(".st-key-seq_race_go button").first.click()             # pause: nothing trains on
    wait_idle(page)
    assert_no_exception(page)
