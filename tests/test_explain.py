"""engine.explain: Captum's attribution maps on briefly trained runs, checked by numbers.

The figures in the comments were measured with `tests/test_explain.py`'s fixtures (one CPU
thread; shapes_cnn 200 steps, 93.5% test accuracy; mnist_cnn 150 steps, 92%); the same
numbers come from `python -m engine explain --preset shapes_cnn --examples 8 --json`."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.__main__ import main
from engine.data.images import make_shapes, shape_masks
from engine.explain import (METHODS, MISCLASSIFIED, ExplainConfig, conv_layers, explain_features, explain_image,
                            frozen_copy, gradient_field, kind, methods_for, pick_example, spearman)
from engine.presets import load_preset
from engine.run import Run


def _trained(name: str, steps: int) -> Run:
    torch.set_num_threads(1)
    run = Run(load_preset(name).with_(device="cpu", steps=steps))
    for _ in range(steps):
        run.step()
    return run


@pytest.fixture(scope="module")
def shapes() -> Run:
    return _trained("shapes_cnn", 200)          # 2.5 s; 93.5% of 400 held-out shapes


@pytest.fixture(scope="module")
def digits() -> Run:
    return _trained("mnist_cnn", 150)           # 1.5 s; 92% of 1,000 held-out digits


@pytest.fixture(scope="module")
def shapes_maps(shapes):
    """The first 8 test shapes with Saliency, IG and Occlusion and the sanity check (about 3 s)."""
    return [explain_image(shapes, i, ExplainConfig(methods=("saliency", "ig", "occlusion"))) for i in range(8)]


def test_every_map_has_the_input_shape_and_the_run_is_untouched(shapes):
    before = {k: v.clone() for k, v in shapes.model.state_dict().items()}
    training = shapes.model.training
    e = explain_image(shapes, 3, ExplainConfig(sanity=False, ig_steps=16, smooth_samples=4))
    assert [a.method for a in e.maps] == list(METHODS)
    for a in e.maps:
        assert a.attr.shape == shapes.data.x_test.shape[1:] == (1, 28, 28), a.method
        assert a.heat.shape == (28, 28) and np.isfinite(a.attr).all()
        assert len(a.deletion.fraction) == len(a.insertion.prob) == 21
    assert e.image.shape == (28, 28) and e.probs.sum() == pytest.approx(1, abs=1e-5)
    assert e.target == e.pred and e.mask is not None and 0 < e.object_share < 0.5
    after = shapes.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)       # a deep copy was explained
    assert shapes.model.training == training


def test_integrated_gradients_completeness_gap_is_below_one_percent_on_a_digit_model(digits):
    # measured: gaps of 0.0000-0.0001 of |f(x) - f(baseline)| with 128 steps on test digits 0-5,
    # at most 0.001 with 32 steps (ReLU + max pooling: the path integral has kinks)
    for i in range(4):
        e = explain_image(digits, i, ExplainConfig(methods=("ig",), ig_steps=128, sanity=False))
        (ig,) = e.maps
        assert ig.completeness_gap < 0.01, (i, ig.completeness_gap)
        assert abs(ig.attr.sum() - (e.f_x - e.f_baseline)) < 0.01 * abs(e.f_x - e.f_baseline)


def test_on_shapes_ig_and_occlusion_put_their_mass_on_the_object(shapes_maps):
    # measured on test shapes 0-7 (the object covers 8-19% of the image): IG's share of |map| on the
    # object is 4.6-17.0x its area share (mean 8.6x); Occlusion's (5x5 window, stride 2) 2.1-9.2x
    # (mean 5.2x); Saliency's (|gradient|, not asked for) 1.6-3.2x (mean 2.1x)
    ig = np.array([{a.method: a for a in e.maps}["ig"].inside_share / e.object_share for e in shapes_maps])
    occ = np.array([{a.method: a for a in e.maps}["occlusion"].inside_share / e.object_share for e in shapes_maps])
    assert ig.min() > 3 and ig.mean() > 6, ig
    assert occ.min() > 1.5 and occ.mean() > 3.5, occ


def test_randomising_the_weights_changes_the_gradient_maps(shapes_maps):
    # measured: Saliency's rank correlation with the trained map is 0.19-0.34 once the last layer is
    # re-initialised and -0.09-0.06 with every layer random. IG stays at 0.93-0.95: it multiplies by
    # (x - baseline), so much of its map is the image itself (as Adebayo et al. found)
    for e in shapes_maps:
        sal = e.sanity.correlation["saliency"]
        assert len(e.sanity.layers) == 3 and e.sanity.layers[0].startswith("up to layer 8")
        assert sal[0] < 0.5 and abs(sal[-1]) < 0.2, sal
        assert e.sanity.correlation["ig"][-1] > 0.8


def test_deletion_curves_fall_and_lie_below_insertion(shapes_maps):
    # measured: IG's deletion area 0.025-0.058 on the 7 shapes whose all-zeros image is not itself
    # the target class (mean 0.15 over all 8), insertion 0.03-0.999 (mean 0.68)
    for e in shapes_maps:
        ig = {a.method: a for a in e.maps}["ig"]
        assert ig.deletion.prob[0] == pytest.approx(e.probs[e.target], abs=1e-5)
        assert ig.deletion.fraction[0] == 0 and ig.deletion.fraction[-1] == 1
    falls = [e for e in shapes_maps if {a.method: a for a in e.maps}["ig"].deletion.prob[-1] < 0.5]
    assert len(falls) >= 6
    for e in falls:
        ig = {a.method: a for a in e.maps}["ig"]
        assert ig.deletion.prob[5] < ig.deletion.prob[0] and ig.deletion.auc < 0.2
    assert np.mean([{a.method: a for a in e.maps}["ig"].deletion.auc for e in shapes_maps]) < \
        np.mean([{a.method: a for a in e.maps}["ig"].insertion.auc for e in shapes_maps])


def test_shape_masks_mark_the_object_pixels():
    x, y, masks = make_shapes(50, 28, 0.0, seed=3, masks=True)
    assert masks.shape == (50, 28, 28) and np.array_equal(x[:, 0] > 0, masks)   # no noise: mask = ink
    spec = load_preset("shapes_cnn").data
    run = _trained("shapes_cnn", 1)
    m = shape_masks(spec, 0)
    assert m.shape == (len(run.data.x_test), 28, 28)
    ink = run.data.x_test[:, 0] > 0.5                                # noise 0.1: ink pixels stay above 0.5
    assert (ink & m).sum() / ink.sum() > 0.95


def test_grad_cam_layer_target_and_latest_misclassified(shapes):
    assert [i for i, _ in conv_layers(shapes)] == [0, 3] and "gradcam" in methods_for(shapes)
    cfg = ExplainConfig(methods=("gradcam",), gradcam_layer=0, target=1, sanity=False)
    e = explain_image(shapes, 0, cfg)
    assert e.target == 1 and e.maps[0].heat.min() >= 0 and e.maps[0].heat.max() > 0
    idx, found = pick_example(shapes, MISCLASSIFIED)
    pred = (torch.softmax(frozen_copy(shapes)(torch.as_tensor(shapes.data.x_test)), 1)).argmax(1).numpy()
    assert found and pred[idx] != shapes.data.y_test[idx] and (pred[idx + 1:] == shapes.data.y_test[idx + 1:]).all()
    assert spearman(np.ones(4), np.arange(4.0)) != spearman(np.ones(4), np.arange(4.0))   # NaN: a flat map


def test_a_table_gets_integrated_gradients_per_feature():
    run = _trained("logistic_regression", 30)
    assert kind(run) == "table"
    r = explain_features(run, 0)
    assert r.attr.shape == (30,) and len(r.feature_names) == 30
    # one linear unit: IG is exactly w * (x - 0) per feature, so completeness holds to float error
    w = run.model[0].weight.detach()[0].numpy()
    sign = 1 if r.target == 1 else -1
    assert r.attr == pytest.approx(sign * w * r.values / 2, rel=1e-3, abs=1e-5)     # the (-z/2, z/2) scores
    assert r.completeness_gap < 1e-4


def test_the_plane_gets_the_score_gradient_equal_to_autograd():
    run = _trained("tf_playground", 50)
    assert kind(run) == "plane"
    f = gradient_field(run, grid=5)
    assert f.gx.shape == f.gy.shape == f.score.shape == (5, 5)
    from engine.views import plane_grid
    _, pts = plane_grid(float(run.data.extent), 5)
    x = torch.as_tensor(pts).requires_grad_()                           # features x1, x2: the raw point
    frozen_copy(run)(x)[:, 1].sum().backward()
    assert f.gx.ravel() == pytest.approx(x.grad[:, 0].numpy(), rel=1e-2, abs=1e-4)
    assert f.gy.ravel() == pytest.approx(x.grad[:, 1].numpy(), rel=1e-2, abs=1e-4)


def test_cli_explain_prints_the_numbers(capsys):
    assert main(["explain", "--preset", "shapes_cnn", "--steps", "200", "--examples", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "image" and out["steps"] == 200 and out["test_acc"] > 0.85
    ex = out["examples"][0]
    assert set(ex["methods"]) == set(METHODS) and 0 < ex["object_share"] < 0.5
    assert ex["methods"]["ig"]["completeness_gap"] < 0.05 and ex["methods"]["ig"]["inside_over_area"] > 3
    assert len(ex["sanity"]["layers"]) == 3 and "saliency" in out["mean"]


def test_every_figure_is_valid_plotly_with_titles_and_axis_labels(shapes_maps):
    import plotly.graph_objects as go

    from viz import explain as vx

    def validated(fig):
        d = fig.to_dict()
        assert go.Figure(d).to_dict() == d                               # plotly accepts every property
        assert d["layout"]["title"]["text"]
        return d
    e = shapes_maps[0]
    fig = vx.maps_figure(e)
    d = validated(fig)
    assert sum(t["type"] == "heatmap" for t in d["data"]) == 1 + 2 * len(e.maps)
    over = [t for t in fig.data if t.type == "heatmap" and t.zmin == -1]
    assert len(over) == len(e.maps)
    assert all(np.abs(np.asarray(t.z, float)).max() == pytest.approx(1) for t in over)   # one scale: ±1
    for which in ("deletion", "insertion"):
        d = validated(vx.curves_figure(e, which))
        assert [t["name"].split(" (")[0] for t in d["data"]] == [a.label for a in e.maps]
        assert d["layout"]["xaxis"]["title"]["text"] and d["layout"]["yaxis"]["title"]["text"]
    d = validated(vx.sanity_figure(e))
    assert len(d["data"][0]["x"]) == 1 + len(e.sanity.layers) and d["data"][0]["y"][0] == 1
    run = _trained("logistic_regression", 30)
    d = validated(vx.features_figure(explain_features(run, 0)))
    assert len(d["data"][0]["y"]) == 15
    run = _trained("tf_playground", 20)
    d = validated(vx.field_figure(gradient_field(run, grid=7)))
    assert d["data"][0]["type"] == "heatmap" and d["data"][-1]["name"] == "gradient (uphill)"
