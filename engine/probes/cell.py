"""One output cell of a trained conv layer, number by number (CNN Explainer's click on a
feature map): the layer's input for the recorded test example, the filter that made the map,
the patch it slid over at the cell, and the patch times the kernel summed over the input
channels plus the bias. The sums are rebuilt by hand with the Convolution lab's
`engine.teach.conv.explain_cell`, one input channel at a time, in float64, next to the value
the layer itself computed on the network's own weights."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..teach.conv import ConvSettings, explain_cell, output_size
from .records import ConvCell
from .stats import _first_tensor

MAX_CHANNELS = 64          # input channels explained term by term (the sum covers them all)


@dataclass(frozen=True)
class CellChoice:
    """Which cell to explain; None picks the first conv layer / the map's centre."""
    layer: int | None = None       # ProbedLayer.index of a Conv2d
    map: int = 0                   # output channel: the filter that made the map
    row: int | None = None         # output row
    col: int | None = None         # output column


def explainable(module: nn.Module) -> bool:
    """A conv layer this view explains: Conv2d, one group, zero padding by a number of pixels, a
    square kernel and one stride and dilation for both directions (what the layer registry builds)."""
    return (isinstance(module, nn.Conv2d) and module.groups == 1 and module.padding_mode == "zeros"
            and not isinstance(module.padding, str) and len(set(module.kernel_size)) == 1
            and len(set(module.stride)) == 1 and len(set(module.padding)) == 1 and len(set(module.dilation)) == 1)


def _input_of(model: nn.Module, module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`module`'s input and output when the model reads x (1, ...): hooks, removed in a finally."""
    seen: dict[str, torch.Tensor] = {}

    def pre(m: nn.Module, args: tuple) -> None:
        seen["in"] = args[0].detach()

    def post(m: nn.Module, args: tuple, out: torch.Tensor) -> None:
        seen["out"] = _first_tensor(out).detach()

    handles = [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return seen["in"], seen["out"]


def explain_conv_cell(model: nn.Module, layers: list[tuple[int, str, nn.Module]], x: torch.Tensor,
                      example: int, choice: CellChoice) -> ConvCell | None:
    """The chosen cell of one conv layer for test input x (1, C, H, W), the choice clamped to what
    exists; `layers` are the model's (index, label, module). None without an explainable conv layer.
    The model must be in eval mode under no_grad (the recorder's pass)."""
    convs = [(i, label, m) for i, label, m in layers if explainable(m)]
    if not convs:
        return None
    index, label, conv = next((c for c in convs if c[0] == choice.layer), convs[0])
    inp, out = _input_of(model, conv, x)
    a = inp[0].detach().cpu().double().numpy()                        # (C, H, W)
    w = conv.weight.detach().cpu().double().numpy()                   # (O, C, k, k)
    fmap_all = out[0].detach().cpu()                                  # (O, H', W')
    o = int(np.clip(choice.map, 0, w.shape[0] - 1))
    s = ConvSettings(conv.stride[0], conv.padding[0], "zeros", conv.dilation[0])
    k = w.shape[-1]
    h_out, w_out = (output_size(n, k, s.stride, s.padding, s.dilation) for n in a.shape[1:])
    i = int(np.clip(h_out // 2 if choice.row is None else choice.row, 0, h_out - 1))
    j = int(np.clip(w_out // 2 if choice.col is None else choice.col, 0, w_out - 1))
    cells = tuple(explain_cell(a[c], w[o, c], i, j, s) for c in range(min(len(a), MAX_CHANNELS)))
    sums = np.array([c.total for c in cells] + [explain_cell(a[c], w[o, c], i, j, s).total
                                                 for c in range(len(cells), len(a))], np.float64)
    bias = float(conv.bias[o]) if conv.bias is not None else 0.0
    return ConvCell(index, label, example, o, i, j, w.shape[0], s, a[:MAX_CHANNELS], len(a), w[o, :MAX_CHANNELS],
                    bias, fmap_all[o].double().numpy(), cells, sums, float(fmap_all[o, i, j]))
