"""A bounded fuzzing pass over every way input reaches the engine: spec files (the Python API
and the CLI), `?spec=` links, and dataset files in the data folder (IDX, CIFAR, CSV, images).

Whatever the input, the answer is a result or a refusal: never a traceback, each refusal one
line of at most MESSAGE_LIMIT characters that names a field, a layer or the file, and no file
outside the data folder is ever opened (an audit hook watches every open())."""
from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
import math
import os
import pickle
import struct
import sys
import tempfile
import zlib
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.__main__ import main as cli_main
from engine.data import DATASETS, DataError, make_dataset
from engine.layers import LAYERS
from engine.presets import all_presets
from engine.spec import DataSpec, LayerSpec, NetworkSpec, OptimSpec, RunSpec, SpecError, from_json, to_dict
from engine.tasks import build_run, problems
from engine.teach.conv import ConvError, read_upload
from ui.url import decode_spec

MESSAGE_LIMIT = 320              # characters in one refusal (the longest seen while fuzzing: docs/reliability.md)
FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SECRET = "TOP-SECRET-first-line"
REPO = Path(__file__).resolve().parents[1]
FIELD_WORDS = ({f.name for cls in (RunSpec, DataSpec, OptimSpec, LayerSpec, NetworkSpec) for f in fields(cls)}
               | {"layer", "layers", "url", "spec", "network", "networks", "the last layer", "loss"})


# ---------------------------------------------------------------- the folders and the audit hook
ROOT = Path(tempfile.mkdtemp(prefix="fuzz-")).resolve()
DATA, OUTSIDE = ROOT / "data", ROOT / "outside"
OPENED: list[str] | None = None              # paths opened while an entry point runs


def _audit(event: str, args: tuple) -> None:
    if OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)

SYSTEM = tuple(str(Path(p).resolve()) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, REPO,
                                               "/usr/lib", "/usr/share", "/proc", "/sys", "/dev"})


def _outside_opens(opened: list[str]) -> list[str]:
    """Opened paths that are neither in the data folder nor Python's own files (lazy imports)."""
    bad = []
    for p in opened:
        r = str(Path(p).resolve())
        if not (r.startswith(str(DATA) + os.sep) or r == str(DATA) or r.startswith(SYSTEM)):
            bad.append(p)
    return bad


@contextlib.contextmanager
def watched():
    """Run an entry point with the data folder set and every open() recorded; then assert none
    reached outside it."""
    global OPENED
    old = os.environ.get("PLAYGROUND_DATA_DIR")
    os.environ["PLAYGROUND_DATA_DIR"] = str(DATA)
    OPENED = []
    try:
        yield
    finally:
        opened, OPENED = OPENED, None
        if old is None:
            os.environ.pop("PLAYGROUND_DATA_DIR", None)
        else:
            os.environ["PLAYGROUND_DATA_DIR"] = old
    assert not _outside_opens(opened), _outside_opens(opened)


def assert_refusal(msg: str, names: tuple[str, ...] = ()) -> None:
    """One line, short, escaped, naming what is wrong, quoting no file's contents."""
    assert "\n" not in msg and "Traceback" not in msg, msg
    assert len(msg) <= MESSAGE_LIMIT, (len(msg), msg)
    assert msg.isprintable(), msg
    assert SECRET not in msg, msg
    words = FIELD_WORDS | set(names)
    assert any(w in msg for w in words), f"names no field, layer or file: {msg}"


def _write(rel: str, data: bytes) -> Path:
    p = DATA / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def _idx_bytes(arr: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) \
        + arr.astype(np.uint8).tobytes()


def _cifar_bytes(n: int) -> bytes:
    rng = np.random.default_rng(n)
    return pickle.dumps({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         b"labels": list(rng.integers(0, 10, n))})


def _png_bytes() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.arange(64 * 48, dtype=np.uint8).reshape(48, 64)).save(buf, "PNG")
    return buf.getvalue()


CSV_TEXT = "a,b,y\n" + "\n".join(f"{i * 0.5},{i % 7},{i % 3}" for i in range(40)) + "\n"
RNG = np.random.default_rng(0)
VALID = {                                                    # file in the data folder -> its bytes
    "mnist/train-images-idx3-ubyte": _idx_bytes(RNG.integers(0, 256, (30, 28, 28))),
    "mnist/train-labels-idx1-ubyte": _idx_bytes(np.arange(30) % 10),
    "mnist/t10k-images-idx3-ubyte": _idx_bytes(RNG.integers(0, 256, (10, 28, 28))),
    "mnist/t10k-labels-idx1-ubyte": _idx_bytes(np.arange(10) % 10),
    "cifar/data_batch_1": _cifar_bytes(20),
    "cifar/test_batch": _cifar_bytes(10),
    "table.csv": CSV_TEXT.encode(),
}


