"""The Run and the Trainer: learning, determinism, commands, divergence and errors."""
import time

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

from engine.metrics import classification_metrics
from engine.optim import OPTIMIZERS
from engine.presets import load_preset
from engine.records import ViewError
from engine.run import Run, eval_cadence
from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec, SCHEDULES
from engine.trainer import Trainer, live_workers

L = LayerSpec.make
FINISHED = ("done", "diverged", "error")
SMALL = RunSpec.make(data=DataSpec("moons", 200, 0.1, 0.5),
                layers=(L("linear", units=8), L("relu"), L("dropout", p=0.2), L("linear", units=2)),
                optim=OptimSpec("adam", lr=0.02), batch_size=16, epochs=5, seed=7)


def test_xor_preset_reaches_full_training_accuracy(trainers):
    t = trainers(load_preset("xor_2_sigmoid"), autostart=True)
    snap = t.wait(lambda s: s.state in FINISHED, 120)
    assert snap.state == "done", snap.error
    assert snap.run.last_eval["train_acc"] == 1.0 and snap.run.last_eval["train_loss"] < 0.05


def test_mnist_cnn_preset_reaches_96_percent_on_held_out_digits():
    spec = load_preset("mnist_cnn")
    run = Run(spec)
    while run.step_count < run.total_steps:
        run.step()
    result = run.evaluate(full=True)
    assert len(run.x_test) == 1000
    assert result["test_acc"] >= 0.96, result["test_acc"]


def test_linear_neuron_learns_the_plane():
    run = Run(load_preset("linear_neuron"))
    while run.step_count < run.total_steps:
        run.step()
    res = run.evaluate(full=True)
    assert res["test_r2"] > 0.95 and res["test_mse"] < 0.02


def test_default_evaluation_cadence_is_once_per_epoch_within_a_budget():
    """Once per epoch (at most every 100 steps), unless that evaluates more than 1 example per
    8 trained, and at least 12 times per run: TF Playground's spiral (250 + 250 examples,
    batch 10) evaluates every 8 * 500 / 10 = 400 steps, MNIST at batch 32 every 8 * 1024 / 32."""
    from engine.bench import FOREVER, tf_playground_spec
    assert eval_cadence(steps_per_epoch=7, batch_size=16, n_eval=20, total_steps=1000) == 10   # the budget
    assert eval_cadence(steps_per_epoch=7, batch_size=16, n_eval=8, total_steps=1000) == 7     # per epoch
    assert eval_cadence(steps_per_epoch=500, batch_size=16, n_eval=8, total_steps=10**6) == 100
    assert eval_cadence(steps_per_epoch=7, batch_size=16, n_eval=200, total_steps=35) == 3      # 12 per run
    assert Run(tf_playground_spec().with_(steps=FOREVER)).eval_every == 400
    mnist = Run(load_preset("mnist_cnn").with_(batch_size=32, steps=FOREVER))
    assert (mnist.n_train, len(mnist.x_test), mnist.eval_every) == (4000, 1000, 256)
    assert Run(load_preset("mnist_cnn")).eval_every == 84                  # 1,000 steps: 12 evaluations
    assert Run(SMALL.with_(eval_every=3)).eval_every == 3                  # the spec's own choice wins


def test_trainer_numbers_equal_a_direct_run_and_reset_reproduces_them(trainers):
    spec = SMALL.with_(eval_every=7)                                      # once per epoch
    t = trainers(spec, autostart=True)
    first = t.wait(lambda s: s.state in FINISHED).run.evals
    assert first["step"][-1] == 5 * 7 and len(first["step"]) == 6        # initial + one per epoch
    run = Run(spec)
    direct = [run.evaluate()["train_loss"]]
    while run.step_count < run.total_steps:
        run.step()
        if run.step_count % run.eval_every == 0:
            direct.append(run.evaluate(full=run.step_count == run.total_steps)["train_loss"])
    np.testing.assert_allclose(first["train_loss"], direct, rtol=1e-6)
    t.reset()
    t.wait(lambda s: s.state == "idle" and s.run.step == 0)
    t.resume()
    second = t.wait(lambda s: s.state in FINISHED).run.evals
    assert second["train_loss"] == first["train_loss"] and second["test_acc"] == first["test_acc"]


