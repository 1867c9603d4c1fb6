"""Optimizer arena: contestants share network, data, seed and batch order, so identical
configurations give identical curves; Adam beats plain SGD at a small learning rate on XOR;
the ranking and the CSV say what the runs did."""
from __future__ import annotations

import csv
import io

import pytest
import torch

from engine import arena
from engine.presets import load_preset
from engine.run import Run
from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec, SpecError
from engine.trainer import RunView

XOR_NET = RunSpec.make(
    name="xor mlp", data=DataSpec("xor", n_samples=200), batch_size=16, seed=3,
    layers=(LayerSpec.make("linear", units=8), LayerSpec.make("tanh"), LayerSpec.make("linear", units=1)))


def race(specs, names, timeout=120.0):
    trainer = arena.start_race(specs, names)
    try:
        snap = trainer.wait(lambda s: s.state in ("done", "diverged", "error"), timeout)
    finally:
        trainer.stop()
    assert not snap.error, snap.error
    return snap


def test_race_specs_differ_only_in_the_optimizer():
    optims = [OptimSpec("sgd", lr=0.01), OptimSpec("adam", lr=0.001), OptimSpec("sgd", lr=0.01)]
    specs, names = arena.race_specs(XOR_NET, optims, steps=200, n_samples=120)
    assert names == ["SGD, lr 0.01", "Adam, lr 0.001", "SGD, lr 0.01 (2)"]
    for s, o, n in zip(specs, optims, names):
        assert s.optim == o and s.name == n
        assert s.with_(optim=OptimSpec(), name="") == specs[0].with_(optim=OptimSpec(), name="")
    assert specs[0].data.n_samples == 120 and specs[0].steps == 200
    assert specs[0].eval_every == 200 // arena.EVAL_POINTS


def test_contestants_start_from_identical_weights_and_batches():
    specs, _ = arena.race_specs(XOR_NET, [OptimSpec("sgd", lr=0.1), OptimSpec("adam", lr=0.01)], 10)
    a, b = Run(specs[0]), Run(specs[1])
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    for _ in range(3):
        xa, ya = a._next_batch()
        xb, yb = b._next_batch()
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_identical_configs_give_identical_curves():
    optims = [OptimSpec("adam", lr=0.01), OptimSpec("sgd", lr=0.05, momentum=0.9), OptimSpec("adam", lr=0.01)]
    specs, names = arena.race_specs(XOR_NET, optims, steps=120)
    snap = race(specs, names)
    a, other, b = snap.runs
    assert a.name != b.name                                         # told apart in legends
    timing = {"time_s"}
    assert a.evals.keys() == b.evals.keys()
    for col in a.evals.keys() - timing:
        assert a.evals[col] == b.evals[col], col
    assert len(a.evals["step"]) > 10
    # same start: the evaluation at step 0 is the same for every contestant
    assert a.evals["train_loss"][0] == other.evals["train_loss"][0]
    assert a.evals["train_loss"][1:] != other.evals["train_loss"][1:]


@pytest.mark.parametrize("dataset", ["xor", "xor_gate"])
def test_adam_beats_plain_sgd_at_a_small_learning_rate_on_xor(dataset):
    base = XOR_NET if dataset == "xor" else load_preset("xor_2_sigmoid")
    optims = [OptimSpec("sgd", lr=0.01), OptimSpec("adam", lr=0.01)]
    specs, names = arena.race_specs(base, optims, steps=300)
    snap = race(specs, names)
    sgd, adam = snap.runs
    assert snap.state == "done" and sgd.status == adam.status == "done"
    table = arena.standings(snap.runs, optims, target_loss=0.5)
    assert [r.optimizer for r in table] == ["adam", "sgd"]
    assert adam.evals["train_loss"][-1] < sgd.evals["train_loss"][-1] - 0.1
    assert max(adam.evals["test_acc"]) > max(sgd.evals["test_acc"])
    assert max(adam.evals["test_acc"]) == 1.0 if dataset == "xor_gate" else max(adam.evals["test_acc"]) > 0.9


def test_line_up_bounds_are_enforced():
    with pytest.raises(SpecError, match="race 2 to 6"):
        arena.race_specs(XOR_NET, [OptimSpec()], 10)
    with pytest.raises(SpecError, match="race 2 to 6"):
        arena.race_specs(XOR_NET, [OptimSpec()] * 7, 10)
    with pytest.raises(SpecError, match="contestant 2: learning rate"):
        arena.race_specs(XOR_NET, [OptimSpec(), OptimSpec(lr=50.0)], 10)


