"""The Playground's network diagram as an editor: what each button does to the layer stack
(ui/diagram.py), the figure's clickable points (viz), and setting a weight by hand (the Trainer)."""
import itertools

import numpy as np
import pytest

from engine.presets import load_preset
from engine.run import Run
from engine.spec import LayerSpec
from engine.trainer import Trainer
from engine.views import neurons_view
from ui.diagram import edit
from viz.playground import neurons_figure

L = LayerSpec.make
SPEC = load_preset("tf_playground")                       # circle; linear 4, tanh, linear 2, tanh, linear 1


@pytest.fixture(scope="module")
def view():
    return neurons_view(Run(SPEC))


def _edit(view, action, where, layers=SPEC.layers):
    ids = itertools.count(100)
    return edit(layers, list(range(len(layers))), view, action, where, lambda: next(ids))


def test_the_record_knows_where_each_linear_is(view):
    assert view.layers == (0, 2, 4) and [len(c.maps) for c in view.columns] == [2, 4, 2, 1]


def test_plus_and_minus_a_neuron_change_that_layer_alone(view):
    layers, ids, said = _edit(view, "neuron+", 0)
    assert [l.params.get("units") for l in layers] == [5, None, 2, None, 1] and ids == (0, 1, 2, 3, 4)
    assert said == "hidden layer 1 has 5 neurons"
    layers, _, _ = _edit(view, "neuron-", 1)
    assert layers[2].params["units"] == 1 and layers[0] == SPEC.layers[0]
    one = (*SPEC.layers[:2], L("linear", units=1), *SPEC.layers[3:])
    same, _, said = _edit(view, "neuron-", 1, one)
    assert same == one and said.startswith("a hidden layer here has 1 to 16 neurons")
    assert _edit(view, "neuron+", 2)[2] == "that is not a hidden layer"        # the output's size is the task's


def test_a_layer_is_added_in_a_gap_and_removed_with_its_activation(view):
    layers, ids, said = _edit(view, "layer+", 0)                      # between the inputs and hidden 1
    assert [l.kind for l in layers] == ["linear", "tanh", "linear", "tanh", "linear", "tanh", "linear"]
    assert layers[0].params["units"] == 4 and ids == (100, 101, 0, 1, 2, 3, 4) and said.startswith("added hidden layer 1")
    layers, ids, _ = _edit(view, "layer+", 2)                         # between hidden 2 and the output
    assert [l.kind for l in layers][4:6] == ["linear", "tanh"] and ids[4:6] == (100, 101)
    layers, ids, said = _edit(view, "layer-", 0)
    assert layers == SPEC.layers[2:] and ids == (2, 3, 4) and said == "removed hidden layer 1"
    relu = (L("linear", units=3), L("relu"), L("linear", units=1))
    v = neurons_view(Run(SPEC.with_(layers=relu)))
    assert _edit(v, "layer+", 1, relu)[0][3].kind == "relu"              # the network's own activation


def test_every_button_neuron_and_weight_is_a_clickable_point(view):
    fig = neurons_figure(view, editable=True, picked=("weight", 0, 1, 0)).to_dict()
    edit_trace = next(t for t in fig["data"] if t.get("name") == "edit")
    actions = [tuple(c) for c in edit_trace["customdata"]]
    assert actions == [("neuron-", 0), ("neuron+", 0), ("layer-", 0), ("neuron-", 1), ("neuron+", 1),
                       ("layer-", 1), ("layer+", 0), ("layer+", 1), ("layer+", 2)]
    assert list(edit_trace["text"]) == ["−", "+", "✕"] * 2 + ["⊕"] * 3
    cds = [tuple(c) for t in fig["data"] for c in (t.get("customdata") or [])]
    assert sum(c[0] == "neuron" for c in cds) == 2 + 4 + 2 + 1
    assert sum(c[0] == "weight" for c in cds) == 2 * 4 + 4 * 2 + 2 * 1
    assert not any(t.get("name") == "edit" for t in neurons_figure(view).to_dict()["data"])   # read-only


def test_a_weight_set_by_hand_is_in_the_network_and_its_pictures():
    t = Trainer(SPEC, views={"neurons": neurons_view})
    try:
        t.wait(lambda s: s.state == "idle")
        t.set_weight(2, 1, 3, 0.75)                    # hidden 1's 4th neuron -> hidden 2's 2nd
        snap = t.wait(lambda s: s.run.views["neurons"].weights[1][1, 3] == np.float32(0.75))
        assert t.runs()[0].model[2].weight[1, 3].item() == 0.75
        assert snap.state == "idle"
        for bad, match in (((1, 0, 0, 1.0), "Linear layer"), ((2, 5, 0, 1.0), "out must be"),
                           ((2, 0, 0, float("nan")), "weight must be a number"), ((2, 0, 0, 1e9), "from -100")):
            with pytest.raises(ValueError, match=match):
                t.set_weight(*bad)
        t.set_weight(2, 0, 9, 1.0)                     # hidden 1 has 4 outputs: refused in the worker
        assert "has 4 inputs" in t.wait(lambda s: s.state == "error").error
    finally:
        t.stop()
