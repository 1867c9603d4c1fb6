"""The gradient-flow figures of Inside the network on the numbers of a run that blew up
(issue 21.5): every layer's gradient 0 or not a number, weights near 80, three or more layers."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from engine.probes.records import History, ProbedLayer, ProbeRecord
from viz import inside as vz

NAN = float("nan")


def _record(g: list[list[float]], w: list[list[float]], ratio: list[list[float]] | None = None,
            steps: tuple[int, ...] = (0, 55)) -> ProbeRecord:
    """A record of len(g[0]) Linear layers with these mean |gradient| and mean |weight| rows."""
    n = len(g[0])
    layers = tuple(ProbedLayer(i, f"{i + 1} Linear 10", "Linear", (10,), True, True) for i in range(n))
    a = lambda rows: np.asarray(rows, np.float64)
    ratio = ratio if ratio is not None else [[NAN] * n] * len(steps)
    hist = History(step=np.asarray(steps), ratio_step=np.asarray([-1] + [1] * (len(steps) - 1)),
                   w_norm=a(w), w_mean=a(w), g_norm=a(g), g_mean=a(g), ratio=a(ratio))
    return ProbeRecord(step=steps[-1], task="classification", layers=layers, param_layers=tuple(range(n)),
                       bias_layers=(), example=None, activations=(), filters=(), history=hist, dist={},
                       percentiles=(), dead={}, batch=0, flags=())


def _check(fig: go.Figure) -> None:
    go.Figure(fig.to_dict())                     # valid plotly


def test_a_zero_gradient_is_marked_and_said_not_left_out():
    rec = _record(g=[[NAN, NAN, NAN], [0.0, 0.0, 3e-4]], w=[[0.3, 0.3, 0.3], [80.0, 84.0, 7.0]])
    fig = vz.gradient_bars_figure(rec)
    _check(fig)
    zero = next(t for t in fig.data if t.name == "gradient 0")
    assert list(zero.x) == ["1 Linear 10", "2 Linear 10"]          # the two layers whose bar cannot be drawn
    title = fig.layout.title.text
    assert "Gradient exactly 0 in 1 Linear 10 and 2 Linear 10" in title and "stopped learning" in title
    lo, hi = fig.layout.yaxis.range
    assert hi - lo >= 2 and lo <= np.log10(3e-4) and hi >= np.log10(84)   # powers of ten, every bar inside
    assert 10 ** lo < zero.y[0] < 3e-4                                  # the marker sits at the bottom


def test_weights_within_one_decade_still_get_a_log_axis_of_powers_of_ten():
    """Weights of 78-86 and no gradient: the axis once spanned 78 to 86 and read as plain numbers."""
    rec = _record(g=[[NAN, NAN], [0.0, 0.0]], w=[[0.3, 0.3], [78.0, 86.0]])
    lo, hi = vz.gradient_bars_figure(rec).layout.yaxis.range
    assert hi - lo >= 2
    assert "every layer" in vz.gradient_bars_figure(rec).layout.title.text


def test_a_gradient_that_is_not_a_number_is_marked():
    rec = _record(g=[[NAN, NAN], [float("inf"), 1e-3]], w=[[0.3, 0.3], [1.0, 1.0]])
    fig = vz.gradient_bars_figure(rec)
    assert list(next(t for t in fig.data if t.name == "gradient not a number").x) == ["1 Linear 10"]
    assert "not a number in 1 Linear 10" in fig.layout.title.text


def test_an_empty_chart_over_training_says_why():
    rec = _record(g=[[NAN, NAN, NAN], [0.0, 0.0, 0.0]], w=[[0.3] * 3, [80.0] * 3])
    fig = vz.gradient_lines_figure(rec)
    _check(fig)
    (note,) = [a.text for a in fig.layout.annotations]
    assert note.startswith("Nothing to draw") and "exactly 0" in note
    assert all(t.name.endswith("(0, not drawn)") for t in fig.data)
    healthy = vz.gradient_lines_figure(_record(g=[[NAN] * 3, [1e-3, 2e-3, 3e-3]], w=[[0.3] * 3] * 2))
    assert not healthy.layout.annotations and [t.name for t in healthy.data] == [
        "1 Linear 10", "2 Linear 10", "3 Linear 10"]


def test_the_legend_of_three_or_more_layers_stays_clear_of_the_title():
    """A row of many layer names wrapped upwards over the title: from 3 layers on, a column aside."""
    for n, horizontal in ((2, True), (3, False), (5, False)):
        rec = _record(g=[[NAN] * n, [1e-3] * n], w=[[0.3] * n] * 2, ratio=[[NAN] * n, [2.0] * n])
        for fig in (vz.gradient_lines_figure(rec), vz.ratio_figure(rec)):
            legend = fig.layout.legend
            if horizontal:
                assert legend.orientation == "h"
            else:
                assert legend.orientation == "v" and legend.x >= 1 and legend.xanchor == "left"
    lo, hi = vz.ratio_figure(_record(g=[[NAN] * 3, [1e-3] * 3], w=[[0.3] * 3] * 2,
                                     ratio=[[NAN] * 3, [86.0, 200.0, 300.0]])).layout.yaxis.range
    assert lo <= -3 and hi >= np.log10(300)                             # the rule of thumb 0.001 and the values


def test_half_width_chart_titles_fit_and_put_the_rest_under_them():
    """Issue 21.9: 'Output: probability per class (wrong: it says orange (1), true class blue (0))'
    ran off its half-width chart. The first line stays within 50 characters, the rest is a subtitle."""
    from engine.probes.records import ActivationMap, Example
    wrong = Example(index=3, mode="index", found=True, n_test=10, input=np.zeros(2, np.float32),
                    feature_names=("x1", "x2"), label=0, pred=1, probs=np.array([0.4, 0.6], np.float32),
                    class_names=("blue (0)", "orange (1)"), correct=False)
    maps = ActivationMap(0, "1 Conv2d 32@3x3", (32, 26, 26), np.zeros((16, 13, 13), np.float32), 1)
    flat = ActivationMap(3, "4 Flatten", (5408,), np.zeros(902, np.float32), 6)
    scores = ActivationMap(4, "5 Linear 10", (10,), np.arange(10, dtype=np.float32), 1)
    figs = [vz.probabilities_figure(wrong), vz.activation_figure(maps), vz.activation_figure(flat),
            vz.activation_figure(scores, tuple(str(i) for i in range(10)))]
    subtitles = []
    for fig in figs:
        _check(fig)
        first, _, rest = fig.layout.title.text.partition("<br><sup>")
        assert len(first) <= 50, first
        subtitles.append(rest.removesuffix("</sup>"))
        if rest:
            assert fig.layout.margin.t >= 70
    assert subtitles == ["wrong: it says orange (1); the true class is blue (0)",
                         "the first 16 maps, shrunk to 13x13", "averaged in groups of 6",
                         "a score per class, before softmax"]
