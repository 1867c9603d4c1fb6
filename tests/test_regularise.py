"""The overfitting and augmentation presets do what their names say (numbers measured in the
README), and engine.regularise builds the switched run from the plain one."""
import pytest
import torch

from engine.presets import load_preset
from engine.regularise import Switches, gap, with_switches
from engine.run import Run
from engine.spec import AugmentSpec

torch.set_num_threads(1)


def _train(spec, steps: int) -> tuple[dict, list[dict]]:
    run = Run(spec.with_(steps=steps, device="cpu", eval_every=10))
    rows = []
    for _ in range(steps):
        run.step()
        if run.step_count % 10 == 0:
            rows.append(run.evaluate())
    return run.evaluate(full=True), rows


def test_the_overfit_preset_learns_its_100_digits_by_heart_and_its_test_loss_turns_up():
    final, rows = _train(load_preset("mnist_overfit"), 200)
    assert final["train_acc"] == 1.0 and final["test_acc"] < 0.85 and gap(final) > 0.15
    assert final["test_loss"] > 1.1 * min(r["test_loss"] for r in rows)       # the curves part


def test_shifts_and_turns_narrow_the_small_cnns_train_test_gap():
    spec = load_preset("mnist_augment")
    assert spec.augment == AugmentSpec(shift=2, rotate=15.0) and spec.data.labels == 100
    with_aug, _ = _train(spec, 300)
    without, _ = _train(spec.with_(augment=AugmentSpec()), 300)
    assert gap(with_aug) < gap(without) - 0.05 and with_aug["test_acc"] > without["test_acc"] + 0.04


def test_switches_add_dropout_after_each_activation_and_set_the_rest():
    base = load_preset("mnist_overfit")
    s = with_switches(base, Switches(dropout=0.3, weight_decay=1e-3, early_stop=4, augment=AugmentSpec(shift=1)))
    assert [l.kind for l in s.layers] == ["flatten", "linear", "relu", "dropout", "linear", "relu", "dropout", "linear"]
    assert {l.params["p"] for l in s.layers if l.kind == "dropout"} == {0.3}
    assert s.optim.weight_decay == 1e-3 and s.early_stop == 4 and s.augment.shift == 1 and s.seed == base.seed
    assert s.name.endswith("dropout 0.3, weight decay 0.001, early stopping (4 evaluations), augmentation")
    assert with_switches(base, Switches()).with_(name=base.name) == base
    assert gap({"train_acc": 1.0, "test_acc": 0.75}) == pytest.approx(0.25) and gap({}) is None


def test_the_pages_figures_pass_plotly_validation_with_titles_axes_and_legends():
    import numpy as np
    import plotly.graph_objects as go

    from engine.records import AugmentedBatch
    from viz.arena import Curve
    from viz.regularise import batch_figures, curves_figure, gap_text

    evals = {"step": [0, 10, 20], "train_acc": [0.1, 0.9, 1.0], "test_acc": [0.1, 0.7, 0.72],
             "train_loss": [2.3, 0.3, 0.01], "test_loss": [2.3, 0.8, 0.9]}
    curves = [Curve("as it is", "#7f7f7f", 0, evals, "done"), Curve("with your switches", "#d62728", 0, evals, "done")]
    fig = curves_figure(curves, "acc", [None, 10])
    d = fig.to_dict()
    assert go.Figure(d).to_dict() == d
    assert d["layout"]["xaxis"]["title"]["text"] == "training step (batches of 32)"
    assert d["layout"]["yaxis"]["title"]["text"] == "accuracy (%)"
    names = [t["name"] for t in d["data"]]
    assert names == ["as it is: train", "as it is: test", "with your switches: train", "with your switches: test",
                     "with your switches: weights put back (step 10)"]
    assert d["data"][-1]["y"] == [70.0] and list(d["data"][1]["y"]) == [10.0, 70.0, 72.0]
    loss = curves_figure(curves, "loss").to_dict()
    assert loss["layout"]["yaxis"]["type"] == "log" and "Loss" in loss["layout"]["title"]["text"]
    img = np.zeros((3, 8, 8), np.float32)
    rec = AugmentedBatch(5, img, img + 0.5, ("1", "2", "3"), ("shift ±1 px",))
    for f in batch_figures(rec):
        d = f.to_dict()
        go.Figure(d)                                            # validates (raises on a bad property)
        assert d["layout"]["title"]["text"]
    assert [a["text"] for a in batch_figures(rec)[1].to_dict()["layout"]["annotations"]] == ["1", "2", "3"]
    assert gap_text(0.231) == "23.1 points" and gap_text(None) == "—"