def _reset_files() -> None:
    for rel, data in VALID.items():
        _write(rel, data)


OUTSIDE.mkdir(parents=True, exist_ok=True)
(OUTSIDE / "secret.csv").write_text(f"{SECRET},b,y\n" + CSV_TEXT.split("\n", 1)[1])
(OUTSIDE / "train-images-idx3-ubyte").write_bytes(VALID["mnist/train-images-idx3-ubyte"])
_reset_files()
if not (DATA / "escape").exists():
    (DATA / "escape").symlink_to(OUTSIDE)                    # a symlink inside that points out
HOSTILE_PATHS = [str(OUTSIDE / "secret.csv"), str(OUTSIDE), "../outside/secret.csv", "../outside",
                 "escape/secret.csv", "escape", "/etc/passwd", "/etc", "~/.bashrc", "mnist/../../outside",
                 "table.csv/..", "", ".", "/", "\x00", "a" * 5000, "mnist", "cifar", "table.csv"]


# ---------------------------------------------------------------- mutated specs
PLAUSIBLE = st.one_of(st.integers(0, 64), st.floats(0, 1), st.booleans(),
                     st.sampled_from(["relu", "adam", "sgd", "mse", "cross_entropy", "bce", "auto", "none",
                                      "circle", "mnist", "digits", "iris", "cosine", "l2", "cpu"]))
HOSTILE = st.one_of(
    st.sampled_from([10**400, -10**400, 2**63, -1, 0, 1, 1e308, -1e-308, "", "auto", "\n\x1berror: forged",
                     "x" * 3000, None, True, False, [], {}, [[[[[]]]]], {"kind": "relu"}]),
    st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.lists(st.integers(-3, 3), max_size=3))
SCALARS = st.one_of(PLAUSIBLE, PLAUSIBLE, HOSTILE)           # two in three plausible: they reach training
LAYER_DICTS = st.builds(
    lambda kind, params: {"kind": kind, **params},
    st.sampled_from(sorted(LAYERS) + ["nope", ""]),
    st.dictionaries(st.sampled_from(["units", "channels", "kernel", "stride", "padding", "dilation", "p",
                                     "bias", "slope", "alpha", "zzz"]),
                    st.one_of(st.integers(1, 12), st.integers(1, 12), SCALARS), max_size=3))


def _paths(d, prefix=()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out += _paths(v, prefix + (i,))
    return out


def _mutate(raw: dict, edits: list) -> dict:
    for pick, op, value, nudge in edits:
        paths = _paths(raw)
        path = paths[pick % len(paths)]
        parent = raw
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        old = parent[key]
        if op == "nudge":                                    # the same type, another (maybe odd) value
            if isinstance(old, bool):
                parent[key] = not old
            elif isinstance(old, (int, float)):
                parent[key] = type(old)(old * nudge[0] + nudge[1])
            elif isinstance(old, str):
                parent[key] = str(value) if isinstance(value, str) else old
        elif op == "delete" and isinstance(parent, dict):
            del parent[key]
        elif op == "unknown" and isinstance(parent, dict):
            parent["zz_" + str(value)[:10]] = value
        elif op == "layers":
            model = raw.get("networks", {}).get("model") if isinstance(raw.get("networks"), dict) else None
            if isinstance(model, dict):
                model["layers"] = value
        else:
            parent[key] = value
    return raw


PRESETS = sorted(all_presets().items())
PRESET_DICTS = st.integers(0, len(PRESETS) - 1).map(lambda i: json.loads(json.dumps(to_dict(PRESETS[i][1]))))
SPECS = st.builds(
    _mutate, PRESET_DICTS,
    st.lists(st.tuples(st.integers(0, 10**6),
                       st.sampled_from(["nudge", "nudge", "nudge", "set", "delete", "unknown", "layers"]),
                       st.one_of(SCALARS, st.lists(LAYER_DICTS, max_size=5)),
                       st.tuples(st.sampled_from([0, 1, 2, 10, -1]), st.sampled_from([0, 1, 3, 100, 10**5]))),
             min_size=1, max_size=3))
FILE_DATA = st.builds(lambda name, path, n: {"name": name, "path": path, "target": "y", "n_samples": n},
                      st.sampled_from(sorted(n for n, info in DATASETS.items() if "path" in info.options)),
                      st.one_of(st.sampled_from(HOSTILE_PATHS), st.text(max_size=20)),
                      st.sampled_from([40, 100]))


def _link(text: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(text, 9)).decode().rstrip("=")


def _small(spec: RunSpec) -> bool:
    return spec.batch_size <= 256 and all(
        all(not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 64 for v in layer.params.values())
        for layer in spec.layers)


def _through_everything(raw: dict) -> None:
    text = json.dumps(raw, allow_nan=True).encode()
    with watched():
        try:
            spec = from_json(text)
        except SpecError as e:
            for p in e.problems:
                assert_refusal(p)
            with pytest.raises(SpecError) as again:                    # a link refuses it the same way
                decode_spec(_link(text))
            assert again.value.problems == e.problems
            return
        assert decode_spec(_link(text)) == spec
        found = problems(spec)
        for p in found:
            assert_refusal(p, ("data",))
        if not found and _small(spec):
            run = build_run(spec)
            run.step()
            assert math.isfinite(run.lr)


@FUZZ
@given(SPECS)
def test_mutated_specs_are_a_run_or_one_sentence_per_problem(raw):
    _through_everything(raw)


@FUZZ
@given(PRESET_DICTS, FILE_DATA)
def test_file_datasets_from_a_spec_never_open_a_file_outside_the_data_folder(raw, data):
    raw["data"] = data
    _through_everything(raw)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(SPECS)
def test_the_cli_prints_one_error_line_per_problem_and_no_traceback(raw):
    path = _write("spec.json", json.dumps(raw, allow_nan=True).encode())
    err = io.StringIO()
    with watched(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli_main(["check", str(path)])
    lines = err.getvalue().splitlines()
    assert code in (0, 1, 2) and (code == 0) == (not lines), (code, lines)
    for line in lines:
        assert line.startswith("error: "), line
        assert_refusal(line[len("error: "):], ("data",))


@FUZZ
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: base64.urlsafe_b64encode(b).decode()),
                 SPECS.map(lambda raw: _link(json.dumps(raw).encode())).flatmap(
                     lambda link: st.integers(0, len(link)).map(lambda i: link[:i] + link[i + 1:]))))
