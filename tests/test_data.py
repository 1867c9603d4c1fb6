"""Datasets: shapes, determinism, preprocessing, and the local-folder loaders on tiny files."""
import gzip
import pickle
import struct

import numpy as np
import pytest

from engine.data import DATASETS, DataError, make_dataset, preprocess
from engine.data.files import csv_columns, read_idx
from engine.data.synthetic import featurize
from engine.spec import DataSpec

TWO_D = ["circle", "xor", "gaussian", "spiral", "moons", "plane", "multi_gaussian"]


@pytest.mark.parametrize("name", TWO_D)
def test_2d_datasets_follow_size_split_features_and_seed(name):
    spec = DataSpec(name, n_samples=300, noise=0.1, test_fraction=0.3, features=("x1", "x2", "x1*x2"))
    d = make_dataset(spec, seed=3)
    assert len(d.x_train) + len(d.x_test) == 300 and len(d.x_test) == 90
    assert d.input_shape == (3,) and d.x_train.dtype == np.float32
    np.testing.assert_allclose(d.x_train[:, 2], d.points_train[:, 0] * d.points_train[:, 1], rtol=1e-5)
    assert np.abs(d.points_train).max() <= 6.5 + 3                 # within the plane (plus noise)
    again = make_dataset(spec, seed=3)
    np.testing.assert_array_equal(d.x_train, again.x_train)
    assert not np.array_equal(d.x_train, make_dataset(spec, seed=4).x_train)
    if d.task == "classification":
        assert set(np.unique(d.y_train)) == {0, 1} and d.n_outputs == 2
    else:
        assert d.y_train.shape == (210, 1) and np.abs(d.y_train).max() <= 1


@pytest.fixture(autouse=True)
def data_folder_is_the_test_folder(tmp_path, monkeypatch):
    """File datasets are read only inside the data folder: here, each test's own folder."""
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))


def test_circle_without_noise_is_separable_by_radius_and_noise_blurs_it():
    d = make_dataset(DataSpec("circle", 400, 0.0), 0)
    r = np.hypot(*d.points_train.T)
    assert r[d.y_train == 0].max() < r[d.y_train == 1].min()
    noisy = make_dataset(DataSpec("circle", 400, 0.5), 0)
    r = np.hypot(*noisy.points_train.T)
    assert r[noisy.y_train == 0].max() > r[noisy.y_train == 1].min()


