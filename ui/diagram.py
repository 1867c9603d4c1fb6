"""The Playground's network diagram as an editor (TensorFlow Playground's): what a click on one of
its buttons does to the layer stack. Pure functions of the layers, their widget ids and the
diagram's record; the page's callbacks (ui/playground.py) store the result.

The diagram's columns are the inputs, one per hidden Linear block (the Linear and the activation
and dropout after it) and the output; `Neurons.layers` holds each block's Linear index.
"""
from __future__ import annotations

from typing import Callable, Sequence

from engine.layers import LAYERS
from engine.records import Neurons
from engine.spec import LayerSpec
from engine.views import MAX_NEURONS_PER_LAYER

NEW_UNITS = 4                       # a hidden layer added on the diagram starts with this many neurons
ACTIONS = ("neuron+", "neuron-", "layer+", "layer-")


def edit(layers: Sequence[LayerSpec], ids: Sequence[int], view: Neurons, action: str, where: int,
         new_id: Callable[[], int]) -> tuple[tuple[LayerSpec, ...], tuple[int, ...], str]:
    """(layers, ids, what changed) after `action` at `where`: for neuron+/- and layer-, the hidden
    block `where` (0 = the first hidden layer); for layer+, the gap after diagram column `where`
    (0 = between the inputs and the first Linear). Unchanged, with the reason, when it cannot be."""
    layers, ids = tuple(layers), tuple(ids)
    hidden = len(view.layers) - 1                        # the last Linear is the output
    if action in ("neuron+", "neuron-", "layer-") and not 0 <= where < hidden:
        return layers, ids, "that is not a hidden layer"
    if action in ("neuron+", "neuron-"):
        i = view.layers[where]
        units = layers[i].params["units"] + (1 if action == "neuron+" else -1)
        if not 1 <= units <= MAX_NEURONS_PER_LAYER:
            return layers, ids, (f"a hidden layer here has 1 to {MAX_NEURONS_PER_LAYER} neurons "
                                 "(wider ones: set Units on the Network tab)")
        changed = LayerSpec(layers[i].kind, {**layers[i].params, "units": units})
        return (*layers[:i], changed, *layers[i + 1:]), ids, f"hidden layer {where + 1} has {units} neurons"
    if action == "layer-":
        first, end = view.layers[where], view.layers[where + 1]
        return (*layers[:first], *layers[end:]), (*ids[:first], *ids[end:]), f"removed hidden layer {where + 1}"
    if action == "layer+":
        if not 0 <= where <= hidden:
            return layers, ids, "there is no gap there"
        pos = view.layers[where]
        block = (LayerSpec.make("linear", units=NEW_UNITS), LayerSpec.make(activation(layers)))
        return ((*layers[:pos], *block, *layers[pos:]), (*ids[:pos], new_id(), new_id(), *ids[pos:]),
                f"added hidden layer {where + 1} ({NEW_UNITS} neurons)")
    raise ValueError(f"unknown diagram action {action!r} (known: {', '.join(ACTIONS)})")


def activation(layers: Sequence[LayerSpec]) -> str:
    """The activation a new hidden layer gets: the network's first one, else tanh (TF Playground's)."""
    return next((l.kind for l in layers if LAYERS[l.kind].group == "activation"), "tanh")
