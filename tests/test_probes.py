"""The recorder against direct computation with torch on tiny deterministic runs."""
from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch
from torch import nn

from engine.probes import MISCLASSIFIED, PERCENTILES, ProbeConfig, ProbeRecord, Recorder, _distribution
from engine.run import Run
from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec
from engine.trainer import Trainer

L = LayerSpec.make


def _spec(layers, data="circle", n=120, **kw) -> RunSpec:
    return RunSpec.make(data=DataSpec(data, n_samples=n, test_fraction=0.5), layers=tuple(layers),
                   batch_size=16, optim=OptimSpec("adam", lr=0.01), seed=1, device="cpu", **kw)


def _mlp(act: str = "relu", depth: int = 2, units: int = 8) -> RunSpec:
    body = [l for _ in range(depth) for l in (L("linear", units=units), L(act))]
    return _spec(body + [L("linear", units=1)])


def _cnn() -> RunSpec:
    return _spec([L("conv2d", channels=4, kernel=3), L("relu"), L("maxpool2d"), L("flatten"),
                  L("linear", units=4)], data="shapes", n=80)


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def _recorded(rec: Recorder, run: Run, steps: int = 1) -> ProbeRecord:
    for _ in range(steps):
        run.step()
    return rec(run)


# ---------------------------------------------------------------- values vs direct computation
def test_gradient_and_weight_norms_match_torch():
    run, rec = Run(_cnn()), Recorder()
    out = _recorded(rec, run, 3)
    h = out.history
    assert out.param_layers == (0, 4)                          # conv and the last linear
    for col, index in enumerate(out.param_layers):
        w = run.model[index].weight.detach()
        g = run.model[index].weight.grad
        assert h.g_norm[-1, col] == pytest.approx(float(g.norm()), rel=1e-5)
        assert h.g_mean[-1, col] == pytest.approx(float(g.abs().mean()), rel=1e-5)
        assert h.w_norm[-1, col] == pytest.approx(float(w.norm()), rel=1e-5)
        assert h.w_mean[-1, col] == pytest.approx(float(w.abs().mean()), rel=1e-5)
    assert h.step[-1] == run.step_count == 3


def test_feature_maps_equal_the_submodule_outputs_and_hooks_are_gone():
    run, rec = Run(_cnn()), Recorder(example=5)
    out = _recorded(rec, run)
    assert _hooks(run.model) == 0
    assert run.model.training                                     # train mode restored
    run.model.eval()
    x = run.x_test[5:6]
    with torch.no_grad():
        for i, act in enumerate(out.activations):
            assert act.layer == i
            x = run.model[i](x)
            assert act.shape == tuple(x.shape[1:])
            np.testing.assert_allclose(act.values, x[0].numpy(), rtol=1e-5, atol=1e-6)
    ex = out.example
    assert ex.index == 5 and ex.label == int(run.y_test[5])
    np.testing.assert_allclose(ex.probs, torch.softmax(x[0], -1).numpy(), rtol=1e-5)


def test_hooks_are_removed_when_the_forward_pass_fails():
    run, rec = Run(_cnn()), Recorder()
    run.step()

    def broken(module, args, output):
        raise RuntimeError("boom")
    handle = run.model[2].register_forward_hook(broken)
    with pytest.raises(RuntimeError, match="boom"):
        rec(run)
    handle.remove()
    assert _hooks(run.model) == 0


def test_filters_are_the_conv_weights():
    run, rec = Run(_cnn()), Recorder()
    out = _recorded(rec, run)
    (f,) = out.filters
    w = run.model[0].weight.detach()
    assert f.layer == 0 and f.shape == (4, 1, 3, 3)
    np.testing.assert_allclose(f.weights, w.numpy())
    np.testing.assert_allclose(f.mean, w.mean(1).numpy(), rtol=1e-6)


def test_large_layers_are_downsampled():
    cfg = ProbeConfig(max_filters=2, max_maps=3, max_side=5, max_units=10)
    run, rec = Run(_cnn()), Recorder(config=cfg)
    out = _recorded(rec, run)
    assert out.filters[0].weights.shape == (2, 1, 3, 3)
    conv = out.activations[0]
    assert conv.shape == (4, 26, 26) and conv.values.shape == (3, 5, 5)
    flat = out.activations[3]                                      # 4*13*13 = 676 values
    assert flat.values.shape[0] <= 10 and flat.group * flat.values.shape[0] >= 676
    x = run.model[:4].eval()(run.x_test[:1]).detach()[0]
    assert flat.values[0] == pytest.approx(float(x[:flat.group].mean()), rel=1e-5)


