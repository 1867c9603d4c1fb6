"""Moving a spec to another dataset: the data settings, task, networks and (for another group
of data) the training settings that suit it, with a sentence saying what changed. The
Playground calls this when the user picks a dataset; it holds no Streamlit and no widgets."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from .build import infer_shapes
from .data import DATASETS, load_dataset
from .presets import load_preset
from .spec import DataSpec, RunSpec
from .tasks import TASKS, problems, task_for

# a new group of data starts from this preset's training settings, with this many examples
GROUP_PRESET = {"2d": "tf_playground", "images": "mnist_cnn", "tabular": "logistic_regression",
                "files": "mlp_digits"}
GROUP_SAMPLES = {"2d": 500, "images": 2000, "tabular": 100_000, "files": 100_000, "sequences": 5000}


def with_dataset(s: RunSpec, **changes: Any) -> tuple[RunSpec, str]:
    """`s` with its data changed (name, path or target): a new dataset starts from its group's
    sizes and split (2-D data keeps the user's features, and between 2-D sets the noise and
    sizes too); then task, networks and training are fitted to it (fit_to_data)."""
    old_group = DATASETS[s.data.name].group
    d = replace(s.data, **changes)
    new_group = DATASETS[d.name].group
    if d.name != s.data.name:
        fresh = {"n_samples": GROUP_SAMPLES[new_group], "test_fraction": 0.5 if new_group == "2d" else 0.2,
                 "path": d.path if new_group == "files" else "", "target": d.target if d.name == "csv" else ""}
        if new_group == "2d":
            fresh["features"] = s.data.features
        if new_group == old_group == "2d":
            fresh |= {"n_samples": s.data.n_samples, "noise": s.data.noise, "test_fraction": s.data.test_fraction}
        d = DataSpec(name=d.name, **fresh)
    return fit_to_data(s.with_(data=d), same_group=new_group == old_group)


def fit_to_data(s: RunSpec, same_group: bool = True) -> tuple[RunSpec, str]:
    """`s` with task, loss, networks (and, for a new group of data, training settings)
    adapted to its dataset; plus a sentence saying what changed ("" when nothing did, or
    when the data cannot be read: the page shows that reason)."""
    group = DATASETS[s.data.name].group
    if not same_group and (preset := GROUP_PRESET.get(group)):
        p = load_preset(preset)
        s = s.with_(optim=p.optim, batch_size=p.batch_size, epochs=p.epochs, steps=0,
                    regularization=p.regularization, reg_rate=p.reg_rate,
                    until_paused=group == "2d")          # 2-D data trains until paused, as on TF Playground
    try:
        data = load_dataset(s.data, s.seed)
    except Exception:  # noqa: BLE001 - DataError or a broken file: the page shows the reason
        return s, ""
    s = s.with_(task=task_for(s, data))
    task = TASKS[s.task]
    role = s.main_role
    layers = s.layers
    candidates = ([layers, task.refit(layers, data)] if same_group else []) + \
        [task.default_networks(data, group)[role]]
    for new in candidates:
        for loss in (s.loss, "auto"):
            c = s.with_(layers=new, loss=loss)
            if not problems(c):
                if new != layers or not same_group:       # no longer the preset it was named after
                    c = c.with_(name="")
                note = "" if new == layers else \
                    f"The network was adapted to **{DATASETS[s.data.name].label}**: " + \
                    " → ".join(info.label for info in infer_shapes(new, data.input_shape))
                return c, note
    return s, ""
