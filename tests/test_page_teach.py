"""AppTest of the three Learn pages: they render with the session defaults, their main controls
change the numbers, and user mistakes give messages instead of tracebacks."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from engine.teach import backprop as bp
from engine.teach import conv
from ui.state import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent


def _page(name: str) -> AppTest:
    """The page file itself, run alone, with the session defaults app.py would set."""
    at = AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=60)
    for key, default in DEFAULTS.items():
        at.session_state[key] = default() if callable(default) else default
    at.run()
    _ok(at)
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, at.exception[0].value


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 100, 50)).save(buf, "PNG")
    return buf.getvalue()


# ---------------------------------------------------------------- convolution lab
def test_conv_lab_cell_sum_equals_torch_and_kernel_changes_it():
    at = _page("conv_lab")
    m = _metrics(at)
    # the default cell: digit #1500, Sobel x, padding 1, output (10, 17)
    image, _ = conv.mnist_digit(1500)
    ref = conv.convolve(image, conv.KERNELS["sobel_x"].array(), conv.ConvSettings(padding=1))[10, 17]
    assert m["Sum of the products"] == m["Output cell from torch's conv2d"] == f"{ref:.4f}"
    assert any("floor((28 + 2·1 − 1·(3 − 1) − 1) / 1) + 1 = floor(27 / 1) + 1 = 28" in md.value for md in at.markdown)
    at.selectbox(key="conv_kernel").set_value("laplacian").run()
    _ok(at)
    m2 = _metrics(at)
    assert m2["Sum of the products"] != m["Sum of the products"]
    assert m2["Sum of the products"] == m2["Output cell from torch's conv2d"]
    assert m2["Pooled cell (5, 8)"] == m2["From torch's pool2d"]


def test_conv_lab_settings_shrink_output_and_keep_the_cell_inside():
    at = _page("conv_lab")
    at.number_input(key="conv_stride").set_value(3).run()
    at.number_input(key="conv_dilation").set_value(2).run()
    _ok(at)
    out = conv.output_size(28, 3, 3, 1, 2)                 # 9
    assert at.number_input(key="conv_row").max == out - 1
    assert at.number_input(key="conv_row").value <= out - 1  # clamped from 10
    m = _metrics(at)
    assert m["Sum of the products"] == m["Output cell from torch's conv2d"]
    # an 11x16 photo and a 5x5 kernel at dilation 4 (it spans 17 pixels): a message, no traceback
    for key, value in (("conv_source", "photo"), ("conv_size", 16), ("conv_kernel", "custom5"),
                       ("conv_dilation", 4)):
        at.session_state[key] = value
    at.run()
    _ok(at)
    assert any("do not fit" in e.value and "dilation" in e.value for e in at.error)


def test_conv_lab_custom_kernel_message():
    at = _page("conv_lab")
    at.selectbox(key="conv_kernel").set_value("custom3").run()
    at.text_area(key="conv_custom3").set_value("1 2 3\n4 five 6\n7 8 9").run()
    _ok(at)
    assert "'five'" in at.error[0].value


def test_conv_lab_photo_and_uploads():
    at = _page("conv_lab")
    at.selectbox(key="conv_source").set_value("photo").run()
    at.selectbox(key="conv_channel").set_value("green").run()
    _ok(at)
    assert "green channel" in at.caption[2].value or any("green channel" in c.value for c in at.caption)
    at.selectbox(key="conv_source").set_value("upload").run()
    _ok(at)
    assert "Choose an image file" in at.info[0].value
    uploader = at.get("file_uploader")[0]
    uploader.upload("notes.png", b"this is text, not a picture", "image/png").run()
    _ok(at)
    assert "not an image" in at.error[0].value
    uploader = at.get("file_uploader")[0]
    uploader.upload("huge.png", b"\0" * (conv.MAX_UPLOAD_BYTES + 10), "image/png").run()
    _ok(at)
    assert "limit is 5 MB" in at.error[0].value
    uploader = at.get("file_uploader")[0]
    uploader.upload("ok.png", _png(120, 60), "image/png").run()
    _ok(at)
    assert not at.error
    assert any("24x48 pixels" in c.value for c in at.caption)       # resized to 48 on the long side


# ---------------------------------------------------------------- activations
def test_activations_page_charts_and_softmax():
    at = _page("activations")
    assert len(at.get("plotly_chart")) == len(DEFAULTS["act_names"]()) + 1
    at.text_input(key="act_vector").set_value("3, 1, 0").run()
    _ok(at)
    p = np.exp([3, 1, 0]) / np.exp([3, 1, 0]).sum()
    table = at.dataframe[0].value
    np.testing.assert_allclose(table["probability p"].to_numpy(), p, atol=1e-4)
    at.text_input(key="act_vector").set_value("3, x").run()
    _ok(at)
    assert "'x' is not a number" in at.error[0].value
    at.multiselect(key="act_names").set_value(["relu"]).run()
    _ok(at)
    assert len(at.get("plotly_chart")) == 1                       # the softmax chart is gone with the error
    assert any("x < 0" in m.value for m in at.markdown)           # where ReLU's gradient vanishes


# ---------------------------------------------------------------- backprop
def test_backprop_neuron_numbers_and_update():
    at = _page("backprop")
    s = bp.NeuronStep(0.5, -1.0, 2.0, 0.3, -0.2, 0.1, 0.05)
    m = _metrics(at)
    assert m["y"] == f"{s.y:.4f}" and m["loss L"] == f"{s.loss:.4f}"
    at.button(key="bp_apply").click().run()
    _ok(at)
    assert at.number_input(key="bp_w1").value == pytest.approx(s.updated["w1"])
    assert _metrics(at)["loss L"] == f"{s.next().loss:.4f}"


def test_backprop_xor_step_and_run():
    at = _page("backprop")
    net0 = bp.XorNet.from_flat(bp.start_params())
    at.button(key="bp_next").click().run()
    _ok(at)
    p = bp.xor_pass(net0, "mse")
    np.testing.assert_allclose(at.session_state["bp_net"], p.updated(2.0).flat())
    assert at.session_state["bp_history"] == [pytest.approx(p.loss)]
    at.button(key="bp_run").click().run()
    _ok(at)
    assert at.session_state["bp_steps"] == 1001
    assert at.session_state["bp_history"][-1] < 0.05              # it learnt XOR
    at.button(key="bp_reset").click().run()
    _ok(at)
    assert at.session_state["bp_steps"] == 0 and at.session_state["bp_net"] == bp.start_params()
