"""Transfer learning: start the main network from another network's weights.

`spec.transfer.source` names where they come from: a run in the run history (its id or a unique
prefix; the run's first network, so an autoencoder's encoder transfers too), a state_dict file
(.pt / .pth) inside the data folder, or `preset:NAME` (that bundled preset, trained here once per
process). Every layer whose tensors have the same names and shapes as the source's layer at the
same index takes its weights, except the last layer with weights: the head, new for the new task.

Layers in `transfer.freeze` keep those weights bit for bit: requires_grad is off, the optimizer
never sees them, and they stay in eval mode so a BatchNorm's running statistics (or a Dropout
inside them) never change either. The other pretrained layers train at lr x body_lr, in their
own param group (its `lr_scale` keeps the ratio when the lr is set by hand or scheduled).
"""
from __future__ import annotations

import functools
import threading
import types
from dataclasses import dataclass
from typing import Iterable

import torch
from torch import nn

from .schema import clip
from .spec import LayerSpec, RunSpec, TransferSpec

PRESET = "preset:"                       # source = "preset:NAME": the bundled preset, pretrained here
FILE_SUFFIXES = (".pt", ".pth")
MAX_BYTES = 256 * 2**20                  # a weights file larger than this is refused unread
Shapes = dict[str, tuple[int, ...]]      # state_dict key -> tensor shape


class TransferError(ValueError):
    """The source cannot be used; the message is one sentence naming transfer.source."""


@dataclass(frozen=True)
class Transfer:
    """What a transfer did to a network: the page and the CLI show it."""
    source: str                          # the spec's transfer.source
    loaded: tuple[int, ...]              # layers that took pretrained weights
    frozen: tuple[int, ...]              # ... of which these stay as they are
    head: int | None                     # the last layer with weights: always new
    fresh: tuple[int, ...]               # layers with weights that start from their own init

    def text(self, labels: list[str] | None = None) -> str:
        name = (lambda i: f"{i} ({labels[i]})") if labels else str
        parts = [f"pretrained weights from {clip(self.source, 40)} in layer(s) "
                 f"{', '.join(map(name, self.loaded)) or 'none'}"]
        if self.frozen:
            parts.append(f"frozen: {', '.join(map(name, self.frozen))}")
        parts.append(f"new: {', '.join(map(name, self.fresh)) or 'none'}")
        return "; ".join(parts)


# ---------------------------------------------------------------- state_dict shapes
def by_layer(shapes: Shapes) -> dict[int, Shapes]:
    """{layer index: {rest of the key: shape}} of an nn.Sequential's state_dict keys ('3.weight')."""
    out: dict[int, Shapes] = {}
    for key, shape in shapes.items():
        head, _, rest = key.partition(".")
        if head.isdigit():
            out.setdefault(int(head), {})[rest] = tuple(shape)
    return out


def shapes_of(sd: dict[str, torch.Tensor]) -> Shapes:
    return {k: tuple(v.shape) for k, v in sd.items()}


def model_shapes(layers: tuple[LayerSpec, ...], input_shape: tuple[int, ...]) -> tuple[Shapes, set[int]]:
    """(state_dict shapes, indices of layers with parameters) of a stack, built on the meta
    device: no memory, no random numbers drawn."""
    from .build import build_model
    with torch.device("meta"):
        model = build_model(layers, input_shape)
    with_params = {i for i, m in enumerate(model) if any(True for _ in m.parameters())}
    return shapes_of(model.state_dict()), with_params


def matching(target: Shapes, with_params: set[int], source: Shapes) -> tuple[tuple[int, ...], int | None]:
    """(layers that take the source's weights, the head): a layer with tensors takes them when the
    source's layer at its index has exactly the same names and shapes; the head never does."""
    head = max(with_params, default=None)
    mine, theirs = by_layer(target), by_layer(source)
    loaded = tuple(i for i in sorted(mine) if i != head and mine[i] and theirs.get(i) == mine[i])
    return loaded, head


# ---------------------------------------------------------------- where the weights come from
def source_weights(source: str) -> dict[str, torch.Tensor]:
    """The state_dict that transfer.source names (TransferError says why it cannot be had)."""
    if source.startswith(PRESET):
        return pretrained_preset(_preset_name(source))
    if source.lower().endswith(FILE_SUFFIXES):
        return _file_weights(source)
    return _run_weights(source)


def source_shapes(source: str) -> Shapes:
    """The source's tensor shapes, without training a preset (its network built on the meta device)."""
    if source.startswith(PRESET):
        return _preset_shapes(_preset_name(source))
    return shapes_of(source_weights(source))