def test_labels_and_repeats():
    assert arena.contestant_label(OptimSpec("sgd", lr=0.1, momentum=0.9, nesterov=True)) \
        == "SGD + Nesterov momentum 0.9, lr 0.1"
    assert arena.contestant_label(OptimSpec("adamw", lr=0.001, beta1=0.8, weight_decay=0.01, schedule="cosine")) \
        == "AdamW, lr 0.001, betas 0.8/0.999, wd 0.01, cosine schedule"
    assert arena.contestant_label(OptimSpec("adagrad", lr=0.01, momentum=0.9)) == "Adagrad, lr 0.01"
    optims = [OptimSpec("sgd"), OptimSpec("adam"), OptimSpec("sgd", momentum=0.9), OptimSpec("sgd")]
    assert arena.repeat_index(optims) == [0, 0, 1, 2]


def _view(name, status="done", evals=None, step=100, message=""):
    return RunView(name, step, 1.0, 100, 10, 0.01, status, message, evals or {}, {}, {}, {})


def test_standings_rank_by_accuracy_then_loss_and_diverged_last():
    ev = lambda losses, accs: {"step": [0, 50, 100], "time_s": [0.0, 0.1, 0.2],
                               "train_loss": losses, "test_loss": losses, "test_acc": accs}
    runs = [_view("a", evals=ev([0.7, 0.6, 0.55], [0.5, 0.6, 0.7])),
            _view("b", evals=ev([0.7, 0.3, 0.2], [0.5, 0.9, 0.85])),
            _view("c", status="diverged", evals=ev([0.7, 0.1], [0.5, 0.95]), step=60, message="boom"),
            _view("d", evals=ev([0.7, 0.5, 0.4], [0.5, 0.8, 0.9]))]
    optims = [OptimSpec("sgd"), OptimSpec("adam"), OptimSpec("adam", lr=1.0), OptimSpec("rmsprop")]
    table = arena.standings(runs, optims, target_loss=0.5)
    assert [r.name for r in table] == ["b", "d", "a", "c"]         # b and d tie on 0.9: b's loss is lower
    assert [r.rank for r in table] == [1, 2, 3, 4]
    b, d, a, c = table
    assert b.steps_to_target == 50 and d.steps_to_target == 50 and a.steps_to_target is None
    assert b.best_test_acc == 0.9 and b.final_test_loss == 0.2
    assert c.final_train_loss is None and c.message == "boom"
    assert b.ms_per_step == pytest.approx(2.0)                      # 0.2 s over 100 steps


def test_results_csv_has_one_row_per_evaluation():
    ev = {"step": [0, 10], "time_s": [0.0, 0.5], "train_loss": [0.7, 0.3], "test_loss": [0.71, 0.35],
          "test_acc": [0.5, 0.875]}
    runs = [_view("SGD, lr 0.1", evals=ev),
            _view("Adam, lr 0.01", evals=dict(ev, train_loss=[0.7, 0.1], test_loss=[0.71, 0.2]))]
    optims = [OptimSpec("sgd", lr=0.1), OptimSpec("adam", lr=0.01)]
    rows = list(csv.DictReader(io.StringIO(arena.results_csv(runs, optims))))
    assert len(rows) == 4
    assert rows[0]["contestant"] == "SGD, lr 0.1" and rows[0]["optimizer"] == "sgd"
    assert [float(r["train_loss"]) for r in rows] == [0.7, 0.3, 0.7, 0.1]
    assert rows[3]["test_acc"] == "0.875" and rows[3]["lr0"] == "0.01" and rows[3]["step"] == "10"
    ranking = list(csv.DictReader(io.StringIO(arena.standings_csv(arena.standings(runs, optims, 0.2)))))
    assert [r["name"] for r in ranking] == ["Adam, lr 0.01", "SGD, lr 0.1"]
    assert ranking[0]["steps_to_target"] == "10" and ranking[1]["steps_to_target"] == ""


def test_a_diverging_contestant_is_marked_and_the_others_finish():
    """A linear neuron on the 'plane' data (inputs up to 6): lr 1 overshoots ~10x per step."""
    optims = [OptimSpec("sgd", lr=1.0), OptimSpec("sgd", lr=0.001)]
    specs, names = arena.race_specs(load_preset("linear_neuron"), optims, steps=200)
    snap = race(specs, names)
    wild, calm = snap.runs
    assert wild.status == "diverged" and "Lower the learning rate" in wild.message
    assert calm.status == "done" and calm.step == 200
    table = arena.standings(snap.runs, optims, 0.5)
    assert table[-1].name == wild.name and table[-1].status == "diverged"
    assert table[-1].final_test_loss is None and table[0].final_test_loss is not None
