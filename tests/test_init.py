"""Weight initialisation (engine/init.py, RunSpec.init) and TensorFlow Playground's spiral."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from engine.bench.tf_playground import PRESET, TARGET, engine_train, first_epoch, tf_train
from engine.build import build_model, check
from engine.data import load_dataset
from engine.export import export_script
from engine.init import INIT_TYPES, INITS, script_code
from engine.presets import load_preset
from engine.spec import INITS as SPEC_INITS, LayerSpec, RunSpec, from_dict, to_dict
from ui import url
from ui.playground import too_small_hint

L = LayerSpec.make
STACK = (L("conv2d", channels=4, kernel=3), L("relu"), L("flatten"), L("linear", units=16), L("tanh"),
         L("linear", units=3))
SHAPE = (1, 8, 8)


def _built(init: str, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return build_model(STACK, SHAPE, init)


def test_the_spec_names_every_initialisation():
    assert SPEC_INITS == tuple(INITS)
    assert all(i.help and i.label for i in INITS.values())


@pytest.mark.parametrize("init", list(INITS))
def test_an_initialisation_is_seeded_and_sets_linear_and_conv(init):
    a, b, c = _built(init), _built(init), _built(init, seed=1)
    for p, q, r in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(p, q)                                    # same seed, same weights
        assert not torch.equal(p, r) or (p == p.flatten()[0]).all()  # another seed, others (constant biases aside)
    layers = [m for m in a.modules() if isinstance(m, INIT_TYPES)]
    assert len(layers) == 3
    for m in layers:
        w = m.weight
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
        if init == "tf_playground":
            assert w.abs().max() <= 0.5 and w.abs().max() > 0.3 and (m.bias == 0.1).all()
        elif init == "xavier":
            assert w.abs().max() <= math.sqrt(6 / (fan_in + fan_out)) and (m.bias == 0).all()
        elif init == "he":
            assert (m.bias == 0).all() and w.abs().max() > 1 / math.sqrt(fan_in)
        else:
            assert w.abs().max() <= 1 / math.sqrt(fan_in)          # PyTorch's kaiming_uniform(a=√5)


@pytest.mark.parametrize("init", [n for n, i in INITS.items() if i.fn is not None])
def test_the_exported_code_draws_the_same_weights(init):
    """script_code (what the exported script runs) equals the engine's apply, number for number."""
    torch.manual_seed(0)
    model = build_model(STACK, SHAPE)                               # PyTorch's default, then the script's lines
    exec(script_code(init), {"nn": nn, "model": model})             # our own registry text
    for p, q in zip(model.parameters(), _built(init).parameters()):
        assert torch.equal(p, q)
    assert script_code("default") == ""


def test_old_specs_load_with_the_default_and_links_drop_it():
    raw = to_dict(RunSpec.make((L("linear", units=2),)))
    del raw["init"]
    assert from_dict(raw).init == "default"                         # a spec saved before the field existed
    s = from_dict({**raw, "init": "xavier"})
    assert s.init == "xavier" and from_dict(to_dict(s)) == s
    assert url.decode_spec(url.encode_spec(s)).init == "xavier"
    assert len(url.encode_spec(s.with_(init="default"))) < len(url.encode_spec(s))
    with pytest.raises(ValueError, match="init"):
        from_dict({**raw, "init": "glorot"})


def test_the_exported_script_applies_the_initialisation():
    text = export_script(load_preset(PRESET))
    assert "nn.init.uniform_(m.weight, -0.5, 0.5)" in text and "(2 * y - 1).float().unsqueeze(-1)" in text
    assert "nn.init" not in export_script(load_preset("tf_playground"))


def test_one_output_mse_classification_is_tf_playgrounds_setting():
    """MSE on one tanh output toward -1 / +1 fits two classes; its sign is the class."""
    s = load_preset(PRESET)
    d = load_dataset(s.data, 0)
    assert check(s, d.input_shape, d.n_outputs, "classification", len(d.x_train)) == []
    assert [l.kind for l in s.layers] == ["linear", "tanh"] * 7 and s.layers[-2].params["units"] == 1
    assert {l.params["units"] for l in s.layers[:-2:2]} == {8}
    assert (s.init, s.loss, s.optim.name, s.optim.lr, s.batch_size) == ("tf_playground", "mse", "sgd", 0.015, 10)
    assert (s.data.n_samples, s.data.test_fraction, s.data.noise, s.data.features) == (500, 0.5, 0.0, ("x1", "x2"))


def test_the_spiral_is_tf_playgrounds():
    """dataset.ts classifySpiralData: n/2 points per arm, r = 5 i / n', t = 1.75 i / n' 2π + δ."""
    s = load_preset(PRESET)
    d = load_dataset(s.data, 0)
    pts = np.concatenate([d.x_train, d.x_test])
    n = 250
    i = np.arange(n)
    r, t = i / n * 5, 1.75 * i / n * 2 * np.pi
    want = np.concatenate([np.stack([r * np.sin(t), r * np.cos(t)], 1),
                           np.stack([r * np.sin(t + np.pi), r * np.cos(t + np.pi)], 1)])
    key = lambda a: np.round(a, 4)[np.lexsort(np.round(a, 4).T)]
    np.testing.assert_allclose(key(pts), key(want), atol=1e-3)


def test_the_engine_learns_tf_playgrounds_spiral_as_fast_as_tf_playground():
    """Issue 21: 6x8 tanh, TF Playground's initialisation and squared error, 90% test accuracy
    within the epochs TF Playground itself (its nn.ts, ported to numpy) needs on the same data:
    seed 0, 460 epochs for TF Playground, 395 for the engine (docs/spec.md)."""
    d = load_dataset(load_preset(PRESET).data, 0)
    tf = tf_train(d.x_train, d.y_train, d.x_test, d.y_test, epochs=500, seed=0)
    tf_epochs = first_epoch(tf)
    assert tf_epochs is not None and 300 < tf_epochs <= 500
    engine = engine_train(seed=0, epochs=tf_epochs)
    assert first_epoch(engine) is not None and max(engine) >= TARGET


def test_a_stalled_small_network_gets_a_hint():
    hint = too_small_hint("done", "classification", {"train_acc": 0.63}, 25)
    assert hint and "63%" in hint and "25 weights" in hint
    assert too_small_hint("done", "classification", {"train_acc": 0.63}, 393) is None     # big enough
    assert too_small_hint("done", "classification", {"train_acc": 0.97}, 25) is None      # it learned
    assert too_small_hint("running", "classification", {"train_acc": 0.63}, 25) is None   # not finished
    assert too_small_hint("done", "regression", {}, 25) is None
