"""Layer registry: a layer kind's name -> its parameters, shape rule, parameter count, builder,
short label and the line the PyTorch export writes for it.

Shapes here never include the batch dimension: a dense input is (F,), an image (C, H, W).
A new kind is one more `register(LayerKind(...))` call, here or in any other module (the
sequence kinds live in engine.layers.sequence, the decoders' Unflatten / ConvTranspose2d / Upsample in
engine.layers.grow, both imported at the end); check, build, export and the
page's builder read everything from the entry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from ..schema import Param, Registry

Shape = tuple[int, ...]


class ShapeError(ValueError):
    """A layer cannot take the shape it is given; the message says why and how to fix it."""


@dataclass(frozen=True)
class LayerKind:
    name: str                                   # stored in specs: "linear"
    label: str                                  # shown in the UI: "Linear"
    group: str                                  # dense | conv | pool | activation | shape | regularisation | sequence | attention
    help: str
    params: tuple[Param, ...] = ()
    out_shape: Callable[[Shape, dict], Shape] = lambda s, p: s   # raises ShapeError
    n_params: Callable[[Shape, dict], int] = lambda s, p: 0
    build: Callable[[Shape, dict], nn.Module] = field(default=lambda s, p: nn.Identity())
    describe: Callable[[dict], str] | None = None    # short label with the main parameters; None: the label
    note: str = "This layer's output values for the example."   # the Inside page's caption under its output
    code: Callable[[Shape, dict], str] | None = None  # the export's constructor; None: the built module's repr
    helpers: tuple[type, ...] = ()              # classes `code` constructs; the export copies their source
    tokens: bool = False                        # reads int64 token ids (N, T) instead of float values

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def short(self, params: dict) -> str:
        """Short label of a layer with its main parameters, e.g. 'Conv2d 8@3x3 s2'."""
        return self.describe(params) if self.describe else self.label

    def source(self, in_shape: Shape, params: dict) -> str:
        """The PyTorch constructor the exported script writes, e.g. 'nn.Linear(in_features=2, ...)'."""
        if self.code is not None:
            return self.code(in_shape, params)
        m = self.build(in_shape, params)
        return f"nn.{type(m).__name__}{repr(m)[len(type(m).__name__):]}"


LAYERS: Registry[LayerKind] = Registry("layer kind")
register = LAYERS.register


def dims(shape: Shape) -> str:
    """A shape as the page shows it: 1 × 28 × 28 (per example, without the batch)."""
    return " × ".join(map(str, shape))


def _need_rank(shape: Shape, rank: int, what: str, fix: str) -> None:
    if len(shape) != rank:
        raise ShapeError(f"expects {what}; {fix}")          # infer_shapes says what it got


# ---------------------------------------------------------------- dense
def _linear_shape(s: Shape, p: dict) -> Shape:
    """A vector (F,) -> (units,); a sequence (T, F) -> (T, units), the same weights at every step."""
    if len(s) not in (1, 2):
        raise ShapeError("expects a flat list of numbers (one per feature) or a sequence of them; "
                         "add a Flatten layer before it")
    return (*s[:-1], p["units"])


register(LayerKind(
    "linear", "Linear", "dense",
    "A fully connected layer: every output is a weighted sum of all inputs plus a bias.",
    (Param("units", 8, 1, 4096, help="Number of output neurons."),
     Param("bias", True, help="Add a learned constant to each output.")),
    _linear_shape,
    lambda s, p: s[-1] * p["units"] + (p["units"] if p["bias"] else 0),
    lambda s, p: nn.Linear(s[-1], p["units"], bias=p["bias"]),
    describe=lambda p: f"Linear {p['units']}",
    note='Each bar is one neuron: a weighted sum of every value of the layer before, plus a bias.',
))


# ---------------------------------------------------------------- conv and pool
def _conv_out(n: int, k: int, s: int, pad: int, d: int) -> int:
    """out = floor((in + 2p - d(k-1) - 1) / s) + 1, as torch computes it."""
    return (n + 2 * pad - d * (k - 1) - 1) // s + 1


def _spatial(s: Shape, p: dict, dilation: int) -> tuple[int, int]:
    _need_rank(s, 3, "an image (channels × height × width)",
               "use it on image data, before any Flatten")
    k, st, pad = p["kernel"], p["stride"], p["padding"]
    span = dilation * (k - 1) + 1
    h, w = (_conv_out(n, k, st, pad, dilation) for n in s[1:])
    if h < 1 or w < 1:
        raise ShapeError(
            f"with kernel {k}" + (f", dilation {dilation}" if dilation > 1 else "")
            + f" spans {span} pixels but the padded input is only {s[1] + 2 * pad}x{s[2] + 2 * pad}; "
            "use a smaller kernel, more padding, or remove an earlier pooling layer")
    return h, w


def _conv_shape(s: Shape, p: dict) -> Shape:
    return (p["channels"], *_spatial(s, p, p["dilation"]))


register(LayerKind(
    "conv2d", "Conv2d", "conv",
    "Slides small learned filters over the image; each output channel is one filter's response map.",
    (Param("channels", 8, 1, 512, help="Number of filters, i.e. output feature maps."),
     Param("kernel", 3, 1, 15, help="Filter size in pixels (kernel x kernel)."),
     Param("stride", 1, 1, 8, help="Step between filter positions; 2 halves the map size."),
     Param("padding", 0, 0, 8, help="Zeros added around the border; kernel//2 keeps the size."),
     Param("dilation", 1, 1, 8, help="Gap between filter taps; widens the view without more weights."),
     Param("bias", True, help="Add a learned constant to each output channel.")),
    _conv_shape,
    lambda s, p: p["channels"] * s[0] * p["kernel"] ** 2 + (p["channels"] if p["bias"] else 0),
    lambda s, p: nn.Conv2d(s[0], p["channels"], p["kernel"], p["stride"], p["padding"],
                           p["dilation"], bias=p["bias"]),
    describe=lambda p: f"Conv2d {p['channels']}@{p['kernel']}x{p['kernel']}" + "".join(
        f" {k[0]}{p[k]}" for k in ("stride", "padding", "dilation") if p[k] != (0 if k == "padding" else 1)),
    note="Each tile is one filter's response map: orange where the filter found its pattern, "
         "blue where it found the opposite.",
))

_POOL_PARAMS = (
    Param("kernel", 2, 1, 15, help="Window size in pixels."),
    Param("stride", 2, 1, 15, help="Step between windows; equal to the kernel means no overlap."),
    Param("padding", 0, 0, 7, help="Padding added around the border (at most half the kernel)."),
)


def _pool_describe(label: str) -> Callable[[dict], str]:
    return lambda p: f"{label} {p['kernel']}x{p['kernel']}" + (f" s{p['stride']}" if p["stride"] != p["kernel"] else "")


def _pool_shape(s: Shape, p: dict) -> Shape:
    """A shape rule's message follows the layer's name (engine.build.infer_shapes puts it first)."""
    if p["padding"] > p["kernel"] // 2:
        raise ShapeError(f"padding {p['padding']} is more than half the kernel {p['kernel']}; lower the padding")
    return (s[0], *_spatial(s, p, 1))


register(LayerKind(
    "maxpool2d", "MaxPool2d", "pool",
    "Keeps the largest value in each window: shrinks the map and keeps the strongest response.",
    _POOL_PARAMS, _pool_shape,
    build=lambda s, p: nn.MaxPool2d(p["kernel"], p["stride"], p["padding"]),
    describe=_pool_describe("MaxPool2d"),
    note='Max pooling keeps the strongest response of each small window: the maps shrink, the strong spots stay.',
))
register(LayerKind(
    "avgpool2d", "AvgPool2d", "pool",
    "Averages each window: shrinks the map smoothly.",
    _POOL_PARAMS, _pool_shape,
    build=lambda s, p: nn.AvgPool2d(p["kernel"], p["stride"], p["padding"]),
    describe=_pool_describe("AvgPool2d"),
    note='Average pooling blurs each small window into one value: the maps shrink.',
))


# ---------------------------------------------------------------- shape, regularisation
register(LayerKind(
    "flatten", "Flatten", "shape",
    "Unrolls an image or feature maps into one long vector so Linear layers can use it.",
    out_shape=lambda s, p: (math.prod(s),),
    build=lambda s, p: Flatten(),
    note='Flatten lays all the maps out in one long row of numbers for the dense layers.',
))


class Flatten(nn.Flatten):
    """nn.Flatten (the same numbers) that hands a channels-last input's gradient back
    channels-last. nn.Flatten's gradient comes back channels-first, and torch's CPU max-pool
    backward then converts its channels-last input and result to that layout: two full-size
    copies that were half of a CNN's training step (docs/performance.md; conv nets train
    channels-last on the CPU, see engine.run.Run)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.dim() == 4 and x.requires_grad and not x.is_contiguous()
                and x.is_contiguous(memory_format=torch.channels_last)):
            return _FlattenChannelsLast.apply(x, self.start_dim, self.end_dim)
        return super().forward(x)


