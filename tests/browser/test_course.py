"""The course map in a browser: the app opens on it, and a concept's button lands on its page
with its preset."""
from __future__ import annotations

from ui import course

from .conftest import assert_no_exception, open_page, shot, wait_idle


def test_the_start_page_opens_a_concept_with_its_preset(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 2600})      # the whole map in one screenshot
    open_page(page, app_url, "")
    page.get_by_text("Deep learning, by doing it").wait_for()
    assert_no_exception(page)
    for c in course.available():
        assert page.get_by_text(c.look_for).count() == 1, c.name
    shot(page, "start")
    page.get_by_role("button", name="Open with tf_playground_spiral_6x8").click()
    page.wait_for_url("**/playground**")
    page.get_by_text("Loaded the preset").first.wait_for()
    wait_idle(page)
    assert_no_exception(page)
    assert page.get_by_text("tf_playground_spiral_6x8").count() >= 1
