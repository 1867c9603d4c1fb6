"""A newcomer's plug-ins, registered from this file alone: a layer kind, a dataset, an optimizer
and a task. Each is validated by the spec and `check`, trained by the Trainer, offered by the
Playground's builder and written by the export, without touching any engine or page file."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest
from torch import nn

from engine.build import build_model, infer_shapes
from engine.data import DATASETS, Dataset, DatasetInfo, split
from engine.data.synthetic import featurize
from engine.export import export_script
from engine.layers import LAYERS, LayerKind
from engine.optim import OPTIMIZERS, OptimizerInfo, make_optimizer
from engine.schema import Param
from engine.spec import MAIN, DataSpec, LayerSpec, OptimSpec, RunSpec, SpecError, from_dict, to_dict
from engine.tasks import TASKS, OneOptimizer, Task, problems
from engine.trainer import Trainer, live_trainers
from ui import builder
from ui.url import encode_spec

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("stop_trainers")


# ---------------------------------------------------------------- the four plug-ins
HARDTANH = LayerKind(
    "hardtanh", "HardTanh", "activation", "Clips values to [-limit, limit]: a piecewise-linear tanh.",
    (Param("limit", 1.0, 0.1, 10.0, help="Where the output stops growing."),),
    build=lambda s, p: nn.Hardtanh(-p["limit"], p["limit"]),
    describe=lambda p: f"HardTanh ±{p['limit']:g}")


def _rings(spec: DataSpec, seed: int) -> Dataset:
    """Two concentric rings of 2-D points, radius 1 (class 0) and 3 (class 1)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, spec.n_samples)
    angle = rng.uniform(0, 2 * math.pi, spec.n_samples)
    radius = 1 + 2 * y + rng.normal(0, 0.1 + spec.noise, spec.n_samples)
    pts = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1).astype(np.float32)
    x = featurize(pts, spec.features)
    x_tr, y_tr, x_te, y_te, p_tr, p_te = split(x, y.astype(np.int64), spec.test_fraction, seed, pts)
    return Dataset(x_tr, y_tr, x_te, y_te, "classification", ["inner", "outer"], list(spec.features), p_tr, p_te)


RINGS = DatasetInfo("rings", "Two rings (plug-in)", "2d", "classification", _rings,
                    "Two concentric rings.", ("n_samples", "noise", "test_fraction", "features"))

NADAM = OptimizerInfo(
    "nadam", "NAdam", lambda p, o: torch.optim.NAdam(p, o.lr, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay),
    ("lr", "beta1", "beta2", "weight_decay"), "Adam with Nesterov momentum.",
    lambda o, p: f"torch.optim.NAdam({p}, lr={o.lr}, betas=({o.beta1}, {o.beta2}), weight_decay={o.weight_decay})",
    "#17becf")


class Reconstruction(OneOptimizer):
    """The new task's Steppable: the network learns to reproduce its input (mean squared error)."""

    def __init__(self, spec: RunSpec, data: Dataset, device: torch.device):
        torch.manual_seed(spec.seed)
        self.model = build_model(spec.layers, data.input_shape).to(device)
        self.opt = make_optimizer(self.model.parameters(), spec.optim)
        self.x = torch.as_tensor(data.x_train, device=device)            # (N, F)
        self.x_test = torch.as_tensor(data.x_test, device=device)
        self.batch_size = min(spec.batch_size, len(self.x))
        self.steps_per_epoch = math.ceil(len(self.x) / self.batch_size)
        self.total_steps = spec.steps or spec.epochs * self.steps_per_epoch
        self.eval_every = self.steps_per_epoch
        self.step_count = 0
        self._gen = torch.Generator().manual_seed(spec.seed)

    def step(self) -> torch.Tensor:
        xb = self.x[torch.randint(len(self.x), (self.batch_size,), generator=self._gen)]
        loss = F.mse_loss(self.model(xb), xb)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.step_count += 1
        return loss.detach()

    @torch.no_grad()
    def evaluate(self, full: bool = False) -> dict:
        return {"step": self.step_count, "epoch": self.epoch, "lr": self.lr,
                "train_loss": float(F.mse_loss(self.model(self.x), self.x)),
                "test_loss": float(F.mse_loss(self.model(self.x_test), self.x_test))}