def test_two_trainers_in_parallel_with_dropout_give_identical_series(trainers):
    a, b = trainers(SMALL, autostart=True), trainers(SMALL, autostart=True)
    sa = a.wait(lambda s: s.state in FINISHED)
    sb = b.wait(lambda s: s.state in FINISHED)
    assert sa.run.evals["train_loss"] == sb.run.evals["train_loss"]


def test_pause_stops_steps_and_step_runs_exactly_n(trainers):
    t = trainers(SMALL.with_(epochs=100_000))
    t.wait(lambda s: s.state == "idle")
    t.step(3)
    snap = t.wait(lambda s: s.state == "paused" and s.run.step == 3)
    assert snap.run.step == 3
    t.resume()
    t.wait(lambda s: s.state == "running" and s.run.step > 50)
    t.pause()
    paused = t.wait(lambda s: s.state == "paused")
    time.sleep(0.5)
    assert t.snapshot().run.step == paused.run.step


def test_learning_rate_changes_while_running(trainers):
    t = trainers(SMALL.with_(epochs=100_000, optim=OptimSpec("sgd", lr=0.1, schedule="cosine")), autostart=True)
    t.wait(lambda s: s.run is not None and s.run.step > 10)
    t.set_lr(0.001)
    snap = t.wait(lambda s: s.run.lr == 0.001)
    t.wait(lambda s: s.run.step > snap.run.step + 50)
    assert t.snapshot().run.lr == 0.001                 # the manual value replaced the schedule


def test_diverging_run_stops_itself_with_the_step_and_a_hint(trainers):
    spec = RunSpec.make(task="regression", data=DataSpec("plane", 200), layers=(L("linear", units=16), L("relu"),
                   L("linear", units=1)), optim=OptimSpec("sgd", lr=10.0), batch_size=10, epochs=50)
    t = trainers(spec, autostart=True)
    snap = t.wait(lambda s: s.state in FINISHED)
    assert snap.state == "diverged"
    msg = snap.run.message
    assert "at step" in msg and "Lower the learning rate" in msg
    step = int(msg.split("at step ")[1].split()[0])
    assert 1 <= step <= snap.run.step
    assert all(np.isfinite(v) for v in snap.run.batches.get("loss", []))


def test_worker_errors_are_reported_not_lost(trainers):
    t = trainers(RunSpec.make(data=DataSpec("mnist_idx", path="no-such-folder"), layers=(L("flatten"),)))
    snap = t.wait(lambda s: s.state == "error")
    assert "does not exist" in snap.error
    bad_view = {"broken": lambda run: 1 / 0, "ok": lambda run: run.step_count}
    t2 = trainers(SMALL, views=bad_view, autostart=True)
    snap = t2.wait(lambda s: s.state in FINISHED)
    assert snap.state == "done"
    broken = snap.run.views["broken"]
    assert isinstance(broken, ViewError) and "ZeroDivisionError" in broken.message
    assert snap.run.views["ok"] == snap.run.step


def test_stop_ends_the_worker(trainers):
    before = live_workers()
    t = Trainer(SMALL)
    assert live_workers() == before + 1
    t.stop()
    assert not t.alive and live_workers() == before and t.snapshot().state == "stopped"


