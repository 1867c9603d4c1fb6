"""The optional MLflow mirror of the run history (engine/tracking.py), on a local file store."""
import json
import pathlib

import pytest
import torch

pytest.importorskip("mlflow")

from engine import tracking  # noqa: E402
from engine.__main__ import main  # noqa: E402
from engine.store import RunStore, open_store  # noqa: E402
from engine.tracking import MlflowMirror  # noqa: E402
from engine.trainer import Trainer  # noqa: E402
from tests.test_store import SMALL  # noqa: E402


@pytest.fixture
def uri(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")       # MLflow 3 keeps file stores behind this switch
    return (tmp_path / "mlruns").as_uri()


def test_a_trained_run_is_logged_with_its_spec_curves_state_and_weights(tmp_path, uri):
    store = RunStore(tmp_path / "runs", mirror=MlflowMirror(uri))
    t = Trainer(SMALL, history=store, page="playground")
    try:
        t.wait(lambda s: s.state == "idle")
        t.step(5)
        t.wait(lambda s: s.state == "paused" and s.run.step == 5)
        rid = t.record_ids()[0]
        client = store.mirror.client
        paused = client.get_run(store.mirror.mlflow_id(rid))
        assert paused.info.status == "KILLED" and paused.data.tags["state"] == "training"
        t.resume()
        t.wait(lambda s: s.state == "done", timeout=120)
    finally:
        t.stop()
    rec = store.get(rid)
    (found,) = client.search_runs([store.mirror.experiment_id])            # one MLflow run, updated
    assert found.info.run_id == paused.info.run_id and found.info.status == "FINISHED"
    assert found.data.tags["playground.id"] == rid and found.data.tags["page"] == "playground"
    assert found.data.tags["mlflow.runName"] == "moons mlp"
    params = found.data.params
    assert params["model.optim.lr"] == "0.02" and params["data.name"] == "moons" and params["seed"] == "7"
    assert json.loads(params["model.layers"])[0] == {"kind": "linear", "units": 8, "bias": True}
    history = client.get_metric_history(found.info.run_id, "test_loss")
    assert [m.step for m in history] == rec.series["step"]                  # every row once, none twice
    assert [m.value for m in history] == pytest.approx(rec.series["test_loss"])
    art = pathlib.Path(client.download_artifacts(found.info.run_id, f"{rid}.pt", str(tmp_path)))
    logged, kept = torch.load(art, weights_only=True), store.weights(rid)
    assert all(torch.equal(logged["model"][k], v) for k, v in kept["model"].items())

    store.rename(rid, "renamed")
    store.tag(rid, ["best", "moons"])
    again = client.get_run(found.info.run_id).data.tags
    assert again["mlflow.runName"] == "renamed" and again["playground.tags"] == "best, moons"
    assert store.delete(rid) and client.get_run(found.info.run_id).info.lifecycle_stage == "deleted"
    assert store.mirror_error == ""


def test_a_failing_mlflow_store_never_loses_the_run(tmp_path, uri):
    mirror = MlflowMirror(uri)

    def down(*a, **k):
        raise ConnectionError("tracking server unreachable\nsecond line")
    mirror.client.create_run = down
    store = RunStore(tmp_path / "runs", mirror=mirror)
    rid = store.save(spec={"name": "x"}, series={"step": [0]}, final={}, state="done", page="cli")
    assert store.get(rid).state == "done"
    assert store.mirror_error == (f"run {rid[:8]} is kept here but MLflow did not get it "
                                  "(ConnectionError: tracking server unreachable)")


def test_the_environment_variable_turns_it_on_and_off(tmp_path, uri, monkeypatch):
    monkeypatch.delenv(tracking.ENV, raising=False)
    assert open_store(tmp_path / "a").mirror is None
    monkeypatch.setenv(tracking.ENV, uri)
    store = open_store(tmp_path / "b")
    assert isinstance(store.mirror, MlflowMirror) and store.mirror_error == ""
    monkeypatch.setenv(tracking.ENV, "nosuchscheme://x")
    bad = open_store(tmp_path / "c")
    assert bad.mirror is None and bad.mirror_error.startswith(f"the MLflow store in {tracking.ENV} cannot be used (")


def test_the_command_line_run_is_logged_too(tmp_path, uri, monkeypatch, capsys):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv(tracking.ENV, uri)
    assert main(["run", "--preset", "xor_2_sigmoid", "--epochs", "20", "--json"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "mlflow_error" not in final
    mirror = MlflowMirror(uri)
    (found,) = mirror.client.search_runs([mirror.experiment_id])
    assert found.data.tags["playground.id"] == final["run_id"] and found.data.tags["page"] == "cli"
    assert found.info.status == "FINISHED" and found.data.metrics["test_acc"] == pytest.approx(final["test_acc"])
