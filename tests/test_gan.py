"""The GAN task end to end: the ring of 8 covered, a collapsing setting flagged, the distance
against its closed form, WGAN-GP's penalty by hand, one-sided steps, digits that a classifier
reads as digits, the refusals, the views, the exported script and the CLI."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tests.cli import cli
from engine.distances import bandwidths, mmd2, mmd2_gaussians, mode_counts, modes_covered
from engine.export import export_script
from engine.gan_views import images, plane
from engine.presets import load_preset
from engine.records import GanImages, GanPlane
from engine.spec import DataSpec, LayerSpec, SpecError, from_dict, to_dict
from engine.tasks import build_run, problems
from engine.tasks.gan import DISCRIMINATOR, GENERATOR, diagnosis, gradient_penalty
from engine.trainer import Trainer
from viz import gan as vz

ROOT = Path(__file__).resolve().parent.parent
L = LayerSpec.make


def _train(name: str, **changes):
    run = build_run(load_preset(name).with_(device="cpu", **changes))
    first = run.evaluate()
    for _ in range(run.total_steps):
        run.step()
    return run, first, run.evaluate(full=True)


# ---------------------------------------------------------------- what the lab promises
def test_the_ring_of_8_is_covered_within_3000_steps_and_the_distance_falls_a_hundredfold():
    run, first, last = _train("ring8_gan")
    assert run.total_steps == 3000
    assert last["modes_total"] == 8 and last["modes_covered"] >= 7, last       # measured: 8 of 8
    assert last["distance"] < first["distance"] / 50, (first, last)             # measured: 1.84 -> 0.012 (150x)
    assert last["in_modes"] > 0.6                                                # measured: 0.83
    assert not last["collapsed"] and diagnosis(last) == ""


def test_a_discriminator_33_times_faster_with_the_original_loss_collapses_and_is_flagged():
    _, _, last = _train("ring8_gan_collapse")
    assert last["modes_covered"] <= 3 and last["in_modes"] > 0.8, last           # measured: 2 of 8, 0.91
    assert last["collapsed"] == 1
    assert diagnosis(last).startswith(f"Mode collapse: the generated samples cover only {last['modes_covered']} of the 8")


def test_the_digits_gan_makes_samples_a_digit_classifier_reads_as_many_different_digits():
    _, first, last = _train("digits_gan", steps=4000)
    assert last["judge_acc"] > 0.95                                              # the judge itself: 0.967 on real digits
    assert last["judge_confidence"] > 0.75, last                                 # measured 0.81 (real digits: 0.95)
    assert last["judge_confidence"] > first["judge_confidence"] + 0.15
    assert last["classes_seen"] > 8, last                                        # measured: 10


# ---------------------------------------------------------------- the numbers it reports
def test_the_distance_estimator_equals_its_closed_form_on_two_gaussians():
    gen = torch.Generator().manual_seed(0)
    mu1, mu2 = np.zeros(2), np.array([1.0, 0.5])
    cov1, cov2 = np.diag([1.0, 0.5]), np.diag([0.3, 0.3])
    x = torch.randn(4000, 2, generator=gen) * torch.tensor(np.sqrt(np.diag(cov1)), dtype=torch.float32)
    y = torch.randn(4000, 2, generator=gen) * torch.tensor(np.sqrt(np.diag(cov2)), dtype=torch.float32) \
        + torch.tensor(mu2, dtype=torch.float32)
    widths = (0.3, 1.0, 3.0)
    exact = mmd2_gaussians(mu1, cov1, mu2, cov2, widths)
    assert exact == pytest.approx(0.4, abs=0.2)                        # far from 0: a real test
    assert mmd2(x, y, widths, unbiased=True) == pytest.approx(exact, rel=0.03)
    assert mmd2(x, y, widths) == pytest.approx(exact, rel=0.03)        # the plain estimate: bias ~ 2/N
    same = mmd2_gaussians(mu1, cov1, mu1, cov1, widths)
    assert same == pytest.approx(0.0, abs=1e-12)
    assert mmd2(x[:2000], x[2000:], widths, unbiased=True) == pytest.approx(0.0, abs=0.005)
    assert bandwidths(x)[2] == pytest.approx(float(torch.pdist(x).median()), rel=1e-3)


def test_modes_are_counted_within_three_standard_deviations_and_covered_at_a_quarter_share():
    centres = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    pts = np.concatenate([np.full((50, 2), 0.1), np.full((10, 2), [2.0, 0.1]), np.full((40, 2), 9.0)])
    counts = mode_counts(pts, centres, std=0.05)            # 0.1 from a centre: within 3 x 0.05 = 0.15
    assert counts.tolist() == [50, 10, 0, 0]
    assert modes_covered(counts, 100) == 2                  # a fair share is 25; a quarter of it is 6.25 ...
    assert modes_covered(np.array([50, 6, 0, 0]), 100) == 1  # ... so 6 samples do not cover a mode


def test_the_gradient_penalty_equals_a_hand_computation():
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))     # gradient (3, 4) everywhere: norm 5
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    assert float(gradient_penalty(critic, real, fake)) == pytest.approx((5 - 1) ** 2)
    # a curved critic v . tanh(W x): the gradient at x is W^T (v * (1 - tanh(W x)^2))
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3, bias=False), nn.Tanh(), nn.Linear(3, 1, bias=False))
    W, v = net[0].weight.detach().numpy(), net[2].weight.detach().numpy()[0]
    gen = torch.Generator().manual_seed(5)
    gp = float(gradient_penalty(net, real, fake, gen))
    eps = torch.rand((8, 1), generator=torch.Generator().manual_seed(5)).numpy()
    mix = eps * real.numpy() + (1 - eps) * fake.numpy()
    grads = (v * (1 - np.tanh(mix @ W.T) ** 2)) @ W
    assert gp == pytest.approx(float(((np.linalg.norm(grads, axis=1) - 1) ** 2).mean()), rel=1e-5)


@pytest.mark.parametrize("only, moved, kept", [(DISCRIMINATOR, "D", "G"), (GENERATOR, "G", "D"), (None, "GD", "")])
def test_one_sided_steps_change_only_that_networks_weights(only, moved, kept):
    run = build_run(load_preset("ring8_gan").with_(device="cpu"))
    for _ in range(3):
        run.step()
    before = {n: [p.detach().clone() for p in getattr(run, n).parameters()] for n in "GD"}
    run.only = only
    run.step()
    for n in "GD":
        changed = any(not torch.equal(a, b) for a, b in zip(before[n], getattr(run, n).parameters()))
        assert changed == (n in moved), (only, n)


def test_the_trainer_takes_one_sided_steps_and_resume_trains_both_again():
    t = Trainer(load_preset("ring8_gan").with_(device="cpu"), autostart=False)
    t.wait(lambda s: s.state == "idle")
    run = t.runs()[0]
    g0 = [p.detach().clone() for p in run.G.parameters()]
    t.step(2, only=DISCRIMINATOR)
    snap = t.wait(lambda s: s.state == "paused" and s.run.step == 2)
    assert all(torch.equal(a, b) for a, b in zip(g0, run.G.parameters()))
    assert run.only == DISCRIMINATOR and snap.run.step == 2
    with pytest.raises(ValueError, match="only names one of the run's networks"):
        t.step(1, only="critic")
    t.resume()
    t.wait(lambda s: s.run is not None and s.run.step > 4)
    t.pause()
    assert run.only is None and any(not torch.equal(a, b) for a, b in zip(g0, run.G.parameters()))
    t.stop()


# ---------------------------------------------------------------- refusals
def test_a_gan_spec_with_wrong_shapes_is_refused_naming_the_network_layer_and_shapes():
    s = load_preset("ring8_gan")
    gen = s.net(GENERATOR).layers[:-1] + (L("linear", units=3),)
    disc = s.net(DISCRIMINATOR).layers[:-1] + (L("linear", units=2),)
    bad = s.with_(networks={GENERATOR: s.net(GENERATOR).__class__(gen, s.net(GENERATOR).optim),
                            DISCRIMINATOR: s.net(DISCRIMINATOR).__class__(disc, s.net(DISCRIMINATOR).optim)})
    msgs = problems(bad)
    assert msgs == [
        "generator: the last layer (Linear 3) outputs 3, but the generator must output a sample shaped like the "
        "data, 2 (or 2 values, reshaped); end with a Linear layer of 2 units",
        "discriminator: the last layer (Linear 2) outputs 2, but the discriminator must output one score per "
        "sample, 1; end with a Linear layer of 1 units"], msgs
    words = load_preset("ring8_gan").with_(data=DataSpec("language", n_samples=200, test_fraction=0.2))
    assert problems(words)[0].startswith("data: a GAN here generates numbers (points, pixels), not token ids")


def test_the_gan_settings_round_trip_and_bad_ones_are_refused_by_name():
    s = load_preset("digits_gan")
    assert from_dict(to_dict(s)) == s and s.gan.latent_dim == 16
    raw = to_dict(s)
    raw["gan"]["d_steps"] = 99
    raw["loss"] = "bce"
    with pytest.raises(SpecError) as e:
        from_dict(raw)
    assert "gan.d_steps: must be between 1 and 10, got 99" in e.value.problems
    assert any(p.startswith("loss: GAN takes auto, non_saturating, minimax") for p in e.value.problems)


# ---------------------------------------------------------------- views, figures, script, CLI
def test_the_views_show_the_plane_and_the_images_without_touching_the_weights():
    run = build_run(load_preset("ring8_gan").with_(device="cpu"))
    for _ in range(20):
        run.step()
    weights = [p.detach().clone() for p in [*run.G.parameters(), *run.D.parameters()]]
    rec = plane(run)
    assert isinstance(rec, GanPlane) and images(run) is None
    assert rec.scores.shape == (60, 60) and 0 <= rec.scores.min() and rec.scores.max() <= 1   # P(real)
    assert rec.fake.shape == rec.push.shape == (400, 2) and rec.real.shape == (400, 2)
    assert len(rec.latent_lines) == 18 and rec.latent_lines[0].shape == (40, 2)
    assert np.allclose(rec.fake, run.samples()[:400].numpy())                  # the fixed noise's samples
    assert all(torch.equal(a, b) for a, b in zip(weights, [*run.G.parameters(), *run.D.parameters()]))
    fig = vz.plane_figure(rec)
    names = [t.name for t in fig.data]
    assert {"real", "generated", "generator's push", "mode centres"} <= set(names)
    assert fig.layout.xaxis.title.text == "x1" and "step 20" in fig.layout.title.text
    assert len(vz.plane_figure(rec, ("real",)).data) == 2                       # real + the mode centres
    digits = build_run(load_preset("digits_gan").with_(device="cpu"))
    pics = images(digits)
    assert isinstance(pics, GanImages) and plane(digits) is None
    assert pics.samples.shape == (32, 8, 8) and pics.walk.shape == (9, 8, 8)
    assert 0 <= pics.samples.min() and pics.samples.max() <= 1 and len(pics.labels) == 32
    for f in (vz.samples_figure(pics), vz.walk_figure(pics, 3)):
        assert f.layout.title.text


def test_the_exported_script_reproduces_the_runs_distance(tmp_path):
    spec = load_preset("ring8_gan").with_(steps=120, device="cpu")
    (tmp_path / "gan.py").write_text(export_script(spec))
    out = subprocess.run([sys.executable, "gan.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    run = build_run(spec)
    for _ in range(120):
        run.step()
    last = [line for line in out.stdout.splitlines() if line.startswith("step 120")][0]
    assert f"MMD2 {run.evaluate()['distance']:.4f}" in last, (last, run.evaluate()["distance"])
    assert (tmp_path / "generator.pt").is_file()


def test_the_cli_runs_a_gan_preset_headless_and_ends_with_its_modes_and_distance():
    out = cli("run", "--preset", "ring8_gan", "--steps", "300", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    final = json.loads(out.stdout.strip().splitlines()[-1])
    assert final["final"] and final["state"] == "done" and final["step"] == 300
    assert final["modes_total"] == 8 and 0 <= final["modes_covered"] <= 8 and final["distance"] > 0


# ---------------------------------------------------------------- the user's own points
def _own(path) -> DataSpec:
    return DataSpec("points_file", n_samples=400, test_fraction=0.5, path=str(path))


def test_a_drawing_becomes_points_where_its_ink_is_and_a_csv_its_first_two_number_columns(tmp_path):
    from PIL import Image
    from engine.data import make_dataset
    from engine.data.folder import save_upload
    ink = np.zeros((280, 280), np.uint8)
    ink[20:60, 200:260] = 255                                    # one blob, top right
    buf = tmp_path / "d.png"
    Image.fromarray(ink).save(buf)
    d = make_dataset(_own(save_upload(buf.read_bytes(), ".png")), 0)
    pts = np.concatenate([d.x_train, d.x_test])
    assert pts.shape == (400, 2) and d.task == "generative"
    assert np.abs(pts).max() == pytest.approx(2.5, abs=1e-5)     # scaled to fit [-2.5, 2.5]
    # the blob is 60 wide and 40 high, top right: scaled, its box is 5 wide and about 2/3 as high
    # (read on a 70 x 70 grid, its blurred edge adds about a cell: measured 3.70 high)
    assert np.ptp(pts[:, 0]) == pytest.approx(5.0, abs=0.01) and 0.6 < np.ptp(pts[:, 1]) / 5 < 0.8
    csv = "x,y,label\n" + "\n".join(f"{i},{2 * i},a" for i in range(50))
    d = make_dataset(_own(save_upload(csv.encode(), ".csv")), 0)
    pts = np.concatenate([d.x_train, d.x_test])
    assert len(pts) == 50 and np.abs(pts).max() == pytest.approx(2.5)
    assert np.corrcoef(pts[:, 0], pts[:, 1])[0, 1] == pytest.approx(1.0)
    run = build_run(load_preset("ring8_gan").with_(data=_own(save_upload(csv.encode(), ".csv")), steps=3, device="cpu"))
    run.step()
    assert "modes_total" not in run.evaluate()                   # no modes to count on one's own points


@pytest.mark.parametrize("content, suffix, says", [
    (b"", ".png", "could not be read as a PNG image"),
    (np.zeros((10, 10), np.uint8), ".png", "the drawing is empty"),
    (b"x,y\n1,2\n3,4\n", ".csv", "only 2 rows with two finite numbers"),
    (b"name,colour\na,b\nc,d\n", ".csv", "needs two columns of numbers (x and y); found 0"),
    (b"x,y\n1,2\n", ".txt", "give a CSV file of points"),
])
def test_bad_point_files_are_refused_with_a_sentence(tmp_path, content, suffix, says):
    from PIL import Image
    from engine.data import DataError, make_dataset
    from engine.data.folder import save_upload
    if isinstance(content, np.ndarray):
        Image.fromarray(content).save(tmp_path / "e.png")
        content = (tmp_path / "e.png").read_bytes()
    with pytest.raises(DataError, match=re.escape(says)):
        make_dataset(_own(save_upload(content, suffix)), 0)
    assert problems(load_preset("ring8_gan").with_(data=_own(""))) == [
        "data: draw the points the generator should learn, or upload a CSV of them"]


def test_a_classifier_on_points_to_imitate_is_refused_with_a_sentence(tmp_path, monkeypatch):
    """(found by the fuzz pass: the GAN lab's datasets have no targets, and the check raised IndexError)"""
    spec = load_preset("tf_playground").with_(data=DataSpec("ring8", 200))
    assert problems(spec) == ["data: Ring of 8 gaussians are points for a GAN to imitate, with nothing to predict; "
                              "classification needs a labelled dataset"]
