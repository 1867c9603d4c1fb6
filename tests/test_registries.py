"""Every registry entry through every consumer: a layer kind, dataset, optimizer, loss or task
that some consumer (the spec, check, build, the export, the page's builder, the arena, the
loss surfaces) cannot handle fails here instead of in front of a user."""
from __future__ import annotations

import ast
import math
import re
from dataclasses import fields

import pytest
import torch
from torch import nn

from engine.build import infer_shapes, torch_shapes
from engine.data import DATASETS, make_dataset
from engine.export import export_script, helper_source
from engine.layers import LAYERS
from engine.optim import LOSSES, OPTIMIZERS, SCHEDULE_CODE, make_optimizer
from engine.spec import NetworkSpec, SCHEDULES, DataSpec, LayerSpec, OptimSpec, RunSpec, from_dict, to_dict
from engine.surfaces import path_optimizers
from engine.tasks.autoencoder import AE_LOSSES
from engine.tasks.gan import GAN_LOSSES
from engine.tasks import TASKS, build_run, problems
from ui import builder
from ui.playground import GROUP_LABELS

SHAPES = [(6,), (3, 9, 9), (5, 6), (784,)]  # a flat input (or 6 token ids), an image, a sequence, a code
                                            # Unflatten's default 16 × 7 × 7 folds; no batch
FILE_DATASETS = [n for n, d in DATASETS.items() if "path" in d.options]   # need files: tests/test_data.py


def _fits(kind: str) -> tuple[int, ...]:
    for shape in SHAPES:
        rows = infer_shapes((LayerSpec.make(kind),), shape)
        if not rows[0].error:
            return shape
    raise AssertionError(f"{kind}: fits none of {SHAPES}")


@pytest.mark.parametrize("name", list(LAYERS))
def test_every_layer_kind_checks_builds_exports_and_is_offered(name):
    kind = LAYERS[name]
    assert kind.label and kind.help and all(p.help for p in kind.params), name
    layer = LayerSpec.make(name)
    assert all(p.problem(layer.params[p.name]) is None for p in kind.params)      # its defaults are valid
    assert from_dict({"layers": [{"kind": name, **layer.params}]}).layers == (layer,)
    shape = _fits(name)
    row = infer_shapes((layer,), shape)[0]
    model = nn.Sequential(kind.build(shape, layer.params))
    assert torch_shapes(model, shape, kind.tokens) == [row.out_shape]              # the shape rule is torch's
    assert row.n_params == sum(p.numel() for p in model.parameters())
    source = kind.source(shape, layer.params)                                      # what the export writes
    script = {"nn": nn, "torch": torch, "math": math}                              # what the script imports
    exec(helper_source((layer,)), script)                                          # the classes it copies
    written = eval(compile(ast.parse(source, mode="eval"), name, "eval"), script)  # our own code, not user text
    assert sum(p.numel() for p in written.parameters()) == row.n_params
    assert torch_shapes(nn.Sequential(written), shape, kind.tokens) == [row.out_shape]
    assert name in builder.kind_options() and kind.label in builder.kind_label(name)
    assert kind.short(layer.params)