def test_update_to_weight_ratio_is_one_optimizer_step():
    """The ratio is |w_after - w_before| / |w_before| of the first step after a record, even
    when more steps follow before the next record."""
    run, rec = Run(_mlp()), Recorder()
    weights = lambda: [run.model[i].weight.detach().clone() for i in (0, 2, 4)]
    _recorded(rec, run)                                            # step 1, arms the hooks
    before = weights()
    run.step()                                                     # step 2: measured
    after = weights()
    assert len(run.opt._optimizer_step_pre_hooks) == 0             # one-shot hooks removed themselves
    for _ in range(3):
        run.step()
    out = rec(run)                                                 # step 5
    want = [float((a - b).norm() / b.norm()) for a, b in zip(after, before)]
    np.testing.assert_allclose(out.history.ratio[-1], want, rtol=1e-5)
    assert list(out.history.ratio_step) == [-1, 2]
    assert len(run.opt._optimizer_step_pre_hooks) == 1             # armed again for step 6
    rec.close()
    assert len(run.opt._optimizer_step_pre_hooks) == len(run.opt._optimizer_step_post_hooks) == 0


def test_percentiles_and_histograms_match_numpy():
    run, rec = Run(_mlp(units=6)), Recorder()
    out = _recorded(rec, run)
    w = run.model[2].weight.detach().numpy().ravel()
    d = out.dist["weights"]
    col = d.layers.index(2)
    np.testing.assert_allclose(d.pct[-1, col], np.percentile(w, PERCENTILES), rtol=1e-5, atol=1e-7)
    counts, edges = np.histogram(w, bins=ProbeConfig().bins, range=(w.min(), w.max()))
    np.testing.assert_array_equal(d.hist[col].counts, counts)
    g = run.model[0].weight.grad.numpy().ravel()
    gd = out.dist["gradients"]
    np.testing.assert_allclose(gd.pct[-1, 0], np.percentile(g, PERCENTILES), rtol=1e-5, atol=1e-9)
    b = run.model[4].bias.detach().numpy()
    bd = out.dist["biases"]
    np.testing.assert_allclose(bd.pct[-1, bd.layers.index(4)], np.percentile(b, PERCENTILES), rtol=1e-5)


def test_distribution_ignores_non_finite_values():
    pct, hists = _distribution([torch.tensor([1.0, float("inf"), 3.0, float("nan")]), torch.zeros(0)], 4)
    np.testing.assert_allclose(pct[0], np.percentile([1.0, 3.0], PERCENTILES))
    assert hists[0].counts.sum() == 2 and np.isnan(pct[1]).all()


def test_dead_share_counts_units_never_active_on_the_batch():
    run, rec = Run(_mlp(units=8)), Recorder()
    out = _recorded(rec, run)
    x = run.x_test[:ProbeConfig().batch]
    with torch.no_grad():
        h = run.model.eval()[:2](x)
    assert out.dead[1] == pytest.approx(float((h.amax(0) <= 0).float().mean()))
    assert out.batch == len(x)


# ---------------------------------------------------------------- history
def test_history_is_bounded_and_cleared_for_a_new_run():
    rec = Recorder(config=ProbeConfig(history=4))
    run = Run(_mlp())
    rec(run)
    out = rec(run)                                                 # same step: replaced, not added
    assert list(out.history.step) == [0]
    assert np.isnan(out.history.g_norm).all()                      # no gradient before the first step
    for _ in range(6):
        out = _recorded(rec, run)
    assert list(out.history.step) == [3, 4, 5, 6]
    assert out.dist["activations"].pct.shape == (4, 5, len(PERCENTILES))
    out = rec(Run(_mlp()))                                         # reset: a new Run object
    assert list(out.history.step) == [0]


