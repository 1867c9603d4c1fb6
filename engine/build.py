"""Shape inference, stack checks and model building from a RunSpec's layer stack.

`infer_shapes` walks the stack with each kind's shape rule (no torch module is made);
`check` adds what only the whole spec knows (output size vs classes, loss vs task,
budgets); `build_model` makes the nn.Sequential that the trainer and the export use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .init import apply as init_weights
from .layers import LAYERS, LayerKind, Shape, ShapeError, dims
from .optim import LOSSES, resolve_loss
from .spec import LayerSpec, RunSpec

MAX_PARAMS = 5_000_000           # keeps a laptop responsive: ~20 MB of weights, 3x with Adam state
MAX_ACTIVATIONS = 2_000_000      # values per example summed over layers (memory for backprop)
MAX_STEP_VALUES = 50_000_000     # ... times the batch: one step keeps them for backprop (200 MB of
                                 #   float32, as much again for their gradients)


@dataclass(frozen=True)
class LayerInfo:
    index: int
    kind: str
    label: str                   # "Conv2d(8, 3x3)"
    in_shape: Shape
    out_shape: Shape | None      # None when this layer (or one before it) does not fit
    n_params: int
    error: str = ""


def describe(layer: LayerSpec) -> str:
    """Short label of a layer with its main parameters, e.g. 'Conv2d 8@3x3 s2'."""
    return LAYERS[layer.kind].short(layer.params)


def _tokens_fit(kind: LayerKind, i: int, tokens: bool | None) -> None:
    """Token ids (int64) exist only in the data: a kind that reads them comes first, and a
    first layer fits the data's dtype when the caller knows it (tokens None: unknown)."""
    if kind.tokens and i > 0:
        raise ShapeError("reads token ids, which only the data holds, so it must be the first layer; "
                         "move it to the top")
    if i == 0 and tokens is True and not kind.tokens:
        raise ShapeError("cannot read token ids (whole numbers naming characters or words); "
                         "put an Embedding layer first")
    if i == 0 and tokens is False and kind.tokens:
        raise ShapeError("reads token ids but this data holds float values; remove the layer")


def infer_shapes(layers: tuple[LayerSpec, ...], input_shape: Shape,
                 tokens: bool | None = None) -> list[LayerInfo]:
    """Output shape and parameter count of every layer, without building the model.
    After the first layer that does not fit, later rows have out_shape None. `tokens`: whether
    the data are int64 token ids (None: not known, only the shapes are checked)."""
    rows: list[LayerInfo] = []
    shape: Shape | None = tuple(input_shape)
    for i, layer in enumerate(layers):
        kind = LAYERS[layer.kind]
        label = describe(layer)
        if shape is None:
            rows.append(LayerInfo(i, layer.kind, label, (), None, 0))
            continue
        try:
            _tokens_fit(kind, i, tokens)
            out = kind.out_shape(shape, layer.params)
            rows.append(LayerInfo(i, layer.kind, label, shape, out, kind.n_params(shape, layer.params)))
            shape = out
        except ShapeError as e:
            rows.append(LayerInfo(i, layer.kind, label, shape, None, 0,
                                  f"layer {i + 1} ({label}) gets an input of {dims(shape)} and {kind.label} {e}"))
            shape = None
    return rows


