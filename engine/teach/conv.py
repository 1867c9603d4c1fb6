"""Convolution and pooling, one output cell at a time.

The feature maps come from torch.nn.functional (conv2d, max_pool2d, avg_pool2d); the cell
explanations rebuild one output value from its receptive field, number by number, so a
page can show the sum of products that the library computed. Images are (H, W) float
arrays in [0, 1]; everything is computed in float64 so the written-out sums match.
Like every deep-learning library, "convolution" here is cross-correlation: the kernel is
slid over the image as it is, not flipped.
"""
from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

PAD_MODES = ("zeros", "reflect")
POOL_KINDS = ("max", "avg")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024      # uploads larger than 5 MB are refused
MAX_UPLOAD_PIXELS = 25_000_000          # and images with more pixels (decompression bombs)


class ConvError(ValueError):
    """Settings or an input that cannot be used; the message says what to change."""


# ---------------------------------------------------------------- kernels
@dataclass(frozen=True)
class Kernel:
    name: str
    label: str
    weights: tuple[tuple[float, ...], ...]   # (k, k)
    help: str

    def array(self) -> np.ndarray:
        return np.array(self.weights, dtype=np.float64)   # (k, k)


def _k(rows: list[list[float]], scale: float = 1.0) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(v * scale for v in r) for r in rows)


