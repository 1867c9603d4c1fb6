"""A digit drawn on a canvas or photographed, prepared the way MNIST's digits were: the ink's
bounding box scaled (keeping its aspect) into a 20x20 box, placed on a 28x28 field with its
centre of mass in the middle (LeCun et al.'s description of how MNIST was made). Numpy and
Pillow only; the model sees exactly the array `mnist_like` returns, in [0, 1], ink high."""
from __future__ import annotations

import base64
import io

import numpy as np

INK = 0.1                   # a pixel counts as ink above this
BOX, FIELD = 20, 28
MAX_DRAWING_BYTES = 2_000_000


class DigitError(ValueError):
    """A drawing or photo that cannot be read; the message says why."""


def mnist_like(img: np.ndarray) -> np.ndarray:
    """(H, W) grey values in [0, 1], ink high -> (28, 28) float32 as MNIST's digits are; all zeros
    when there is no ink."""
    from PIL import Image
    a = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
    rows, cols = np.flatnonzero((a > INK).any(1)), np.flatnonzero((a > INK).any(0))
    if not len(rows):
        return np.zeros((FIELD, FIELD), np.float32)
    crop = a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS), np.float32)
    small = np.clip(small, 0.0, 1.0)
    out = np.zeros((FIELD, FIELD), np.float32)
    top, left = (FIELD - small.shape[0]) // 2, (FIELD - small.shape[1]) // 2
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    cy, cx = center_of_mass(out)
    dy, dx = int(round(FIELD / 2 - cy)), int(round(FIELD / 2 - cx))       # MNIST: at (14, 14)
    return _shift(out, dy, dx)


def center_of_mass(a: np.ndarray) -> tuple[float, float]:
    total = float(a.sum())
    if total == 0:
        return (a.shape[0] - 1) / 2, (a.shape[1] - 1) / 2
    ys, xs = np.indices(a.shape)
    return float((ys * a).sum() / total), float((xs * a).sum() / total)


def _shift(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`a` moved by (dy, dx) pixels, zeros coming in (nothing wraps around)."""
    out = np.zeros_like(a)
    h, w = a.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = a[ys, xs]
    return out


def read_drawing(data_url: str) -> np.ndarray:
    """The canvas's PNG data URL as (H, W) grey values in [0, 1] (white ink on black)."""
    from PIL import Image, UnidentifiedImageError
    head, _, body = data_url.partition(",")
    if not head.startswith("data:image/png;base64") or len(body) > MAX_DRAWING_BYTES * 4 // 3:
        raise DigitError("the drawing did not arrive as a PNG image of at most 2 MB; draw again")
    try:
        with Image.open(io.BytesIO(base64.b64decode(body, validate=True))) as im:
            too_big = im.width * im.height > 4_000_000
            img = None if too_big else np.asarray(im.convert("L"), np.float32) / 255.0
    except (ValueError, UnidentifiedImageError, OSError) as e:
        raise DigitError(f"the drawing could not be decoded ({type(e).__name__}); draw again") from None
    if too_big:
        raise DigitError("the drawing is larger than 2,000 x 2,000 pixels")
    return img


def from_photo(gray: np.ndarray) -> np.ndarray:
    """A photo of a digit on paper (dark ink on a light page, grey values in [0, 1]) as ink-high
    values with the paper at 0: inverted when the page is lighter than the ink, then stretched so
    the paper's brightness (the median) is 0 and the darkest ink 1."""
    a = np.asarray(gray, np.float32)
    if np.median(a) > 0.5:
        a = 1.0 - a
    paper, ink = float(np.median(a)), float(a.max())
    return np.clip((a - paper) / max(ink - paper, 1e-6), 0.0, 1.0)


def model_input(digit: np.ndarray, preprocessing: str) -> np.ndarray:
    """The (1, 1, 28, 28) array a run trained on MNIST with this preprocessing receives for a
    `mnist_like` digit (ink in [0, 1], as pixel / 255)."""
    scaled = {"unit": digit, "auto": digit, "symmetric": digit * 2 - 1, "none": digit * 255.0}
    if preprocessing not in scaled:
        raise DigitError(f"this run standardised its inputs with its training set's statistics "
                         f"(preprocessing {preprocessing}); pick a run trained with auto, unit or symmetric")
    return scaled[preprocessing].astype(np.float32)[None, None]


def explain(model, x: np.ndarray) -> dict:
    """The model's view of one digit: class probabilities, a saliency map (|d logit / d pixel| of
    the predicted class, scaled to [0, 1]) and each layer's output for it."""
    import torch
    model = model.eval()
    t = torch.as_tensor(x, dtype=torch.float32).requires_grad_(True)
    outs, h = [], t
    for layer in model:
        h = layer(h)
        outs.append(h.detach()[0].numpy())
    probs = torch.softmax(h[0], -1)
    pred = int(probs.argmax())
    h[0, pred].backward()
    sal = t.grad[0, 0].abs().numpy()
    return {"probs": probs.detach().numpy(), "pred": pred, "saliency": sal / max(float(sal.max()), 1e-12),
            "layers": outs}
