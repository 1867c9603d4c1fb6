"""The Autoencoders page's live views: what an AutoencoderRun (engine/tasks/autoencoder.py) does,
as records (engine/records.py) the page draws, and `decode_point`, the decoding of a plane point
the user picks. Read-only: the networks are evaluated, never stepped.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from .records import AeLatent, AeReconstructions, AeTraversal

SHOWN = 10                   # test examples rebuilt
POINTS = 1000                # test codes on the plane
GRID = 12                    # decoded images on the plane: GRID x GRID
GRID_REACH = 0.98            # the grid spans the middle 96% of the codes on each axis
TRAVERSED = 6                # code numbers traversed ...
STEPS = 9                    # ... in this many steps each


def _is_autoencoder(run: Any) -> bool:
    return hasattr(run, "encoder") and hasattr(run, "decode")


def _is_image(run: Any) -> bool:
    return len(run.shape) == 3 and run.shape[0] == 1


def to_image(run: Any, x: torch.Tensor) -> np.ndarray:
    """Examples (B, 1, H, W) -> (B, H, W) float32 in [0, 1], on the training data's value range."""
    lo, hi = float(run.data.x_train.min()), float(run.data.x_train.max())
    return ((x.cpu().numpy()[:, 0] - lo) / max(hi - lo, 1e-9)).clip(0, 1).astype(np.float32)


def shown_examples(run: Any, n: int = SHOWN) -> np.ndarray:
    """Indices of the test examples shown: the first of each class, then the next ones."""
    y = run.data.y_test if run.labelled else np.zeros(len(run.data.x_test), np.int64)
    first = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)][:n]
    rest = [i for i in range(len(y)) if i not in first][:n - len(first)]
    return np.array(first + rest)


def reconstructions(run: Any) -> AeReconstructions | None:
    """Fixed test images next to their reconstructions (image data only)."""
    if not _is_autoencoder(run) or not _is_image(run):
        return None
    idx = shown_examples(run)
    x = run.x_test[torch.as_tensor(idx, device=run.device)]
    with torch.no_grad():
        run.encoder.eval(), run.decoder.eval()
        losses = run.losses(x, sample=False)[0]
    out = run.decode(run.codes(x))
    names = run.data.class_names
    labels = tuple(names[int(run.data.y_test[i])] if run.labelled else "" for i in idx)
    return AeReconstructions(run.step_count, to_image(run, x), to_image(run, out), labels,
                             losses.cpu().numpy().astype(np.float32))


def _plane(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
    """(centre, axes (2, dim), explained): the code itself for 1 or 2 numbers, else its PCA plane."""
    dim = codes.shape[1]
    if dim <= 2:
        axes = np.eye(2, dim, dtype=np.float32)
        return np.zeros(dim, np.float32), axes, None
    centre = codes.mean(0)
    _, s, vt = np.linalg.svd(codes - centre, full_matrices=False)
    share = s ** 2 / max(float((s ** 2).sum()), 1e-12)
    return centre.astype(np.float32), vt[:2].astype(np.float32), (float(share[0]), float(share[1]))


def latent(run: Any) -> AeLatent | None:
    """Every test example (up to POINTS) as a point of the code plane, with the decoded grid."""
    if not _is_autoencoder(run):
        return None
    codes = run.codes(run.x_test[:POINTS]).cpu().numpy().astype(np.float32)
    centre, axes, explained = _plane(codes)
    points = (codes - centre) @ axes.T                                   # (N, 2)
    lo, hi = np.quantile(points, 1 - GRID_REACH, 0), np.quantile(points, GRID_REACH, 0)
    hi = np.maximum(hi, lo + 1e-3)
    u, v = (np.linspace(lo[i], hi[i], GRID, dtype=np.float32) for i in range(2))
    if codes.shape[1] == 1:
        v = np.zeros(1, np.float32)
    grid = None
    if _is_image(run):
        uu, vv = np.meshgrid(u, v)                                       # row = v, column = u
        plane = np.stack([uu.ravel(), vv.ravel()], 1)
        images = to_image(run, run.decode(torch.as_tensor(centre + plane @ axes, device=run.device)))
        grid = images.reshape(len(v), len(u), *images.shape[1:])
    labels = run.data.y_test[:POINTS] if run.labelled else np.zeros(len(points), np.int64)
    return AeLatent(run.step_count, codes.shape[1], points.astype(np.float32), labels.astype(np.int64),
                    tuple(run.data.class_names), centre, axes, explained, u, v, grid)


def traversal(run: Any) -> AeTraversal | None:
    """The first TRAVERSED code numbers, each from mean - 2 std to mean + 2 std of the test codes,
    the others at their mean (image data only)."""
    if not _is_autoencoder(run) or not _is_image(run):
        return None
    codes = run.codes(run.x_test[:POINTS])
    mean, std = codes.mean(0), codes.std(0).clamp_min(1e-3)
    dims = tuple(range(min(TRAVERSED, codes.shape[1])))
    t = torch.linspace(-2, 2, STEPS, device=run.device)
    values = torch.stack([mean[d] + t * std[d] for d in dims])           # (D, S)
    z = mean.repeat(len(dims) * STEPS, 1)
    for i, d in enumerate(dims):
        z[i * STEPS:(i + 1) * STEPS, d] = values[i]
    images = to_image(run, run.decode(z))
    return AeTraversal(run.step_count, dims, values.cpu().numpy().astype(np.float32),
                       images.reshape(len(dims), STEPS, *images.shape[1:]))


def decode_point(run: Any, rec: AeLatent, u: float, v: float) -> np.ndarray:
    """What the decoder makes of the plane point (u, v) of `rec`: (H, W) float32 in [0, 1] for
    images, else the rebuilt values (F,). For a run that is not training (the page calls it on
    the paused run)."""
    z = rec.centre + np.array([u, v], np.float32)[:rec.axes.shape[0]] @ rec.axes
    out = run.decode(torch.as_tensor(z[None], dtype=torch.float32, device=run.device))
    return to_image(run, out)[0] if _is_image(run) else out.cpu().numpy()[0]


def code_of(rec: AeLatent, u: float, v: float) -> Sequence[float]:
    """The code of plane point (u, v)."""
    return (rec.centre + np.array([u, v], np.float32) @ rec.axes).tolist()


def autoencoder_views() -> dict:
    return {"reconstructions": reconstructions, "latent": latent, "traversal": traversal}
