"""The run history: SQLite rows and weights files that survive threads, restarts and damage."""
import json
import os
import subprocess
import sys
import threading

import pytest
import torch

from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec, from_dict, to_dict
from engine.store import RunStore, best_eval
from engine.trainer import Trainer

L = LayerSpec.make
SMALL = RunSpec.make(name="moons mlp", data=DataSpec("moons", 200, 0.1, 0.5),
                     layers=(L("linear", units=8), L("relu"), L("linear", units=2)),
                     optim=OptimSpec("adam", lr=0.02), batch_size=16, epochs=6, seed=7)
SERIES = {"step": [0, 10, 20, 30], "test_acc": [0.5, 0.9, 0.95, 0.93], "test_loss": [0.7, 0.3, 0.2, 0.25]}


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


def test_a_saved_run_comes_back_with_its_best_epoch_and_delete_removes_its_weights(store):
    weights = {"model": {"0.weight": torch.arange(6.0).reshape(2, 3)}}
    rid = store.save(spec=to_dict(SMALL), series=SERIES, final={"test_acc": 0.93, "test_loss": float("nan")},
                     state="done", page="playground", weights=weights)
    (rec,) = store.list()
    assert rec.id == rid and rec.name == "moons mlp" and rec.page == "playground" and rec.state == "done"
    assert rec.best == {"step": 20, "test_acc": 0.95, "test_loss": 0.2, "by": "test_acc"}
    assert rec.final == {"test_acc": 0.93, "test_loss": "nan"} and rec.series == SERIES
    assert from_dict(rec.spec) == SMALL
    assert torch.equal(store.weights(rid)["model"]["0.weight"], weights["model"]["0.weight"])
    store.rename(rid, "renamed")
    store.tag(rid, ["b", "a", " ", "a"])
    assert store.get(rid).name == "renamed" and store.get(rid).tags == ("a", "b")
    assert store.find(rid[:6]).id == rid and store.find("zzz") is None
    assert (store.folder / rec.weights).is_file()
    assert store.delete(rid) and store.list() == [] and not (store.folder / rec.weights).exists()
    assert not store.delete(rid)


def test_best_epoch_is_the_lowest_loss_where_there_is_no_accuracy():
    assert best_eval({"step": [0, 5, 9], "test_loss": [3.0, 1.0, 2.0]}) == {"step": 5, "test_loss": 1.0,
                                                                         "by": "test_loss"}
    assert best_eval({}) == {}


def test_eight_threads_writing_at_once_lose_no_run(store):
    ids, errors = [], []

    def writer(k):
        try:
            for i in range(25):
                ids.append(store.save(spec=to_dict(SMALL), series={"step": [i], "test_acc": [i / 25]},
                                      final={}, state="done", page=f"t{k}"))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids)) == 200
    assert {r.id for r in store.list()} == set(ids) and len(store.list(page="t3")) == 25


def test_a_new_process_lists_the_same_runs(store):
    rid = store.save(spec=to_dict(SMALL), series=SERIES, final={}, state="done", page="arena")
    env = os.environ | {"PLAYGROUND_RUNS_DIR": str(store.folder)}
    out = subprocess.run([sys.executable, "-m", "engine", "runs", "list", "--json"], env=env,
                         capture_output=True, text=True, timeout=120)
    listed = json.loads(out.stdout)
    assert [r["id"] for r in listed] == [rid] and listed[0]["best"]["test_acc"] == 0.95


def test_a_damaged_database_is_moved_aside_and_a_fresh_one_started(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "runs.db").write_bytes(b"this is not a database" * 100)
    store = RunStore(folder)
    assert "was damaged" in store.warning and "moved to runs.db.corrupt-" in store.warning
    assert store.list() == []
    aside = [p for p in folder.iterdir() if p.name.startswith("runs.db.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    store.save(spec=to_dict(SMALL), series=SERIES, final={}, state="done", page="cli")
    assert len(RunStore(folder).list()) == 1 and RunStore(folder).warning == ""


def test_the_trainer_saves_each_run_when_it_stops_and_updates_the_same_row(store):
    t = Trainer(SMALL, history=store, page="playground")
    try:
        t.wait(lambda s: s.state == "idle")
        t.step(5)
        t.wait(lambda s: s.state == "paused" and s.run.step == 5)
        (first,) = store.list()
        assert first.state == "training" and first.page == "playground"
        t.resume()
        snap = t.wait(lambda s: s.state == "done", timeout=120)
    finally:
        t.stop()
    (rec,) = store.list()                                      # the same row, updated
    assert rec.id == first.id == t.record_ids()[0] and rec.state == "done"
    assert rec.series["step"] == snap.run.evals["step"] and rec.final["test_acc"] == snap.run.last_eval["test_acc"]
    model = t.runs()[0].model
    saved = store.weights(rec.id)["model"]
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())


def test_a_failing_history_never_stops_training(tmp_path):
    class Broken(RunStore):
        def save(self, **kw):
            raise OSError("disk full")
    t = Trainer(SMALL, history=Broken(tmp_path / "runs"), autostart=True)
    try:
        snap = t.wait(lambda s: s.state == "done", timeout=120)
    finally:
        t.stop()
    assert snap.run.step == snap.run.total_steps
    assert t.history_error == "the run could not be saved to the history (OSError: disk full)"
