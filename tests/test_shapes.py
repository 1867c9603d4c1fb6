"""Shape inference against torch: what infer_shapes predicts is what the model produces."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.build import MAX_PARAMS, build_model, check, infer_shapes, torch_shapes
from engine.layers import ACTIVATIONS, LAYERS, dims
from engine.spec import LayerSpec, RunSpec

L = LayerSpec.make

conv = st.builds(lambda c, k, s, p, d: L("conv2d", channels=c, kernel=k, stride=s, padding=p, dilation=d),
                 st.integers(1, 6), st.integers(1, 7), st.integers(1, 3), st.integers(0, 3), st.integers(1, 3))
pool = st.builds(lambda kind, k, s, p: L(kind, kernel=k, stride=s, padding=p),
                 st.sampled_from(["maxpool2d", "avgpool2d"]), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2))
simple = st.sampled_from([L(a) for a in ACTIVATIONS] + [L("batchnorm"), L("dropout", p=0.2)])
image_layer = st.one_of(conv, pool, simple)
dense_layer = st.one_of(st.builds(lambda u: L("linear", units=u), st.integers(1, 12)), simple)
stacks = st.tuples(st.lists(image_layer, max_size=5), st.booleans(), st.lists(dense_layer, max_size=4)).map(
    lambda t: tuple(t[0]) + ((L("flatten"),) if t[1] else ()) + tuple(t[2]))
image_shapes = st.tuples(st.integers(1, 3), st.integers(3, 20), st.integers(3, 20))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks, image_shapes)
def test_inferred_shapes_match_torch_or_torch_fails_where_predicted(layers, shape):
    if not layers:
        return
    rows = infer_shapes(layers, shape)
    bad = next((r for r in rows if r.error), None)
    if bad is None:
        model = build_model(layers, shape)
        assert torch_shapes(model, shape) == [r.out_shape for r in rows]
        for row, module in zip(rows, model):
            assert row.n_params == sum(p.numel() for p in module.parameters()), row
        return
    # torch must fail at exactly the layer infer_shapes flags
    assert f"layer {bad.index + 1} (" in bad.error and f"an input of {dims(bad.in_shape)} " in bad.error
    if layers[bad.index].kind == "linear":      # torch would apply it to the last axis only
        assert "add a Flatten layer" in bad.error
        return
    x = torch.zeros(2, *shape)
    mods, s = [], shape
    for row, layer in zip(rows[:bad.index], layers):
        mods.append(LAYERS[layer.kind].build(s, layer.params))
        s = row.out_shape
    with torch.no_grad():
        for m in mods:
            x = m.eval()(x)
        with pytest.raises(Exception):
            LAYERS[layers[bad.index].kind].build(s, layers[bad.index].params).eval()(x)


def _msg(layers, shape=(1, 28, 28), n_out=10):
    spec = RunSpec.make(data=RunSpec().data.__class__("mnist"), layers=tuple(layers))
    return "\n".join(check(spec, shape, n_out, "classification"))


def test_linear_after_conv_without_flatten_names_layer_shape_and_fix():
    msg = _msg([L("conv2d", channels=4), L("linear", units=10)])
    assert "layer 2 (Linear 10) gets an input of 4 × 26 × 26 and Linear expects a flat list" in msg
    assert "add a Flatten layer" in msg and "(features,)" not in msg


def test_kernel_larger_than_input():
    msg = _msg([L("conv2d", channels=4, kernel=9)], shape=(1, 8, 8))
    assert "layer 1 (Conv2d 4@9x9) gets an input of 1 × 8 × 8 and Conv2d with kernel 9 spans" in msg
    assert "Conv2d Conv2d" not in msg and "smaller kernel" in msg                # issue 21.9: said once


def test_pool_that_shrinks_the_map_to_zero():
    layers = [L("maxpool2d")] * 6 + [L("flatten"), L("linear", units=10)]
    msg = _msg(layers)
    assert "layer 5 (MaxPool2d 2x2) gets an input of 1 × 1 × 1 and MaxPool2d with kernel 2" in msg


def test_parameter_budget():
    msg = _msg([L("flatten"), L("linear", units=4096), L("linear", units=4096), L("linear", units=10)])
    assert f"above the limit of {MAX_PARAMS:,}" in msg and "layer 3 (Linear 4096)" in msg


def test_output_size_must_match_classes_and_losses_fit_the_task():
    assert "set the last Linear layer to 10 units" in _msg([L("flatten"), L("linear", units=7)])
    assert "remove the final activation" in _msg([L("flatten"), L("linear", units=10), L("sigmoid")])
    spec = RunSpec.make(task="regression", loss="cross_entropy", layers=(L("linear", units=1),))
    assert "choose Mean squared error (or auto)" in "\n".join(check(spec, (2,), 1, "regression"))
    spec = RunSpec.make(layers=(L("linear", units=1),), loss="bce")
    msg = "\n".join(check(spec, (4,), 3, "classification"))      # the loss menu's names, not code words
    assert "Binary cross-entropy (sigmoid) needs 2 classes" in msg and "choose Cross-entropy (softmax)" in msg
    assert "cross_entropy" not in msg and "(1,)" not in msg
    assert check(RunSpec.make(layers=(L("linear", units=1),)), (2,), 2, "classification") == []   # auto -> BCE


@pytest.mark.parametrize("channels_last", [True, False])
def test_flatten_equals_torchs_and_hands_channels_last_gradients_back_channels_last(channels_last):
    """The engine's Flatten gives nn.Flatten's output and gradient, through a max-pool too,
    and keeps a channels-last input's gradient channels-last (torch's pooling backward is
    then spared two full-size copies); a channels-first input is left to nn.Flatten."""
    from engine.layers import Flatten
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(4, 8, 6, 6).contiguous(memory_format=fmt).requires_grad_()
    ref = x.detach().contiguous().requires_grad_()                  # channels-first
    pooled = torch.max_pool2d(x, 2)                                  # (4, 8, 3, 3), x's layout
    seen = []                                                        # what the pooling backward gets
    pooled.register_hook(lambda grad: seen.append(grad.is_contiguous(memory_format=fmt)))
    out, out_ref = Flatten()(pooled), torch.nn.Flatten()(torch.max_pool2d(ref, 2))
    assert out.shape == out_ref.shape == (4, 8 * 3 * 3) and torch.equal(out, out_ref)
    g = torch.randn_like(out)
    out.backward(g)
    out_ref.backward(g)
    assert torch.equal(x.grad, ref.grad)
    assert seen == [True]


def test_the_activation_budget_counts_the_whole_batch_not_one_example():
    from engine.build import MAX_STEP_VALUES
    layers = (L("conv2d", channels=64, kernel=3, padding=1), L("relu"), L("flatten"), L("linear", units=10))
    per_example = 64 * 28 * 28 * 2 + 64 * 28 * 28 + 10         # conv, relu, flatten, linear outputs
    spec = RunSpec.make(data=RunSpec().data.__class__("mnist"), layers=layers, batch_size=4096)
    msg = "\n".join(check(spec, (1, 28, 28), 10, "classification", n_train=4000))
    assert f"a batch of 4,000 examples makes the layers produce {per_example * 4000:,} values" in msg
    assert f"batch size of at most {MAX_STEP_VALUES // per_example:,}" in msg and msg.startswith("batch_size:")
    fits = spec.with_(batch_size=MAX_STEP_VALUES // per_example)
    assert check(fits, (1, 28, 28), 10, "classification", n_train=4000) == []
    assert check(spec, (1, 28, 28), 10, "classification", n_train=50) == []   # the batch is the whole set
