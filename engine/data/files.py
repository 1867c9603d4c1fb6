"""Datasets read from a local path the user names: MNIST / Fashion-MNIST IDX files,
CIFAR-10 python batches, and a CSV file. Nothing is downloaded; a missing or malformed
file gets a DataError that says which file and what to do."""
from __future__ import annotations

from typing import TYPE_CHECKING

import gzip
import math
import io
import pickle
import struct
from pathlib import Path

import numpy as np

if TYPE_CHECKING:
    from ..spec import DataSpec                 # types only: the spec reads this registry when it parses
from . import DataError, Dataset, DatasetInfo, finish, register
from ..schema import clip, excerpt
from .folder import resolve
from .images import _subsample

MAX_CSV_BYTES = 20 * 1024 * 1024
MAX_FILE_BYTES = 256 * 1024 * 1024     # an IDX or CIFAR file, after decompression (full MNIST: 47 MB)
MAX_IDX_DIMS = 4                       # images have 3 dimensions, labels 1
MAX_CSV_CLASSES = 20
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _folder(spec: DataSpec) -> Path:
    if not spec.path:
        raise DataError("no folder given: set data.path to the folder that holds the files")
    p = resolve(spec.path)
    if not p.is_dir():
        raise DataError(f"folder {clip(spec.path)} does not exist in the data folder: check data.path")
    return p


