"""What the probes Recorder publishes: `ProbeRecord` and the small records it is made of.
Torch-free (numpy arrays and numbers), since the "Inside the network" page and viz/inside.py
read them (ConvCell's parts are engine.teach.conv's plain dataclasses). L = layers of the model, P = layers with parameters, T = records in the history."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..teach.conv import CellExplanation, ConvSettings


@dataclass(frozen=True)
class ProbedLayer:
    """One top-level layer of the model as the page names it."""
    index: int                          # position in the model, from 0
    label: str                          # "2 Conv2d 8@3x3": position (from 1) and description
    type: str                           # the module's class name: "Conv2d"
    out_shape: tuple[int, ...]          # its output per example, () when it gave none
    has_params: bool                    # has weights or biases
    matrix: bool                        # has a weight with 2+ dims (Linear, Conv, RNN)


@dataclass(frozen=True)
class Example:
    """The test example whose activations are recorded: input, label and the network's answer.
    Classification fills label..correct, regression target and output; the others stay None."""
    index: int                          # in the test set
    mode: str                           # "index" (picked by number) | "misclassified"
    found: bool                         # misclassified mode: a wrong example was found
    n_test: int                         # test examples in all
    input: np.ndarray                   # (C, H, W) image (3 channels, 64 pixels a side at most) | (F,) | (T, F)
    feature_names: tuple[str, ...]      # the input features' names, () for images
    label: int | None = None            # the true class
    pred: int | None = None             # the predicted class
    probs: np.ndarray | None = None     # (classes,) float32 predicted probabilities
    class_names: tuple[str, ...] | None = None
    correct: bool | None = None         # pred == label
    target: np.ndarray | None = None    # (targets,) float32 the true values
    output: np.ndarray | None = None    # (targets,) float32 the predicted values


@dataclass(frozen=True)
class ActivationMap:
    """One layer's output for the recorded example, downsampled."""
    layer: int                          # ProbedLayer.index
    label: str                          # ProbedLayer.label
    shape: tuple[int, ...]              # the output's full shape per example: (C, H, W) | (T, F) | (N,)
    values: np.ndarray                  # float32 (maps, h, w) | (T, F) | (units,), shrunk to ProbeConfig's sizes
    group: int                          # units averaged into one value of a long vector (1: none)


@dataclass(frozen=True)
class Filters:
    """The kernels of one layer with a 4-D weight (Conv2d), downsampled."""
    layer: int                          # ProbedLayer.index
    label: str                          # ProbedLayer.label
    shape: tuple[int, ...]              # the full weight: (O, I, kh, kw)
    weights: np.ndarray                 # (O', I', k, k) float32: the first filters and input channels
    mean: np.ndarray                    # (O', k, k) float32: each filter averaged over all its inputs


@dataclass(frozen=True)
class History:
    """Per-layer statistics over the recorded steps, one row per record (bounded)."""
    step: np.ndarray                    # (T,) int the step of each record
    ratio_step: np.ndarray              # (T,) int the step the update ratio was measured at, -1: none
    w_norm: np.ndarray                  # (T, P) float64 L2 norm of the weights
    w_mean: np.ndarray                  # (T, P) float64 mean |weight|
    g_norm: np.ndarray                  # (T, P) float64 L2 norm of the gradients, NaN before a step
    g_mean: np.ndarray                  # (T, P) float64 mean |gradient|
    ratio: np.ndarray                   # (T, P) float64 |update| / |weights| of one optimizer step


@dataclass(frozen=True)
class Histogram:
    """The current histogram of one layer's values (empty arrays when it has none)."""
    edges: np.ndarray                   # (bins + 1,) float32
    counts: np.ndarray                  # (bins,) int64


@dataclass(frozen=True)
class Distribution:
    """TensorBoard's distributions of one kind of value (weights, biases, activations, gradients)."""
    layers: tuple[int, ...]             # the layers it covers (ProbedLayer.index), the columns of pct
    pct: np.ndarray                     # (T, layers, len(PERCENTILES)) float32 percentiles over steps
    hist: tuple[Histogram, ...]         # per layer, now


@dataclass(frozen=True)
class Flag:
    """A warning sign in the latest record, as a sentence with the fix."""
    kind: str                           # vanishing | exploding | dead
    layers: tuple[int, ...]             # the layers it is about (ProbedLayer.index)
    text: str


@dataclass(frozen=True)
class ConvCell:
    """One output cell of a conv layer for the recorded example, explained (engine/probes/cell.py)."""
    layer: int                     # ProbedLayer.index of the Conv2d
    label: str                     # "1 Conv2d 8@3x3"
    example: int                   # the test example the input belongs to
    map: int                       # output channel: the filter that made this map
    row: int                       # output row
    col: int                       # output column
    n_maps: int                    # the layer's output channels
    settings: ConvSettings         # stride, padding (zeros), dilation
    inputs: np.ndarray             # (C', H, W) float64 the layer's input, first MAX_CHANNELS channels
    n_in: int                      # the layer's input channels, all of them
    kernel: np.ndarray             # (C', k, k) float64 the filter's weights for those channels
    bias: float                    # the filter's bias (0.0 without one)
    fmap: np.ndarray               # (H', W') float64 the map the layer computed for the example
    cells: tuple[CellExplanation, ...]   # per input channel in `inputs`: its patch x kernel products
    channel_sums: np.ndarray       # (n_in,) float64 sum of patch x kernel per input channel, all channels
    value: float                   # the layer's own output at the cell (its dtype, as it trains)

    @property
    def total(self) -> float:
        """The cell by hand: every channel's sum of products, plus the bias."""
        return float(self.channel_sums.sum() + self.bias)


@dataclass(frozen=True)
class ProbeRecord:
    """One call of the Recorder: the inside of the network after the latest step."""
    step: int                           # the run's step count
    task: str                           # classification | regression
    layers: tuple[ProbedLayer, ...]     # (L,) every top-level layer
    param_layers: tuple[int, ...]       # (P,) layers with parameters: the columns of History
    bias_layers: tuple[int, ...]        # layers with biases
    example: Example
    activations: tuple[ActivationMap, ...]   # per layer that gave an output
    filters: tuple[Filters, ...]        # per conv layer
    history: History
    dist: dict[str, Distribution]       # KINDS -> its distribution
    percentiles: tuple[float, ...]      # PERCENTILES, the last axis of Distribution.pct
    dead: dict[int, float]              # ReLU layer index -> share of units dead on the batch
    batch: int                          # test examples the statistics and dead units are measured on
    flags: tuple[Flag, ...]             # warning signs, each a sentence with the fix
    cell: ConvCell | None = None        # the chosen conv output cell explained (None: no conv layer)