def _reconstruction_problems(spec: RunSpec, data: Dataset) -> list[str]:
    rows = infer_shapes(spec.layers, data.input_shape)
    if errors := [r.error for r in rows if r.error]:
        return errors
    if rows[-1].out_shape != data.input_shape:
        return [f"the last layer ({rows[-1].label}) outputs {rows[-1].out_shape} but a reconstruction "
                f"needs the input's shape {data.input_shape}; set its units to {data.input_shape[0]}"]
    return []


def _reconstruction_script(spec: RunSpec) -> str:
    shape = (len(spec.data.features),)
    lines = [LAYERS[l.kind].source(r.in_shape, l.params) for l, r in zip(spec.layers, infer_shapes(spec.layers, shape))]
    return ("model = nn.Sequential(\n" + "".join(f"    {line},\n" for line in lines) + ")\n"
            f"opt = {OPTIMIZERS[spec.optim.name].code(spec.optim, 'model.parameters()')}\n"
            "loss = nn.functional.mse_loss(model(x), x)   # the network reproduces its input\n")


RECONSTRUCTION = Task(
    "reconstruction", "Reconstruction", "The network reproduces its input through a narrow middle.",
    "any", Reconstruction, _reconstruction_problems,
    lambda data, group: {MAIN: (LayerSpec.make("linear", units=1), LayerSpec.make("tanh"),
                                LayerSpec.make("linear", units=data.input_shape[0]))},
    export=_reconstruction_script)


@pytest.fixture
def plugins():
    entries = [(LAYERS, HARDTANH), (DATASETS, RINGS), (OPTIMIZERS, NADAM), (TASKS, RECONSTRUCTION)]
    for registry, entry in entries:
        registry.register(entry)
    yield
    for registry, entry in entries:
        registry.pop(entry.name)


def _supervised() -> RunSpec:
    return RunSpec.make(
        name="rings", data=DataSpec("rings", n_samples=400, features=("x1", "x2", "x1^2", "x2^2")),
        layers=(LayerSpec.make("linear", units=8), LayerSpec.make("hardtanh", limit=2.0),
                LayerSpec.make("linear", units=1)),
        optim=OptimSpec("nadam", lr=0.03), batch_size=16, epochs=40, seed=2, device="cpu")


def _reconstruct() -> RunSpec:
    return RunSpec.make(
        task="reconstruction", data=DataSpec("rings", n_samples=300, features=("x1", "x2", "x1*x2")),
        layers=(LayerSpec.make("linear", units=2), LayerSpec.make("hardtanh"), LayerSpec.make("linear", units=3)),
        optim=OptimSpec("nadam", lr=0.01), batch_size=32, epochs=60, seed=0, device="cpu")


# ---------------------------------------------------------------- validated
def test_the_spec_and_check_know_the_plugins(plugins):
    for spec in (_supervised(), _reconstruct()):
        assert from_dict(to_dict(spec)) == spec
        assert problems(spec) == []
    raw = to_dict(_supervised())
    raw["networks"]["model"]["layers"][1]["limit"] = 99
    with pytest.raises(SpecError, match=r"networks\.model\.layers\[1\]\.limit: must be between 0\.1 and 10"):
        from_dict(raw)
    narrow = _reconstruct().with_(layers=_reconstruct().layers[:-1] + (LayerSpec.make("linear", units=2),))
    assert problems(narrow) == ["the last layer (Linear 2) outputs (2,) but a reconstruction needs the input's "
                                "shape (3,); set its units to 3"]
    raw = to_dict(_reconstruct())
    raw["loss"] = "bce"
    with pytest.raises(SpecError, match="loss: Reconstruction takes auto, got 'bce'"):
        from_dict(raw)


