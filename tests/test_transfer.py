"""Transfer learning (engine/transfer.py), the rotation pretext (engine/tasks/rotation.py) and the
data choices it trains on (data.classes, data.labels): on the 8x8 digits, a few dozen steps each."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.data import DataError, few_labels, make_dataset, only_classes, parse_classes
from engine.run import CLOSED_FORM, Run
from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec, SpecError, TransferSpec, to_dict
from engine.store import RunStore, weights_of
from engine.tasks import build_run, problems
from engine.tasks.rotation import TURNS, rotations

L = LayerSpec.make
BODY = (L("conv2d", channels=8, kernel=3, padding=1), L("batchnorm"), L("relu"), L("flatten"),
        L("linear", units=32), L("relu"))                                 # layers 0-5; weights in 0, 1, 4


def digits_spec(classes: str, units: int, **kw) -> RunSpec:
    return RunSpec.make((*BODY, L("linear", units=units)), OptimSpec(lr=0.01), task="classification",
                        data=DataSpec("digits", classes=classes), steps=30, batch_size=32, device="cpu", **kw)


@pytest.fixture(scope="module")
def source_run():
    """A network trained on digits 0-4 (5 outputs): the source the 5-9 classifier starts from."""
    run = build_run(digits_spec("0-4", 5))
    for _ in range(30):
        run.step()
    return run


@pytest.fixture
def saved(source_run, tmp_path, monkeypatch):
    """The source run saved in a fresh run history; its id."""
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    store = RunStore(tmp_path / "runs")
    return store.save(spec=to_dict(source_run.spec), series={"step": [30]}, final={}, state="done", page="test",
                      weights=weights_of(source_run))


# ---------------------------------------------------------------- data.classes, data.labels
def test_classes_are_parsed_kept_and_renumbered():
    names = [str(d) for d in range(10)]
    assert parse_classes("0-4", names) == [0, 1, 2, 3, 4] and parse_classes("5, 7,9", names) == [5, 7, 9]
    assert parse_classes("9-7", names) == [7, 8, 9] and parse_classes("1,0-2", names) == [1, 0, 2]
    for bad, says in (("x", "'x' is not a class"), ("3", "at least two classes"), ("0-12", "'0-12'")):
        with pytest.raises(DataError, match=says):
            parse_classes(bad, names)
    full = make_dataset(DataSpec("digits"), 0)
    kept = only_classes(full, [5, 7, 9])
    assert kept.class_names == ["5", "7", "9"] and set(np.unique(kept.y_train)) == {0, 1, 2}
    assert len(kept.x_train) == int(np.isin(full.y_train, [5, 7, 9]).sum())
    assert np.array_equal(kept.x_test[kept.y_test == 1], full.x_test[full.y_test == 7])   # 7 -> class 1
    via_spec = make_dataset(DataSpec("digits", classes="5,7,9"), 0)
    assert np.array_equal(via_spec.y_train, kept.y_train)


def test_few_labels_are_balanced_seeded_and_leave_the_test_split_whole():
    full = make_dataset(DataSpec("digits"), 0)
    few = few_labels(full, 30, 0)
    assert len(few.x_train) == 30 and np.bincount(few.y_train).tolist() == [3] * 10
    assert np.array_equal(few.x_test, full.x_test) and np.array_equal(few.y_test, full.y_test)
    rows = {full.x_train[i].tobytes() for i in range(len(full.x_train))}
    assert all(x.tobytes() in rows for x in few.x_train)                   # real training examples
    assert not np.array_equal(few_labels(full, 30, 1).x_train, few.x_train)   # another seed, other examples
    assert sorted(np.bincount(few_labels(full, 25, 0).y_train)) == [2] * 5 + [3] * 5     # as even as 25 allows
    assert few_labels(full, 10**5, 0) is full
    with pytest.raises(DataError, match="only classification data"):
        few_labels(make_dataset(DataSpec("plane", n_samples=100), 0), 10, 0)


# ---------------------------------------------------------------- transfer from a saved run
def test_a_saved_run_transfers_its_body_frozen_layers_stay_bit_identical(source_run, saved):
    spec = digits_spec("5-9", 5, transfer=TransferSpec(saved[:8], (0, 1), 0.1))
    assert problems(spec) == []
    run = build_run(spec)
    t = run.transfer
    assert t.loaded == (0, 1, 4) and t.frozen == (0, 1) and t.head == 6 and t.fresh == (6,)
    src = source_run.model.state_dict()
    before = {k: v.clone() for k, v in run.model.state_dict().items()}
    assert all(torch.equal(before[k], src[k]) for k in src if not k.startswith("6."))     # the body came over
    assert not torch.equal(before["6.weight"][:5], src["6.weight"])                     # the head is new
    frozen = {id(p) for i in (0, 1) for p in run.model[i].parameters()}
    assert not frozen & {id(p) for g in run.opt.param_groups for p in g["params"]}       # not in the optimizer
    assert [g["lr"] for g in run.opt.param_groups] == pytest.approx([0.01, 0.001])       # head, then body x 0.1
    for _ in range(20):
        run.step()
    after = run.model.state_dict()
    for key in before:                                          # BatchNorm's running stats included
        same = torch.equal(before[key], after[key])
        assert same == key.startswith(("0.", "1.")), key
    assert not run.model[1].training                            # the frozen BatchNorm stays in eval mode
    run.set_lr(0.5)
    assert [g["lr"] for g in run.opt.param_groups] == pytest.approx([0.5, 0.05])         # the ratio is kept
    assert run.lr == 0.5 and "frozen: 0, 1" in t.text()


def test_a_one_cycle_schedule_keeps_the_body_at_its_share_of_the_lr(saved):
    spec = digits_spec("5-9", 5, transfer=TransferSpec(saved, (), 0.25)).with_(
        optim=OptimSpec(lr=0.01, schedule="onecycle"))
    run = build_run(spec)
    for _ in range(10):
        run.step()
        head, body = (g["lr"] for g in run.opt.param_groups)
        assert body == pytest.approx(0.25 * head)


def test_spec_problems_are_sentences_naming_the_field(saved):
    def found(**transfer):
        return problems(digits_spec("5-9", 5, transfer=TransferSpec(**transfer)))
    assert found(source=saved, freeze=(9,)) == ["transfer.freeze: there is no layer 9; the network's layers are 0 to 6"]
    assert found(source=saved, freeze=(2,)) == ["transfer.freeze: layer 2 has no weights to freeze; remove it from "
                                                "the list"]
    assert "layer 6 is the head" in found(source=saved, freeze=(6,))[0]
    assert found(source="ffffffffzz")[0].startswith("transfer.source: no single run in the history has an id "
                                                    "starting with 'ffffffffzz'")
    assert found(freeze=(0,))[0].startswith("transfer.freeze: freezing keeps pretrained weights, but")
    narrower = RunSpec.make((*BODY[:4], L("linear", units=16), L("relu"), L("linear", units=5)),
                            task="classification", data=DataSpec("digits", classes="5-9"))
    assert problems(narrower.with_(transfer=TransferSpec(saved, (0, 1)))) == []
    assert problems(narrower.with_(transfer=TransferSpec(saved, (4,)))) == [
        "transfer.freeze: layer 4 takes no pretrained weights (its shapes differ from the source's), so freezing "
        "it would keep it random; the layers that take them: 0, 1"]
    mlp = RunSpec.make((L("flatten"), L("linear", units=7), L("relu"), L("linear", units=5)), task="classification",
                       data=DataSpec("digits", classes="5-9"), transfer=TransferSpec(saved))
    assert problems(mlp)[0].startswith("transfer.source: none of the network's layers fits")


# ---------------------------------------------------------------- transfer from a file
def test_a_state_dict_file_in_the_data_folder_loads_and_a_path_outside_is_refused(source_run, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(data))
    torch.save(source_run.model.state_dict(), data / "digits04.pt")
    torch.save({"encoder": source_run.model.state_dict()}, data / "roles.pt")        # a run's weights file
    for name in ("digits04.pt", str(data / "roles.pt")):
        run = build_run(digits_spec("5-9", 5, transfer=TransferSpec(name, (0,))))
        assert torch.equal(run.model[0].weight, source_run.model[0].weight) and run.transfer.loaded == (0, 1, 4)
    outside = tmp_path / "outside.pt"
    torch.save(source_run.model.state_dict(), outside)
    for path in (str(outside), "../outside.pt"):
        msg = problems(digits_spec("5-9", 5, transfer=TransferSpec(path)))
        assert len(msg) == 1 and msg[0].startswith("transfer.source: ") and "is outside the data folder" in msg[0]
    (data / "junk.pt").write_bytes(b"SECRET-CONTENT " * 10)
    (data / "list.pt").write_bytes(b"")
    torch.save([torch.zeros(2)], data / "list.pt")
    junk = problems(digits_spec("5-9", 5, transfer=TransferSpec("junk.pt")))
    assert junk[0].startswith("transfer.source: junk.pt is not a PyTorch weights file that loads safely")
    assert "SECRET" not in junk[0]
    assert "holds no state_dict" in problems(digits_spec("5-9", 5, transfer=TransferSpec("list.pt")))[0]
    assert "there is no file none.pt" in problems(digits_spec("5-9", 5, transfer=TransferSpec("none.pt")))[0]
    with pytest.raises(SpecError, match="transfer.source"):
        Run(digits_spec("5-9", 5, transfer=TransferSpec("none.pt")))


# ---------------------------------------------------------------- speed path, rotation
def test_the_closed_form_mlp_path_is_off_with_frozen_layers_and_equal_without(tmp_path, monkeypatch):
    mlp = RunSpec.make((L("linear", units=16), L("tanh"), L("linear", units=3)), OptimSpec(lr=0.05),
                       task="classification", data=DataSpec("wine"), steps=10, device="cpu")
    src = build_run(mlp)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(data))
    torch.save(src.model.state_dict(), data / "mlp.pt")
    target = mlp.with_(seed=1)
    assert src.speed == CLOSED_FORM
    frozen = build_run(target.with_(transfer=TransferSpec("mlp.pt", (0,))))
    assert frozen.speed != CLOSED_FORM
    w = frozen.model[0].weight.clone()
    for _ in range(5):
        frozen.step()
    assert torch.equal(frozen.model[0].weight, w) and torch.equal(w, src.model[0].weight)
    fast = build_run(target.with_(transfer=TransferSpec("mlp.pt", (), 0.5)))
    plain = build_run(target.with_(transfer=TransferSpec("mlp.pt", (), 0.5)))
    plain.fast = None                                            # autograd: the reference
    assert fast.speed == CLOSED_FORM
    for _ in range(5):
        assert float(fast.step()) == pytest.approx(float(plain.step()), rel=1e-5)
    for a, b in zip(fast.model.parameters(), plain.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_rotations_turn_each_image_and_label_the_turn():
    x = np.arange(2 * 1 * 3 * 3, dtype=np.float32).reshape(2, 1, 3, 3)
    d = make_dataset(DataSpec("digits", n_samples=20), 0)
    d = replace(d, x_train=x, y_train=np.array([7, 3]), x_test=x[:1], y_test=np.array([7]))
    r = rotations(d)
    assert r.x_train.shape == (8, 1, 3, 3) and r.y_train.tolist() == [0, 1, 2, 3] * 2 and r.class_names == TURNS
    for i in range(8):
        assert np.array_equal(r.x_train[i, 0], np.rot90(x[i // 4, 0], i % 4))    # counter-clockwise quarter turns
    assert r.x_train[1, 0, 0].tolist() == [2, 5, 8]                              # 90°: the right column on top


def test_rotation_prediction_learns_without_labels_and_refuses_tables():
    spec = RunSpec.make((L("conv2d", channels=8, kernel=3, padding=1), L("relu"), L("maxpool2d"), L("flatten"),
                         L("linear", units=4)), OptimSpec(lr=0.003), task="rotation", data=DataSpec("digits"),
                        steps=60, batch_size=64, device="cpu")
    run = build_run(spec)
    assert run.n_train == 4 * len(make_dataset(spec.data, 0).x_train)
    first = run.evaluate()["test_acc"]
    for _ in range(60):
        run.step()
    ev = run.evaluate(full=True)
    assert ev["test_acc"] > 0.6 and ev["test_acc"] > first + 0.2, (first, ev["test_acc"])   # chance is 0.25
    tab = spec.with_(data=DataSpec("iris"), layers=(L("linear", units=4),))
    assert problems(tab)[0].startswith("data: rotation prediction turns square images")
    wrong = spec.with_(layers=spec.layers[:-1] + (L("linear", units=10),))
    assert any("4" in p for p in problems(wrong))


def test_an_uploaded_weights_file_is_a_source(source_run):
    import io
    from engine.data.folder import save_upload
    buf = io.BytesIO()
    torch.save(source_run.model.state_dict(), buf)
    path = save_upload(buf.getvalue(), ".pt")
    run = build_run(digits_spec("5-9", 5, transfer=TransferSpec(str(path), (0, 1, 4))))
    assert run.transfer.loaded == (0, 1, 4) and torch.equal(run.model[4].weight, source_run.model[4].weight)


def test_the_rotation_export_trains_the_same_numbers_as_the_engine(tmp_path):
    import subprocess
    import sys
    from engine.export import export_script
    spec = RunSpec.make((L("conv2d", channels=4, kernel=3, padding=1), L("relu"), L("maxpool2d"), L("flatten"),
                         L("linear", units=4)), OptimSpec(lr=0.01), task="rotation",
                        data=DataSpec("digits", n_samples=200), epochs=1, batch_size=50, device="cpu")
    script = tmp_path / "rotation.py"
    script.write_text(export_script(spec))
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    last = out.stdout.splitlines()[-2].split()
    run = build_run(spec)
    while run.step_count < run.total_steps:
        run.step()
    res = run.evaluate(full=True)
    assert run.total_steps == 8                                   # 4 x 100 training images, 50 a batch
    assert float(last[last.index("train") + 2]) == pytest.approx(res["train_loss"], abs=1e-4)
    assert float(last[last.index("test") + 2]) == pytest.approx(res["test_loss"], abs=1e-4)   # the turned test images
    assert float(last[-1]) == pytest.approx(res["test_acc"], abs=1e-3)


def test_the_labels_figure_draws_each_method_with_its_band_on_a_log_axis():
    import plotly.graph_objects as go
    from ui.transfer import verdict
    from viz.transfer import labels_figure
    rows = [{"method": m, "label": m.replace("_", " "), "labels": n, "mean": mean, "std": 0.02, "accs": [mean]}
            for m, base in (("scratch", 0.5), ("finetune", 0.6), ("probe", 0.55), ("random_probe", 0.45))
            for n, mean in ((10, base), (100, base + 0.3))]
    d = labels_figure(rows).to_dict()
    assert go.Figure(d).to_dict() == d                            # valid plotly, as the browser gets it
    lines = [t for t in d["data"] if t.get("mode") == "lines+markers"]
    bands = [t for t in d["data"] if t.get("fill") == "toself"]
    assert [t["name"] for t in lines] == ["scratch", "finetune", "probe", "random probe"] and len(bands) == 4
    assert lines[1]["x"] == [10, 100] and lines[1]["y"] == pytest.approx([60, 90])
    assert bands[1]["x"] == [10, 100, 100, 10] and bands[1]["y"] == pytest.approx([62, 92, 88, 58])   # mean ± std
    lay = d["layout"]
    assert lay["xaxis"]["type"] == "log" and lay["xaxis"]["title"]["text"] == "labelled examples (log scale)"
    assert lay["title"]["text"] == "Held-out accuracy against labelled examples" and lay["yaxis"]["title"]["text"]
    text = verdict(rows)
    assert text.startswith("With 100 labels, fine-tuning the pretrained network scores 90.0% against 80.0% from "
                           "scratch (+10.0 points)") and "10 labels: fine-tune, pretrained (60.0%)" in text