def _trainable_yet(data) -> bool:
    """Token inputs need an Embedding layer, a language model its task: issue 14 brings both
    (until then tests/test_seq_data.py checks those datasets)."""
    return (not data.token_input or "embedding" in LAYERS) and any(t.data_task == data.task for t in TASKS.values())


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_loads_fits_its_default_network_and_exports(name):
    info = DATASETS[name]
    assert info.label and info.help, name
    assert info.group in GROUP_LABELS or info.group in ("sequences", "distributions"), name   # a page offers it
    assert set(info.options) <= {f.name for f in fields(DataSpec)}
    if name in FILE_DATASETS:
        return                                                                      # read from files: test_data.py
    d = DataSpec(name, n_samples=120) if "n_samples" in info.options else DataSpec(name)
    data = make_dataset(d, 0)
    assert len(data.x_train) and len(data.x_test)
    if data.token_input:                                                            # ids of its vocab
        assert data.x_train.dtype == "int64" and 0 <= data.x_train.min() and data.x_train.max() < len(data.vocab)
    else:
        assert data.x_train.dtype == "float32" and not data.vocab
    if data.task == "generative":                                                   # the GAN lab's targets
        nets = TASKS["gan"].default_networks(data, info.group)
        spec = RunSpec(task="gan", data=d, steps=3, networks={r: NetworkSpec(nets[r]) for r in TASKS["gan"].roles})
    elif not _trainable_yet(data):
        return
    else:
        task = next(t for t in TASKS.values() if t.data_task == data.task)
        spec = RunSpec.make(task=task.name, data=d, layers=task.default_networks(data, info.group)["model"], steps=3)
    assert problems(spec) == []
    run = build_run(spec)
    assert torch.isfinite(run.step())
    ast.parse(export_script(spec))                                                  # a valid script


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_steps_exports_and_has_a_colour_and_a_surface_path(name):
    info = OPTIMIZERS[name]
    assert info.label and info.help and re.fullmatch(r"#[0-9a-f]{6}", info.color)
    assert set(info.uses) <= {f.name for f in fields(OptimSpec)} and "lr" in info.uses
    o = OptimSpec(name, lr=0.1)
    w = nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = make_optimizer([w], o)
    (w * w).sum().backward()
    opt.step()
    assert not torch.equal(w.detach(), torch.tensor([1.0, -2.0]))                  # it moved
    written = eval(info.code(o, "[v]"), {"torch": torch, "v": nn.Parameter(torch.zeros(2))})
    assert type(written) is type(opt) and written.param_groups[0]["lr"] == 0.1
    assert path_optimizers()[name][1] == name                                       # offered on the surfaces


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_computes_exports_and_names_real_tasks(name):
    info = LOSSES[name]
    assert info.label and info.help and set(info.tasks) <= set(TASKS)
    out, y = torch.randn(5, 1 if name == "bce" else 3), torch.tensor([0, 1, 1, 0, 1])
    if info.tasks == ("language_model",):               # scores at every step (B, T, V), pads ignored
        out, y = torch.randn(5, 4, 3), torch.tensor([[0, 1, 2, -100]] * 5)
    if info.tasks == ("gan",):                          # the discriminator's loss on real and generated scores
        gan = GAN_LOSSES[name]
        r, f = torch.randn(5), torch.randn(5)
        assert torch.isfinite(info.fn(r, f)) and torch.isfinite(gan.g(f))
        ast.parse(gan.d_code, mode="eval"), ast.parse(gan.g_code, mode="eval")
        assert name in TASKS["gan"].losses
        return
    if info.tasks == ("autoencoder",):                  # a reconstruction of [0, 1] values, summed per example
        ae = AE_LOSSES[name]
        x = torch.rand(5, 6)
        assert torch.isfinite(info.fn(torch.randn(5, 6), x)) and ae.per_example(torch.randn(5, 6), x).shape == (5,)
        ast.parse(ae.code, mode="eval")
        assert name in TASKS["autoencoder"].losses
        return
    assert torch.isfinite(info.fn(out, y))
    ctor, out_expr, y_expr = info.code
    assert isinstance(eval(ctor, {"nn": nn}), nn.Module)
    ast.parse(out_expr, mode="eval"), ast.parse(y_expr, mode="eval")
    assert all(name in TASKS[t].losses for t in info.tasks)


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_builds_steps_evaluates_exports_and_offers_views(name):
    task = TASKS[name]
    assert task.label and task.help and task.roles and task.losses[0] == "auto"
    want = "generative" if name == "gan" else task.data_task          # a GAN trains on any data; its targets first
    images = name == "rotation"                                       # rotation prediction turns images
    dataset = next(n for n, d in DATASETS.items() if d.task == want and n not in FILE_DATASETS
                   and (d.group == "images" or not images))
    data = make_dataset(DataSpec(dataset), 0)
    nets = task.default_networks(data, DATASETS[dataset].group)
    assert set(nets) == set(task.roles)
    spec = RunSpec(task=name, data=DataSpec(dataset), steps=4, networks={r: NetworkSpec(nets[r]) for r in task.roles})
    assert from_dict(to_dict(spec)) == spec and problems(spec) == []
    run = build_run(spec)
    first = run.evaluate()
    for _ in range(4):
        run.step()
    row = run.evaluate()
    assert row["step"] == 4 and first["step"] == 0 and any(k.endswith("loss") for k in row)
    if task.score is not None:                                                      # the pages read these columns
        assert {f"train_{task.score.key}", f"test_{task.score.key}"} <= set(row) and task.score.name
    for view in task.views().values():
        view(run)                                                                   # each view runs on it
    assert task.export is not None and ast.parse(export_script(spec))


def test_every_schedule_has_its_export_line():
    assert set(SCHEDULE_CODE) == set(SCHEDULES)
