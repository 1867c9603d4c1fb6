"""The headless CLI and the exported PyTorch script."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.export import export_script, load_weights, metrics_csv, weights_bytes
from engine.presets import load_preset
from engine.run import Run
from engine.spec import to_dict
from tests.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_presets_lists_every_bundled_preset():
    out = cli("presets")
    assert out.returncode == 0
    for name in ("xor_2_sigmoid", "linear_neuron", "logistic_regression", "mnist_cnn", "lenet",
                 "tf_playground", "best_mnist"):
        assert name in out.stdout


def test_check_prints_the_layer_table_or_the_errors(tmp_path):
    out = cli("check", "--preset", "lenet")
    assert out.returncode == 0
    assert "(16, 5, 5)" in out.stdout and "61,706" in out.stdout        # LeNet's classic 400 -> 120 -> 84 -> 10
    bad = to_dict(load_preset("mnist_cnn"))
    del bad["networks"]["model"]["layers"][3]                             # drop the Flatten
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    out = cli("check", str(path))
    assert out.returncode == 1 and "add a Flatten layer" in out.stderr and "an input of 32 × 13 × 13" in out.stderr
    path.write_text('{"layers": [{"kind": "lstm"}]}')                    # known, but the spiral is not a sequence
    out = cli("check", str(path))
    assert out.returncode == 1 and "layer 1 (LSTM 32) gets an input of 2" in out.stderr
    path.write_text('{"layers": [{"kind": "capsule"}]}')
    out = cli("check", str(path))
    assert out.returncode == 2 and "unknown layer kind 'capsule'" in out.stderr


def test_run_json_prints_one_object_per_evaluation_and_a_final_line(tmp_path):
    spec = tmp_path / "xor.json"
    spec.write_text(load_preset("xor_2_sigmoid").to_json())
    out = cli("run", str(spec), "--epochs", "600", "--json")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    assert lines[-1]["final"] is True and lines[-1]["train_acc"] == 1.0 and lines[-1]["step"] == 600
    for row in lines[:-1]:
        assert {"step", "epoch", "train_loss", "test_loss", "train_acc", "test_acc", "samples_per_s"} <= set(row)
    steps = [r["step"] for r in lines[:-1]]
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 600
    # the same spec gives the same numbers again
    again = [json.loads(l) for l in cli("run", str(spec), "--epochs", "600", "--json").stdout.splitlines()]
    assert [r["train_loss"] for r in again] == [r["train_loss"] for r in lines]


def test_run_steps_override_and_failure_exit_code():
    out = cli("run", "--preset", "linear_neuron", "--steps", "40", "--json")
    final = json.loads(out.stdout.splitlines()[-1])
    assert out.returncode == 0 and final["step"] == 40 and "test_r2" in final
    assert cli("run", "--preset", "no_such").returncode == 2


@pytest.mark.parametrize("preset, epochs", [("tf_playground", 4), ("mlp_digits", 2), ("linear_neuron", 3),
                                            ("tf_playground_spiral_6x8", 3)])
def test_exported_script_trains_and_reproduces_the_engine(tmp_path, preset, epochs):
    spec = load_preset(preset).with_(epochs=epochs)
    script = tmp_path / "model.py"
    script.write_text(export_script(spec))
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    last = out.stdout.splitlines()[-2].split()
    run = Run(spec)
    first_loss = run.evaluate(full=True)["train_loss"]
    while run.step_count < run.total_steps:
        run.step()
    res = run.evaluate(full=True)
    assert float(last[last.index("train") + 2]) == pytest.approx(res["train_loss"], abs=1e-4)
    assert res["train_loss"] < first_loss
    assert (tmp_path / "model.pt").stat().st_size > 0


def test_weights_round_trip_safely_and_metrics_csv():
    run = Run(load_preset("xor_2_sigmoid"))
    run.step()
    blob = weights_bytes(run.model)
    other = Run(load_preset("xor_2_sigmoid"))
    load_weights(other.model, blob)
    for a, b in zip(run.model.parameters(), other.model.parameters()):
        assert (a == b).all()
    text = metrics_csv({"step": [0, 10], "train_loss": [0.7, 0.5]})
    assert text.splitlines() == ["step,train_loss", "0,0.7", "10,0.5"]


def test_the_metrics_csv_columns_come_in_the_documented_order():
    """Issue 21.9: the columns were in the order of a set (a different order per process)."""
    import random
    from engine.trainer import Trainer
    names = ["test_f1", "lr", "train_acc", "zeta", "time_s", "test_loss", "epoch", "train_loss", "step",
             "test_acc", "alpha"]
    for _ in range(5):
        random.shuffle(names)
        header = metrics_csv({n: [1] for n in names}).splitlines()[0]
        assert header == "step,epoch,time_s,lr,train_loss,test_loss,train_acc,test_acc,test_f1,alpha,zeta"
    t = Trainer(load_preset("xor_2_sigmoid").with_(epochs=2), autostart=True)
    try:
        evals = t.wait(lambda s: s.state == "done", 60).run.evals
    finally:
        t.stop()
    header = metrics_csv(evals).splitlines()[0].split(",")
    assert header[:8] == ["step", "epoch", "time_s", "lr", "train_loss", "test_loss", "train_acc", "test_acc"]
    assert header[8:] == ["train_precision", "test_precision", "train_recall", "test_recall", "train_f1", "test_f1"]


def test_a_spec_file_that_is_not_utf8_or_nests_deeply_is_one_sentence(tmp_path):
    bad = tmp_path / "latin1.json"
    bad.write_bytes('{"name": "caf\xe9", "layers": [{"kind": "relu"}]}'.encode("latin-1"))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000)
    for path, says in ((bad, "not UTF-8"), (deep, "nests deeper than 20 levels")):
        out = cli("check", str(path))
        assert out.returncode == 2 and says in out.stderr and "Traceback" not in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1


def test_run_records_its_run_and_runs_lists_shows_exports_and_deletes_it(tmp_path):
    out = cli("run", "--preset", "xor_2_sigmoid", "--epochs", "30", "--json", runs=tmp_path)
    final = json.loads(out.stdout.strip().splitlines()[-1])
    rid = final["run_id"]
    assert out.returncode == 0 and len(rid) == 32
    listed = json.loads(cli("runs", "list", "--json", runs=tmp_path).stdout)
    assert [r["id"] for r in listed] == [rid] and listed[0]["page"] == "cli" and listed[0]["state"] == "done"
    shown = json.loads(cli("runs", "show", rid[:8], "--json", runs=tmp_path).stdout)
    assert shown["spec"]["name"] == load_preset("xor_2_sigmoid").name and shown["series"]["step"][-1] == 30
    assert shown["final"]["test_acc"] == final["test_acc"]
    csv_lines = cli("runs", "export", rid, runs=tmp_path).stdout.splitlines()
    assert csv_lines[0].startswith("run,name,step,") and len(csv_lines) == 1 + len(shown["series"]["step"])
    assert (tmp_path / f"{rid}.pt").is_file()
    gone = cli("runs", "delete", rid[:6], runs=tmp_path)
    assert gone.stdout.strip() == f"deleted {rid}" and not (tmp_path / f"{rid}.pt").exists()
    missing = cli("runs", "show", "ffff", runs=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip() == \
        "error: runs show: no single run has an id starting with ffff"
