"""Augmentation (engine/augment.py) against hand-computed cases, its place in Run.step, and early
stopping (engine/early_stop.py): the best evaluation's weights come back bit for bit."""
import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from engine import augment as aug
from engine.augment_views import batch_view, preview
from engine.presets import load_preset
from engine.run import AUTOGRAD, CLOSED_FORM, Run
from engine.spec import AugmentSpec, DataSpec, LayerSpec, OptimSpec, RunSpec
from engine.tasks import problems
from engine.trainer import Trainer

torch.set_num_threads(1)
MLP = (LayerSpec.make("flatten"), LayerSpec.make("linear", units=16), LayerSpec.make("relu"),
       LayerSpec.make("linear", units=10))
DIGITS = DataSpec(name="digits", n_samples=400, test_fraction=0.5)


def digits_spec(**changes) -> RunSpec:
    return RunSpec.make(MLP, OptimSpec(lr=0.01), data=DIGITS, batch_size=32, steps=20, device="cpu", **changes)


def images(n=4, h=6, w=6) -> torch.Tensor:
    return torch.arange(n * h * w, dtype=torch.float32).view(n, 1, h, w) + 1        # no zero pixel


# ---------------------------------------------------------------- each change, by hand
def test_flip_is_torch_flip_and_half_the_images_flip_at_p_half():
    x = images(64)
    everything = aug.augment(x, torch.zeros(64), AugmentSpec(flip=1.0), torch.Generator().manual_seed(0))[0]
    assert torch.equal(everything, torch.flip(x, [-1]))
    half = aug.augment(x, torch.zeros(64), AugmentSpec(flip=0.5), torch.Generator().manual_seed(0))[0]
    flipped = [torch.equal(a, torch.flip(b, [-1])) for a, b in zip(half, x)]
    kept = [torch.equal(a, b) for a, b in zip(half, x)]
    assert all(f != k for f, k in zip(flipped, kept)) and 20 <= sum(flipped) <= 44


def test_shift_by_one_down_two_right_moves_every_pixel_and_fills_zero():
    x = images(2)
    out = aug.shift_by(x, torch.tensor([1, -1]), torch.tensor([2, 0]))
    assert torch.equal(out[0, :, 1:, 2:], x[0, :, :-1, :-2])
    assert out[0, :, :1].abs().sum() == 0 and out[0, :, :, :2].abs().sum() == 0
    assert torch.equal(out[1, :, :-1], x[1, :, 1:]) and out[1, :, -1].abs().sum() == 0


def test_random_shift_is_a_whole_pixel_shift_within_range():
    x = images(16)
    out = aug.augment(x, torch.zeros(16), AugmentSpec(shift=2), torch.Generator().manual_seed(3))[0]
    offsets = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    seen = set()
    for a, b in zip(out, x):
        hit = [o for o in offsets if torch.equal(a, aug.shift_by(b[None], *map(torch.tensor, ([o[0]], [o[1]])))[0])]
        assert hit, "every image is one exact shift of its original"
        seen.add(hit[0])
    assert len(seen) > 3


def test_rotate_90_is_rot90_and_zero_is_the_identity():
    x = images(3)
    turned = aug.affine_by(x, torch.full((3,), 90.0), torch.ones(3))
    assert torch.allclose(turned, torch.rot90(x, 1, (-2, -1)), atol=1e-4)
    assert torch.allclose(aug.affine_by(x, torch.zeros(3), torch.ones(3)), x, atol=1e-5)


def test_zoom_out_by_half_shrinks_an_image_into_its_middle():
    ones = torch.ones(1, 1, 8, 8)
    out = aug.affine_by(ones, torch.zeros(1), torch.tensor([0.5]))
    want = torch.zeros(1, 1, 8, 8)
    want[..., 2:6, 2:6] = 1                  # sampled at 2x the distance: the middle half is the image
    assert torch.allclose(out, want, atol=1e-6)


def test_cutout_zeroes_exactly_one_side_by_side_square():
    ones = torch.ones(1, 1, 6, 6)
    out = aug.cutout_at(ones, torch.tensor([1]), torch.tensor([2]), 3)
    want = torch.ones(1, 1, 6, 6)
    want[..., 1:4, 2:5] = 0
    assert torch.equal(out, want)
    drawn = aug.augment(torch.ones(32, 1, 8, 8), torch.zeros(32), AugmentSpec(cutout=3),
                        torch.Generator().manual_seed(1))[0]
    for img in drawn[:, 0]:
        rows, cols = torch.nonzero(img == 0, as_tuple=True)
        assert len(rows) == 9 and rows.max() - rows.min() == 2 and cols.max() - cols.min() == 2