class _FlattenChannelsLast(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, start_dim: int, end_dim: int) -> torch.Tensor:
        ctx.shape = x.shape                                   # (B, C, H, W), channels-last in memory
        return x.flatten(start_dim, end_dim)                  # (B, C*H*W), a copy in C, H, W order

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad.reshape(ctx.shape).contiguous(memory_format=torch.channels_last), None, None


class SeededDropout(nn.Dropout):
    """nn.Dropout that draws its mask from `self.generator` when one is set, so two runs
    training at the same time in different threads stay reproducible."""
    generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or self.generator is None:
            return super().forward(x)
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * keep / (1 - self.p)


register(LayerKind(
    "dropout", "Dropout", "regularisation",
    "While training, zeroes a random share of values so the network cannot rely on any one unit.",
    (Param("p", 0.5, 0.0, 0.95, help="Share of values dropped at each training step."),),
    build=lambda s, p: SeededDropout(p["p"]),
    describe=lambda p: f"Dropout {p['p']:g}",
    code=lambda s, p: f"nn.Dropout(p={p['p']}, inplace=False)",
    note='Dropout is off while we look (it only drops values during training).',
))


def _bn_shape(s: Shape, p: dict) -> Shape:
    if len(s) == 2:
        raise ShapeError("normalises flat lists of numbers or images, not a sequence (steps × features); "
                         "put it after a LastStep, SeqPool or Flatten layer, or leave it out (a Transformer "
                         "block normalises each step itself)")
    if len(s) not in (1, 3):
        raise ShapeError("expects a flat list of numbers or an image (channels × height × width)")
    return s


