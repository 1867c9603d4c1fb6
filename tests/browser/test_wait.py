"""The user's wait on the Playground, measured in the browser and printed (no timing
assertion): seconds from pressing Train to the first new loss point drawn, and how often the
live loss chart refreshes while training. `python -m engine bench --browser` measures the
same on an app of its own."""
from __future__ import annotations

import pytest

from engine.bench import browser_wait

pytestmark = pytest.mark.browser


def test_train_draws_loss_points_and_the_chart_keeps_refreshing(page, app_url, capsys, record_property):
    w = browser_wait(app_url, page, watch_s=6.0)
    for k, v in w.items():
        record_property(k, v)
    with capsys.disabled():
        first = "none" if w["first_point_s"] is None else f"{w['first_point_s']:.2f} s"
        median = "n/a" if w["refresh_median_s"] is None else f"{w['refresh_median_s']:.2f} s"
        print(f"\n[wait] Train -> first loss point {first}; live chart refreshed {w['refreshes']} times "
              f"in {w['watched_s']:.0f} s, median interval {median}, last step drawn {w['last_step']}")
    assert w["first_point_s"] is not None, "no loss point after step 0 was drawn after pressing Train"
    assert w["refreshes"] >= 1 and w["last_step"] > 0, w
