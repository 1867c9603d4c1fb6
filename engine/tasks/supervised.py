"""Supervised tasks: classification and regression, one network (`engine.run.Run`) trained on
(input, target) pairs, with the Playground's live views."""
from __future__ import annotations

from ..build import check
from ..data import DATASETS, Dataset
from ..spec import MAIN, LayerSpec, RunSpec
from . import Score, Task, data_task, register


def _check(spec: RunSpec, data: Dataset) -> list[str]:
    from ..transfer import check as transfer_check
    if data.task == "generative":                      # points to imitate (the GAN lab's), no targets
        return [f"data: {DATASETS[spec.data.name].label} are points for a GAN to imitate, with nothing to "
                f"predict; {spec.task} needs a labelled dataset"]
    found = check(spec, data.input_shape, data.n_outputs, data_task(spec, data), len(data.x_train),
                  tokens=data.token_input)
    return found or transfer_check(spec, data.input_shape)


def _build(spec, data, device):
    from ..run import Run
    return Run(spec, data, device)


def default_layers(data: Dataset, group: str) -> tuple[LayerSpec, ...]:
    """A small network that fits `data`: a CNN for images, TF Playground's MLP for 2-D points,
    one hidden ReLU layer for tables and (flattened) for float sequences, an Embedding and a GRU
    for token ids."""
    n_out = data.n_outputs
    if len(data.input_shape) == 3:
        c, h, w = data.input_shape
        conv = [LayerSpec.make("conv2d", channels=8, kernel=3, padding=1), LayerSpec.make("relu"),
                LayerSpec.make("maxpool2d")]
        if min(h, w) >= 16:
            conv += [LayerSpec.make("conv2d", channels=16, kernel=3, padding=1), LayerSpec.make("relu"),
                     LayerSpec.make("maxpool2d")]
        return (*conv, LayerSpec.make("flatten"), LayerSpec.make("linear", units=n_out))
    out = 1 if (data.task == "regression" or n_out == 2) and n_out <= 2 else n_out
    if data.token_input:                                  # token ids (T,): embed, read with a GRU, classify
        return (LayerSpec.make("embedding", vocab=len(data.vocab), dim=16),
                LayerSpec.make("gru", hidden=32, sequence=False), LayerSpec.make("linear", units=n_out))
    if len(data.input_shape) == 2:                         # a float sequence (T, F): an MLP reads it flat
        return (LayerSpec.make("flatten"), LayerSpec.make("linear", units=32), LayerSpec.make("relu"),
                LayerSpec.make("linear", units=n_out))
    if group == "2d":
        return (LayerSpec.make("linear", units=4), LayerSpec.make("tanh"), LayerSpec.make("linear", units=2),
                LayerSpec.make("tanh"), LayerSpec.make("linear", units=out))
    return (LayerSpec.make("linear", units=16), LayerSpec.make("relu"), LayerSpec.make("linear", units=n_out))


def fit_last(layers: tuple[LayerSpec, ...], data: Dataset) -> tuple[LayerSpec, ...]:
    """The stack with its last Linear layer sized for the data's outputs."""
    if not layers or layers[-1].kind != "linear":
        return layers
    units = layers[-1].params["units"]
    n = data.n_outputs
    want = 1 if (n == 2 and units == 1) or (data.task == "regression" and n == 1) else n
    return (*layers[:-1], LayerSpec.make("linear", **{**layers[-1].params, "units": want}))


def _views():
    from ..views import playground_views
    return playground_views()


def _export(spec: RunSpec) -> str:
    from ..export import supervised_script
    return supervised_script(spec)


for _name, _label, _help, _score in (
        ("classification", "Classification", "Predict a class: cross-entropy on the network's scores.",
         Score("acc", "accuracy", True, "Share of examples classified right.")),
        ("regression", "Regression", "Predict numbers: mean squared error to the targets.",
         Score("r2", "R²", False, "How much of the target's variation the network explains: 1 is perfect, "
                                  "0 no better than the mean."))):
    register(Task(_name, _label, _help, _name, _build, _check,
                  lambda data, group: {MAIN: default_layers(data, group)}, refit=fit_last, views=_views,
                  export=_export, score=_score, regularised=True))
