"""Playground views: read-only functions Run -> a typed record (engine/records.py) that the
trainer's worker calls at a bounded rate (~3 Hz) and publishes in its snapshots.

- boundary: the model's output over the input plane of 2-D data (decision boundary or
  regression surface) plus the train/test points.
- neurons:  for an MLP on 2-D data, what every hidden unit computes over a coarse grid,
  laid out by layer, with the Linear weights between layers (TensorFlow Playground's picture).
- images:   for image data, a fixed set of test images with predicted and true labels.

Each view returns None when it does not apply, and must stay cheap and side-effect free:
eval mode, no_grad, no RNG. Other modules may add entries to `playground_views()`.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .data.synthetic import featurize
from .layers import LAYERS
from .probes import Recorder
from .records import Boundary, Column, Images, Neurons
from .run import Run

BOUNDARY_GRID = 60           # boundary heatmap: 60 x 60 points
NEURON_GRID = 24             # per-neuron heatmaps: 24 x 24 points
MAX_NEURONS_PER_LAYER = 16   # wider MLPs are not drawn neuron by neuron
N_IMAGES = 16

View = Callable[[Run], Any]


@functools.lru_cache(maxsize=16)
def plane_grid(extent: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Axis values (n,) and the (n*n, 2) raw points of an n x n grid over [-extent, extent]^2,
    row-major with x1 varying fastest (so z.reshape(n, n)[row=x2, col=x1])."""
    axis = np.linspace(-extent, extent, n, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)
    return axis, np.stack([xx.ravel(), yy.ravel()], 1)


def _is_2d(run: Run) -> bool:
    return run.data.points_train is not None


# ---------------------------------------------------------------- boundary
def boundary_view(run: Run) -> Boundary | None:
    """Model output over the plane: P(class 1) for two classes, the argmax class for more,
    the predicted value for regression; with the raw train/test points and labels."""
    if not _is_2d(run):
        return None
    d = run.data
    axis, pts = plane_grid(float(d.extent), BOUNDARY_GRID)
    out = run.predict_proba(featurize(pts, tuple(d.feature_names)))     # (G*G, C) or (G*G, T)
    n = BOUNDARY_GRID
    if run.spec.task == "regression":
        kind, z = "regression", out[:, 0]
    elif out.shape[1] == 2:
        kind, z = "probability", out[:, 1]
    else:
        kind, z = "class", out.argmax(1).astype(np.float32)
    return Boundary(kind=kind, axis=axis, z=z.reshape(n, n).astype(np.float32), extent=float(d.extent),
                    n_classes=len(d.class_names), points_train=d.points_train, y_train=_labels(d.y_train),
                    points_test=d.points_test, y_test=_labels(d.y_test))


def _labels(y: np.ndarray) -> np.ndarray:
    return y[:, 0] if y.ndim == 2 else y


# ---------------------------------------------------------------- neurons
_PASS_THROUGH = ("activation", "regularisation")    # kinds that stay inside one "neuron"


def mlp_blocks(run: Run) -> list[tuple[int, int]] | None:
    """[(first, last)] module indices of each Linear block (a Linear and the activations /
    dropout / batchnorm after it), or None when the stack is not a plain small MLP."""
    layers = run.spec.layers
    blocks: list[tuple[int, int]] = []
    for i, layer in enumerate(layers):
        group = LAYERS[layer.kind].group
        if layer.kind == "linear":
            if layer.params["units"] > MAX_NEURONS_PER_LAYER:
                return None
            blocks.append((i, i))
        elif group in _PASS_THROUGH and blocks:
            blocks[-1] = (blocks[-1][0], i)
        elif group in _PASS_THROUGH:
            continue                                   # an activation on the inputs: odd but fine
        else:
            return None
    return blocks or None


@torch.no_grad()
def neurons_view(run: Run) -> Neurons | None:
    """Every unit's output over a coarse grid, column by column: the input features, each
    hidden block (after its activation) and the output; plus the Linear weights between."""
    if not _is_2d(run):
        return None
    blocks = mlp_blocks(run)
    if blocks is None:
        return None
    d = run.data
    n = NEURON_GRID
    axis, pts = plane_grid(float(d.extent), n)
    x = torch.as_tensor(featurize(pts, tuple(d.feature_names)), device=run.device)   # (G*G, F)
    model: nn.Sequential = run.model
    model.eval()
    columns = [Column("input", tuple(d.feature_names), x.T.reshape(-1, n, n).cpu().numpy())]
    weights, biases = [], []
    h, start = x, 0
    for b, (first, last) in enumerate(blocks):
        for m in model[start:last + 1]:
            h = m(h)                                                          # (G*G, units)
        start = last + 1
        lin: nn.Linear = model[first]
        weights.append(lin.weight.detach().cpu().numpy().copy())            # (out, in)
        biases.append(None if lin.bias is None else lin.bias.detach().cpu().numpy().copy())
        is_out = b == len(blocks) - 1
        columns.append(Column("output" if is_out else f"hidden {b + 1}",
                              tuple(f"{'out' if is_out else f'h{b + 1}'}.{u + 1}" for u in range(h.shape[1])),
                              h.T.reshape(-1, n, n).cpu().numpy()))
    return Neurons(axis=axis, extent=float(d.extent), columns=tuple(columns), weights=tuple(weights),
                   biases=tuple(biases), layers=tuple(first for first, _ in blocks))


# ---------------------------------------------------------------- images
def _display(img: np.ndarray) -> np.ndarray:
    """(C, H, W) preprocessed values -> (H, W) or (H, W, 3) in [0, 1] for drawing."""
    lo, hi = float(img.min()), float(img.max())
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img[0] if img.shape[0] == 1 else np.transpose(img[:3], (1, 2, 0))


def images_view(run: Run) -> Images | None:
    """The first N_IMAGES test images with true label, predicted label and its probability."""
    d = run.data
    if d.x_test.ndim != 4:
        return None
    x = d.x_test[:N_IMAGES]                                              # (K, C, H, W)
    proba = run.predict_proba(x)                                         # (K, classes)
    pred = proba.argmax(1)
    return Images(images=np.stack([_display(i) for i in x]).astype(np.float32),
                  true=tuple(d.y_test[:N_IMAGES].tolist()), pred=tuple(pred.tolist()),
                  confidence=tuple(proba[np.arange(len(pred)), pred].tolist()), class_names=tuple(d.class_names))


def playground_views() -> dict[str, View]:
    """The views the Playground's trainer computes; other modules may add entries."""
    return {"boundary": boundary_view, "neurons": neurons_view, "images": images_view,
            "probes": Recorder()}                     # "Inside the network" page: one per trainer