# ---------------------------------------------------------------- the example
def test_example_choice_and_latest_misclassified():
    run, rec = Run(_cnn()), Recorder()
    rec.set_example(7)
    assert _recorded(rec, run).example.index == 7
    rec.set_example(10_000)                                        # clamped to the test set
    assert rec(run).example.index == len(run.x_test) - 1
    with pytest.raises(ValueError):
        rec.set_example("worst")
    rec.set_example(MISCLASSIFIED)
    ex = rec(run).example
    with torch.no_grad():
        pred = run.predict_proba(run.x_test).argmax(1)
    wrong = np.flatnonzero(pred != run.y_test.numpy())
    assert len(wrong) > 0 and ex.found
    assert ex.index == wrong[0] and ex.pred == pred[ex.index] != ex.label
    assert rec(run).example.index == wrong[0]                      # stays while it stays wrong


def test_set_example_from_another_thread():
    rec = Recorder()
    threads = [threading.Thread(target=rec.set_example, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert rec.example in range(20)


# ---------------------------------------------------------------- flags
def test_vanishing_gradient_flag_on_a_deep_sigmoid_net_with_tiny_init():
    run = Run(_mlp("sigmoid", depth=10, units=16))
    with torch.no_grad():
        for p in run.model.parameters():
            p.mul_(0.1)
    out = _recorded(Recorder(), run, 3)
    flags = [f for f in out.flags if f.kind == "vanishing"]
    assert len(flags) == 1 and 0 in flags[0].layers and "Vanishing" in flags[0].text
    assert "ReLU" in flags[0].text                                 # the fix for saturating activations
    g = out.history.g_mean[-1]
    assert g[0] < 1e-3 * g.max()


@pytest.mark.parametrize("spec", [_mlp("relu", depth=3, units=16), _mlp("tanh", depth=3), _cnn()],
                         ids=["relu-mlp", "tanh-mlp", "cnn"])
def test_a_sane_network_raises_no_flag(spec):
    out = _recorded(Recorder(), Run(spec), 5)
    assert out.flags == ()


def test_dead_relu_flag_with_a_large_negative_bias():
    run = Run(_mlp("relu", depth=2, units=16))
    with torch.no_grad():
        run.model[0].bias.fill_(-20.0)
    out = _recorded(Recorder(), run, 2)
    assert out.dead[1] == 1.0
    dead = [f for f in out.flags if f.kind == "dead"]
    assert dead[0].layers == (1,) and "100%" in dead[0].text
    assert run.model[0].weight.grad.abs().max() == 0               # ...and indeed nothing flows back


def test_exploding_flag_on_huge_gradients():
    run = Run(_mlp("relu", depth=2))
    with torch.no_grad():
        for p in run.model.parameters():
            p.mul_(100.0)
    out = _recorded(Recorder(), run)
    assert any(f.kind == "exploding" for f in out.flags)


# ---------------------------------------------------------------- generic layers and the trainer
class _Seq2Vec(nn.Module):
    """An RNN layer for (N, T, F) input whose output is (output, h_n): no change needed."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 5, batch_first=True)

    def forward(self, x):
        return self.rnn(x)


class _Last(nn.Module):
    def forward(self, out):
        return out[0][:, -1]


def test_a_new_layer_kind_needs_no_change():
    torch.manual_seed(0)
    model = nn.Sequential(_Seq2Vec(), _Last(), nn.Linear(5, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(40, 7, 3), torch.randint(0, 2, (40,))

    class FakeRun:
        pass
    run = FakeRun()
    run.model, run.opt, run.x_test, run.y_test, run.step_count = model, opt, x, y, 1
    nn.functional.cross_entropy(model(x), y).backward()
    out = Recorder()(run)
    assert out.param_layers == (0, 2)
    assert out.activations[0].shape == (7, 5)                      # the GRU's output sequence
    grads = [p.grad for p in model[0].parameters() if p.dim() > 1]  # weight_ih, weight_hh
    want = math.sqrt(sum(float(g.pow(2).sum()) for g in grads))
    assert out.history.g_norm[-1, 0] == pytest.approx(want, rel=1e-5)
    assert _hooks(model) == 0


def test_the_trainer_publishes_the_recording():
    rec = Recorder()
    t = Trainer(_mlp(), views={"probes": rec}, view_every_s=0.0)
    try:
        t.step(4)
        snap = t.wait(lambda s: s.state == "paused" and s.run and s.run.step == 4, timeout=30)
        out = snap.run.views["probes"]
        assert isinstance(out, ProbeRecord) and out.step == 4
        assert out.history.step[-1] == 4 and not np.isnan(out.history.g_norm[-1]).any()
    finally:
        t.stop()