def check(spec: RunSpec, input_shape: Shape, n_outputs: int, data_task: str,
          n_train: int | None = None, tokens: bool | None = None) -> list[str]:
    """Every problem with this spec on this data, one sentence each with the fix.
    `n_train` (training examples) bounds the batch whose activations one step keeps; `tokens`
    says whether the data are token ids (None: not known)."""
    rows = infer_shapes(spec.layers, input_shape, tokens)
    problems = [r.error for r in rows if r.error]
    if data_task != "any" and data_task != spec.task:
        problems.append(f"task: the dataset is {data_task} but the spec says {spec.task}; "
                        f"set task to {data_task}")
    if problems or not rows:
        return problems or ["layers: the network needs at least one layer"]
    out = rows[-1].out_shape
    last = f"the last layer ({rows[-1].label}) outputs {dims(out)}"
    loss = resolve_loss(spec.loss, spec.task, out[0] if len(out) == 1 else -1)
    label = lambda name: LOSSES[name].label                       # the names the loss menu shows
    if len(out) == 2:
        problems.append(f"{last}, one vector per step; add a LastStep or SeqPool layer (or turn off its "
                        f"sequence output) and end with a Linear layer of {n_outputs} units")
    elif len(out) != 1:
        problems.append(f"{last}; add Flatten and a Linear layer with {n_outputs} units at the end")
    elif spec.task == "regression" and loss != "mse":
        problems.append(f"loss: {label(loss)} is for classification; choose {label('mse')} (or auto) "
                        "for regression")
    elif loss == "bce":
        if n_outputs != 2 or out[0] != 1:
            problems.append(f"loss: {label('bce')} needs 2 classes and 1 output unit; {last} for "
                            f"{n_outputs} classes: choose {label('cross_entropy')} (or auto), or 1 unit")
    elif out[0] != n_outputs and not (loss == "mse" and spec.task == "classification"
                                      and n_outputs == 2 and out[0] == 1):   # one output toward -1 / +1
        what = "classes" if spec.task == "classification" else "targets"
        problems.append(f"{last} but the data has {n_outputs} {what}; "
                        f"set the last Linear layer to {n_outputs} units")
    if spec.task == "classification" and spec.layers[-1].kind in ("sigmoid", "tanh", "relu") \
            and loss in ("cross_entropy", "bce"):
        problems.append(f"layer {len(rows)} ({rows[-1].label}): the {label(loss)} loss applies softmax/sigmoid "
                        "itself, so the network must end in a Linear layer; remove the final activation")
    return problems + budget(spec, rows, n_train)


def budget(spec: RunSpec, rows: list[LayerInfo], n_train: int | None = None) -> list[str]:
    """What a stack that fits would cost too much of: parameters, layer outputs per example and
    per batch; and BatchNorm with fewer than two training examples."""
    problems = []
    total = sum(r.n_params for r in rows)
    if total > MAX_PARAMS:
        biggest = max(rows, key=lambda r: r.n_params)
        problems.append(f"the network has {total:,} parameters, above the limit of {MAX_PARAMS:,}; "
                        f"layer {biggest.index + 1} ({biggest.label}) holds {biggest.n_params:,}: "
                        "shrink it or pool before it")
    acts = sum(math.prod(r.out_shape) for r in rows)
    batch = min(spec.batch_size, n_train or spec.batch_size)
    if acts > MAX_ACTIVATIONS:
        problems.append(f"the layers produce {acts:,} values per example, above the limit of "
                        f"{MAX_ACTIVATIONS:,}; use fewer channels, a stride or pooling")
    elif acts * batch > MAX_STEP_VALUES:
        problems.append(f"batch_size: a batch of {batch:,} examples makes the layers produce "
                        f"{acts * batch:,} values in one step, above the limit of {MAX_STEP_VALUES:,} "
                        f"(about {MAX_STEP_VALUES * 4 // 10**6} MB); use a batch size of at most "
                        f"{MAX_STEP_VALUES // acts:,}, or fewer channels")
    if n_train is not None and n_train < 2 and any(layer.kind == "batchnorm" for layer in spec.layers):
        problems.append("layers: BatchNorm needs at least 2 training examples to normalise a batch; "
                        "use more examples or remove BatchNorm")
    return problems


def build_model(layers: tuple[LayerSpec, ...], input_shape: Shape, init: str = "default") -> nn.Sequential:
    """The torch model for a stack that `infer_shapes` accepts (raises ShapeError otherwise),
    its Linear and Conv2d layers initialised by engine.init.INITS[init] from torch's global
    RNG (seed it first: same seed, same weights)."""
    modules, shape = [], tuple(input_shape)
    for row, layer in zip(infer_shapes(layers, input_shape), layers):
        if row.error:
            raise ShapeError(row.error)
        modules.append(LAYERS[layer.kind].build(shape, layer.params))
        shape = row.out_shape
    return init_weights(nn.Sequential(*modules), init)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def takes_tokens(layers: tuple[LayerSpec, ...]) -> bool:
    """Whether the stack reads int64 token ids (its first layer is an Embedding)."""
    return bool(layers) and LAYERS[layers[0].kind].tokens


@torch.no_grad()
def torch_shapes(model: nn.Sequential, input_shape: Shape, tokens: bool = False) -> list[Shape]:
    """What torch really produces per layer for one example (the reference for tests);
    tokens: feed int64 token ids (zeros) instead of float zeros."""
    x, out = torch.zeros(2, *input_shape, dtype=torch.long if tokens else torch.float32), []
    model.eval()
    for m in model:
        x = m(x)
        out.append(tuple(x.shape[1:]))
    return out
