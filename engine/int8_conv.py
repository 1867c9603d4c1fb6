"""Weight-only int8 for Conv2d layers on the CPU, with torchao's own tensor: each conv weight
becomes a torchao `IntxUnpackedToInt8Tensor` (int8 values, one symmetric float32 scale per output
channel), which torchao dequantizes inside F.conv2d; activations stay float32.

Why not `quantize_`: in torchao 0.18, `Int8WeightOnlyConfig`'s `Int8Tensor` has no convolution
on the CPU (`aten.convolution` is not implemented), and `IntxWeightOnlyConfig` quantizes a conv
weight in blocks of (1, in_channels, 1, 1), one scale per output channel *and kernel tap*, and
fails outright on a layer with one input channel (a first layer on grey images). The tensor it
would build is the maintained part (its conv2d support: pytorch/ao#3371), so this module builds
it itself with one block per output channel, (1, in_channels, kh, kw), and puts it where the
weight was, as `quantize_` does (tests/test_compress.py says when torchao's config catches up).
The state_dict saves and loads with torch.save / torch.load(weights_only=True).
"""
from __future__ import annotations

import torch
from torch import nn


def int8_conv_weight(w: torch.Tensor):
    """(out, in, kh, kw) float weight -> torchao IntxUnpackedToInt8Tensor: qdata int8 in [-128, 127],
    scale (out, 1, 1, 1) = max |w| of the channel / 127.5, zero point 0, so every weight is within
    half a scale step of its int8 value times the scale."""
    from torchao.quantization import IntxUnpackedToInt8Tensor
    from torchao.quantization.quant_primitives import MappingType
    return IntxUnpackedToInt8Tensor.from_hp(w.detach(), (1, *w.shape[1:]), torch.int8,
                                            mapping_type=MappingType.SYMMETRIC)


def quantize_convs(model: nn.Module) -> int:
    """Swap every Conv2d weight of `model` (in place) for its int8 version; returns how many."""
    n = 0
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and not hasattr(m.weight, "qdata"):      # not int8 already
            m.weight = nn.Parameter(int8_conv_weight(m.weight), requires_grad=False)
            n += 1
    return n
