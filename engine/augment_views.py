"""The Overfitting & augmentation page's views: the exact batch a run trained on, before and after
augmentation (from the Run's last step), and a preview of the first batch a spec's run will see."""
from __future__ import annotations

import numpy as np
import torch

from .augment import Batch, Mix, augment, generator
from .data import Dataset
from .records import AugmentedBatch
from .spec import AugmentSpec, RunSpec

N_SHOWN = 16                    # images of a batch the page draws


def describe(spec: AugmentSpec) -> tuple[str, ...]:
    """The changes a spec turns on, in words with their sizes."""
    parts = {"flip": f"flip {spec.flip:.0%} of images", "shift": f"shift ±{spec.shift} px",
             "rotate": f"rotate ±{spec.rotate:g}°", "scale": f"zoom ±{spec.scale:.0%}",
             "noise": f"noise σ {spec.noise:g}", "cutout": f"cutout {spec.cutout}×{spec.cutout} px",
             "mixup": f"mixup Beta({spec.mixup:g}, {spec.mixup:g})"}
    return tuple(text for name, text in parts.items() if getattr(spec, name))


def _display(before: torch.Tensor, after: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(K, C, H, W) pairs -> (K, H, W) or (K, H, W, 3) in [0, 1], both on the scale of `before`."""
    b, a = before.detach().float().cpu().numpy(), after.detach().float().cpu().numpy()
    lo, hi = float(b.min()), float(b.max())
    scale = (hi - lo) or 1.0
    b, a = (b - lo) / scale, np.clip((a - lo) / scale, 0.0, 1.0)
    if b.shape[1] == 1:
        return b[:, 0], a[:, 0]
    return np.transpose(b[:, :3], (0, 2, 3, 1)), np.transpose(a[:, :3], (0, 2, 3, 1))


def _labels(y: torch.Tensor, mix: Mix | None, names: list[str], k: int) -> tuple[str, ...]:
    name = lambda i: names[i] if 0 <= i < len(names) else str(i)
    ys = y[:k].tolist()
    if mix is None:
        return tuple(name(i) for i in ys)
    return tuple(f"{name(i)} · {mix.share:.0%} + {name(j)} · {1 - mix.share:.0%}"
                 for i, j in zip(ys, mix.y_b[:k].tolist()))


def record(batch: Batch, spec: AugmentSpec, class_names: list[str], k: int = N_SHOWN) -> AugmentedBatch:
    before, after = _display(batch.before[:k], batch.after[:k])
    return AugmentedBatch(batch.step, before.astype(np.float32), after.astype(np.float32),
                          _labels(batch.y, batch.mix, class_names, k), describe(spec))


def batch_view(run) -> AugmentedBatch | None:
    """The batch the run's last step trained on (None before the first step or without augmentation)."""
    batch = getattr(run, "last_batch", None)
    if batch is None:
        return None
    return record(batch, run.spec.augment, run.data.class_names)


def preview(spec: RunSpec, data: Dataset, k: int = N_SHOWN) -> AugmentedBatch | None:
    """The first batch a run of `spec` on `data` trains on, drawn as engine.run.Run draws it (the
    same order and augmenter seeds), on the CPU; None for data that are not images."""
    if data.x_train.ndim != 4:
        return None
    n = len(data.x_train)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(spec.seed))[:min(spec.batch_size, n)]
    x, y = torch.as_tensor(data.x_train)[order], torch.as_tensor(data.y_train)[order]
    after, mix = (augment(x, y, spec.augment, generator(spec.seed, torch.device("cpu")))
                  if spec.augment.active else (x, None))
    return record(Batch(x, after, y, mix, 1), spec.augment, data.class_names, k)
