"""Clicking through the trained network (issue 21): one conv output cell, number by number, on
the trained weights, equal to torch.nn.functional.conv2d."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.probes import Recorder
from engine.run import Run
from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec

L = LayerSpec.make
CNN = RunSpec.make(data=DataSpec("digits", 300), layers=(
    L("conv2d", channels=4, kernel=3, padding=1), L("relu"),
    L("conv2d", channels=3, kernel=3, stride=2, padding=1, dilation=2), L("relu"),
    L("flatten"), L("linear", units=10)), optim=OptimSpec("adam", lr=0.01), batch_size=32, epochs=1, seed=4)


@pytest.fixture(scope="module")
def trained():
    run = Run(CNN.with_(device="cpu"))
    before = run.model[2].weight.detach().clone()
    for _ in range(20):
        run.step()
    assert not torch.equal(before, run.model[2].weight)          # the weights did train
    return run


def _conv2d(cell, conv):
    """The cell as torch's conv2d computes it from the record's input and the trained weights."""
    s = cell.settings
    out = F.conv2d(torch.as_tensor(cell.inputs)[None], conv.weight.detach().double(), conv.bias.detach().double(),
                   stride=s.stride, padding=s.padding, dilation=s.dilation)       # (1, O, H', W')
    return float(out[0, cell.map, cell.row, cell.col])


@pytest.mark.parametrize("layer, fmap, row, col", [(0, 1, 0, 7), (0, 3, 4, 4), (2, 2, 1, 2), (2, 0, 0, 0)])
def test_the_cell_equals_conv2d_on_the_trained_weights_and_the_records_input(trained, layer, fmap, row, col):
    rec = Recorder(example=5)
    rec.set_cell(layer, fmap, row, col)
    cell = rec(trained).cell
    conv = trained.model[layer]
    assert (cell.layer, cell.map, cell.row, cell.col) == (layer, fmap, row, col)
    assert cell.total == pytest.approx(_conv2d(cell, conv), abs=1e-9)          # by hand == conv2d, float64
    assert cell.value == pytest.approx(cell.total, abs=1e-5)                    # == what the layer computed
    assert cell.fmap[row, col] == cell.value
    np.testing.assert_array_equal(cell.kernel, conv.weight.detach()[fmap].double().numpy())   # the filter that made it
    assert cell.bias == pytest.approx(float(conv.bias.detach()[fmap]))
    assert len(cell.cells) == cell.n_in == conv.in_channels
    assert cell.channel_sums.sum() + cell.bias == pytest.approx(cell.total)
    # the input is the example's own: the image for the first layer, the ReLU's maps for the second
    x = trained.x_test[5:6]
    with torch.no_grad():
        expect = x if layer == 0 else trained.model[:layer](x)
    np.testing.assert_allclose(cell.inputs, expect[0].double().numpy(), atol=1e-6)
    # each term multiplies the input pixel under the kernel tap (padding: 0) by the tap's weight
    s = cell.settings
    for c, expl in enumerate(cell.cells):
        for t in expl.terms:
            assert t.row == row * s.stride - s.padding + t.ki * s.dilation
            inside = 0 <= t.row < cell.inputs.shape[1] and 0 <= t.col < cell.inputs.shape[2]
            assert t.value == (cell.inputs[c, t.row, t.col] if inside else 0.0) and t.padded == (not inside)
            assert t.weight == cell.kernel[c, t.ki, t.kj]


def test_a_choice_out_of_range_is_clamped_and_no_conv_means_no_cell(trained):
    rec = Recorder()
    rec.set_cell(99, 99, 999, 999)                      # no layer 99: the first conv layer
    cell = rec(trained).cell
    assert (cell.layer, cell.map, cell.row, cell.col) == (0, 3, 7, 7)
    rec.set_cell(1)                                     # a ReLU is no conv layer: the first one, centre cell
    cell = rec(trained).cell
    assert (cell.layer, cell.map, cell.row, cell.col) == (0, 0, 4, 4) and cell.label.startswith("1 Conv2d")
    mlp = Run(RunSpec.make(data=DataSpec("circle", 40), layers=(L("linear", units=2),), epochs=1, device="cpu"))
    assert Recorder()(mlp).cell is None


# ---------------------------------------------------------------- the page
def test_the_feature_maps_section_explains_the_chosen_cell_of_the_trained_run(stop_trainers):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from engine.probes import ProbeRecord
    from engine.trainer import live_trainers
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60)
    at.session_state["pg_spec"] = CNN.with_(device="cpu", epochs=20)
    at.switch_page("app_pages/playground.py").run()
    (t,) = live_trainers()
    t.step(5)
    t.wait(lambda s: s.state == "paused" and isinstance(s.run.views.get("probes"), ProbeRecord)
           and s.run.views["probes"].step == 5, 90)
    at.switch_page("app_pages/inside.py").run()
    at.segmented_control(key="inside_section").set_value("Feature maps").run()
    assert not at.exception
    cell = t.snapshot().run.views["probes"].cell
    assert (cell.layer, cell.map, cell.row, cell.col) == (0, 0, 4, 4)          # the first conv layer's centre
    at.number_input(key="inside_cell_map_box").set_value(3).run()                  # map 3 of 4 (counted from 1)
    at.selectbox(key="inside_cell_layer_box").set_value(2).run()                   # the second conv layer
    assert not at.exception
    cell = t.snapshot().run.views["probes"].cell
    assert (cell.layer, cell.map) == (2, 2)
    conv = t.runs()[0].model[2]
    assert cell.total == pytest.approx(_conv2d(cell, conv), abs=1e-9)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cell by hand"] == metrics["The layer computed"] == f"{cell.value:.4f}"
    code = at.code[0].value
    assert f"total = {cell.total:+.4f}" in code and code.count("channel") == 4   # 4 input channels
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(x.startswith("Feature map 3") for x in titles) and any("Filter 3, channel 1" in x for x in titles)


def test_a_click_on_the_mosaic_reads_back_the_map_and_cell_it_shows():
    from engine.probes.records import ActivationMap
    from viz.inside import feature_maps_figure, mosaic_cell
    rng = np.random.default_rng(0)
    act = ActivationMap(2, "3 Conv2d 10@3x3", (10, 12, 12), rng.normal(size=(10, 6, 6)).astype(np.float32), 1)
    fig = feature_maps_figure(act, chosen=9)                       # 10 maps shrunk to 6x6: 8 a row
    assert fig.layout.title.text.startswith("Layer 3 Conv2d 10@3x3") and fig.layout.clickmode == "event+select"
    clicks = next(t for t in fig.data if t.name == "click a map")
    assert len(clicks.x) == 10 * 36
    for x, y, (k, r, c, shown) in zip(clicks.x, clicks.y, clicks.customdata):
        assert mosaic_cell(act, x, y) == (k, r, c) and shown == k + 1
    assert mosaic_cell(act, 6, 0) is None and mosaic_cell(act, 0, 6) is None      # the gaps between tiles
    assert mosaic_cell(act, 7 + 3, 7) == (9, 0, 6)                  # second row, second tile: map 10, full size
    assert any(t.name == "chosen map (10)" for t in fig.data)
