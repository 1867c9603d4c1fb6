"""The layers that grow images back (engine.layers.grow) against torch: every shape the rule
predicts is the one torch produces, and the rule refuses, naming the shapes, exactly where torch
fails (or would make an empty map); the parameter counts are torch's; a conv decoder made of them ends at the image's size."""
from __future__ import annotations

import itertools

import pytest
import torch

from engine.build import build_model, infer_shapes, torch_shapes
from engine.layers import LAYERS
from engine.spec import LayerSpec

L = LayerSpec.make


def _torch_out(layer: LayerSpec, shape: tuple) -> tuple | None:
    """What torch makes of a batch of 2 zeros, or None when it refuses."""
    kind = LAYERS[layer.kind]
    try:
        with torch.no_grad():
            return tuple(kind.build(shape, layer.params).eval()(torch.zeros(2, *shape)).shape[1:])
    except (RuntimeError, ValueError):
        return None


CONVT = [L("convtranspose2d", channels=3, kernel=k, stride=s, padding=p, output_padding=op)
         for k, s, p, op in itertools.product((1, 2, 3, 5), (1, 2, 3), (0, 1, 2, 4), (0, 1, 2))]


@pytest.mark.parametrize("shape", [(2, 1, 1), (1, 4, 7), (3, 7, 7)])
def test_convtranspose_shapes_and_params_are_torchs_and_refusals_are_where_torch_fails(shape):
    fits = refused = 0
    for layer in CONVT:
        row = infer_shapes((layer,), shape)[0]
        want = _torch_out(layer, shape)
        empty = want is None or 0 in want                       # torch fails, or makes an empty map (no pixels)
        assert (row.out_shape is None) == empty, (layer.params, shape, row, want)
        if empty:
            refused += 1
            assert f"gets an input of {' × '.join(map(str, shape))} and ConvTranspose2d " in row.error
            assert "output padding" in row.error or "map; lower the padding" in row.error, row.error
            continue
        fits += 1
        assert row.out_shape == want
        module = LAYERS["convtranspose2d"].build(shape, layer.params)
        assert row.n_params == sum(p.numel() for p in module.parameters())
    assert fits > 40 and refused > 40, (fits, refused)                   # both sides are exercised


def test_stride_2_with_output_padding_1_doubles_and_the_message_names_the_fix():
    row = infer_shapes((L("convtranspose2d"),), (32, 7, 7))[0]          # the defaults: 3x3, s2, p1, op1
    assert row.out_shape == (8, 14, 14) and row.n_params == 32 * 8 * 9 + 8
    bad = infer_shapes((L("convtranspose2d", stride=2, output_padding=2),), (4, 7, 7))[0]
    assert bad.error == ("layer 1 (ConvT 8@3x3 s2 p1 op2) gets an input of 4 × 7 × 7 and ConvTranspose2d output "
                         "padding 2 must be smaller than the stride 2; lower the output padding (it only picks "
                         "between the sizes a stride above 1 can reach)")
    flat = infer_shapes((L("convtranspose2d"),), (16,))[0]
    assert "expects an image (channels × height × width)" in flat.error and "add an Unflatten layer" in flat.error


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("scale", [1, 2, 3])
def test_upsample_shapes_are_torchs_and_nearest_repeats_each_pixel(mode, scale):
    layer = L("upsample", scale=scale, mode=mode)
    for shape in [(1, 1, 1), (3, 4, 7)]:
        assert infer_shapes((layer,), shape)[0].out_shape == _torch_out(layer, shape) == (shape[0], shape[1] * scale,
                                                                                         shape[2] * scale)
    assert "expects an image" in infer_shapes((layer,), (6,))[0].error
    if mode == "nearest":
        x = torch.arange(4.0).reshape(1, 1, 2, 2)
        y = LAYERS["upsample"].build((1, 2, 2), layer.params)(x)
        assert torch.equal(y, x.repeat_interleave(scale, 2).repeat_interleave(scale, 3))


def test_unflatten_folds_exactly_its_numbers_and_says_how_many_it_needs():
    layer = L("unflatten", channels=4, height=3, width=5)
    row = infer_shapes((layer,), (60,))[0]
    assert row.out_shape == _torch_out(layer, (60,)) == (4, 3, 5)
    x = torch.arange(120.0).reshape(2, 60)
    assert torch.equal(LAYERS["unflatten"].build((60,), layer.params)(x), x.reshape(2, 4, 3, 5))
    bad = infer_shapes((layer,), (64,))[0]
    assert _torch_out(layer, (64,)) is None
    assert bad.error == ("layer 1 (Unflatten 4×3×5) gets an input of 64 and Unflatten needs exactly 4 × 3 × 5 = 60 "
                         "numbers to make a 4 × 3 × 5 image; set the layer before it to 60 units, or change "
                         "channels, height or width so that they multiply to 64")
    assert "expects a flat list" in infer_shapes((layer,), (1, 6, 10))[0].error


def test_a_conv_decoder_grows_a_code_back_to_a_28x28_image_as_torch_does():
    layers = (L("linear", units=32 * 7 * 7), L("relu"), L("unflatten", channels=32, height=7, width=7),
              L("convtranspose2d", channels=16), L("relu"), L("upsample", scale=2, mode="bilinear"),
              L("conv2d", channels=1, kernel=3, padding=1))
    rows = infer_shapes(layers, (2,))
    assert [r.out_shape for r in rows][2:] == [(32, 7, 7), (16, 14, 14), (16, 14, 14), (16, 28, 28), (1, 28, 28)]
    model = build_model(layers, (2,))
    assert torch_shapes(model, (2,)) == [r.out_shape for r in rows]
    assert sum(r.n_params for r in rows) == sum(p.numel() for p in model.parameters())
