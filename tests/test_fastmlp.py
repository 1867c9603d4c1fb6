"""engine.fastmlp against torch.autograd: the closed-form loss and gradients of plain MLPs
are autograd's to float32 rounding, Run trains the same with and without them, and Run
falls back to autograd for other layers and whenever something hooks the model."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

import engine.torch_internals as internals
from engine.bench import tf_playground_spec
from engine.build import build_model
from engine.fastmlp import plan
from engine.optim import LOSSES
from engine.presets import load_preset
from engine.probes import Recorder
from engine.run import Run
from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec

L = LayerSpec.make
ACTIVATIONS = {"tanh": {}, "sigmoid": {}, "relu": {}, "leaky_relu": {"slope": 0.1}, "elu": {"alpha": 0.7},
               "identity": {}}
# loss, output units, targets: class labels (B,) int64 or regression targets (B, T) float
TARGETS = {"bce-1": ("bce", 1, "labels"), "ce-3": ("cross_entropy", 3, "labels"),
           "mse-1": ("mse", 1, "values"), "mse-2": ("mse", 2, "values"), "mse-labels-3": ("mse", 3, "labels"),
           "mse-labels-1": ("mse", 1, "labels")}          # one output toward -1 / +1 (TF Playground's)
B, N_IN = 12, 3


def _random_mlp(rng: random.Random, depth: int, act: str, n_out: int, regression: bool) -> nn.Sequential:
    """depth Linear layers of random widths (1-16, random bias) with `act` between them;
    sometimes `act` also first (on the inputs) or last (regression only)."""
    layers = [L(act, **ACTIVATIONS[act])] if rng.random() < 0.3 else []
    for i in range(depth):
        last = i == depth - 1
        layers.append(L("linear", units=n_out if last else rng.randint(1, 16), bias=rng.random() < 0.8))
        if not last or regression and rng.random() < 0.5:
            layers.append(L(act, **ACTIVATIONS[act]))
    model = build_model(tuple(layers), (N_IN,))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.7)                                   # biases too: ReLU units on and off
    return model


def _batch(kind: str, n_out: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(B, N_IN, generator=gen) * 2
    if kind == "labels":
        return x, torch.randint(0, max(n_out, 2), (B,), generator=gen)
    return x, torch.randn(B, n_out, generator=gen)


def _autograd(model: nn.Module, loss_name: str, x, y, reg: str, rate: float):
    """The reference: loss_fn(model(x), y) + penalty (as Run.penalty), through autograd."""
    model.zero_grad(set_to_none=True)
    loss = LOSSES[loss_name].fn(model(x), y)
    weights = [p for p in model.parameters() if p.dim() > 1]
    penalty = {"none": 0.0, "l1": rate * sum(w.abs().sum() for w in weights),
               "l2": rate * sum((w * w).sum() for w in weights)}[reg]
    (loss + penalty).backward()
    return loss.detach(), [p.grad.clone() for p in model.parameters()]


# ---------------------------------------------------------------- gradients vs autograd
@pytest.mark.parametrize("reg", ["none", "l1", "l2"])
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_loss_and_gradients_equal_autograd(act, target, reg):
    loss_name, n_out, kind = TARGETS[target]
    rng = random.Random(f"{act}-{target}-{reg}")
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    for depth in (1, 2, 3, 4):
        torch.manual_seed(rng.randrange(2**31))
        model = _random_mlp(rng, depth, act, n_out, kind == "values")
        with torch.no_grad():
            model[[type(m) for m in model].index(nn.Linear)].weight[0, 0] = 0.0   # |w|' at 0 is 0
        x, y = _batch(kind, n_out, gen)
        want_loss, want = _autograd(model, loss_name, x, y, reg, 0.01)
        fast = plan(model, loss_name, y.dtype)
        assert fast is not None, model
        model.zero_grad(set_to_none=True)
        loss = fast.loss_and_grads(x, y, reg, 0.01)
        assert loss.dim() == 0 and not loss.requires_grad
        torch.testing.assert_close(loss, want_loss, rtol=1e-5, atol=1e-6)
        for (name, p), g in zip(model.named_parameters(), want):
            assert p.grad is not None and p.grad is not g, name
            torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-5, msg=lambda m: f"{name}: {m}")


def test_l1_gradient_at_a_zero_weight_is_the_data_gradient():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    with torch.no_grad():
        model[0].weight[1, 0] = 0.0
    x, y = torch.randn(8, 2), torch.randint(0, 2, (8,))
    _, plain = _autograd(model, "bce", x, y, "none", 0.0)
    plan(model, "bce", y.dtype).loss_and_grads(x, y, "l1", 0.5)
    g = model[0].weight.grad
    assert g[1, 0] == plain[0][1, 0]                                   # no ±rate at 0
    torch.testing.assert_close(g[0, 0], plain[0][0, 0] + 0.5 * torch.sign(model[0].weight[0, 0]))


# ---------------------------------------------------------------- what plan() refuses
@pytest.mark.parametrize("model, loss_name, dtype", [
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2)), "cross_entropy", torch.long),
    (nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.5), nn.Linear(4, 1)), "bce", torch.long),
    (nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)), "bce", torch.long),
    (nn.Sequential(nn.Flatten(), nn.Linear(2, 1)), "bce", torch.long),
    (nn.Sequential(nn.Linear(2, 4), nn.MaxPool1d(2), nn.Linear(2, 1)), "bce", torch.long),
    (nn.Sequential(nn.Linear(2, 4), nn.GELU(), nn.Linear(4, 1)), "bce", torch.long),
    (nn.Sequential(nn.Linear(2, 4), nn.ReLU(inplace=True), nn.Linear(4, 1)), "bce", torch.long),
    (nn.Sequential(nn.Linear(2, 4), nn.Sequential(nn.Tanh()), nn.Linear(4, 1)), "bce", torch.long),
    (nn.Sequential(nn.Tanh(), nn.Identity()), "mse", torch.float32),                  # nothing to train
    (nn.Linear(2, 1), "bce", torch.long),                                              # not a Sequential
    (nn.Sequential(nn.Linear(2, 2)), "bce", torch.long),                               # BCE needs 1 output
    (nn.Sequential(nn.Linear(2, 2)), "cross_entropy", torch.float32),                  # CE needs class labels
    (nn.Sequential(nn.Linear(2, 2)), "nll", torch.long),                               # unknown loss
    (nn.Sequential(nn.Linear(2, 1)).double(), "bce", torch.long),                      # float64
    (nn.Sequential(nn.Linear(2, 1, device="meta")), "bce", torch.long),                # not on the CPU
    (nn.Sequential(nn.Linear(2, 300), nn.Tanh(), nn.Linear(300, 300), nn.Tanh(), nn.Linear(300, 1)),
     "bce", torch.long),                                                               # arithmetic dominates
], ids=["conv", "dropout", "batchnorm", "flatten", "pool", "gelu", "inplace", "nested", "no-linear",
        "bare-linear", "bce-2-outputs", "ce-float-targets", "unknown-loss", "float64", "not-cpu", "wide"])
def test_plan_refuses_what_the_closed_form_does_not_cover(model, loss_name, dtype):
    assert plan(model, loss_name, dtype) is None


def test_plan_refuses_frozen_parameters():
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    assert plan(model, "bce", torch.long) is not None
    model[0].bias.requires_grad_(False)
    assert plan(model, "bce", torch.long) is None


# ---------------------------------------------------------------- Run: which path, same numbers
def _spec(layers, data="circle", n=200, optim=OptimSpec("sgd", lr=0.03), **kw) -> RunSpec:
    return RunSpec.make(data=DataSpec(data, n_samples=n, test_fraction=0.5), layers=tuple(layers), batch_size=10,
                   optim=optim, seed=3, device="cpu", **kw)


@pytest.fixture
def backward_calls(monkeypatch) -> list:
    """Counts Run.step's autograd backward passes."""
    calls = []
    real = internals.backward
    monkeypatch.setattr(internals, "backward", lambda loss: (calls.append(1), real(loss)))
    return calls