def test_features_are_the_playground_ones():
    p = np.array([[1.0, 2.0]], np.float32)
    f = featurize(p, ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"))
    np.testing.assert_allclose(f[0], [1, 2, 1, 4, 2, np.sin(1), np.sin(2)], rtol=1e-6)


@pytest.mark.parametrize("name, n_features, n_classes", [("iris", 4, 3), ("wine", 13, 3), ("breast_cancer", 30, 2)])
def test_tabular_is_standardised_on_the_training_split(name, n_features, n_classes):
    d = make_dataset(DataSpec(name, test_fraction=0.25), 0)
    assert d.input_shape == (n_features,) and d.n_outputs == n_classes
    np.testing.assert_allclose(d.x_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(d.x_train.std(0), 1, atol=1e-4)


def test_mnist_subset_is_shuffled_before_the_split():
    d = make_dataset(DataSpec("mnist", 5000, test_fraction=0.2), 0)
    assert d.x_train.shape == (4000, 1, 28, 28) and d.x_test.shape == (1000, 1, 28, 28)
    assert set(np.unique(d.y_test)) == set(range(10))               # sorted data would give only 8s and 9s
    assert d.x_train.min() == 0 and d.x_train.max() == 1            # 'unit' by default
    small = make_dataset(DataSpec("mnist", 500, test_fraction=0.2), 0)
    assert len(small.x_train) == 400 and len(set(small.y_train)) == 10


@pytest.mark.parametrize("how, lo, hi", [("unit", 0, 1), ("symmetric", -1, 1)])
def test_image_scaling(how, lo, hi):
    d = make_dataset(DataSpec("digits", 500, preprocessing=how), 0)
    assert d.x_train.min() == lo and d.x_train.max() == hi and d.input_shape == (1, 8, 8)


def test_standardize_images_per_channel():
    a = np.random.default_rng(0).uniform(0, 9, (50, 3, 4, 4)).astype(np.float32)
    tr, te = preprocess(a, a[:5], "standardize")
    np.testing.assert_allclose(tr.mean((0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(tr.std((0, 2, 3)), 1, atol=1e-4)


def test_shapes_dataset_has_four_balanced_classes():
    d = make_dataset(DataSpec("shapes", 400, 0.05, 0.25), 0)
    assert d.input_shape == (1, 28, 28) and d.class_names == ["circle", "square", "triangle", "line"]
    counts = np.bincount(d.y_train, minlength=4)
    assert counts.min() > 50
    assert 0 <= d.x_train.min() and d.x_train.max() <= 1


def test_every_registered_dataset_has_a_group_and_task():
    assert {"2d", "tabular", "images", "files", "sequences", "distributions"} == {i.group for i in DATASETS.values()}
    assert {i.task for i in DATASETS.values() if i.group == "distributions"} == {"generative"}   # the GAN lab's
    assert {"circle", "xor", "gaussian", "spiral", "moons", "plane", "multi_gaussian", "iris", "wine",
            "breast_cancer", "mnist", "digits", "shapes", "mnist_idx", "fashion_idx", "cifar10",
            "csv"} <= set(DATASETS)


# ---------------------------------------------------------------- local folders, tiny files
def _idx(path, arr: np.ndarray, gz=False):
    data = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def _idx_folder(tmp_path, gz=False):
    rng = np.random.default_rng(0)
    sfx = ".gz" if gz else ""
    _idx(tmp_path / f"train-images-idx3-ubyte{sfx}", rng.integers(0, 256, (30, 28, 28)), gz)
    _idx(tmp_path / f"train-labels-idx1-ubyte{sfx}", np.arange(30) % 10, gz)
    _idx(tmp_path / f"t10k-images-idx3-ubyte{sfx}", rng.integers(0, 256, (10, 28, 28)), gz)
    _idx(tmp_path / f"t10k-labels-idx1-ubyte{sfx}", np.arange(10) % 10, gz)
    return tmp_path


@pytest.mark.parametrize("gz", [False, True])
def test_idx_loader_reads_mnist_and_fashion_files(tmp_path, gz):
    folder = _idx_folder(tmp_path, gz)
    for name in ("mnist_idx", "fashion_idx"):
        d = make_dataset(DataSpec(name, 100, test_fraction=0.25, path=str(folder)), 0)
        assert d.x_train.shape == (30, 1, 28, 28) and d.x_test.shape == (10, 1, 28, 28)
        assert 0 <= d.x_train.min() and d.x_train.max() <= 1 and d.n_outputs == 10
    assert make_dataset(DataSpec("fashion_idx", path=str(folder)), 0).class_names[9] == "Ankle boot"
    raw = read_idx(folder / f"train-labels-idx1-ubyte{'.gz' if gz else ''}")
    np.testing.assert_array_equal(raw, np.arange(30) % 10)


def test_idx_loader_messages(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        make_dataset(DataSpec("mnist_idx", path=str(tmp_path / "nope")), 0)
    with pytest.raises(DataError, match="no folder given"):
        make_dataset(DataSpec("mnist_idx"), 0)
    with pytest.raises(DataError, match="has no train-images-idx3-ubyte"):
        make_dataset(DataSpec("mnist_idx", path=str(tmp_path)), 0)
    folder = _idx_folder(tmp_path)
    (folder / "t10k-images-idx3-ubyte").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DataError, match="bad magic number"):
        make_dataset(DataSpec("mnist_idx", path=str(folder)), 0)
    data = (folder / "train-images-idx3-ubyte").read_bytes()
    (folder / "t10k-images-idx3-ubyte").write_bytes(data[:-100])
    with pytest.raises(DataError, match="truncated"):
        make_dataset(DataSpec("mnist_idx", path=str(folder)), 0)


def _cifar(path, n, seed):
    rng = np.random.default_rng(seed)
    batch = {b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8), b"labels": list(range(n))}
    path.write_bytes(pickle.dumps({k: (v if k != b"labels" else [i % 10 for i in v]) for k, v in batch.items()}))


def test_cifar_loader_reads_python_batches(tmp_path):
    _cifar(tmp_path / "data_batch_1", 20, 0)
    _cifar(tmp_path / "test_batch", 10, 1)
    d = make_dataset(DataSpec("cifar10", 100, test_fraction=0.2, path=str(tmp_path)), 0)
    assert d.input_shape == (3, 32, 32) and len(d.x_train) == 24 and d.class_names[0] == "airplane"


class Boom:
    def __reduce__(self):
        return (print, ("pwned",))


def test_cifar_loader_refuses_pickles_that_carry_code(tmp_path):
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": Boom(), b"labels": []}))
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        make_dataset(DataSpec("cifar10", path=str(tmp_path)), 0)
    (tmp_path / "data_batch_1").write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a CIFAR-10 python batch"):
        make_dataset(DataSpec("cifar10", path=str(tmp_path)), 0)


def test_csv_classification_and_regression(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    rows = ["a,b,c,kind,price"] + [f"{r[0]},{r[1]},{r[2]},{'cat' if r[0] > 0 else 'dog'},{r.sum() * 10.5}"
                                   for r in x]
    f = tmp_path / "data.csv"
    f.write_text("\n".join(rows))
    text = f.read_text().replace(",cat,", ",1,").replace(",dog,", ",0,")
    f.write_text(text)
    d = make_dataset(DataSpec("csv", path=str(f), target="kind", test_fraction=0.25), 0)
    assert d.task == "classification" and d.class_names == ["0", "1"] and d.input_shape == (4,)
    r = make_dataset(DataSpec("csv", path=str(f), target="price"), 0)
    assert r.task == "regression" and r.y_train.shape[1] == 1 and r.feature_names == ["a", "b", "c", "kind"]


def test_csv_problems_are_listed(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("a,name,y\n" + "\n".join(f"{i},n{i},{i % 2}" for i in range(5)))
    with pytest.raises(DataError) as e:
        make_dataset(DataSpec("csv", path=str(f), target="label"), 0)
    msg = str(e.value)
    assert "no column 'label'" in msg and "not numeric: name" in msg and "only 5 rows" in msg
    with pytest.raises(DataError, match="does not exist"):
        make_dataset(DataSpec("csv", path=str(tmp_path / "x.csv"), target="y"), 0)


# ---------------------------------------------------------------- only the data folder is read
SECRET = "root:x:0:0:secret-first-line\n1,2\n"


@pytest.mark.parametrize("name", ["csv", "mnist_idx", "cifar10"])
def test_a_path_outside_the_data_folder_is_refused_before_it_is_opened(tmp_path, monkeypatch, name):
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "passwd").write_text(SECRET)
    (tmp_path / "link").symlink_to(outside)                             # a symlink inside pointing out
    for path in (str(outside / "passwd"), str(outside), "../" + outside.name + "/passwd", "link/passwd", "link"):
        with pytest.raises(DataError) as e:
            make_dataset(DataSpec(name, path=path, target="x"), 0)
        msg = str(e.value)
        assert "is outside the data folder" in msg and "PLAYGROUND_DATA_DIR" in msg, msg
        assert "secret" not in msg and "root:x" not in msg
    assert csv_columns(str(outside / "passwd")) == []                  # the page's column list reads nothing


def test_a_path_inside_the_data_folder_may_be_relative(tmp_path):
    (tmp_path / "mnist").mkdir()
    _idx_folder(tmp_path / "mnist")
    d = make_dataset(DataSpec("mnist_idx", 40, path="mnist"), 0)
    assert d.input_shape == (1, 28, 28)
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,y\n" + "\n".join(f"{i},{i * 2},{i % 2}" for i in range(20)))
    assert csv_columns("t.csv") == ["a", "b", "y"]


# ---------------------------------------------------------------- malformed files: one sentence each
@pytest.mark.parametrize("payload, says", [
    (b"\x00\x00\x08", "bad magic number"),
    (b"\x00\x00\x08\x03\x00\x00", "too short for its 3-dimension header"),
    (b"\x00\x00\x08\xff" + b"\x00" * 64, "declares 255 dimensions"),
    (b"\x00\x00\x08\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\x00" * 10,
     "header declares 4294967295 x 4294967295 x 4294967295"),
])
def test_idx_files_with_bad_headers_are_one_sentence(tmp_path, payload, says):
    _idx_folder(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(payload)
    with pytest.raises(DataError, match=says):
        make_dataset(DataSpec("mnist_idx", path="."), 0)


def test_a_gzip_that_inflates_past_the_limit_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    import engine.data.files as files
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1_000_000)
    _idx_folder(tmp_path, gz=True)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"\x00" * 5_000_000)                                     # 5 MB from a few kB
    with pytest.raises(DataError, match="inflates to more than 1 MB"):
        make_dataset(DataSpec("mnist_idx", path="."), 0)


def test_idx_labels_outside_the_classes_and_empty_files_are_refused(tmp_path):
    _idx_folder(tmp_path)
    _idx(tmp_path / "train-labels-idx1-ubyte", np.arange(30) % 10 + 30, False)
    with pytest.raises(DataError, match="labels from 30 to 39; this dataset's classes are 0 to 9"):
        make_dataset(DataSpec("mnist_idx", path="."), 0)
    _idx_folder(tmp_path)
    _idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((0, 28, 28)), False)
    _idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(0), False)
    with pytest.raises(DataError, match="the t10k files hold no images"):
        make_dataset(DataSpec("mnist_idx", path="."), 0)


def test_cifar_float_pixels_and_labels_out_of_range_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    batch = {b"data": rng.random((10, 3072)), b"labels": list(range(10))}
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(batch))
    with pytest.raises(DataError, match="the pixels are float64, not uint8"):
        make_dataset(DataSpec("cifar10", path="."), 0)
    batch = {b"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8), b"labels": [12] * 10}
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(batch))
    with pytest.raises(DataError, match="labels from 12 to 12"):
        make_dataset(DataSpec("cifar10", path="."), 0)


@pytest.mark.parametrize("cell", ["inf", "-inf", "1e39"])
def test_a_csv_with_infinite_or_float32_overflowing_cells_is_refused_naming_the_column(tmp_path, cell):
    f = tmp_path / "inf.csv"
    rows = [f"{i},{i * 2},{i % 2}" for i in range(20)]
    rows[7] = f"7,{cell},1"
    f.write_text("a,b,y\n" + "\n".join(rows))
    with pytest.raises(DataError) as e:
        make_dataset(DataSpec("csv", path=str(f), target="y"), 0)
    msg = str(e.value)
    assert "column b holds infinite values" in msg and "inf.csv" in msg and "learning rate" not in msg
    f.write_text("a,b,y\n" + "\n".join(f"{i},{i * 2},{cell if i == 3 else i * 0.37}" for i in range(20)))
    with pytest.raises(DataError, match="column y holds infinite"):            # a numeric target too
        make_dataset(DataSpec("csv", path=str(f), target="y"), 0)


@pytest.mark.parametrize("path", ["a\x00b.csv", "a" * 5000, "x/" + "b" * 300 + ".csv", "~nosuchuser0/x.csv"])
def test_unusable_paths_are_one_sentence_not_an_os_error(path):
    with pytest.raises(DataError) as e:                  # they used to raise ValueError / OSError / RuntimeError
        make_dataset(DataSpec("csv", path=path, target="y"), 0)
    msg = str(e.value)
    assert msg.startswith("data.path: ") and len(msg) < 320 and "\x00" not in msg, msg


def test_uploads_are_named_by_their_content_and_readable_by_the_loaders(tmp_path):
    from engine.data.folder import save_upload
    text = "a,b,y\n" + "\n".join(f"{i},{i * 2},{i % 2}" for i in range(20))
    p = save_upload(text.encode(), ".csv")
    import hashlib
    assert p.name == f"upload-{hashlib.sha256(text.encode()).hexdigest()}.csv" and p.read_text() == text
    assert save_upload(text.encode(), ".csv") == p and not str(p).startswith(str(tmp_path))
    assert make_dataset(DataSpec("csv", path=str(p), target="y"), 0).input_shape == (2,)
    with pytest.raises(DataError, match="outside the data folder"):      # its folder, not its neighbours
        make_dataset(DataSpec("csv", path=str(p.parent.parent / "x.csv"), target="y"), 0)
