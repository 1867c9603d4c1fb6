"""Deployment formats: ONNX (run back with onnxruntime), torch.export and TorchScript equal
PyTorch on held-out inputs for every preset; state_dicts round-trip or are refused by name."""
import io
from pathlib import Path

import pytest
import torch

from tests.cli import cli
from engine.deploy import FORMATS, export, load_state_dict
from engine.presets import all_presets, load_preset
from engine.tasks import build_run

ROOT = Path(__file__).resolve().parent.parent


def _trained(name: str, steps: int = 20):
    run = build_run(load_preset(name))
    for _ in range(steps):
        run.step()
    return run


@pytest.mark.parametrize("name", sorted(n for n, s in all_presets().items() if len(s.networks) == 1))   # one-network runs
def test_onnx_and_torchscript_equal_pytorch_on_every_preset(name):
    run = _trained(name)
    trainable = [p.requires_grad for p in run.model.parameters()]     # a probe's body is frozen
    for fmt in ("onnx", "torchscript"):
        out = export(run.model, run.x_test, fmt)
        assert out.max_diff is not None and out.max_diff < 1e-5, (fmt, out.max_diff)
        assert out.size > 1000 and out.latency_ms > 0 and out.torch_latency_ms > 0
    assert [p.requires_grad for p in run.model.parameters()] == trainable and any(trainable)   # the live model is
    #                                                                       untouched (a copy is exported)


@pytest.mark.parametrize("name", ["mnist_cnn", "names_transformer_char_lm"])
def test_torch_export_equals_pytorch_and_the_onnx_file_is_a_real_onnx_model(name):
    run = _trained(name)
    out = export(run.model, run.x_test, "torch_export")
    assert out.max_diff < 1e-5
    import onnx
    model = onnx.load_from_string(export(run.model, run.x_test, "onnx").data)
    onnx.checker.check_model(model)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # the batch size is free


def test_a_state_dict_round_trips_and_the_wrong_shapes_are_refused_naming_the_tensor():
    run, other = _trained("mnist_cnn", 5), build_run(load_preset("mnist_cnn"))
    data = export(run.model, run.x_test, "state_dict").data
    load_state_dict(other.model, data)
    for a, b in zip(run.model.state_dict().values(), other.model.state_dict().values()):
        assert torch.equal(a, b)
    lenet = build_run(load_preset("lenet"))
    with pytest.raises(ValueError) as e:
        load_state_dict(lenet.model, data)
    assert str(e.value) == "tensor 0.weight is (32, 1, 3, 3) in the file but (6, 1, 5, 5) in this network"
    with pytest.raises(ValueError, match="not a PyTorch state_dict"):
        load_state_dict(lenet.model, b"not a torch file")
    buf = io.BytesIO()
    torch.save({"0.weight": torch.zeros(6, 1, 5, 5)}, buf)
    with pytest.raises(ValueError, match="has no tensor 0.bias"):
        load_state_dict(lenet.model, buf.getvalue())
    with pytest.raises(ValueError, match="format: unknown 'zip'"):
        export(run.model, run.x_test, "zip")
    assert FORMATS == ("onnx", "torch_export", "torchscript", "state_dict", "script")


def test_the_cli_writes_each_format_and_prints_the_difference(tmp_path):
    out = cli("export", "--preset", "tf_playground", "--format", "onnx", "-o", str(tmp_path / "m.onnx"), runs=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "max difference from PyTorch" in out.stdout and (tmp_path / "m.onnx").stat().st_size > 1000
    assert "torchvision" not in out.stderr and "Traceback" not in out.stderr
    bad = cli("export", "--preset", "tf_playground", "--format", "onnx", "--run", "ffff", runs=tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip().endswith("has an id starting with ffff")