@pytest.mark.parametrize("extra", [L("dropout", p=0.2), L("batchnorm")], ids=["dropout", "batchnorm"])
def test_a_run_with_other_layers_trains_through_autograd(extra, backward_calls):
    run = Run(_spec([L("linear", units=4), extra, L("tanh"), L("linear", units=1)]))
    assert run.fast is None
    loss = run.step()
    assert backward_calls == [1] and run.model[0].weight.grad is not None
    assert loss.dim() == 0 and not loss.requires_grad


def test_a_run_on_images_trains_through_autograd(backward_calls):
    run = Run(_spec([L("conv2d", channels=2, kernel=3), L("relu"), L("flatten"), L("linear", units=4)],
                    data="shapes", n=40))
    assert run.fast is None
    run.step()
    assert backward_calls == [1]


def test_a_plain_mlp_run_takes_the_fast_path(backward_calls):
    run = Run(tf_playground_spec().with_(device="cpu"))
    assert run.fast is not None
    for _ in range(3):
        loss = run.step()
    assert backward_calls == []
    assert loss.dim() == 0 and not loss.requires_grad and loss.device == run.device
    assert all(p.grad is not None for p in run.model.parameters())


def test_hooked_steps_fall_back_to_autograd(backward_calls):
    run = Run(tf_playground_spec().with_(device="cpu"))
    seen = []
    handle = run.model[0].register_forward_hook(lambda m, args, out: seen.append("forward"))
    run.step()
    handle.remove()
    handle = run.model[2].weight.register_hook(lambda g: seen.append("grad"))
    run.step()
    handle.remove()
    handle = nn.modules.module.register_module_forward_hook(lambda m, args, out: seen.append("global"))
    try:
        run.step()
    finally:
        handle.remove()
    assert seen[:2] == ["forward", "grad"] and "global" in seen and len(backward_calls) == 3
    run.step()                                                         # unhooked again: fast
    assert len(backward_calls) == 3


