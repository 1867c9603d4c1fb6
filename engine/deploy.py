"""A trained model in the formats it is deployed in, each checked against PyTorch.

    onnx          ONNX (torch.onnx's exporter), run back with onnxruntime; opens in Netron
    torch_export  torch.export's program (.pt2): the maintained way to ship a PyTorch model
    torchscript   a traced TorchScript module (.pt) for libtorch; torch 2.13 marks it deprecated
    state_dict    the weights alone (.pt), loaded with torch.load(weights_only=True)
    script        the standalone training script (engine.export), no weights

Every binary format is loaded back and run on held-out inputs: the largest difference from
PyTorch's outputs is reported with the file's size and its CPU latency per batch, next to
PyTorch's own. Nothing here touches the live run: the model is copied first.
"""
from __future__ import annotations

import contextlib
import copy
import io
import logging
import statistics
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .schema import clip

FORMATS = ("onnx", "torch_export", "torchscript", "state_dict", "script")
SUFFIX = {"onnx": ".onnx", "torch_export": ".pt2", "torchscript": ".pt", "state_dict": ".pt", "script": ".py"}
CHECK_EXAMPLES = 256              # held-out inputs each format is compared on
LATENCY_BATCH = 64
LATENCY_REPEATS = 20


@dataclass(frozen=True)
class Exported:
    format: str
    data: bytes
    max_diff: float | None        # largest |output - PyTorch's output| on the held-out inputs
    latency_ms: float | None      # median CPU time per batch of LATENCY_BATCH
    torch_latency_ms: float | None
    checked: int = 0              # held-out inputs the outputs were compared on

    @property
    def size(self) -> int:
        return len(self.data)

    def summary(self) -> str:
        parts = [f"{self.format}: {self.size / 1e3:,.1f} kB"]
        if self.max_diff is not None:
            parts.append(f"max difference from PyTorch {self.max_diff:.2e}")
        if self.latency_ms is not None:
            parts.append(f"{self.latency_ms:.2f} ms per batch of {LATENCY_BATCH} "
                         f"(PyTorch {self.torch_latency_ms:.2f} ms)")
        return ", ".join(parts)


def _cpu_copy(model: nn.Module) -> nn.Module:
    """The model on the CPU, in plain memory layout, in eval mode, without touching the original."""
    m = copy.deepcopy(model).cpu().eval()
    return m.to(memory_format=torch.contiguous_format) if any(p.dim() == 4 for p in m.parameters()) else m


def _latency(fn, x) -> float:
    fn(x)                                                   # warm-up
    times = []
    for _ in range(LATENCY_REPEATS):
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


@contextlib.contextmanager
def _quiet():
    """The exporters' progress prints, log lines (torchvision's ops are not installed: they are
    not used) and deprecation warnings stay out of the user's terminal."""
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


def export(model: nn.Module, x: torch.Tensor, fmt: str, spec=None) -> Exported:
    """`model` (any device) in format `fmt`, checked on the inputs `x` (held-out examples)."""
    if fmt not in FORMATS:
        raise ValueError(f"format: unknown {fmt!r} (known: {', '.join(FORMATS)})")
    if fmt == "script":
        from .export import export_script
        return Exported(fmt, export_script(spec).encode(), None, None, None)
    m = _cpu_copy(model)
    x = x[:CHECK_EXAMPLES].detach().cpu().contiguous()
    if fmt == "state_dict":
        buf = io.BytesIO()
        torch.save(m.state_dict(), buf)
        return Exported(fmt, buf.getvalue(), None, None, None)
    with torch.no_grad():
        ref = m(x).numpy()
        sample = x[:min(len(x), 16)]
        batch = torch.cat([x] * (LATENCY_BATCH // len(x) + 1))[:LATENCY_BATCH]
        torch_ms = _latency(m, batch)
        with _quiet():
            data, run = _EXPORTERS[fmt](m, sample)
        out = run(x)
        ms = _latency(run, batch)
    return Exported(fmt, data, float(np.abs(out - ref).max()), ms, torch_ms, len(x))


def _onnx(m: nn.Module, sample: torch.Tensor):
    import onnxruntime as ort
    program = torch.onnx.export(m, (sample,), dynamo=True, verbose=False,
                                dynamic_shapes=({0: torch.export.Dim("batch")},))
    data = program.model_proto.SerializeToString()
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()      # the same threads as PyTorch's latency
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return data, lambda x: session.run(None, {name: x.numpy()})[0]


def _torch_export(m: nn.Module, sample: torch.Tensor):
    program = torch.export.export(m, (sample,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    buf = io.BytesIO()
    torch.export.save(program, buf)
    loaded = torch.export.load(io.BytesIO(buf.getvalue())).module()
    return buf.getvalue(), lambda x: loaded(x).numpy()


def _torchscript(m: nn.Module, sample: torch.Tensor):
    traced = torch.jit.trace(m, sample, check_trace=False)
    buf = io.BytesIO()
    torch.jit.save(traced, buf)
    loaded = torch.jit.load(io.BytesIO(buf.getvalue()))
    return buf.getvalue(), lambda x: loaded(x).numpy()


_EXPORTERS = {"onnx": _onnx, "torch_export": _torch_export, "torchscript": _torchscript}


def load_state_dict(model: nn.Module, data: bytes) -> None:
    """Load weights from a state_dict file's bytes (torch.load with weights_only=True) into
    `model`; ValueError with one sentence otherwise (see apply_state_dict)."""
    try:
        state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same sentence
        raise ValueError(f"the file is not a PyTorch state_dict ({type(e).__name__})") from None
    apply_state_dict(model, state)


def apply_state_dict(model: nn.Module, state: object) -> None:
    """Load `state` (a state_dict, or a run-history weights dict {role: state_dict}) into `model`;
    ValueError with one sentence naming the first tensor that is missing, extra or of another shape."""
    if isinstance(state, dict) and set(state) == {"model"} and isinstance(state["model"], dict):
        state = state["model"]                          # a run-history weights file (role -> state_dict)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("the file is not a state_dict (a dict of tensor names to tensors)")
    own = model.state_dict()
    for name, t in own.items():
        if name not in state:
            raise ValueError(f"the file has no tensor {name} (this network's first missing one)")
        if tuple(state[name].shape) != tuple(t.shape):
            raise ValueError(f"tensor {name} is {tuple(state[name].shape)} in the file but "
                             f"{tuple(t.shape)} in this network")
    extra = [n for n in state if n not in own]
    if extra:
        raise ValueError(f"the file has a tensor {clip(extra[0])} that this network does not have")
    model.load_state_dict(state)


def saved_model(store, run_id: str, input_shape: tuple[int, ...]) -> tuple[nn.Module, object]:
    """(a saved run's network with its saved weights, on the CPU in eval mode; its RunSpec)."""
    from .build import build_model
    from .spec import from_dict
    spec = from_dict(store.get(run_id).spec)
    model = build_model(spec.layers, input_shape)
    apply_state_dict(model, store.weights(run_id))
    return model.eval(), spec