def test_noise_has_the_asked_standard_deviation():
    x = torch.zeros(64, 1, 28, 28)
    out = aug.augment(x, torch.zeros(64), AugmentSpec(noise=0.3), torch.Generator().manual_seed(0))[0]
    assert abs(float(out.std()) - 0.3) < 0.005 and abs(float(out.mean())) < 0.005


def test_mixup_blends_images_and_the_loss_is_the_hand_mixed_loss():
    x, y = images(4), torch.tensor([0, 1, 2, 3])
    perm = torch.tensor([2, 3, 0, 1])
    mixed, mix = aug.mixup_with(x, y, perm, 0.7)
    assert torch.allclose(mixed, 0.7 * x + 0.3 * x[perm])
    out = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
    hand = 0.7 * F.cross_entropy(out, y) + 0.3 * F.cross_entropy(out, torch.tensor([2, 3, 0, 1]))
    assert torch.allclose(mix.loss(F.cross_entropy, out, y), hand)


def test_the_run_trains_on_the_mixup_loss():
    run = Run(digits_spec(augment=AugmentSpec(mixup=0.4)))
    before = copy.deepcopy(run.model)
    loss = run.step()
    b = run.last_batch
    assert 0 < b.mix.share < 1 and not torch.equal(b.after, b.before)
    out = before.train()(b.after)
    hand = b.mix.share * F.cross_entropy(out, b.y) + (1 - b.mix.share) * F.cross_entropy(out, b.mix.y_b)
    assert torch.allclose(loss, hand, atol=1e-6)


# ---------------------------------------------------------------- in the run
def test_same_seed_same_batches_other_seed_others():
    spec = digits_spec(augment=AugmentSpec(shift=1, rotate=10, noise=0.1))
    a, b, c = Run(spec), Run(spec), Run(spec.with_(seed=1))
    for run in (a, b, c):
        run.step(), run.step()
    assert torch.equal(a.last_batch.after, b.last_batch.after) and a.last_batch.step == 2
    assert not torch.equal(a.last_batch.after, c.last_batch.after)
    assert not torch.equal(a.last_batch.after, a.last_batch.before)


CONV = (LayerSpec.make("conv2d", channels=4, kernel=3, padding=1), LayerSpec.make("relu"), LayerSpec.make("flatten"),
        LayerSpec.make("linear", units=10))


def test_a_conv_net_on_channels_last_batches_sees_the_same_augmented_batch():
    spec = digits_spec(augment=AugmentSpec(rotate=20, scale=0.2, flip=0.5)).with_(layers=CONV)
    run = Run(spec)
    run.step()
    assert run.x_train.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(torch.as_tensor(batch_view(run).after), torch.as_tensor(preview(spec, run.data).after),
                          atol=1e-6)


def test_preview_is_the_first_batch_the_run_trains_on():
    spec = digits_spec(augment=AugmentSpec(shift=2, cutout=3, mixup=0.3))
    run = Run(spec)
    run.step()
    seen, shown = batch_view(run), preview(spec, run.data)
    assert torch.allclose(torch.as_tensor(seen.after), torch.as_tensor(shown.after), atol=1e-6)
    assert seen.labels == shown.labels and "·" in seen.labels[0] and seen.changes == ("shift ±2 px", "cutout 3×3 px",
                                                                                     "mixup Beta(0.3, 0.3)")
    assert seen.before.shape == (16, 8, 8) and 0 <= seen.after.min() and seen.after.max() <= 1


def test_the_closed_form_steps_aside_for_augmented_batches(monkeypatch):
    monkeypatch.setattr("engine.run.plan", lambda *a: object())      # as if the closed form covered it
    plain, augmented = Run(digits_spec()), Run(digits_spec(augment=AugmentSpec(shift=1)))
    assert plain.speed == CLOSED_FORM and augmented.speed == AUTOGRAD and augmented.fast is None


def test_evaluation_never_augments():
    plain, augmented = Run(digits_spec()), Run(digits_spec(augment=AugmentSpec(noise=0.5, shift=2)))
    assert plain.evaluate() == augmented.evaluate()          # same weights, the images as they are
    for _ in range(5):
        augmented.step()
    first = augmented.evaluate()
    assert augmented.evaluate() == first
    with torch.no_grad():
        hand = F.cross_entropy(augmented.model.eval()(augmented.x_test[:512]), augmented.y_test[:512])
    assert first["test_loss"] == pytest.approx(float(hand), rel=1e-6)