KERNELS: dict[str, Kernel] = {k.name: k for k in [
    Kernel("identity", "Identity", _k([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
           "Copies the centre pixel: the output equals the input (a sanity check)."),
    Kernel("box_blur", "Box blur", _k([[1, 1, 1], [1, 1, 1], [1, 1, 1]], 1 / 9),
           "Averages the 3x3 neighbourhood: smooths noise and edges."),
    Kernel("gaussian_blur", "Gaussian blur", _k([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16),
           "A weighted average that trusts the centre most: a softer blur than the box."),
    Kernel("sharpen", "Sharpen", _k([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
           "Centre minus its neighbours, added back to the pixel: edges get crisper."),
    Kernel("sobel_x", "Sobel x (vertical edges)", _k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
           "Right minus left: large where brightness changes from left to right (vertical edges)."),
    Kernel("sobel_y", "Sobel y (horizontal edges)", _k([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
           "Below minus above: large where brightness changes from top to bottom (horizontal edges)."),
    Kernel("laplacian", "Laplacian", _k([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
           "Neighbours minus four times the centre: zero on flat areas, strong on edges and dots."),
    Kernel("emboss", "Emboss", _k([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
           "Bottom-right minus top-left: the image looks lit from one side, like a relief."),
]}
CUSTOM_SIZES = (3, 5)


def parse_kernel(text: str, size: int) -> np.ndarray:
    """A custom kernel typed as `size` lines of `size` numbers (spaces or commas; fractions
    like 1/9 allowed). Raises ConvError saying which line is wrong."""
    rows = [r for r in text.strip().splitlines() if r.strip()]
    if len(rows) != size:
        raise ConvError(f"the custom kernel needs {size} lines of {size} numbers; it has {len(rows)} lines")
    out = np.zeros((size, size))
    for i, row in enumerate(rows):
        cells = row.replace(",", " ").split()
        if len(cells) != size:
            raise ConvError(f"line {i + 1} of the kernel has {len(cells)} numbers; it needs {size}")
        for j, cell in enumerate(cells):
            out[i, j] = _number(cell, i, j)
    return out


def _number(cell: str, i: int, j: int) -> float:
    try:
        if "/" in cell:
            num, den = cell.split("/", 1)
            value = float(num) / float(den)
        else:
            value = float(cell)
    except (ValueError, ZeroDivisionError):
        raise ConvError(f"'{cell}' (line {i + 1}, number {j + 1}) is not a number; "
                        "write numbers like 1, -0.5 or 1/9") from None
    if not math.isfinite(value):
        raise ConvError(f"'{cell}' (line {i + 1}, number {j + 1}) is not a finite number")
    return value


def kernel_text(k: np.ndarray) -> str:
    """The inverse of parse_kernel: one line per row, for prefilling the editor."""
    return "\n".join(" ".join(f"{v:g}" for v in row) for row in k)


# ---------------------------------------------------------------- output size
@dataclass(frozen=True)
class ConvSettings:
    stride: int = 1         # step between neighbouring output cells, in input pixels
    padding: int = 0        # pixels added on every side before sliding
    pad_mode: str = "zeros" # zeros | reflect (mirror the image at its border)
    dilation: int = 1       # gap between kernel taps; 2 = every other pixel


def output_size(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """out = floor((in + 2p - d(k-1) - 1) / s) + 1, the formula in torch's Conv2d docs."""
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def output_size_formula(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> str:
    """The formula with the numbers filled in, e.g.
    'floor((28 + 2·1 − 1·(3 − 1) − 1) / 1) + 1 = floor(27 / 1) + 1 = 28'."""
    top = n + 2 * padding - dilation * (k - 1) - 1
    return (f"floor(({n} + 2·{padding} − {dilation}·({k} − 1) − 1) / {stride}) + 1"
            f" = floor({top} / {stride}) + 1 = {output_size(n, k, stride, padding, dilation)}")


def check(shape: tuple[int, int], k: int, s: ConvSettings) -> list[str]:
    """What is wrong with these settings for an image of `shape` (H, W), as sentences."""
    problems = []
    if s.stride < 1 or s.dilation < 1 or s.padding < 0:
        problems.append("stride and dilation must be at least 1 and padding at least 0")
        return problems
    if s.pad_mode not in PAD_MODES:
        problems.append(f"padding mode must be one of {PAD_MODES}")
    if s.pad_mode == "reflect" and s.padding >= min(shape):
        problems.append(f"reflect padding mirrors the image, so it must be smaller than the image "
                        f"({min(shape)} pixels): lower the padding or use zeros")
    span = s.dilation * (k - 1) + 1
    if min(output_size(n, k, s.stride, s.padding, s.dilation) for n in shape) < 1:
        problems.append(f"the dilated kernel spans {span} pixels, more than the padded image "
                        f"({min(shape) + 2 * s.padding}): lower the dilation or kernel size, or add padding")
    return problems


# ---------------------------------------------------------------- convolution
def pad(image: np.ndarray, padding: int, mode: str = "zeros") -> np.ndarray:
    """The image with `padding` pixels on each side: zeros, or the image mirrored (reflect)."""
    if padding == 0:
        return np.asarray(image, dtype=np.float64)
    t = torch.as_tensor(np.asarray(image, dtype=np.float64))[None, None]   # (1, 1, H, W)
    mode_ = "constant" if mode == "zeros" else "reflect"
    return F.pad(t, (padding,) * 4, mode=mode_)[0, 0].numpy()


def convolve(image: np.ndarray, kernel: np.ndarray, s: ConvSettings = ConvSettings(),
             relu: bool = False) -> np.ndarray:
    """The feature map F.conv2d computes (no bias), optionally through ReLU. (H, W) -> (H', W')."""
    problems = check(image.shape, kernel.shape[0], s)
    if problems:
        raise ConvError("; ".join(problems))
    x = torch.as_tensor(pad(image, s.padding, s.pad_mode))[None, None]      # (1, 1, H+2p, W+2p)
    w = torch.as_tensor(np.asarray(kernel, dtype=np.float64))[None, None]   # (1, 1, k, k)
    y = F.conv2d(x, w, stride=s.stride, dilation=s.dilation)               # (1, 1, H', W')
    if relu:
        y = F.relu(y)
    return y[0, 0].numpy()


@dataclass(frozen=True)
class Term:
    """One product in the sum for an output cell."""
    ki: int              # kernel row
    kj: int              # kernel column
    row: int             # input row (negative or >= H: a padding pixel)
    col: int             # input column
    value: float         # input pixel (after padding)
    weight: float        # kernel weight
    padded: bool         # True if this pixel is padding, not part of the image

    @property
    def product(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True)
class CellExplanation:
    row: int                      # output row
    col: int                      # output column
    terms: tuple[Term, ...]       # k*k products, kernel row by row
    relu: bool

    @property
    def total(self) -> float:
        """The sum of products: the output value before ReLU (there is no bias)."""
        return float(sum(t.product for t in self.terms))

    @property
    def value(self) -> float:
        """The value in the feature map: the total, through ReLU if it is on."""
        return max(self.total, 0.0) if self.relu else self.total

    def equation(self, digits: int = 2) -> str:
        """'0.50×1 + 0.20×(−1) + … = 0.30', every product written out."""
        parts = [f"{t.value:.{digits}f}×{_signed(t.weight, digits)}" for t in self.terms]
        text = " + ".join(parts) + f" = {self.total:.{digits + 1}f}"
        if self.relu:
            text += f"; ReLU → {self.value:.{digits + 1}f}"
        return text


def _signed(v: float, digits: int) -> str:
    return f"({v:.{digits}f})" if v < 0 else f"{v:.{digits}f}"


def receptive_field(i: int, j: int, k: int, s: ConvSettings) -> list[tuple[int, int]]:
    """Input (row, col) of each kernel tap for output (i, j), kernel row by row; rows and
    columns outside 0..H-1 / 0..W-1 are padding."""
    top, left = i * s.stride - s.padding, j * s.stride - s.padding
    return [(top + a * s.dilation, left + b * s.dilation) for a in range(k) for b in range(k)]


def explain_cell(image: np.ndarray, kernel: np.ndarray, i: int, j: int,
                 s: ConvSettings = ConvSettings(), relu: bool = False) -> CellExplanation:
    """The receptive field of output (i, j) and its sum of products, by hand."""
    k = kernel.shape[0]
    h, w = image.shape
    out_h, out_w = (output_size(n, k, s.stride, s.padding, s.dilation) for n in (h, w))
    if not (0 <= i < out_h and 0 <= j < out_w):
        raise ConvError(f"output cell ({i}, {j}) is outside the {out_h}x{out_w} feature map")
    padded = pad(image, s.padding, s.pad_mode)
    terms = []
    for n, (r, c) in enumerate(receptive_field(i, j, k, s)):
        a, b = divmod(n, k)
        terms.append(Term(a, b, r, c, float(padded[r + s.padding, c + s.padding]),
                          float(kernel[a, b]), not (0 <= r < h and 0 <= c < w)))
    return CellExplanation(i, j, tuple(terms), relu)


# ---------------------------------------------------------------- pooling
def pool(fmap: np.ndarray, kind: str = "max", size: int = 2, stride: int | None = None) -> np.ndarray:
    """F.max_pool2d or F.avg_pool2d (no padding) of a feature map. (H, W) -> (H', W')."""
    stride = stride or size
    if kind not in POOL_KINDS:
        raise ConvError(f"pooling must be one of {POOL_KINDS}")
    if min(fmap.shape) < size:
        raise ConvError(f"the feature map ({fmap.shape[0]}x{fmap.shape[1]}) is smaller than the "
                        f"{size}x{size} pooling window: use a smaller window")
    x = torch.as_tensor(np.asarray(fmap, dtype=np.float64))[None, None]   # (1, 1, H, W)
    fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    return fn(x, size, stride)[0, 0].numpy()


@dataclass(frozen=True)
class PoolExplanation:
    row: int
    col: int
    kind: str                                    # max | avg
    cells: tuple[tuple[int, int, float], ...]    # (row, col, value) in the feature map

    @property
    def value(self) -> float:
        vals = [v for _, _, v in self.cells]
        return float(max(vals)) if self.kind == "max" else float(sum(vals) / len(vals))

    @property
    def winner(self) -> tuple[int, int]:
        """For max pooling, the (row, col) that wins (the first, if tied)."""
        best = max(range(len(self.cells)), key=lambda n: self.cells[n][2])
        return self.cells[best][:2]

    def equation(self, digits: int = 3) -> str:
        vals = ", ".join(f"{v:.{digits}f}" for _, _, v in self.cells)
        if self.kind == "max":
            return f"max({vals}) = {self.value:.{digits}f}"
        return f"({vals.replace(', ', ' + ')}) / {len(self.cells)} = {self.value:.{digits}f}"


def explain_pool(fmap: np.ndarray, i: int, j: int, kind: str = "max", size: int = 2,
                 stride: int | None = None) -> PoolExplanation:
    """The window of pooled output (i, j) and its max or average."""
    stride = stride or size
    out_h, out_w = (output_size(n, size, stride) for n in fmap.shape)
    if not (0 <= i < out_h and 0 <= j < out_w):
        raise ConvError(f"pooled cell ({i}, {j}) is outside the {out_h}x{out_w} pooled map")
    cells = tuple((r, c, float(fmap[r, c])) for r in range(i * stride, i * stride + size)
                  for c in range(j * stride, j * stride + size))
    return PoolExplanation(i, j, kind, cells)


# ---------------------------------------------------------------- input images
PHOTOS = {"china": "china.jpg", "flower": "flower.jpg"}
CHANNELS = ("gray", "red", "green", "blue")


def _resize(img, size: int) -> np.ndarray:
    """A PIL image, grayscale or one channel, with its long side `size` pixels, in [0, 1]."""
    from PIL import Image
    w, h = img.size
    scale = size / max(w, h)
    img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(img, dtype=np.float64) / 255.0, 0.0, 1.0)   # (H, W)


@functools.lru_cache(maxsize=2)
def _photo_rgb(name: str):
    """The JPEG that scikit-learn ships, read with Pillow (importing sklearn.datasets takes seconds)."""
    import importlib.util
    from pathlib import Path

    from PIL import Image
    spec = importlib.util.find_spec("sklearn")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "images" / PHOTOS[name]
    if path.is_file():
        with Image.open(path) as img:
            return img.convert("RGB")
    from sklearn.datasets import load_sample_image
    return Image.fromarray(load_sample_image(PHOTOS[name]))


def photo(name: str = "china", channel: str = "gray", size: int = 64) -> np.ndarray:
    """One of scikit-learn's two sample photos, grayscale or one colour channel, downscaled. (H, W)"""
    img = _photo_rgb(name)
    img = img.convert("L") if channel == "gray" else img.getchannel("RGB".index(channel[0].upper()))
    return _resize(img, size)


def mnist_digit(index: int = 0) -> tuple[np.ndarray, int]:
    """MNIST digit `index` (of 5,000) in [0, 1], and its label. (28, 28)"""
    from ..data.images import mnist_images
    x, y = mnist_images()
    index = int(index) % len(x)
    return x[index, 0].astype(np.float64) / 255.0, int(y[index])


def shape_image(seed: int = 0, size: int = 28, noise: float = 0.0) -> tuple[np.ndarray, str]:
    """A generated circle / square / triangle / line and its name. (size, size)"""
    from ..data.images import SHAPE_CLASSES, make_shapes
    x, y = make_shapes(1, size, noise, seed)
    return x[0, 0].astype(np.float64), SHAPE_CLASSES[int(y[0])]


def _gray(img):
    """A grayscale image with its full tonal range: 16- and 32-bit images (mode I;16, I or F,
    which convert("L") clips to white above 255) are scaled from their own bit depth."""
    from PIL import Image
    if img.mode not in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return img.convert("L")
    a = np.asarray(img, dtype=np.float64)
    if img.mode == "F":
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        a = (np.nan_to_num(a, nan=lo) - lo) / ((hi - lo) or 1.0)
    else:                                     # 16-bit PNGs open as I;16 or I (values up to 65535)
        a = a / (65535.0 if a.max() <= 65535 else float(a.max()))
    return Image.fromarray((np.clip(a, 0.0, 1.0) * 255.0).astype(np.float32))   # mode F


def read_upload(data: bytes, size: int = 64, max_bytes: int = MAX_UPLOAD_BYTES,
                max_pixels: int = MAX_UPLOAD_PIXELS) -> np.ndarray:
    """An uploaded file as a grayscale (H, W) image with its long side `size`; raises
    ConvError with a message for a file that is too large, not an image, or too many pixels."""
    from PIL import Image, UnidentifiedImageError
    if len(data) > max_bytes:
        raise ConvError(f"the file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB: "
                        "upload a smaller image")
    if not data:
        raise ConvError("the file is empty: upload a PNG or JPEG image")
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
            if w * h > max_pixels:
                raise ConvError(f"the image is {w}x{h} = {w * h / 1e6:.0f} million pixels; the limit is "
                                f"{max_pixels / 1e6:.0f} million: upload a smaller image")
            img.load()
            gray = _gray(img)
    except ConvError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ConvError("this file is not an image Pillow can read: upload a PNG, JPEG, GIF or BMP") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise ConvError(f"the image could not be decoded ({e}): the file may be truncated; "
                        "try another PNG or JPEG") from None
    return _resize(gray, size)
