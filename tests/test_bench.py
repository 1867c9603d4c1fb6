"""`python -m engine bench --quick --json`: runs, and reports every case, mode and ratio as
positive numbers. No timing assertion: speed is reported by the command, not tested."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.bench import MODES, TARGETS, BareLoop, make_cases, tf_playground_spec
from engine.presets import load_preset
from engine.run import Run

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.bench


def positive(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v) and v > 0


@pytest.fixture(scope="module")
def report() -> dict:
    out = subprocess.run([sys.executable, "-m", "engine", "bench", "--quick", "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=240,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    assert len(lines) == 1, f"--json prints one JSON object, got {len(lines)} lines"
    return json.loads(lines[0])


def test_quick_bench_reports_every_case_mode_and_ratio(report):
    assert report["quick"] is True and report["targets"] == TARGETS
    assert {"cpu", "cores", "torch", "python"} <= set(report["machine"])
    cases = report["cases"]
    assert {c["case"] for c in cases} == {"spiral_mlp", "tf_playground", "char_lstm", "ring8_gan"}
    assert next(c for c in cases if c["case"] == "char_lstm")["views"] == "samples, probes"
    assert next(c for c in cases if c["case"] == "ring8_gan")["views"] == "plane, images"
    for c in cases:
        assert c["device"] in ("cpu", "cuda") and c["batch_size"] > 0 and c["n_train"] > 0
        for key in ("samples_per_s", "samples_per_cpu_s", "epochs_per_s"):
            assert set(c[key]) == set(MODES), key
            assert all(positive(v) for v in c[key].values()), (key, c[key])
        for key in ("ratios", "ratios_cpu", "ratios_steps"):
            assert set(c[key]) == {"engine", "live"} and all(positive(v) for v in c[key].values()), c[key]
        # the ratios are the engine's rates over the bare loop's, round by round
        assert c["ratios"]["engine"] == pytest.approx(c["per_round"]["engine"][0] / c["per_round"]["bare"][0])
        assert c["epochs_per_s"]["live"] == pytest.approx(c["samples_per_s"]["live"] / c["n_train"])
    for key in ("tf_playground_epochs_per_s", "tf_playground_epochs_per_cpu_s"):
        tf = report[key]["cpu"]
        assert set(tf) == set(MODES) and all(positive(v) for v in tf.values()), key
    for c in cases:
        # a share of wall time: its size depends on the machine's load, so only its form is checked
        assert set(c["step_share"]) == {"engine", "live"} and all(
            isinstance(v, float) and math.isfinite(v) and v >= 0 for v in c["step_share"].values())


def test_tf_playground_case_is_tensorflow_playgrounds_default():
    spec = tf_playground_spec()
    run = Run(spec)
    assert (spec.data.name, spec.data.n_samples, spec.data.test_fraction) == ("spiral", 500, 0.5)
    assert [l.kind for l in spec.layers] == ["linear", "tanh", "linear", "tanh", "linear"]
    assert [l.params["units"] for l in spec.layers if l.kind == "linear"] == [4, 2, 1]
    assert (spec.batch_size, spec.optim.name, spec.optim.lr) == (10, "sgd", 0.03)
    assert run.n_train == 250 and run.steps_per_epoch == 25


def test_full_bench_covers_mnist_and_the_spiral_at_batch_32_and_256():
    cases = make_cases(quick=False, devices=["cpu"])
    got = {(c.name, c.spec.batch_size) for c in cases}
    assert {("mnist_cnn", 32), ("mnist_cnn", 256), ("spiral_mlp", 32), ("spiral_mlp", 256),
            ("tf_playground", 10), ("char_lstm", 64)} <= got
    assert all(c.rounds >= 3 for c in cases)


@pytest.mark.parametrize("spec, atol", [(tf_playground_spec(), 1e-7), (load_preset("lenet"), 1e-5),
                                        (load_preset("names_lstm_char_lm"), 1e-5)],
                         ids=["tf_playground", "lenet", "char_lstm"])
def test_bare_loop_trains_the_same_model_as_the_engine(spec, atol):
    """Same seed, data, batch order and optimizer: the bare loop's weights after a few steps
    equal the engine's, so the benchmark compares like with like. The engine computes them
    another way (closed-form gradients for the MLP; channels-last images and conv weights for
    the CNN on the CPU), equal to float rounding (LeNet's Adam makes steps of ~1e-3 from the
    first, whatever the gradient's size, so its tolerance is looser)."""
    spec = spec.with_(steps=10_000)
    bare, run = BareLoop(spec, run_device := Run(spec).device), Run(spec)
    for p, q in zip(bare.model.parameters(), run.model.parameters()):
        assert p.data.equal(q.data)
    for _ in range(3):
        bare.run_for(0.0)                      # one step: the loop looks at the clock after each
        run.step()
    for p, q in zip(bare.model.parameters(), run.model.parameters()):
        torch.testing.assert_close(p.data, q.data, rtol=10 * atol, atol=atol)
    assert run_device.type in ("cpu", "cuda", "mps")
    convs = [m.weight for m in run.model if isinstance(m, torch.nn.Conv2d) and m.in_channels > 1]
    if run_device.type == "cpu":
        assert all(w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous() for w in convs)


def test_the_bare_gan_loop_trains_the_same_networks_as_the_engine():
    """The GAN case compares like with like: the same seed, batches and noise give the bare loop's
    generator and discriminator the engine's weights after a few steps."""
    from engine.bench.throughput import BareGanLoop
    from engine.tasks import build_run
    spec = load_preset("ring8_gan").with_(device="cpu")
    ref = build_run(spec)
    bare = BareGanLoop(spec, ref.device)
    bare.run_for(0.0)                                   # exactly one step (it always takes one)
    ref.step()
    for a, b in zip([*bare.G.parameters(), *bare.D.parameters()], [*ref.G.parameters(), *ref.D.parameters()]):
        assert torch.allclose(a, b, atol=1e-7)