def test_augmentation_on_points_or_a_cutout_larger_than_the_image_is_refused_with_a_sentence():
    spiral = RunSpec.make((LayerSpec.make("linear", units=2),), data=DataSpec(name="spiral"),
                          augment=AugmentSpec(rotate=10))
    [msg] = problems(spiral)
    assert msg.startswith("augment:") and "not images" in msg and "set every augmentation to 0" in msg
    [msg] = problems(digits_spec(augment=AugmentSpec(cutout=8)))
    assert msg.startswith("augment.cutout:") and "8x8" in msg
    assert problems(digits_spec(augment=AugmentSpec(cutout=4))) == []
    gan, names = load_preset("ring8_gan"), load_preset("names_lstm_char_lm")
    assert problems(gan.with_(augment=AugmentSpec(flip=0.5), early_stop=3)) == [
        "augment: the GAN task trains on the data as they are; set every augmentation to 0",
        "early_stop: the GAN task trains to its last step; set early_stop to 0"]
    assert problems(names.with_(early_stop=3)) == []                 # a language model's Run stops early too
    [msg] = problems(names.with_(augment=AugmentSpec(noise=0.1)))
    assert "not images" in msg


# ---------------------------------------------------------------- early stopping
BIG = (LayerSpec.make("flatten"), LayerSpec.make("linear", units=128), LayerSpec.make("relu"),
       LayerSpec.make("linear", units=10))
OVERFIT = RunSpec.make(BIG, OptimSpec(lr=0.01), data=DataSpec(name="digits", n_samples=400, test_fraction=0.5,
                                                             labels=40),
                       batch_size=20, steps=300, eval_every=5, early_stop=3, device="cpu")


def test_early_stopping_puts_back_the_best_evaluations_weights_bit_for_bit():
    run = Run(OVERFIT)
    copies, losses = {}, {}
    row = run.evaluate()
    assert run.evaluate() == row and run.early.best_step == -1       # evaluating alone changes nothing
    while not (said := run.stop_early(row)):
        copies[run.step_count] = copy.deepcopy(run.model.state_dict())
        losses[run.step_count] = row["test_loss"]
        assert run.stop_early(row) == ""                             # the same evaluation twice counts once
        for _ in range(run.eval_every):
            run.step()
        row = run.evaluate()
    losses[run.step_count] = row["test_loss"]
    best = min(losses, key=losses.get)
    stop = run.early.stopped_at
    assert run.early.best_step == best and stop == best + 3 * run.eval_every < run.total_steps
    assert all(losses[s] > losses[best] for s in losses if s > best)
    for k, v in run.model.state_dict().items():
        assert torch.equal(v, copies[best][k])
    assert said.startswith(f"stopped early at step {stop}; restored the weights of step {best}")


def test_the_trainer_ends_an_early_stopped_run_and_says_so():
    trainer = Trainer(OVERFIT, autostart=True)
    try:
        snap = trainer.wait(lambda s: s.state not in ("preparing", "running"), timeout=60)
        run = trainer.runs()[0]
        view = snap.run
        assert snap.state == "done" and view.status == "done" and view.step < view.total_steps
        assert view.message.lower().startswith(f"stopped early at step {view.step}; restored the weights of step "
                                               f"{run.early.best_step}")
        assert view.last_eval["test_loss"] == run.evaluate(full=True)["test_loss"]    # of the weights put back
        assert view.evals["step"][-1] == view.step and view.evals["test_loss"][-1] == view.last_eval["test_loss"]
    finally:
        trainer.stop()


def test_the_exported_script_says_it_leaves_augmentation_and_early_stopping_out():
    from engine.export import supervised_script
    text = supervised_script(digits_spec(augment=AugmentSpec(shift=1), early_stop=2))
    assert ("Left out: augmentation (engine/augment.py) and early stopping (engine/early_stop.py); the "
            "playground's run used them") in text
    assert "Left out" not in supervised_script(digits_spec())


def test_the_cli_says_how_an_early_stopped_run_ended(tmp_path):
    import json
    import os
    import subprocess
    import sys
    path = tmp_path / "spec.json"
    path.write_text(OVERFIT.to_json())
    out = subprocess.run([sys.executable, "-m", "engine", "run", str(path), "--json"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PLAYGROUND_RUNS_DIR": str(tmp_path / "runs")},
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    final = json.loads(out.stdout.splitlines()[-1])
    assert final["state"] == "done" and final["error"] == "" and final["step"] < OVERFIT.steps
    assert final["message"].startswith(f"Stopped early at step {final['step']}; restored the weights of step ")