def test_without_the_plugins_the_same_spec_is_refused():
    raw = {"task": "reconstruction", "data": {"name": "rings"},
           "networks": {"model": {"layers": [{"kind": "hardtanh"}], "optim": {"name": "nadam"}}}}
    with pytest.raises(SpecError) as e:
        from_dict(raw)
    joined = "\n".join(e.value.problems)
    for fragment in ("task: unknown task 'reconstruction'", "data.name: unknown dataset 'rings'",
                     "unknown layer kind 'hardtanh'", "unknown optimizer 'nadam'"):
        assert fragment in joined


# ---------------------------------------------------------------- trained
@pytest.mark.parametrize("make, first_below", [(_supervised, 0.05), (_reconstruct, 0.5)])   # measured: 0.0002, 0.37
def test_the_trainer_trains_them(plugins, make, first_below):
    t = Trainer(make(), autostart=True)
    snap = t.wait(lambda s: s.state in ("done", "error", "diverged"), timeout=120)
    assert snap.state == "done", snap.error
    losses = snap.run.evals["test_loss"]
    assert losses[-1] < first_below * losses[0], losses
    if make is _supervised:
        assert snap.run.last_eval["test_acc"] > 0.95                  # the rings are separable
        assert t.runs()[0].speed == "autograd"                        # HardTanh is not in the closed form
    t.stop()


# ---------------------------------------------------------------- offered by the page
def test_the_playground_offers_them_and_trains_the_new_task(plugins):
    assert "hardtanh" in builder.kind_options()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["spec"] = encode_spec(_supervised())
    at.switch_page("app_pages/playground.py").run()
    assert not at.exception, at.exception[0].message
    select = lambda suffix: next(w for w in at.selectbox if w.key and w.key.endswith(suffix))
    assert "HardTanh  ·  Activation" in select("_add_kind").options
    dataset = select("_dataset")
    assert dataset.value == "rings" and "2-D points · Two rings (plug-in)" in dataset.options
    optimizer = select("_optim_name")
    assert optimizer.value == "nadam" and "NAdam" in optimizer.options
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert "The data" in titles, titles                            # the 2-D preview draws the new dataset

    arena = AppTest.from_file(str(ROOT / "app_pages" / "arena.py"), default_timeout=60)
    arena.session_state["arena_surface"] = "bowl"
    arena.run()
    assert not arena.exception, arena.exception[0].value
    assert "NAdam" in arena.selectbox(key="arena_c0_opt").options              # a race contestant
    assert "NAdam" in arena.multiselect(key="arena_surf_opts").options         # a path on the surfaces

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["spec"] = encode_spec(_reconstruct())
    at.switch_page("app_pages/playground.py").run()
    assert not at.exception, at.exception[0].message
    assert at.session_state["pg_spec"].task == "reconstruction"
    assert not at.button(key="pg_train").disabled
    at.button(key="pg_train").click().run()
    assert not at.exception, at.exception[0].message
    (trainer,) = [t for t in live_trainers() if t.specs[0].task == "reconstruction"]
    snap = trainer.wait(lambda s: s.run is not None and len(s.run.evals["step"]) >= 3, timeout=60)
    assert snap.run.evals["train_loss"][-1] < snap.run.evals["train_loss"][0]
    at.run()
    assert not at.exception, at.exception[0].message


# ---------------------------------------------------------------- written by the export
def test_the_export_writes_them_and_the_script_reproduces_the_engine(plugins, tmp_path):
    spec = _supervised().with_(epochs=3)
    script = export_script(spec)
    assert "nn.Hardtanh(min_val=-2.0, max_val=2.0)" in script
    assert "torch.optim.NAdam(model.parameters(), lr=0.03, betas=(0.9, 0.999), weight_decay=0.0)" in script
    path = tmp_path / "rings.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    last = [l for l in out.stdout.splitlines() if l.startswith("step")][-1]
    t = Trainer(spec, autostart=True)
    snap = t.wait(lambda s: s.state in ("done", "error"), timeout=60)
    t.stop()
    assert f"test loss {snap.run.evals['test_loss'][-1]:.4f}" in last, (last, snap.run.evals["test_loss"][-1])

    rec = export_script(_reconstruct())
    assert "nn.Linear(in_features=3, out_features=2, bias=True)" in rec and "torch.optim.NAdam(" in rec