# ---------------------------------------------------------------- IDX (MNIST, Fashion-MNIST)
def _read_capped(path: Path) -> bytes:
    """The file's bytes (inflated if .gz), refusing more than MAX_FILE_BYTES before reading them."""
    name = clip(path.name)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DataError(f"{name} is {path.stat().st_size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB")
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except (OSError, EOFError) as e:
        raise DataError(f"{name} is not a readable .gz file ({type(e).__name__})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise DataError(f"{name} inflates to more than {MAX_FILE_BYTES / 1e6:.0f} MB: not an MNIST-sized file")
    return raw


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally .gz): a big-endian header, then unsigned bytes."""
    raw, name = _read_capped(path), clip(path.name)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{name} is not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    if not 1 <= ndim <= MAX_IDX_DIMS:
        raise DataError(f"{name} declares {ndim} dimensions; IDX images have 3 and labels 1")
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{name} is {len(raw)} bytes, too short for its {ndim}-dimension header")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if body.size != math.prod(dims):                 # Python ints: declared sizes cannot overflow
        raise DataError(f"{name} holds {body.size:,} bytes but its header declares {' x '.join(map(str, dims))}: "
                        "the file is truncated or corrupt")
    return body.reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder} has no {stem} (or {stem}.gz): put the four IDX files "
                    "(train/t10k images and labels) in this folder")


def _load_idx(spec: DataSpec, seed: int, info: DatasetInfo, classes: list[str]) -> Dataset:
    folder = _folder(spec)
    xs, ys = [], []
    for part in ("train", "t10k"):
        x = read_idx(_find(folder, f"{part}-images-idx3-ubyte"))
        y = read_idx(_find(folder, f"{part}-labels-idx1-ubyte"))
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"{part} images {x.shape} and labels {y.shape} do not match")
        if not len(x):
            raise DataError(f"the {part} files hold no images")
        _check_labels(y, len(classes), f"{part}-labels-idx1-ubyte")
        xs.append(x)
        ys.append(y)
    x = np.concatenate(xs)[:, None].astype(np.float32)
    y = np.concatenate(ys).astype(np.int64)
    x, y = _subsample(x, y, spec.n_samples, seed)
    return finish(spec, info, x, y, seed, classes)


# ---------------------------------------------------------------- CIFAR-10 python batches
class _NumpyOnlyUnpickler(pickle.Unpickler):
    """CIFAR batches are pickles; only numpy arrays and plain types may come out of them."""
    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    name = clip(path.name)
    try:
        d = _NumpyOnlyUnpickler(io.BytesIO(_read_capped(path)), encoding="bytes").load()
        data = np.asarray(d[b"data"])
        labels = np.asarray(d[b"labels"], np.int64)
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - any malformed file gets the same message
        raise DataError(f"{name} is not a CIFAR-10 python batch ({clip(str(e))})") from None
    if data.dtype != np.uint8:
        raise DataError(f"{name}: the pixels are {data.dtype}, not uint8 (0-255) as in CIFAR-10's batches")
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data) or not len(data):
        raise DataError(f"{name}: expected data (N, 3072) with N > 0 and N labels, got {data.shape} "
                        f"and {len(labels)} labels")
    _check_labels(labels, 10, name)
    return data.reshape(-1, 3, 32, 32), labels


def _check_labels(y: np.ndarray, n_classes: int, name: str) -> None:
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"{clip(name)} has labels from {y.min()} to {y.max()}; this dataset's classes "
                        f"are 0 to {n_classes - 1}")


def _load_cifar(spec: DataSpec, seed: int) -> Dataset:
    folder = _folder(spec)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    present = [folder / n for n in names if (folder / n).is_file()]
    if not present:
        raise DataError(f"{folder} has none of data_batch_1..5 or test_batch: point data.path "
                        "at the extracted cifar-10-batches-py folder")
    parts = [read_cifar_batch(p) for p in present]
    x = np.concatenate([p[0] for p in parts]).astype(np.float32)
    y = np.concatenate([p[1] for p in parts])
    x, y = _subsample(x, y, spec.n_samples, seed)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    return finish(spec, CIFAR, x, y, seed, classes)


# ---------------------------------------------------------------- CSV
def read_csv(path: Path, target: str) -> tuple[np.ndarray, np.ndarray, list[str], list[str] | None]:
    """Numeric feature columns plus a target column -> (x, y, feature names, class names).

    A target with few distinct values (or text) is a class label; otherwise a number."""
    import pandas as pd
    if not path.is_file():
        raise DataError(f"CSV file {clip(path.name)} does not exist")
    if path.stat().st_size > MAX_CSV_BYTES:
        raise DataError(f"{clip(path.name)} is {path.stat().st_size / 1e6:.1f} MB; the limit is "
                        f"{MAX_CSV_BYTES / 1e6:.0f} MB")
    try:
        df = pd.read_csv(path)
    except Exception as e:  # noqa: BLE001
        raise DataError(f"{clip(path.name)} could not be read as CSV ({type(e).__name__})") from None
    problems = []
    if target not in df.columns:
        problems.append(f"no column {excerpt(target)} to predict (columns: {clip(', '.join(map(str, df.columns)))})")
    feats = [c for c in df.columns if c != target]
    bad = [str(c) for c in feats if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        problems.append(f"feature columns must be numbers; not numeric: {clip(', '.join(bad))}")
    if not feats:
        problems.append("no feature columns besides the target")
    if len(df) < 10:
        problems.append(f"only {len(df)} rows; at least 10 are needed")
    if problems:
        raise DataError(f"{clip(path.name)}: " + "; ".join(problems))
    df = df.dropna()
    if len(df) < 10:
        raise DataError(f"{clip(path.name)}: fewer than 10 rows are left after dropping rows with missing values")
    with np.errstate(over="ignore"):                   # a value beyond float32's range becomes inf
        x = df[feats].to_numpy(np.float64).astype(np.float32)
        col = df[target]
        y32 = col.to_numpy(np.float64).astype(np.float32) if pd.api.types.is_numeric_dtype(col) else None
    finite = np.isfinite(x).all(axis=0).tolist() + [y32 is None or bool(np.isfinite(y32).all())]
    if not all(finite):
        bad = ", ".join(str(c) for c, ok in zip([*feats, target], finite) if not ok)
        raise DataError(f"{clip(path.name)}: column {clip(bad)} holds infinite values or numbers beyond "
                        "float32's range (about 3.4e38); replace them or remove those rows")
    if y32 is None or (
            col.nunique() <= MAX_CSV_CLASSES and np.all(np.mod(col.to_numpy(float), 1) == 0)):
        codes, names = pd.factorize(col, sort=True)
        return x, codes.astype(np.int64), [str(f) for f in feats], [str(n) for n in names]
    return x, col.to_numpy(np.float32), [str(f) for f in feats], None


def csv_columns(path: str) -> list[str]:
    """The column names of a CSV file inside the data folder (or an upload), [] when it cannot be
    read: what the page offers as the column to predict."""
    import pandas as pd
    try:
        p = resolve(path)
        if not p.is_file() or p.stat().st_size > MAX_CSV_BYTES:
            return []
        return [str(c) for c in pd.read_csv(p, nrows=5).columns]
    except Exception:  # noqa: BLE001 - the data panel shows the reason from the loader
        return []


def _load_csv(spec: DataSpec, seed: int) -> Dataset:
    if not spec.path:
        raise DataError("no CSV file given: upload one or set data.path")
    x, y, feats, classes = read_csv(resolve(spec.path), spec.target)
    x, y = _subsample(x, y, spec.n_samples, seed)
    return finish(spec, CSV, x, y, seed, classes, feats)


MNIST_IDX = register(DatasetInfo(
    "mnist_idx", "MNIST, full (IDX files in a folder)", "files", "classification",
    lambda s, seed: _load_idx(s, seed, MNIST_IDX, [str(d) for d in range(10)]),
    "The four MNIST IDX files (optionally .gz) in a local folder.",
    ("path", "n_samples", "test_fraction", "preprocessing"), "unit", (0, 255)))
FASHION_IDX = register(DatasetInfo(
    "fashion_idx", "Fashion-MNIST (IDX files in a folder)", "files", "classification",
    lambda s, seed: _load_idx(s, seed, FASHION_IDX, FASHION_CLASSES),
    "Zalando's clothing images in MNIST's IDX format, from a local folder.",
    ("path", "n_samples", "test_fraction", "preprocessing"), "unit", (0, 255)))
CIFAR = register(DatasetInfo(
    "cifar10", "CIFAR-10 (python batches in a folder)", "files", "classification", _load_cifar,
    "32x32 colour photos in 10 classes, from the extracted cifar-10-batches-py folder.",
    ("path", "n_samples", "test_fraction", "preprocessing"), "unit", (0, 255)))
CSV = register(DatasetInfo(
    "csv", "Your CSV file", "files", "any", _load_csv,
    "Numeric feature columns and a target column you choose.",
    ("path", "target", "n_samples", "test_fraction", "preprocessing"), "standardize"))