def test_lock_step_runs_with_identical_configs_are_identical(trainers):
    t = trainers([SMALL, SMALL.with_(optim=OptimSpec("sgd", lr=0.05)), SMALL], names=["a", "b", "c"], autostart=True)
    snap = t.wait(lambda s: s.state in FINISHED)
    a, b, c = snap.runs
    assert a.evals["train_loss"] == c.evals["train_loss"] != b.evals["train_loss"]
    assert a.evals["train_loss"][0] == b.evals["train_loss"][0]            # same initial weights


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_lowers_the_loss(name):
    lr = {"adadelta": 1.0, "sgd": 0.1, "adagrad": 0.05}.get(name, 0.01)
    spec = SMALL.with_(optim=OptimSpec(name, lr=lr, momentum=0.9 if name == "sgd" else 0.0, nesterov=True))
    run = Run(spec)
    before = run.evaluate()["train_loss"]
    for _ in range(60):
        run.step()
    assert run.evaluate()["train_loss"] < before * 0.8


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_shape_the_learning_rate(schedule):
    run = Run(SMALL.with_(optim=OptimSpec("sgd", lr=0.1, schedule=schedule, step_size=1, gamma=0.5)))
    lrs = []
    while run.step_count < run.total_steps:
        run.step()
        lrs.append(run.lr)
    if schedule == "none":
        assert set(lrs) == {0.1}
    elif schedule == "step":
        assert lrs[run.steps_per_epoch - 1] == pytest.approx(0.05) and lrs[-1] == pytest.approx(0.1 * 0.5 ** 5)
    elif schedule == "cosine":
        assert lrs[-1] == pytest.approx(0.0, abs=1e-9) and max(lrs) <= 0.1
    else:
        assert max(lrs) == pytest.approx(0.1, rel=0.05) and lrs[0] < 0.01 and lrs[-1] < 1e-3


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_regularisation_shrinks_weights(kind):
    plain, reg = Run(SMALL), Run(SMALL.with_(regularization=kind, reg_rate=0.01))
    for _ in range(100):
        plain.step(), reg.step()
    norm = lambda r: sum(p.abs().sum().item() for n, p in r.model.named_parameters() if p.dim() > 1)
    assert norm(reg) < 0.8 * norm(plain)


def test_classification_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    p[:150] = y[:150]
    m = classification_metrics(torch.tensor(y), torch.tensor(p), 4)
    assert m["confusion"] == confusion_matrix(y, p).tolist()
    assert m["precision"] == pytest.approx(precision_score(y, p, average="macro"))
    assert m["recall"] == pytest.approx(recall_score(y, p, average="macro"))
    assert m["f1"] == pytest.approx(f1_score(y, p, average="macro"))
    assert m["f1_per_class"] == pytest.approx(list(f1_score(y, p, average=None)))


# ---------------------------------------------------------------- commands are checked where they are queued
@pytest.mark.parametrize("bad", ["fast", None, -0.1, 0, float("nan"), float("inf"), True, [0.1]])
def test_a_bad_learning_rate_is_refused_and_the_worker_lives_on(trainers, bad):
    t = trainers(SMALL)
    t.wait(lambda s: s.state == "idle", 60)
    with pytest.raises(ValueError, match="set_lr: the learning rate must be a positive number, got "):
        t.set_lr(bad)
    with pytest.raises(ValueError, match="set_lr: the run index must be a whole number from 0 to 0"):
        t.set_lr(0.1, index=3)
    t.set_lr(0.05)
    t.step(5)
    snap = t.wait(lambda s: s.state == "paused", 30)
    assert t.alive and snap.run.step == 5 and snap.run.lr == 0.05


@pytest.mark.parametrize("bad", ["3", 2.5, -5, 0, True, None, 10**7])
def test_a_bad_step_count_is_refused(trainers, bad):
    t = trainers(SMALL)
    with pytest.raises(ValueError, match="step: the number of steps must be a whole number from 1 to 1,000,000"):
        t.step(bad)
    t.wait(lambda s: s.state == "idle", 60)
    t.step(3)
    assert t.wait(lambda s: s.state == "paused", 30).run.step == 3      # nothing left over from the bad one


def test_a_message_quotes_only_an_excerpt_of_the_value(trainers):
    t = trainers(SMALL)
    with pytest.raises(ValueError) as e:
        t.set_lr("x" * 10_000 + "\nerror: forged")
    assert len(str(e.value)) < 120 and "\n" not in str(e.value)


def test_pause_drops_the_steps_a_long_step_command_has_not_taken(trainers):
    t = trainers(SMALL.with_(epochs=100_000))
    t.wait(lambda s: s.state == "idle", 60)
    t.step(1_000_000)
    t.wait(lambda s: s.run.step > 20, 30)
    t.pause()
    snap = t.wait(lambda s: s.state == "paused" and s.run.step < 1_000_000, 5)
    time.sleep(0.3)
    assert t.snapshot().run.step == snap.run.step                      # it stopped stepping