register(LayerKind(
    "batchnorm", "BatchNorm", "regularisation",
    "Normalises each feature (or channel) over the batch, then rescales; steadies and speeds training.",
    (),
    _bn_shape,
    lambda s, p: 2 * s[0],
    lambda s, p: nn.BatchNorm1d(s[0]) if len(s) == 1 else nn.BatchNorm2d(s[0]),
    note='BatchNorm shifts and scales each unit (or channel) to a steady range.',
))


# ---------------------------------------------------------------- activations
def _activation(name: str, label: str, module: Callable[[dict], nn.Module], help: str,
                params: tuple[Param, ...] = (), note: str = LayerKind.note) -> None:
    register(LayerKind(name, label, "activation", help, params, build=lambda s, p: module(p), note=note))


_activation("relu", "ReLU", lambda p: nn.ReLU(), "max(0, x): cheap, does not saturate for x > 0.",
            note="ReLU keeps the positive (orange) values and turns everything negative into 0 (white).")
_activation("leaky_relu", "LeakyReLU", lambda p: nn.LeakyReLU(p["slope"]),
            "Like ReLU but keeps a small slope for x < 0, so units cannot die.",
            (Param("slope", 0.01, 0.0, 1.0, help="Slope for negative inputs."),),
            note="LeakyReLU keeps positive values and shrinks negative ones to a small slope.")
_activation("elu", "ELU", lambda p: nn.ELU(p["alpha"]),
            "Smooth ReLU that goes to -alpha for very negative inputs.",
            (Param("alpha", 1.0, 0.01, 10.0, help="Value approached for very negative inputs."),))
_activation("gelu", "GELU", lambda p: nn.GELU(), "x times the chance x is positive; used in transformers.")
_activation("tanh", "Tanh", lambda p: nn.Tanh(), "Squashes to (-1, 1); saturates, centred at 0.",
            note="Tanh squashes every value into (-1, 1).")
_activation("sigmoid", "Sigmoid", lambda p: nn.Sigmoid(),
            "Squashes to (0, 1); saturates, gradients vanish in deep stacks.",
            note="Sigmoid squashes every value into (0, 1).")
_activation("identity", "Identity", lambda p: nn.Identity(), "Passes values through unchanged (a linear activation).")

ACTIVATIONS = tuple(k for k, v in LAYERS.items() if v.group == "activation")


from . import grow, sequence  # noqa: E402,F401  (registers the decoder and sequence kinds)