def test_damaged_links_are_a_spec_or_one_sentence(text):
    with watched():
        try:
            decode_spec(text)
        except SpecError as e:
            for p in e.problems:
                assert_refusal(p)


# ---------------------------------------------------------------- mutated files
def _mutations():
    return st.lists(st.tuples(st.sampled_from(["truncate", "flip", "int32", "append", "gzip"]),
                              st.integers(0, 10**6), st.integers(0, 2**32 - 1)), min_size=1, max_size=3)


def _apply(data: bytes, muts) -> bytes:
    for op, at, value in muts:
        i = at % (len(data) + 1)
        if op == "truncate":
            data = data[:i]
        elif op == "flip" and data:
            i = at % len(data)
            data = data[:i] + bytes([value % 256]) + data[i + 1:]
        elif op == "int32":
            data = data[:i] + struct.pack(">I", value) + data[i + 4:]
        elif op == "append":
            data = data + bytes([value % 256]) * (value % 5000)
        elif op == "gzip":
            data = gzip.compress(data)
    return data


FILE_KINDS = {"mnist/train-images-idx3-ubyte": ("mnist_idx", "mnist"),
              "mnist/t10k-labels-idx1-ubyte": ("mnist_idx", "mnist"),
              "cifar/data_batch_1": ("cifar10", "cifar"),
              "table.csv": ("csv", "table.csv")}


@FUZZ
@given(st.sampled_from(sorted(FILE_KINDS)), _mutations())
def test_mutated_dataset_files_load_or_are_one_sentence_naming_the_file(rel, muts):
    dataset, path = FILE_KINDS[rel]
    _reset_files()
    _write(rel, _apply(VALID[rel], muts))
    try:
        with watched():
            try:
                d = make_dataset(DataSpec(dataset, path=path, target="y", n_samples=100), 0)
            except DataError as e:
                assert_refusal(str(e), (Path(rel).name, path, "train", "t10k", "images", "labels", "rows"))
            else:
                assert np.isfinite(d.x_train).all() and len(d.x_train) and len(d.x_test)
    finally:
        _reset_files()


@FUZZ
@given(_mutations())
def test_mutated_images_upload_or_are_one_sentence(muts):
    data = _apply(_png_bytes(), muts)
    try:
        img = read_upload(data, size=32)
    except ConvError as e:
        assert_refusal(str(e), ("file", "image"))
    else:
        assert img.ndim == 2 and 0 <= img.min() and img.max() <= 1


def test_the_fuzz_fixtures_are_real():
    """The valid files load, the hostile paths exist, and the hook sees an outside open."""
    with watched():
        assert make_dataset(DataSpec("csv", path="table.csv", target="y"), 0).input_shape == (2,)
        assert make_dataset(DataSpec("mnist_idx", path="mnist", n_samples=40), 0).input_shape == (1, 28, 28)
        assert make_dataset(DataSpec("cifar10", path="cifar", n_samples=30), 0).input_shape == (3, 32, 32)
    assert (DATA / "escape" / "secret.csv").read_text().startswith(SECRET)     # the symlink does lead out
    global OPENED
    OPENED = []
    (OUTSIDE / "secret.csv").read_text()
    opened, OPENED = OPENED, None
    assert _outside_opens(opened) == [str(OUTSIDE / "secret.csv")]
