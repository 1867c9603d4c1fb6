"""Learning-rate range test: the sweep, the smoothing, the suggestion, and a real sweep on
scikit-learn's digits whose loss-vs-lr curve has the textbook shape."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.lr_finder import lr_range_test, lr_schedule, smooth, suggest
from engine.presets import load_preset
from engine.run import Run
from engine.spec import SpecError


@pytest.fixture(scope="module")
def digits_spec():
    spec = load_preset("mlp_digits")                 # flatten -> linear 64 -> relu -> linear 10, Adam
    return spec.with_(data=replace(spec.data, n_samples=500))


@pytest.fixture(scope="module")
def sweep(digits_spec):
    return lr_range_test(digits_spec, 1e-5, 10.0, 150)


def test_schedule_is_geometric_from_lowest_to_highest():
    lrs = lr_schedule(1e-4, 1.0, 5)
    np.testing.assert_allclose(lrs, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-12)


def test_smoothing_is_a_bias_corrected_moving_average():
    assert smooth([3.0, 3.0, 3.0]) == pytest.approx([3.0, 3.0, 3.0])       # no pull toward 0
    s = smooth([1.0, 2.0], beta=0.5)
    assert s == pytest.approx([1.0, (0.25 * 1 + 0.5 * 2) / 0.75])


def test_suggestion_on_a_known_curve():
    """Loss flat, then falling fastest at lr = 1e-2 (a tanh step in log10 lr), then exploding."""
    lrs = lr_schedule(1e-5, 10.0, 301)
    t = np.log10(lrs)
    loss = 2.0 - 1.5 * (np.tanh((t + 2.0) * 2) + 1) / 2 + np.where(t > -0.5, (t + 0.5) ** 2 * 20, 0.0)
    sugg, lo, hi, best = suggest(list(lrs), list(loss))
    assert sugg == pytest.approx(1e-2, rel=0.05)
    assert 1e-5 <= lo < sugg < hi <= best <= 10.0
    # slope -1.5 sech^2(2 (t + 2)) is at least half its steepest for |2 (t + 2)| <= arccosh(sqrt 2)
    assert np.log10(hi / lo) == pytest.approx(np.arccosh(np.sqrt(2)), abs=0.05)


def test_a_real_sweep_has_the_expected_shape(sweep):
    r = sweep
    lrs, sm = np.asarray(r.lrs), np.asarray(r.smoothed)
    assert r.lr_min <= r.low <= r.suggested <= r.high <= r.best_lr <= r.lr_max     # inside the tested range
    assert np.allclose(lrs[1:] / lrs[:-1], (r.lr_max / r.lr_min) ** (1 / (r.planned_steps - 1)))
    assert sm[0] == pytest.approx(np.log(10), abs=0.15)                 # starts at chance: ln(10 classes)
    assert sm[:20].max() - sm[:20].min() < 0.05                         # tiny steps: flat
    assert sm.min() < 0.5 * sm[0]                                       # good steps: it learns
    assert sm[-1] > 2 * sm.min()                                        # huge steps: it blows up
    assert r.stopped and "exploded" in r.stopped and len(r.lrs) < r.planned_steps
    assert 1e-3 < r.suggested < 1e-1                                   # Adam on digits: ~1e-2


def test_sweep_starts_from_the_specs_fresh_weights(digits_spec, sweep):
    """Same seed, same first batch: the first recorded loss is a fresh Run's first batch loss."""
    run = Run(digits_spec.with_(optim=replace(digits_spec.optim, lr=1e-5)))
    assert float(run.step()) == pytest.approx(sweep.losses[0], rel=1e-6)


def test_bad_ranges_are_refused(digits_spec):
    with pytest.raises(SpecError, match="lowest"):
        lr_range_test(digits_spec, 1.0, 0.1, 50)
    with pytest.raises(SpecError, match="at least 10 steps"):
        lr_range_test(digits_spec, 1e-4, 1.0, 5)


def test_progress_is_reported(digits_spec):
    seen = []
    lr_range_test(digits_spec, 1e-4, 1e-2, 12, on_step=lambda i, n: seen.append((i, n)))
    assert seen == [(i, 12) for i in range(1, 13)]
