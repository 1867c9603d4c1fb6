"""The convolution lab's numbers against torch.nn.functional (conv2d, max_pool2d, avg_pool2d)."""
from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from engine.teach import conv
from engine.teach.conv import ConvError, ConvSettings

RNG = np.random.default_rng(0)
IMG = RNG.random((9, 11))                       # (H, W) not square on purpose
K3 = RNG.normal(size=(3, 3))
K5 = RNG.normal(size=(5, 5))
SETTINGS = [ConvSettings(s, p, m, d) for s, p, m, d in itertools.product(
    (1, 2, 3), (0, 1, 2), conv.PAD_MODES, (1, 2))]


def _torch_conv(img, k, s: ConvSettings):
    x = torch.tensor(img)[None, None]
    if s.pad_mode == "reflect":
        layer = torch.nn.Conv2d(1, 1, k.shape[0], s.stride, s.padding, s.dilation, bias=False,
                                padding_mode="reflect").double()
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(k)[None, None])
            return layer(x)[0, 0].numpy()
    return F.conv2d(x, torch.tensor(k)[None, None], stride=s.stride, padding=s.padding,
                    dilation=s.dilation)[0, 0].numpy()


@pytest.mark.parametrize("s", SETTINGS, ids=str)
@pytest.mark.parametrize("k", [K3, K5], ids=["3x3", "5x5"])
def test_convolve_matches_torch_and_every_cell_explanation_sums_to_it(k, s):
    if conv.check(IMG.shape, k.shape[0], s):
        with pytest.raises(ConvError):
            conv.convolve(IMG, k, s)
        return
    out = conv.convolve(IMG, k, s)
    np.testing.assert_allclose(out, _torch_conv(IMG, k, s), atol=1e-12)
    for i, j in itertools.product(range(out.shape[0]), range(out.shape[1])):
        cell = conv.explain_cell(IMG, k, i, j, s)
        assert len(cell.terms) == k.size
        assert cell.total == pytest.approx(out[i, j], abs=1e-12)
        for t in cell.terms:     # pixels inside the image are the image's own values
            if not t.padded:
                assert t.value == IMG[t.row, t.col]
            elif s.pad_mode == "zeros":
                assert t.value == 0


def test_relu_cell_and_reflect_padding_values():
    k = conv.KERNELS["laplacian"].array()
    s = ConvSettings(padding=1, pad_mode="reflect")
    out = conv.convolve(IMG, k, s, relu=True)
    np.testing.assert_allclose(out, np.maximum(_torch_conv(IMG, k, s), 0), atol=1e-12)
    cell = conv.explain_cell(IMG, k, 0, 0, s, relu=True)
    assert cell.value == pytest.approx(out[0, 0], abs=1e-12) and cell.value >= 0
    # the top-left tap is the padding pixel (-1, -1), which reflect fills with pixel (1, 1)
    assert (cell.terms[0].row, cell.terms[0].col, cell.terms[0].padded) == (-1, -1, True)
    assert cell.terms[0].value == IMG[1, 1]
    assert cell.equation().endswith(f"ReLU → {cell.value:.3f}")


@pytest.mark.parametrize("n,k,s,p,d", list(itertools.product((5, 8, 13, 28), (1, 3, 5), (1, 2, 3),
                                                              (0, 1, 2), (1, 2, 3))))
def test_output_size_formula_matches_torch_shape(n, k, s, p, d):
    expected = conv.output_size(n, k, s, p, d)
    if expected < 1:
        with pytest.raises(RuntimeError):
            F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
        assert conv.check((n, n), k, ConvSettings(s, p, "zeros", d))
        return
    real = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
    assert real.shape[-1] == expected
    text = conv.output_size_formula(n, k, s, p, d)
    assert text.startswith(f"floor(({n} + 2·{p} − {d}·({k} − 1) − 1) / {s}) + 1")
    assert text.endswith(f"= {expected}")


def test_receptive_field_taps_follow_stride_padding_dilation():
    taps = conv.receptive_field(1, 2, 3, ConvSettings(stride=2, padding=1, dilation=2))
    assert taps[0] == (1, 3) and taps[-1] == (5, 7) and len(taps) == 9


@pytest.mark.parametrize("kind", conv.POOL_KINDS)
@pytest.mark.parametrize("size,stride", [(2, 2), (3, 3), (2, 1), (3, 2)])
def test_pool_and_pool_cells_match_torch(kind, size, stride):
    fmap = RNG.normal(size=(7, 10))
    x = torch.tensor(fmap)[None, None]
    ref = (F.max_pool2d if kind == "max" else F.avg_pool2d)(x, size, stride)[0, 0].numpy()
    out = conv.pool(fmap, kind, size, stride)
    np.testing.assert_allclose(out, ref, atol=1e-12)
    for i, j in itertools.product(range(out.shape[0]), range(out.shape[1])):
        cell = conv.explain_pool(fmap, i, j, kind, size, stride)
        assert len(cell.cells) == size * size
        assert cell.value == pytest.approx(ref[i, j], abs=1e-12)
        if kind == "max":
            r, c = cell.winner
            assert fmap[r, c] == ref[i, j]
    assert conv.explain_pool(fmap, 0, 0, "max", 2).equation().startswith("max(")


