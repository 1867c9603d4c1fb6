"""Layers that grow an image back, for decoders: Unflatten (a vector -> channels × height ×
width), ConvTranspose2d (learned filters that enlarge the map) and Upsample (repeat or
interpolate pixels, no weights).

Shapes leave out the batch, as everywhere in engine.layers. Each shape rule computes what torch
computes (tests/test_registries.py and tests/test_grow_layers.py compare them) and refuses, with
the shapes in the sentence, what torch would refuse.
"""
from __future__ import annotations

import math

from torch import nn

from . import LayerKind, Param, Shape, ShapeError, _need_rank, dims, register


# ---------------------------------------------------------------- Unflatten
def _unflatten_shape(s: Shape, p: dict) -> Shape:
    _need_rank(s, 1, "a flat list of numbers", "put it after a Linear layer (or a Flatten)")
    want = (p["channels"], p["height"], p["width"])
    if s[0] != math.prod(want):
        raise ShapeError(f"needs exactly {dims(want)} = {math.prod(want):,} numbers to make a {dims(want)} image; "
                         f"set the layer before it to {math.prod(want):,} units, or change channels, height or "
                         f"width so that they multiply to {s[0]:,}")
    return want


register(LayerKind(
    "unflatten", "Unflatten", "shape",
    "Folds a flat list of numbers back into an image of channels × height × width (Flatten's reverse), "
    "so conv layers can grow it.",
    (Param("channels", 16, 1, 512, help="Feature maps of the image it makes."),
     Param("height", 7, 1, 256, help="Height in pixels of the image it makes."),
     Param("width", 7, 1, 256, help="Width in pixels of the image it makes.")),
    _unflatten_shape,
    build=lambda s, p: nn.Unflatten(1, (p["channels"], p["height"], p["width"])),
    describe=lambda p: f"Unflatten {p['channels']}×{p['height']}×{p['width']}",
    note="Unflatten folds the long row of numbers back into feature maps.",
))


# ---------------------------------------------------------------- ConvTranspose2d
def convtranspose_out(n: int, k: int, s: int, pad: int, out_pad: int) -> int:
    """out = (in - 1) * s - 2p + (k - 1) + output_padding + 1, as torch computes it (dilation 1)."""
    return (n - 1) * s - 2 * pad + (k - 1) + out_pad + 1


def _convtranspose_shape(s: Shape, p: dict) -> Shape:
    _need_rank(s, 3, "an image (channels × height × width)",
               "use it on image data, or add an Unflatten layer before it to make one")
    k, st, pad, op = p["kernel"], p["stride"], p["padding"], p["output_padding"]
    if op >= st:
        raise ShapeError(f"output padding {op} must be smaller than the stride {st}; lower the output padding "
                         "(it only picks between the sizes a stride above 1 can reach)")
    h, w = (convtranspose_out(n, k, st, pad, op) for n in s[1:])
    if h < 1 or w < 1:
        raise ShapeError(f"with kernel {k}, stride {st} and padding {pad} would make a {h}x{w} map; "
                         "lower the padding or use a larger kernel")
    return p["channels"], h, w


register(LayerKind(
    "convtranspose2d", "ConvTranspose2d", "conv",
    "A convolution run backwards: each input pixel stamps a learned filter onto a larger output, so stride 2 "
    "doubles the map's size. Decoders use it to grow images back.",
    (Param("channels", 8, 1, 512, help="Number of filters, i.e. output feature maps."),
     Param("kernel", 3, 1, 15, help="Filter size in pixels (kernel x kernel)."),
     Param("stride", 2, 1, 8, help="How far apart the stamped filters land; 2 doubles the map size."),
     Param("padding", 1, 0, 8, help="Pixels cut from each border of the output; kernel//2 with output padding "
                                    "1 makes stride 2 exactly double the size."),
     Param("output_padding", 1, 0, 7, help="Extra rows and columns added on one side of the output (less than "
                                           "the stride): picks between the sizes a stride above 1 can reach."),
     Param("bias", True, help="Add a learned constant to each output channel.")),
    _convtranspose_shape,
    lambda s, p: s[0] * p["channels"] * p["kernel"] ** 2 + (p["channels"] if p["bias"] else 0),
    lambda s, p: nn.ConvTranspose2d(s[0], p["channels"], p["kernel"], p["stride"], p["padding"],
                                    p["output_padding"], bias=p["bias"]),
    describe=lambda p: f"ConvT {p['channels']}@{p['kernel']}x{p['kernel']}" + "".join(
        f" {a}{p[k]}" for k, a in (("stride", "s"), ("padding", "p"), ("output_padding", "op"))
        if p[k] != (1 if k == "stride" else 0)),
    note="Each tile is one output channel: every input pixel stamped its filter here, so the maps grow.",
))


# ---------------------------------------------------------------- Upsample
UPSAMPLE_MODES = ("nearest", "bilinear")


def _upsample_shape(s: Shape, p: dict) -> Shape:
    _need_rank(s, 3, "an image (channels × height × width)",
               "use it on image data, or add an Unflatten layer before it to make one")
    f = p["scale"]
    return s[0], s[1] * f, s[2] * f


register(LayerKind(
    "upsample", "Upsample", "shape",
    "Enlarges each map by a whole factor with no weights: nearest repeats each pixel, bilinear blends "
    "neighbours. A conv layer after it learns the detail.",
    (Param("scale", 2, 1, 8, help="How many times larger each side gets (2: 7x7 becomes 14x14)."),
     Param("mode", "nearest", choices=UPSAMPLE_MODES,
           help="nearest: copy each pixel into a scale x scale block; bilinear: blend the nearest pixels "
                "(smoother).")),
    _upsample_shape,
    build=lambda s, p: nn.Upsample(scale_factor=p["scale"], mode=p["mode"]),
    describe=lambda p: f"Upsample ×{p['scale']}" + (" bilinear" if p["mode"] == "bilinear" else ""),
    note="Upsample enlarges every map: the same picture with bigger pixels (or blended ones).",
))