def _preset_name(source: str) -> str:
    from .presets import preset_names
    name = source[len(PRESET):]
    if name not in preset_names():
        raise TransferError(f"transfer.source: there is no preset {clip(name, 40)!r} to pretrain; "
                            "`python -m engine presets` lists them (e.g. preset:mnist_rotation)")
    return name


def _first_network(spec: RunSpec, input_shape: tuple[int, ...]) -> Shapes:
    from .build import ShapeError
    try:
        return model_shapes(spec.net().layers, input_shape)[0]
    except ShapeError:
        raise TransferError(f"transfer.source: the preset's first network does not read its own data "
                            f"{input_shape}; pick a preset that trains on images or tables") from None


@functools.lru_cache(maxsize=8)
def _preset_shapes(name: str) -> Shapes:
    from .data import load_dataset
    from .presets import load_preset
    spec = load_preset(name)
    return _first_network(spec, load_dataset(spec.data, spec.seed).input_shape)


def pretrained_preset(name: str) -> dict[str, torch.Tensor]:
    """The first network's state_dict after training the bundled preset `name` headless (the
    same seed gives the same weights, so it is trained once per process, by one thread)."""
    with _PRETRAIN_LOCK:
        return _pretrained(name)


_PRETRAIN_LOCK = threading.Lock()


@functools.lru_cache(maxsize=2)
def _pretrained(name: str) -> dict[str, torch.Tensor]:
    from .presets import load_preset
    from .store import weights_of
    from .tasks import build_run
    run = build_run(load_preset(name))
    for _ in range(run.total_steps):
        run.step()
    return {k: v.detach().cpu().clone() for k, v in next(iter(weights_of(run).values())).items()}


def _run_weights(source: str) -> dict[str, torch.Tensor]:
    from .store import default_store
    store = default_store()
    if store is None:
        raise TransferError("transfer.source: the run history cannot be opened here, so no run's weights can be "
                            "read; name a .pt file in the data folder instead")
    rec = store.find(source) if source.strip() else None
    if rec is None:
        raise TransferError(f"transfer.source: no single run in the history has an id starting with "
                            f"{clip(source, 40)!r}; pick a run from the Runs page (or `python -m engine runs list`), "
                            "or name a .pt file in the data folder")
    weights = store.weights(rec.id)
    if not weights:
        raise TransferError(f"transfer.source: run {rec.id[:8]} ({clip(rec.name, 40)}) has no saved weights; "
                            "train it until it pauses or finishes, then pick it again")
    roles = [r for r in rec.spec.get("networks", {}) if r in weights] or list(weights)
    return weights[roles[0]]


def _file_weights(source: str) -> dict[str, torch.Tensor]:
    from .data import DataError
    from .data.folder import resolve
    try:
        path = resolve(source, "transfer.source")
    except DataError as e:
        raise TransferError(str(e)) from None
    name = clip(path.name, 60)
    if not path.is_file():
        raise TransferError(f"transfer.source: there is no file {name} in the data folder; save the weights there "
                            "with torch.save(model.state_dict(), path)")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise TransferError(f"transfer.source: {name} is {size / 2**20:.0f} MB, above the limit of "
                            f"{MAX_BYTES // 2**20} MB for a weights file")
    try:
        raw = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same sentence
        raise TransferError(f"transfer.source: {name} is not a PyTorch weights file that loads safely "
                            f"({type(e).__name__}); save one with torch.save(model.state_dict(), path)") from None
    return _as_state_dict(raw, name)


def _is_sd(d: object) -> bool:
    return isinstance(d, dict) and bool(d) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                   for k, v in d.items())


def _as_state_dict(raw: object, name: str) -> dict[str, torch.Tensor]:
    """A state_dict (names -> tensors), or the first of a run's {role: state_dict}."""
    if _is_sd(raw):
        return raw
    if isinstance(raw, dict) and raw and all(_is_sd(v) for v in raw.values()):
        return next(iter(raw.values()))
    raise TransferError(f"transfer.source: {name} holds no state_dict (a dict of tensor names to tensors, as "
                        "model.state_dict() gives); save one with torch.save(model.state_dict(), path)")


# ---------------------------------------------------------------- the spec's check
def check(spec: RunSpec, input_shape: tuple[int, ...]) -> list[str]:
    """Every problem of spec.transfer for the main network on inputs of `input_shape`."""
    t = spec.transfer
    if not t.source:
        return ["transfer.freeze: freezing keeps pretrained weights, but transfer.source names none; name a "
                "source or clear the freeze list"] if t.freeze else []
    try:
        source = source_shapes(t.source)
        target, with_params = model_shapes(spec.layers, input_shape)
    except TransferError as e:
        return [str(e)]
    except Exception:  # noqa: BLE001 - a stack that does not fit: the task's own check says why
        return []
    loaded, head = matching(target, with_params, source)
    return _freeze_problems(t, loaded, head, with_params, len(spec.layers))


