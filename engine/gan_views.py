"""The GAN lab's live views: what a GanRun (engine/tasks/gan.py) is doing, as records
(engine/records.py) the page draws. Read-only: the networks are evaluated, never stepped,
and the gradients the generator's arrows show are taken with respect to the samples alone.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .data.targets import modes_of
from .records import GanImages, GanPlane

GRID = 60                    # the discriminator's heatmap: GRID x GRID points
POINTS = 400                 # real and generated points drawn
LATENT_LINES = 9             # the noise grid: this many lines each way ...
LATENT_POINTS = 40           # ... of this many points each
SAMPLES = 32                 # image samples shown
WALK = 9                     # frames of the walk between two noise vectors


def _is_gan(run: Any) -> bool:
    return hasattr(run, "generate") and hasattr(run, "fixed_noise")


def plane(run: Any) -> GanPlane | None:
    """Real and generated points, the discriminator's output over the plane, the generator's
    push on its samples and its warped noise grid (2-D data only)."""
    if not _is_gan(run) or run.shape != (2,):
        return None
    extent = float(run.data.extent)
    axis = np.linspace(-extent, extent, GRID, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)
    grid = torch.as_tensor(np.stack([xx.ravel(), yy.ravel()], 1), device=run.device)
    scores = run.scores(grid).reshape(GRID, GRID)
    fake = run.samples()[:POINTS]
    x = fake.detach().clone().requires_grad_(True)                # the push: -d(generator loss)/d(sample)
    run.D.eval()
    grad, = torch.autograd.grad(run.loss.g(run.D(x).squeeze(-1)) * len(x), x)
    return GanPlane(run.step_count, extent, axis, scores.cpu().numpy(), "P(real)" if run.loss.probability else "score",
                    run.eval_real[:POINTS].cpu().numpy(), fake.cpu().numpy(), (-grad).cpu().numpy(),
                    latent_lines(run), modes_of(run.spec.data.name))


def latent_lines(run: Any) -> tuple[np.ndarray, ...]:
    """Lines of a grid over the first two noise dimensions (the others 0; within 2 standard
    deviations for gaussian noise, the whole cube for uniform), mapped through the generator."""
    dim, reach = run.spec.gan.latent_dim, 2.0 if run.spec.gan.noise == "gaussian" else 1.0
    t = torch.linspace(-reach, reach, LATENT_POINTS)
    levels = torch.linspace(-reach, reach, LATENT_LINES)
    lines = []
    for axis in range(min(dim, 2)):
        for level in levels if dim >= 2 else levels[LATENT_LINES // 2:LATENT_LINES // 2 + 1]:
            z = torch.zeros(LATENT_POINTS, dim)
            z[:, axis] = t
            if dim >= 2:
                z[:, 1 - axis] = level
            lines.append(z)
    out = run.samples(torch.cat(lines).to(run.device)).cpu().numpy()
    return tuple(out.reshape(len(lines), LATENT_POINTS, 2))


def images(run: Any) -> GanImages | None:
    """Samples from fixed noise (with a digit classifier's reading of each) and a walk from one
    noise vector to another (image data only)."""
    if not _is_gan(run) or len(run.shape) != 3:
        return None
    lo, hi = float(run.data.x_train.min()), float(run.data.x_train.max())
    to_image = lambda x: ((x.cpu().numpy()[:, 0] - lo) / max(hi - lo, 1e-9)).clip(0, 1).astype(np.float32)
    fake = run.samples()[:SAMPLES]
    labels: tuple[str, ...] = ()
    if run.judge is not None:
        p = run.judge.predict_proba(fake.flatten(1).cpu().numpy())
        names = run.data.class_names
        labels = tuple(f"{names[k]} · {q:.0%}" for k, q in zip(p.argmax(1), p.max(1)))
    a, b = run.fixed_noise[0], run.fixed_noise[1]
    w = torch.linspace(0, 1, WALK, device=run.device)[:, None]
    walk = run.samples((1 - w) * a + w * b)
    return GanImages(run.step_count, to_image(fake), labels, to_image(walk))


def gan_views() -> dict:
    return {"plane": plane, "images": images}