def test_pool_too_large_and_cell_outside_give_messages():
    with pytest.raises(ConvError, match="smaller than"):
        conv.pool(np.zeros((2, 2)), "max", 3)
    with pytest.raises(ConvError, match="outside"):
        conv.explain_cell(IMG, K3, 99, 0)


def test_kernels_registry_and_identity():
    assert {"identity", "box_blur", "gaussian_blur", "sharpen", "sobel_x", "sobel_y", "laplacian",
            "emboss"} <= set(conv.KERNELS)
    np.testing.assert_allclose(conv.convolve(IMG, conv.KERNELS["identity"].array(), ConvSettings(padding=1)),
                               IMG, atol=1e-12)
    for k in conv.KERNELS.values():
        assert k.array().shape == (3, 3) and k.help


def test_parse_kernel_round_trip_and_errors():
    k = conv.parse_kernel("1/9 1/9 1/9\n1/9, 1/9, 1/9\n1/9 1/9 1/9", 3)
    np.testing.assert_allclose(k, conv.KERNELS["box_blur"].array())
    np.testing.assert_allclose(conv.parse_kernel(conv.kernel_text(K5), 5), K5, rtol=1e-5)
    with pytest.raises(ConvError, match="3 lines"):
        conv.parse_kernel("1 2 3", 3)
    with pytest.raises(ConvError, match="line 2"):
        conv.parse_kernel("1 2 3\n1 2\n1 2 3", 3)
    with pytest.raises(ConvError, match="'x'"):
        conv.parse_kernel("1 2 3\n1 x 3\n1 2 3", 3)
    with pytest.raises(ConvError, match="not a finite"):
        conv.parse_kernel("1 2 3\n1 inf 3\n1 2 3", 3)


def test_bad_settings_give_sentences():
    assert "reflect" in conv.check((5, 5), 3, ConvSettings(padding=5, pad_mode="reflect"))[0]
    assert "dilat" in conv.check((5, 5), 3, ConvSettings(dilation=3))[0]
    with pytest.raises(ConvError, match="dilat"):
        conv.convolve(np.zeros((5, 5)), K3, ConvSettings(dilation=3))


def _png(w: int, h: int, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), (128, 128, 128) if mode == "RGB" else 128).save(buf, "PNG")
    return buf.getvalue()


def test_upload_validation():
    img = conv.read_upload(_png(200, 100), size=40)
    assert img.shape == (20, 40) and img.min() >= 0 and img.max() <= 1
    assert img[0, 0] == pytest.approx(128 / 255)
    with pytest.raises(ConvError, match="not an image"):
        conv.read_upload(b"hello, this is text, not a picture")
    with pytest.raises(ConvError, match="empty"):
        conv.read_upload(b"")
    with pytest.raises(ConvError, match="limit is 5 MB"):
        conv.read_upload(b"\0" * (conv.MAX_UPLOAD_BYTES + 1))
    with pytest.raises(ConvError, match="million pixels"):
        conv.read_upload(_png(3000, 3000, "L"), max_pixels=1_000_000)
    with pytest.raises(ConvError, match="truncated"):
        conv.read_upload(_png(64, 64)[:60])


def test_input_images_are_small_and_in_range():
    for channel in conv.CHANNELS:
        p = conv.photo("flower", channel, 48)
        assert max(p.shape) == 48 and 0 <= p.min() and p.max() <= 1
    assert not np.allclose(conv.photo("china", "red", 32), conv.photo("china", "blue", 32))
    from sklearn.datasets import load_sample_image             # the same photo scikit-learn loads
    ref = conv._resize(Image.fromarray(load_sample_image("china.jpg")).convert("L"), 40)
    np.testing.assert_array_equal(conv.photo("china", "gray", 40), ref)
    d, label = conv.mnist_digit(3)
    assert d.shape == (28, 28) and d.max() <= 1 and 0 <= label <= 9
    s, name = conv.shape_image(1)
    assert s.shape == (28, 28) and name in ("circle", "square", "triangle", "line")


def test_a_16_bit_png_keeps_its_tones_instead_of_clipping_to_white():
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)   # black to white
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, "PNG")
    assert Image.open(io.BytesIO(buf.getvalue())).mode.startswith("I")     # Pillow opens it 16-bit
    img = conv.read_upload(buf.getvalue(), size=32)
    assert img.mean() == pytest.approx(0.5, abs=0.02)                       # convert("L"): 0.996
    assert img[0, 0] < 0.05 and img[-1, -1] > 0.95