def _freeze_problems(t: TransferSpec, loaded: tuple[int, ...], head: int | None, with_params: set[int],
                     n_layers: int) -> list[str]:
    if not loaded:
        return [f"transfer.source: none of the network's layers fits {clip(t.source, 40)}'s weights (a layer takes "
                "them when its weights have the same shapes at the same place in the stack, the last one with "
                "weights excepted); build the body like the source's network"]
    problems = []
    for i in t.freeze:
        if i >= n_layers:
            problems.append(f"transfer.freeze: there is no layer {i}; the network's layers are 0 to {n_layers - 1}")
        elif i not in with_params:
            problems.append(f"transfer.freeze: layer {i} has no weights to freeze; remove it from the list")
        elif i == head:
            problems.append(f"transfer.freeze: layer {i} is the head (the last layer with weights), which starts "
                            "new and must train; remove it from the list")
        elif i not in loaded:
            problems.append(f"transfer.freeze: layer {i} takes no pretrained weights (its shapes differ from the "
                            f"source's), so freezing it would keep it random; the layers that take them: "
                            f"{', '.join(map(str, loaded))}")
    return problems


def loaded_layers(spec: RunSpec, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The layers of the main network that take spec.transfer.source's weights (TransferError
    when the source cannot be had)."""
    target, with_params = model_shapes(spec.layers, input_shape)
    return matching(target, with_params, source_shapes(spec.transfer.source))[0]


def probe(spec: RunSpec, source: str, input_shape: tuple[int, ...]) -> RunSpec:
    """A linear probe: every layer that takes the source's weights frozen, only the head trains."""
    spec = spec.with_(transfer=TransferSpec(source))
    return spec.with_(transfer=TransferSpec(source, loaded_layers(spec, input_shape)))


def finetune(spec: RunSpec, source: str, body_lr: float = 1.0, freeze: tuple[int, ...] = ()) -> RunSpec:
    """Fine-tuning: start from the source's weights and train everything (but `freeze`), the
    pretrained layers at lr x body_lr."""
    return spec.with_(transfer=TransferSpec(source, tuple(freeze), body_lr))


# ---------------------------------------------------------------- applying it
def _keep_eval(module: nn.Module) -> None:
    """`module.train()` leaves it (and what it holds) in eval mode from now on."""
    module.train = types.MethodType(lambda self, mode=True: nn.Module.train(self, False), module)
    module.train()


def apply(model: nn.Sequential, t: TransferSpec, weights: dict[str, torch.Tensor] | None = None) -> Transfer:
    """Load the source's weights into the matching layers of a freshly built `model` and freeze
    `t.freeze`; `weights`: the source's state_dict when already at hand. Raises TransferError
    (or SpecError, for a freeze list the check would refuse)."""
    from .spec import SpecError
    sd = weights if weights is not None else source_weights(t.source)
    with_params = {i for i, m in enumerate(model) if any(True for _ in m.parameters())}
    loaded, head = matching(shapes_of(model.state_dict()), with_params, shapes_of(sd))
    if problems := _freeze_problems(t, loaded, head, with_params, len(model)):
        raise SpecError(problems)
    with torch.no_grad():
        for i in loaded:
            for key, tensor in model[i].state_dict().items():
                tensor.copy_(sd[f"{i}.{key}"])
    for i in t.freeze:
        model[i].requires_grad_(False)
        _keep_eval(model[i])
    fresh = tuple(sorted(with_params - set(loaded)))
    return Transfer(t.source, loaded, tuple(sorted(t.freeze)), head, fresh)


def param_groups(model: nn.Sequential, done: Transfer, lr: float, body_lr: float) -> list[dict]:
    """The optimizer's param groups: the new layers at lr first (the run's lr reads group 0), then
    the unfrozen pretrained layers at lr x body_lr; frozen layers are left out."""
    def params(idx: Iterable[int]) -> list[nn.Parameter]:
        return [p for i in idx for p in model[i].parameters() if p.requires_grad]
    body = params(i for i in done.loaded if i not in done.frozen)
    groups = [{"params": params(done.fresh), "lr": lr, "lr_scale": 1.0}]
    if body:
        groups.append({"params": body, "lr": lr * body_lr, "lr_scale": body_lr})
    return groups
