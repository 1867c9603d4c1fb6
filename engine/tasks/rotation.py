"""Rotation prediction (Gidaris et al. 2018): a self-supervised pretext task that needs no labels.

Every image is shown turned by 0, 90, 180 and 270 degrees (torch.rot90) and the network learns to
say which of the four turns it sees: to tell an upright 6 from a turned 9 it must learn what
digits look like, and those features then serve a classifier trained on few labels
(engine/transfer.py, engine/few_labels.py). The dataset's own labels are never read.

It is `engine.run.Run` (the plain loop, its speed paths and views) on the rotated dataset:
4 examples per image, image by image, so every batch and every evaluation sees the four turns
alike; train_acc and test_acc are the share of turns told right.
"""
from __future__ import annotations

import numpy as np
import torch

from ..build import check as stack_check
from ..data import Dataset
from ..spec import MAIN, LayerSpec, RunSpec
from . import Score, Task, register

TASK = "rotation"
TURNS = ["0°", "90°", "180°", "270°"]          # the four classes: quarter turns counter-clockwise


def rotations(data: Dataset) -> Dataset:
    """Each image at the four turns, labelled 0-3 by its turn, in image order (image 0 at 0, 90,
    180, 270 degrees, then image 1 ...); the class labels are dropped."""
    def turn(x: np.ndarray) -> np.ndarray:                       # (N, C, H, W) -> (4N, C, H, W)
        t = torch.from_numpy(np.ascontiguousarray(x))
        return torch.stack([torch.rot90(t, k, (2, 3)) for k in range(4)], 1).flatten(0, 1).numpy()
    labels = lambda n: np.tile(np.arange(4, dtype=np.int64), n)
    return Dataset(turn(data.x_train), labels(len(data.x_train)), turn(data.x_test), labels(len(data.x_test)),
                   "classification", list(TURNS))


def is_rotated(data: Dataset) -> bool:
    return data.class_names == TURNS


def _check(spec: RunSpec, data: Dataset) -> list[str]:
    from ..transfer import check as transfer_check
    shape = data.input_shape
    if len(shape) != 3 or shape[1] != shape[2] or data.token_input:
        return [f"data: rotation prediction turns square images, but {spec.data.name} gives inputs of shape "
                f"{shape}; pick an image dataset (MNIST digits, 8x8 digits, shapes)"]
    n = len(data.x_train) * (1 if is_rotated(data) else 4)
    found = stack_check(spec.with_(task="classification"), shape, len(TURNS), "classification", n, tokens=False)
    return found or transfer_check(spec, shape)


def _build(spec: RunSpec, data: Dataset, device: torch.device):
    from ..run import Run
    return Run(spec, data if is_rotated(data) else rotations(data), device)


def default_layers(data: Dataset, group: str) -> dict[str, tuple[LayerSpec, ...]]:
    """The supervised default CNN with four outputs, one per turn."""
    from .supervised import default_layers as supervised_layers
    layers = supervised_layers(data, group)
    return {MAIN: (*layers[:-1], LayerSpec.make("linear", units=len(TURNS)))}


def _views():
    from ..views import playground_views
    return playground_views()


def _export(spec: RunSpec) -> str:
    from ..export import supervised_script
    script = supervised_script(spec.with_(task="classification"))
    load = "x_train, y_train, x_test, y_test = (torch.as_tensor(a) for a in load_data())\n"
    turn = ("\n\ndef rotations(x):\n"
            "    \"\"\"Rotation prediction: every image at 0, 90, 180, 270 degrees; the label is the turn.\"\"\"\n"
            "    x = torch.stack([torch.rot90(x, k, (2, 3)) for k in range(4)], 1).flatten(0, 1)\n"
            "    return x, torch.arange(4).repeat(len(x) // 4)\n\n\n"
            "(x_train, y_train), (x_test, y_test) = rotations(x_train), rotations(x_test)   # no class labels used\n")
    return script.replace(load, load + turn, 1)


register(Task(TASK, "Rotation prediction (self-supervised)",
              "Each image is turned by 0, 90, 180 or 270 degrees and the network says which: no labels needed; "
              "its features then help a classifier that has only a few.", "classification", _build, _check,
              default_layers, views=_views, export=_export,
              score=Score("acc", "rotation accuracy", True, "Share of turned images whose turn the network "
                          "tells right (25% is guessing).")))