def _twins(spec: RunSpec) -> tuple[Run, Run]:
    """The same run twice: closed-form gradients, and autograd."""
    fast, slow = Run(spec), Run(spec)
    slow.fast = None
    assert fast.fast is not None
    return fast, slow


TRAINING = {
    "tf_playground": tf_playground_spec().with_(device="cpu"),
    "tf_playground_spiral_6x8": load_preset("tf_playground_spiral_6x8").with_(device="cpu"),
    "adam-relu-ce-l1-cosine": _spec([L("linear", units=8), L("relu"), L("linear", units=8), L("relu"),
                                     L("linear", units=2)], data="spiral", regularization="l1", reg_rate=0.003,
                                    optim=OptimSpec("adam", lr=0.01, beta1=0.8, schedule="cosine"), epochs=30),
    "sgd-nesterov-mse-l2": _spec([L("linear", units=6), L("elu"), L("linear", units=1)], data="plane",
                                 task="regression", regularization="l2", reg_rate=0.01,
                                 optim=OptimSpec("sgd", lr=0.05, momentum=0.9, nesterov=True)),
    "rmsprop-mse-on-labels": _spec([L("linear", units=5), L("sigmoid"), L("linear", units=3)], data="iris",
                                   n=150, loss="mse", optim=OptimSpec("rmsprop", lr=0.01, momentum=0.5)),
}


@pytest.mark.parametrize("name", list(TRAINING))
def test_fast_and_autograd_runs_train_the_same(name):
    fast, slow = _twins(TRAINING[name])
    a = torch.stack([fast.step() for _ in range(300)])
    b = torch.stack([slow.step() for _ in range(300)])
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    for p, q in zip(fast.model.parameters(), slow.model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-5)
    assert fast.lr == slow.lr


def test_set_lr_and_momentum_work_on_the_fast_path():
    fast, slow = _twins(TRAINING["sgd-nesterov-mse-l2"])
    for run in (fast, slow):
        for _ in range(20):
            run.step()
        run.set_lr(0.01)
        for _ in range(20):
            run.step()
    for p, q in zip(fast.model.parameters(), slow.model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(fast.opt.state[p]["momentum_buffer"], slow.opt.state[q]["momentum_buffer"],
                                   rtol=1e-5, atol=1e-5)


def test_the_probes_recorder_sees_the_same_gradients():
    fast, slow = _twins(_spec([L("linear", units=8), L("relu"), L("linear", units=8), L("tanh"),
                               L("linear", units=1)], optim=OptimSpec("adam", lr=0.01)))
    recs = Recorder(), Recorder()
    try:
        for _ in range(6):
            for run in (fast, slow):
                for _ in range(3):
                    run.step()
            got, want = (rec(run).history for run, rec in zip((fast, slow), recs))
            for key in ("g_norm", "g_mean", "w_norm", "ratio"):
                np.testing.assert_allclose(getattr(got, key), getattr(want, key), rtol=1e-5, atol=1e-7, err_msg=key)
        assert len(got.g_norm) == 6 and np.isfinite(got.ratio[-1]).all()
    finally:
        for rec in recs:
            rec.close()


def test_replaced_tensors_are_picked_up():
    """The closed form keeps numpy views of the parameters and their .grad tensors between
    steps; an autograd step in between (new .grad tensors) or a parameter given new memory
    must not leave it reading or writing stale arrays."""
    fast, slow = _twins(TRAINING["tf_playground"])
    for k in range(40):
        hooked = k % 7 == 3                                            # now and then through autograd
        handles = [run.model[0].register_forward_hook(lambda *a: None) for run in (fast, slow)] if hooked else []
        if k == 20:
            for run in (fast, slow):
                for p in run.model.parameters():
                    p.data = p.data.clone()                            # same values, new memory
        torch.testing.assert_close(fast.step(), slow.step(), rtol=1e-5, atol=1e-6)
        for h in handles:
            h.remove()
    for p, q in zip(fast.model.parameters(), slow.model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)