def test_a_command_the_worker_cannot_apply_becomes_an_error_not_a_dead_worker(trainers):
    t = trainers(SMALL)
    t.wait(lambda s: s.state == "idle", 60)
    t._q.put(("step", "many"))                                         # what the checks above keep out
    snap = t.wait(lambda s: s.state == "error", 10)
    assert t.alive and "TypeError" in snap.error
    t.reset()                                                          # and it recovers
    assert t.wait(lambda s: s.state == "idle", 60).error == ""


def test_an_autostarted_run_never_publishes_idle(trainers):
    """The CLI's run: a snapshot saying idle at step 0 made `python -m engine run` end a run it had
    not started (about 6% of runs). The worker now goes from preparing straight to running."""
    published = []

    class Watched(Trainer):
        def _publish(self, force: bool = False) -> None:
            published.append(self._state)
            super()._publish(force)
    t = Watched(SMALL, autostart=True)
    try:
        assert t.wait(lambda s: s.state in FINISHED, 60).state == "done"
    finally:
        t.stop()
    assert published[0] == "running" and "idle" not in published


# ---------------------------------------------------------------- a loss that grows but stays finite
def test_a_loss_that_keeps_growing_pauses_the_run_with_the_fix(trainers):
    tf = load_preset("tf_playground").with_(epochs=200, device="cpu")
    t = trainers(tf.with_(optim=OptimSpec("sgd", lr=10.0)), autostart=True)
    snap = t.wait(lambda s: s.state in FINISHED, 60)
    assert snap.state == "diverged" and snap.run.step < snap.run.total_steps
    assert "above the untrained network's" in snap.run.message and "Lower the learning rate" in snap.run.message
    t = trainers(tf, autostart=True)                                   # its own learning rate, 0.03, is fine
    assert t.wait(lambda s: s.state in FINISHED, 60).state == "done"


def test_a_too_small_learning_rate_is_slow_not_diverged(trainers):
    t = trainers(SMALL.with_(optim=OptimSpec("sgd", lr=1e-6), epochs=30), autostart=True)
    snap = t.wait(lambda s: s.state in FINISHED, 60)
    assert snap.state == "done" and snap.run.message == ""


def test_the_history_is_bounded_and_keeps_recent_steps_at_full_resolution():
    from engine.metrics import Series
    s = Series(max_rows=1_000)
    for step in range(100_000):                                        # a run left overnight
        s.append({"step": step, "loss": 1.0 / (step + 1)})
    cols = s.snapshot(max_points=10_000)
    steps = cols["step"]
    assert len(s) <= 1_000 and len(steps) == len(s) and steps[0] == 0 and steps[-1] == 99_999
    assert steps == sorted(steps) and steps[-400:] == list(range(99_600, 100_000))   # recent: every step
    assert cols["loss"][steps.index(99_999)] == pytest.approx(1e-5)


def test_batchnorm_never_gets_a_last_batch_of_one_example():
    spec = SMALL.with_(layers=(L("linear", units=8), L("batchnorm"), L("relu"), L("linear", units=2)),
                       batch_size=33)                          # 100 training points: 33 + 33 + 33 + 1
    run = Run(spec)
    assert run.n_train == 100 and run.steps_per_epoch == 3
    sizes = []
    for _ in range(7):
        sizes.append(len(run._next_batch()[0]))
    assert sizes == [33] * 7
    losses = [float(run.step()) for _ in range(9)]             # three epochs: torch would raise on one
    assert all(np.isfinite(losses))
    plain = Run(SMALL.with_(batch_size=33))                    # without BatchNorm nothing is dropped
    assert plain.steps_per_epoch == 4


def test_batchnorm_with_one_training_example_is_refused_by_check():
    from engine.build import check
    spec = SMALL.with_(layers=(L("linear", units=8), L("batchnorm"), L("linear", units=2)))
    assert any("BatchNorm needs at least 2 training examples" in p
               for p in check(spec, (2,), 2, "classification", n_train=1))
