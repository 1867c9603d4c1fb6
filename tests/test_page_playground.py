"""AppTest of the Playground: build a network through the widgets and train it, an invalid
stack disables Train, the spec round-trips through the URL and uploads, CSV upload, and the
learning rate changes while a run trains."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import engine.trainer as trainer_mod
from engine.presets import load_preset
from engine.layers import LAYERS
from engine.spec import DataSpec, LayerSpec
from ui import builder
from ui.url import decode_spec, encode_spec

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("stop_trainers")


def _app(query: dict | None = None) -> AppTest:
    """The app on the Playground (the course map is the default page)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page("app_pages/playground.py").run()
    assert not at.exception, at.exception[0].message
    return at


def _url_spec(at: AppTest):
    v = at.query_params["spec"]
    return decode_spec(v if isinstance(v, str) else v[0])


def _trainer(at: AppTest | None = None):
    """The live trainer (the one running the page's spec, when `at` is given)."""
    live = trainer_mod.live_trainers()
    if at is not None:
        live = [t for t in live if t.specs[0] == at.session_state["pg_spec"]]
    (t,) = live
    return t


def _charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page by title."""
    out = {}
    for c in at.get("plotly_chart"):
        fig = json.loads(c.proto.spec)
        out[fig["layout"]["title"]["text"]] = fig
    return out


def _trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name") == name)


def _key(at: AppTest, suffix: str, kind: str = "number_input") -> list:
    return [w for w in getattr(at, kind) if w.key and w.key.endswith(suffix)]


def _kinds(at: AppTest) -> list[str]:
    return [l.kind for l in at.session_state["pg_spec"].layers]


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_build_a_network_with_the_widgets_and_train_it():
    at = _app()
    assert _kinds(at) == ["linear", "tanh", "linear", "tanh", "linear"]      # TF Playground's default
    # first Linear 4 -> 6 units
    _key(at, "_units")[0].set_value(6).run()
    # the menu offers the Playground's kinds, not the sequence ones (their page comes later)
    offered = at.selectbox(key="pg0_add_kind").options
    assert "ReLU  ·  Activation" in offered and not any("Sequence" in o or "Attention" in o for o in offered)
    # insert a ReLU before layer 3, move it up, duplicate it, delete the copy
    at.selectbox(key="pg0_add_kind").set_value("relu")
    at.selectbox(key="pg0_add_pos").set_value(2)
    at.button(key="pg_add_layer").click().run()
    assert _kinds(at) == ["linear", "tanh", "relu", "linear", "tanh", "linear"]
    up = [b for b in at.button if b.key and b.key.endswith("_up")]
    up[2].click().run()
    assert _kinds(at) == ["linear", "relu", "tanh", "linear", "tanh", "linear"]
    [b for b in at.button if b.key and b.key.endswith("_dup")][1].click().run()
    assert _kinds(at) == ["linear", "relu", "relu", "tanh", "linear", "tanh", "linear"]
    [b for b in at.button if b.key and b.key.endswith("_del")][2].click().run()
    assert _kinds(at) == ["linear", "relu", "tanh", "linear", "tanh", "linear"]
    assert at.session_state["pg_spec"].layers[0].params["units"] == 6
    # the shape table follows: 2*6+6 + 6*2+2 + 2*1+1 parameters
    table = at.dataframe[0].value
    assert list(table["layer"])[-1] == "total" and int(table["parameters"].iloc[-1]) == 18 + 14 + 3
    assert list(table["output shape"])[1:4] == ["6", "6", "6"]
    assert not at.button(key="pg_train").disabled

    # train: the run follows the edited spec and its loss series grows
    at.button(key="pg_train").click().run()
    t = _trainer()
    assert [l.kind for l in t.specs[0].layers] == _kinds(at)
    t.wait(lambda s: s.run is not None and len(s.run.evals.get("step", [])) >= 3, 60)
    at.run()
    n1 = len(_trace(_charts(at)["Loss"], "train loss")["x"])
    t.wait(lambda s: len(s.run.evals["step"]) >= n1 + 2, 60)
    at.run()
    charts = _charts(at)
    assert len(_trace(charts["Loss"], "train loss")["x"]) > n1
    for title in ("Decision boundary", "Loss", "Accuracy", "What every neuron computes",
                  "Confusion matrix (test set)"):
        assert title in charts, sorted(charts)
    assert [m.label for m in at.metric][:3] == ["Epoch", "Train loss", "Test loss"]
    at.button(key="pg_train").click().run()                     # pause
    assert _trainer().snapshot().state == "paused"
    assert at.button(key="pg_train").label == "Train"
    assert not at.exception
    # the paused run is in the run history, with its spec and curves
    from engine.store import default_store
    rec = default_store().get(_trainer().record_ids()[0])
    assert rec.page == "playground" and [l["kind"] for l in rec.spec["networks"]["model"]["layers"]] == _kinds(at)
    assert rec.series["step"] == _trainer().snapshot().run.evals["step"]


def test_an_invalid_stack_shows_the_engine_message_and_disables_train():
    at = _app()
    at.selectbox(key="pg0_add_kind").set_value("conv2d")
    at.selectbox(key="pg0_add_pos").set_value(0)
    at.button(key="pg_add_layer").click().run()
    assert not at.exception
    errors = _errors(at)
    assert any("layer 1 (Conv2d 8@3x3) gets an input of 2 and" in e and "image" in e for e in errors), errors
    assert at.button(key="pg_train").disabled and at.button(key="pg_step").disabled
    end = time.monotonic() + 20                                 # no run for a stack that cannot train
    while trainer_mod.live_trainers() and time.monotonic() < end:
        time.sleep(0.1)
    assert not trainer_mod.live_trainers()
    # deleting the bad layer brings Train back
    [b for b in at.button if b.key and b.key.endswith("_del")][0].click().run()
    assert not at.button(key="pg_train").disabled and not _errors(at)
    # a last layer that does not match the classes: the spec-level message, Train disabled
    _key(at, "_units")[-1].set_value(3).run()
    assert any("Binary cross-entropy" in e for e in _errors(at))
    assert at.button(key="pg_train").disabled


def test_the_url_restores_the_same_spec_and_follows_edits():
    spec = load_preset("mlp_digits").with_(seed=5, batch_size=64)
    spec = spec.with_(layers=(*spec.layers[:2], LayerSpec.make("dropout", p=0.25), *spec.layers[2:]))
    at = _app({"spec": encode_spec(spec)})
    assert at.session_state["pg_spec"] == spec
    assert _url_spec(at) == spec
    assert at.selectbox(key="pg1_dataset").value == "digits"
    # an edit is written back to the URL
    at.select_slider(key="pg1_batch_size").set_value(128).run()
    assert _url_spec(at) == spec.with_(batch_size=128)
    # a damaged link is reported and the default spec is used
    bad = _app({"spec": "not-a-spec"})
    assert any("link" in e for e in _errors(bad)), _errors(bad)
    assert bad.session_state["pg_spec"] == load_preset("tf_playground").with_(until_paused=True)


def test_spec_upload_replaces_the_spec_or_reports_every_problem():
    at = _app()
    before = at.session_state["pg_spec"]
    bad = {"layers": [{"kind": "nope"}], "optim": {"lr": 99}}
    at.file_uploader(key="pg_spec_file").set_value(("bad.json", json.dumps(bad).encode(), "application/json")).run()
    assert at.session_state["pg_spec"] == before
    (msg,) = [e for e in _errors(at) if "not a valid spec" in e]
    assert "layers[0].kind" in msg and "optim.lr" in msg
    good = load_preset("xor_2_sigmoid")
    at.file_uploader(key="pg_spec_file").set_value(("xor.json", good.to_json().encode(), "application/json")).run()
    assert at.session_state["pg_spec"] == good and not [e for e in _errors(at) if "not a valid spec" in e]


def test_csv_upload_picks_a_target_and_adapts_the_network(tmp_path):
    at = _app()
    at.selectbox(key="pg0_dataset").set_value("csv").run()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    rows = ["a,b,c,label"] + [f"{a:.3f},{b:.3f},{c:.3f},{int(a + b > 0)}" for a, b, c in x]
    at.file_uploader(key="pg_csv_file").set_value(("mine.csv", "\n".join(rows).encode(), "text/csv")).run()
    assert not at.exception
    s = at.session_state["pg_spec"]
    assert s.data.name == "csv" and s.data.target == "label" and Path(s.data.path).is_file()
    assert s.task == "classification" and not at.button(key="pg_train").disabled, _errors(at)
    assert at.dataframe[0].value.shape[1] == 4                   # the preview table: target + 3 features
    # a text feature column: a message per problem, never a crash
    bad = "name,b,label\n" + "\n".join(f"x{i},{i},{i % 2}" for i in range(20))
    at.file_uploader(key="pg_csv_file").set_value(("bad.csv", bad.encode(), "text/csv")).run()
    assert not at.exception
    assert any("not numeric: name" in e for e in _errors(at))
    assert at.button(key="pg_train").disabled


def test_dataset_change_adapts_the_network_and_lr_changes_while_training():
    at = _app()
    at.selectbox(key="pg0_dataset").set_value("iris").run()
    s = at.session_state["pg_spec"]
    assert s.layers[-1].kind == "linear" and s.layers[-1].params["units"] == 3 and not _errors(at)
    at.button(key="pg_train").click().run()
    t = _trainer()
    t.wait(lambda s: s.run is not None and s.run.step >= 20, 60)
    at.select_slider(key="pg1_optim_lr").set_value(0.3).run()
    assert _trainer() is t                                        # the same run goes on
    snap = t.wait(lambda s: s.run.lr == 0.3, 10)
    assert snap.run.step >= 20
    # a structural change resets the run on the new spec; the old curves are kept to draw faded
    at.select_slider(key="pg1_batch_size").set_value(16).run()
    assert _trainer() is not t and _trainer().specs[0].batch_size == 16
    assert at.session_state["pg_previous"]["step"] >= 20


def test_stack_operations_are_pure():
    seq = ("a", "b", "c")
    assert builder.insert(seq, 1, "x") == ("a", "x", "b", "c")
    assert builder.insert(seq, 99, "x") == ("a", "b", "c", "x")
    assert builder.move(seq, 0, -1) == seq and builder.move(seq, 2, 1) == seq
    assert builder.move(seq, 1, 1) == ("a", "c", "b")
    assert builder.duplicate(seq, 1) == ("a", "b", "b", "c")
    assert builder.duplicate(seq, 1, "y") == ("a", "b", "y", "c")
    assert builder.delete(seq, 0) == ("b", "c")


def test_each_kind_of_dataset_renders_and_steps_without_an_exception():
    from engine.data import DATASETS
    at = _app()
    kinds = ["xor_gate", "multi_gaussian", "wine", "digits", "shapes", "fashion_idx"]   # one of each kind
    for gen, name in enumerate(kinds, start=1):
        at.selectbox(key=f"pg{gen - 1}_dataset").set_value(name).run()
        assert not at.exception, (name, at.exception[0].message)
        assert at.session_state["pg_spec"].data.name == name
        if DATASETS[name].group == "files":                     # nothing to read yet: Train disabled, reason shown
            assert at.button(key="pg_train").disabled and any("data:" in e for e in _errors(at)), name
            continue
        assert not at.button(key="pg_train").disabled, (name, _errors(at))
        at.button(key="pg_step").click().run()
        t = _trainer(at)
        t.wait(lambda s: s.run is not None and s.run.step >= 1 and s.state == "paused", 60)
        at.run()
        assert not at.exception, (name, at.exception[0].message)
        titles = set(_charts(at))
        assert "Loss" in titles, (name, titles)
        group = DATASETS[name].group
        want = {"2d": "Decision boundary" if DATASETS[name].task == "classification" else "Regression surface",
                "images": "Test images: prediction (true label)", "tabular": "Confusion matrix (test set)"}[group]
        assert want in titles, (name, titles)


def test_a_link_naming_a_server_file_shows_no_line_of_it(tmp_path, monkeypatch):
    """A ?spec= link whose data.path names a file on the server: the page says the path is
    outside the data folder and never shows (as columns, in a message) what the file holds."""
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "data"))
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:secret-first-line,b\n" + "\n".join(f"{i},{i}" for i in range(20)))
    spec = load_preset("tf_playground").with_(data=DataSpec("csv", path=str(secret), target="b"))
    at = _app({"spec": encode_spec(spec)})
    shown = " ".join([e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
                     + [str(o) for s in at.selectbox for o in s.options])
    assert "outside the data folder" in shown
    assert "secret" not in shown and "root:x" not in shown


def _adapted_to_mnist(at: AppTest) -> None:
    s = at.session_state["pg_spec"]
    assert s.data.name == "mnist" and s.loss == "auto" and s.data.n_samples == 2000, (s.loss, s.data)
    assert s.name == ""                            # not "TensorFlow Playground default" on a CNN (issue 21.9)
    assert at.selectbox(key=f"pg{at.session_state['pg_gen']}_preset").value is None   # nor in the preset menu
    assert [l.kind for l in s.layers][0] == "conv2d" and all(
        set(l.params) <= {p.name for p in LAYERS[l.kind].params} for l in s.layers), s.layers
    assert any("network was adapted" in m.value for m in at.success), [m.value for m in at.success]
    assert not at.button(key="pg_train").disabled, _errors(at)


def test_picking_mnist_first_always_gives_the_same_adapted_spec():
    """Issue 21.1: the first dataset change of a session adapts loss, example count and network,
    also when the browser's next message still carries the replaced spec's widgets (it had not
    drawn the new ones yet): their callbacks once wrote bce, 500 examples and Linear units back."""
    at = _app()                                                   # a fresh session: MNIST first
    at.selectbox(key="pg0_dataset").set_value("mnist")
    crossing = at._tree.get_widget_states()                       # what a browser still on pg0_* sends
    at.run()
    _adapted_to_mnist(at)
    adapted = at.session_state["pg_spec"]
    at._run(crossing)                                             # the message that crossed the change
    assert not at.exception
    assert at.session_state["pg_spec"] == adapted
    _adapted_to_mnist(at)

    idle = _app()                                                 # widgets left idle: reruns, then MNIST
    idle.run()
    idle.run()
    idle.selectbox(key="pg0_dataset").set_value("mnist").run()
    _adapted_to_mnist(idle)
    assert idle.session_state["pg_spec"] == adapted


def test_replay_keeps_the_seed_and_start_afresh_records_a_new_one():
    """Issue 21.7: two plainly named resets. Replay: step 0 with the same seed (the same curve
    again). Start afresh: a new seed, written into the spec, so the link reproduces the run."""
    at = _app()
    assert at.button(key="pg_replay").label == "Replay this run (same seed)"
    assert at.button(key="pg_afresh").label == "Start afresh (new seed)"
    at.button(key="pg_step").click().run()
    t = _trainer(at)
    first = t.wait(lambda s: s.run is not None and s.run.step >= 1 and s.state == "paused", 60).run.batches["loss"]
    at.button(key="pg_replay").click().run()
    assert _trainer() is t and t.specs[0].seed == 0
    t.wait(lambda s: s.state == "idle" and s.run.step == 0, 60)
    at.button(key="pg_step").click().run()
    again = t.wait(lambda s: s.run.step >= 1 and s.state == "paused", 60).run.batches["loss"]
    assert again == first                                         # the same run again

    at.button(key="pg_afresh").click().run()
    s = at.session_state["pg_spec"]
    assert s.seed != 0 and s.with_(seed=0) == load_preset("tf_playground").with_(until_paused=True)
    assert _url_spec(at).seed == s.seed and _trainer(at).specs[0].seed == s.seed
    assert any(f"new seed **{s.seed}**" in m.value for m in at.success)
    assert at.number_input(key=f"pg{at.session_state['pg_gen']}_seed").value == s.seed


def test_a_number_out_of_range_is_refused_next_to_its_box():
    """Issue 21.8: kernel 40 on MNIST was turned red and dropped without a word; now the box
    keeps its value and says under it what was refused and why, and a number in range clears it."""
    at = _app({"spec": encode_spec(load_preset("mnist_cnn"))})
    (kernel,) = [w for w in _key(at, "_kernel") if "L1" in w.key]
    kernel.set_value(40).run()
    assert not at.exception
    assert at.session_state["pg_spec"].layers[0].params["kernel"] == 3
    (box,) = [w for w in _key(at, "_kernel") if "L1" in w.key]
    assert box.value == 3
    assert "40 is out of range (1 to 15): kernel stays 3." in _errors(at)
    box.set_value(5).run()
    assert at.session_state["pg_spec"].layers[0].params["kernel"] == 5
    assert not [e for e in _errors(at) if "out of range" in e]
    (epochs,) = _key(at, "_epochs")
    epochs.set_value(0).run()
    assert at.session_state["pg_spec"].epochs == load_preset("mnist_cnn").epochs
    assert "0 is out of range (1 to 100,000): epochs stays 8." in _errors(at)


def test_every_upload_box_states_the_limit_the_app_applies():
    """Issue 21.9: the spec box said '200MB per file' (Streamlit's default); the app reads at most
    1 MB of spec and 20 MB of CSV, and the server accepts nothing larger than the largest."""
    import math
    import tomllib
    from engine.data.files import MAX_CSV_BYTES
    from engine.spec import MAX_BYTES
    from engine.teach.conv import MAX_UPLOAD_BYTES
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    from ui.playground import MAX_WEIGHTS_BYTES
    largest = max(MAX_CSV_BYTES, MAX_BYTES, MAX_UPLOAD_BYTES, MAX_WEIGHTS_BYTES)
    assert config["server"]["maxUploadSize"] == math.ceil(largest / 2**20)
    at = _app()
    at.selectbox(key="pg0_dataset").set_value("csv").run()
    limits = {u.proto.label: u.proto.max_upload_size_mb for u in at.get("file_uploader")}
    assert limits == {"Upload a CSV file": MAX_CSV_BYTES // 2**20, "Upload a spec (JSON)": 1,
                      "Load weights (a state_dict .pt)": MAX_WEIGHTS_BYTES // 2**20}, limits


def test_the_paused_run_exports_to_every_format_checked_against_pytorch():
    at = _app()
    at.button(key="pg_step").click().run()                       # one step: a run that is not training
    t = _trainer(at)
    t.wait(lambda s: s.state == "paused" and s.run.step == 1, 60)
    at.run()
    at.button(key="pg_deploy_go").click().run()
    files = at.session_state["pg_deploy"]
    assert [f.format for f in files] == ["onnx", "torch_export", "torchscript", "state_dict"]
    assert all(f.max_diff < 1e-5 and f.checked == 250 for f in files[:3]) and files[3].max_diff is None
    table = next(d.value for d in at.dataframe if "max |diff|" in d.value.columns)
    assert list(table["format"]) == ["ONNX", "torch.export", "TorchScript", "state_dict (weights only)"]
    assert all(float(v) < 1e-5 for v in table["max |diff|"][:3])
    assert [b.label for b in at.get("download_button") if b.key.startswith("pg_dl_") and b.key[6:] in
            ("onnx", "torch_export", "torchscript")] == ["Download ONNX (playground.onnx)",
                                                         "Download torch.export (playground.pt2)",
                                                         "Download TorchScript (playground.pt)"]
    assert not at.exception
