"""Data augmentation: random changes to a training batch of images (N, C, H, W), drawn from a
torch.Generator seeded from the run's seed, so the same spec and seed give the same batches.

Each change is an exact function of its per-image parameters (`flip_where`, `shift_by`,
`affine_by`, `cutout_at`, `mixup_with`), and a drawing function picks those parameters
(`augment`). Evaluation never augments: only `engine.run.Run.step` calls `augment`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .spec import AugmentSpec

SEED_OFFSET = 2                 # the augmenter's generator: seed + 2 (dropout's is seed + 1)
CHANGES = ("flip", "shift", "rotate", "scale", "noise", "cutout", "mixup")   # in the order applied


@dataclass(frozen=True)
class Mix:
    """Mixup of a batch: each image blended with image `perm[i]` of the batch by `share`."""
    y_b: torch.Tensor           # (N, ...) the other image's target
    share: float                # weight of the image's own target, from Beta(a, a)

    def loss(self, loss_fn, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """share * loss(y) + (1 - share) * loss(y_b): mixup's loss on the mixed batch."""
        return self.share * loss_fn(out, y) + (1 - self.share) * loss_fn(out, self.y_b)


@dataclass(frozen=True)
class Batch:
    """The batch one training step saw, as loaded and as augmented (references, not copies)."""
    before: torch.Tensor        # (N, C, H, W) as the dataset holds it
    after: torch.Tensor         # (N, C, H, W) what the network was given
    y: torch.Tensor             # (N,) its targets
    mix: Mix | None             # mixup's second targets and share, if on
    step: int                   # the step that trained on it (1 = the first)


# ---------------------------------------------------------------- exact changes
def flip_where(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Images with mask[i] mirrored left to right (torch.flip on the width)."""
    return torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x)


def shift_by(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Image i moved dy[i] pixels down and dx[i] right (negative: up / left), the gap filled
    with 0: out[i, :, r, c] = x[i, :, r - dy[i], c - dx[i]]."""
    n, c, h, w = x.shape                                             # (N, C, H, W)
    s = int(max(dy.abs().max(), dx.abs().max(), 0)) if n else 0
    padded = F.pad(x, (s, s, s, s)).permute(0, 2, 3, 1)              # (N, H + 2s, W + 2s, C)
    rows = torch.arange(h, device=x.device) + s - dy.view(-1, 1)     # (N, H)
    cols = torch.arange(w, device=x.device) + s - dx.view(-1, 1)     # (N, W)
    i = torch.arange(n, device=x.device).view(-1, 1, 1)
    return padded[i, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()   # (N, C, H, W)


def affine_by(x: torch.Tensor, degrees: torch.Tensor, zoom: torch.Tensor) -> torch.Tensor:
    """Image i turned degrees[i] counter-clockwise about its centre and zoomed by zoom[i]
    (> 1: in), bilinear, the corners filled with 0 (affine_grid + grid_sample)."""
    a = degrees.to(x.dtype) * (math.pi / 180)
    cos, sin, z = torch.cos(a) / zoom, torch.sin(a) / zoom, torch.zeros_like(a)
    # output pixel p samples the input at R(a) p / zoom; with y pointing down, that turns the picture
    # counter-clockwise as it is seen (90 degrees: torch.rot90(x, 1, (-2, -1)))
    theta = torch.stack([torch.stack([cos, -sin, z], -1), torch.stack([sin, cos, z], -1)], 1)   # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def cutout_at(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, side: int) -> torch.Tensor:
    """Image i with the side x side square whose top-left pixel is (top[i], left[i]) set to 0."""
    h, w = x.shape[-2:]
    r = torch.arange(h, device=x.device).view(1, h, 1) - top.view(-1, 1, 1)
    c = torch.arange(w, device=x.device).view(1, 1, w) - left.view(-1, 1, 1)
    inside = (r >= 0) & (r < side) & (c >= 0) & (c < side)          # (N, H, W)
    return x.masked_fill(inside[:, None], 0.0)


def mixup_with(x: torch.Tensor, y: torch.Tensor, perm: torch.Tensor, share: float) -> tuple[torch.Tensor, Mix]:
    """share * x + (1 - share) * x[perm], and the Mix that weighs the two targets the same way."""
    return share * x + (1 - share) * x[perm], Mix(y[perm], share)


# ---------------------------------------------------------------- drawing
def generator(seed: int, device: torch.device) -> torch.Generator:
    """The augmenter's own random numbers, on the batch's device."""
    return torch.Generator(device).manual_seed(seed + SEED_OFFSET)


def augment(x: torch.Tensor, y: torch.Tensor, spec: AugmentSpec,
            gen: torch.Generator) -> tuple[torch.Tensor, Mix | None]:
    """The batch x (N, C, H, W) with every change the spec turns on, in CHANGES' order, each
    image's parameters drawn from `gen`; and the Mix the loss must use (None without mixup)."""
    n, dev = len(x), x.device
    uniform = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=gen, device=dev)   # (N,)
    if spec.flip:
        x = flip_where(x, torch.rand(n, generator=gen, device=dev) < spec.flip)
    if spec.rotate or spec.scale:
        x = affine_by(x, uniform(-spec.rotate, spec.rotate), 1 + uniform(-spec.scale, spec.scale))
    if spec.shift:
        dy, dx = torch.randint(-spec.shift, spec.shift + 1, (2, n), generator=gen, device=dev)
        x = shift_by(x, dy, dx)
    if spec.cutout:
        h, w = x.shape[-2:]
        side = min(spec.cutout, h, w)                 # the square sits wholly inside the image
        top = torch.randint(0, h - side + 1, (n,), generator=gen, device=dev)
        left = torch.randint(0, w - side + 1, (n,), generator=gen, device=dev)
        x = cutout_at(x, top, left, side)
    if spec.noise:
        x = x + spec.noise * torch.randn(x.shape, generator=gen, device=dev, dtype=x.dtype)
    if spec.mixup:
        perm = torch.randperm(n, generator=gen, device=dev)
        seed = int(torch.randint(0, 2**31, (1,), generator=gen, device=dev))
        share = float(np.random.default_rng(seed).beta(spec.mixup, spec.mixup))
        x, mix = mixup_with(x, y, perm, share)
        return x, mix
    return x, None


def problems(spec: AugmentSpec, input_shape: tuple[int, ...], token_input: bool = False) -> list[str]:
    """Why these augmentation settings cannot train on inputs of this shape (empty = fine)."""
    if not spec.active:
        return []
    on = ", ".join(name for name in CHANGES if getattr(spec, name))
    if len(input_shape) != 3 or token_input:
        return [f"augment: augmentation ({on}) changes images, and these inputs are not images (each example is shaped "
                f"{tuple(input_shape)}); set every augmentation to 0 or pick an image dataset (MNIST, 8x8 digits, "
                "shapes)"]
    h, w = input_shape[1:]
    out = []
    if spec.cutout >= min(h, w):
        out.append(f"augment.cutout: a {spec.cutout}-pixel square blanks the whole {h}x{w} image; pick a side "
                   f"under {min(h, w)} (a quarter of the image, {max(1, min(h, w) // 2)}, is usual)")
    if spec.shift >= min(h, w):
        out.append(f"augment.shift: moving a {h}x{w} image {spec.shift} pixels can push it out of the frame; "
                   f"pick under {min(h, w)} (2-3 pixels is usual)")
    return out
