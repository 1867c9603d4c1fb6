"""Playground views against a direct torch computation: the boundary is the model's output on
the featurized grid, every neuron map is the forward pass cut after its block, the images are
the first test images with the model's argmax; views are read-only."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.synthetic import featurize
from engine.presets import load_preset
from engine.records import Boundary, Images, Neurons
from engine.run import Run
from engine.spec import DataSpec, LayerSpec, OptimSpec, RunSpec
from engine.views import (BOUNDARY_GRID, N_IMAGES, NEURON_GRID, boundary_view, images_view, mlp_blocks,
                          neurons_view, plane_grid, playground_views)
from viz.playground import boundary_figure, images_figure, neurons_figure

L = LayerSpec.make
FEATS = ("x1", "x2", "x1*x2", "sin(x1)")
MLP = RunSpec.make(data=DataSpec("xor", 120, 0.0, 0.5, FEATS),
              layers=(L("linear", units=5), L("tanh"), L("dropout", p=0.1), L("linear", units=3), L("relu"),
                      L("linear", units=1)),
              optim=OptimSpec("adam", lr=0.05), batch_size=16, epochs=2, seed=3)


@pytest.fixture(scope="module")
def run() -> Run:
    r = Run(MLP)
    for _ in range(10):
        r.step()
    return r


def _grid(extent: float, n: int) -> torch.Tensor:
    axis = np.linspace(-extent, extent, n, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)
    return torch.as_tensor(featurize(np.stack([xx.ravel(), yy.ravel()], 1), FEATS))


def test_boundary_is_the_model_probability_on_the_featurized_grid(run):
    v = boundary_view(run)
    run.model.eval()
    with torch.no_grad():
        p1 = torch.sigmoid(run.model(_grid(6.0, BOUNDARY_GRID))).numpy().reshape(BOUNDARY_GRID, BOUNDARY_GRID)
    assert isinstance(v, Boundary) and v.kind == "probability" and v.z.shape == (BOUNDARY_GRID, BOUNDARY_GRID)
    np.testing.assert_allclose(v.z, p1, atol=1e-6)
    # row = x2, column = x1: the top-right cell is the point (+6, +6)
    assert v.axis[0] == -6 and v.axis[-1] == 6
    np.testing.assert_array_equal(v.points_train, run.data.points_train)
    np.testing.assert_array_equal(v.y_train, run.data.y_train)


def test_boundary_for_regression_and_for_data_without_a_plane():
    r = Run(RunSpec.make(data=DataSpec("plane", 100), task="regression", layers=(L("linear", units=1),), seed=1))
    v = boundary_view(r)
    with torch.no_grad():
        want = r.model(torch.as_tensor(plane_grid(6.0, BOUNDARY_GRID)[1])).numpy()[:, 0]
    assert v.kind == "regression"
    np.testing.assert_allclose(v.z.ravel(), want, atol=1e-6)
    tab = Run(RunSpec.make(data=DataSpec("iris"), layers=(L("linear", units=3),)))
    assert boundary_view(tab) is None and neurons_view(tab) is None and images_view(tab) is None


def test_every_neuron_map_is_the_forward_pass_cut_after_its_block(run):
    v = neurons_view(run)
    assert mlp_blocks(run) == [(0, 2), (3, 4), (5, 5)]         # Linear+Tanh+Dropout, Linear+ReLU, Linear
    assert isinstance(v, Neurons)
    names = [c.name for c in v.columns]
    assert names == ["input", "hidden 1", "hidden 2", "output"]
    x = _grid(6.0, NEURON_GRID)
    run.model.eval()
    with torch.no_grad():
        h1 = run.model[2](run.model[1](run.model[0](x)))
        h2 = run.model[4](run.model[3](h1))
        out = run.model[5](h2)
    g = NEURON_GRID
    for col, ref in zip(v.columns, (x, h1, h2, out)):
        assert col.maps.shape == (ref.shape[1], g, g)
        np.testing.assert_allclose(col.maps, ref.T.reshape(-1, g, g).numpy(), atol=1e-5)
    for w, layer in zip(v.weights, (run.model[0], run.model[3], run.model[5])):
        np.testing.assert_array_equal(w, layer.weight.detach().numpy())
    assert v.columns[0].labels == FEATS


def test_neurons_view_is_only_for_small_mlps():
    wide = Run(MLP.with_(layers=(L("linear", units=64), L("relu"), L("linear", units=1))))
    assert neurons_view(wide) is None
    conv_like = Run(MLP.with_(layers=(L("linear", units=4), L("flatten"), L("linear", units=1))))
    assert neurons_view(conv_like) is None


def test_images_view_shows_the_first_test_images_with_the_model_argmax():
    r = Run(load_preset("mlp_digits").with_(data=DataSpec("digits", 300, test_fraction=0.2)))
    v = images_view(r)
    x = torch.as_tensor(r.data.x_test[:N_IMAGES])
    with torch.no_grad():
        probs = torch.softmax(r.model.eval()(x), -1)
    assert isinstance(v, Images) and list(v.pred) == probs.argmax(1).tolist()
    assert list(v.true) == r.data.y_test[:N_IMAGES].tolist()
    np.testing.assert_allclose(v.confidence, probs.max(1).values.numpy(), atol=1e-6)
    assert v.images.shape == (N_IMAGES, 8, 8) and v.images.min() >= 0 and v.images.max() <= 1
    assert boundary_view(r) is None and neurons_view(r) is None
    fig = images_figure(v.images, v.true, v.class_names, v.pred, v.confidence)
    wrong = sum(p != t for p, t in zip(v.pred, v.true))
    assert len(fig.layout.shapes) == wrong                          # a red frame per wrong prediction
    assert len(fig.layout.annotations) == N_IMAGES and len(fig.data) == 1


def test_views_are_read_only(run):
    params = [p.detach().clone() for p in run.model.parameters()]
    rng = torch.get_rng_state()
    was_training = run.model.training
    run.model.train()
    for fn in playground_views().values():
        fn(run)
    assert torch.equal(torch.get_rng_state(), rng)
    for a, b in zip(params, run.model.parameters()):
        assert torch.equal(a, b)
    run.model.train(was_training)


def test_figures_draw_the_views(run):
    b = boundary_view(run)
    fig = boundary_figure(b, show_test=True, discretize=True)
    assert set(np.unique(np.asarray(fig.data[0].z))) <= {0.0, 1.0}
    assert {t.name for t in fig.data[1:]} >= {"train: blue", "train: orange", "test: blue", "test: orange"}
    nf = neurons_figure(neurons_view(run))
    assert len(nf.layout.images) == 1 and nf.layout.title.text == "What every neuron computes"
    n_weights = sum(w.size for w in neurons_view(run).weights)
    hover = [t for t in nf.data if t.hovertext is not None and "weight" in str(t.hovertext[0])]
    assert len(hover[0].x) == n_weights
