"""The Overfitting & augmentation page's two runs: a network as it is, and the same network with
the regularisers a user switched on (dropout, weight decay, early stopping, augmentation), from the
same seed, so the difference between their train/test gaps is the switches' doing."""
from __future__ import annotations

from dataclasses import dataclass, replace

from .layers import LAYERS
from .spec import AugmentSpec, LayerSpec, RunSpec


@dataclass(frozen=True)
class Switches:
    dropout: float = 0.0            # share dropped after every activation (0 = no dropout layers)
    weight_decay: float = 0.0       # the optimizer's weight decay
    early_stop: int = 0             # patience in evaluations (0 = train to the end)
    augment: AugmentSpec = AugmentSpec()   # used only where the data are images

    @property
    def any(self) -> bool:
        return bool(self.dropout or self.weight_decay or self.early_stop or self.augment.active)


def with_switches(base: RunSpec, s: Switches) -> RunSpec:
    """`base` with a Dropout(s.dropout) after each activation layer, the weight decay, early
    stopping and augmentation of `s`."""
    layers: list[LayerSpec] = []
    for layer in base.layers:
        layers.append(layer)
        if s.dropout and LAYERS[layer.kind].group == "activation":
            layers.append(LayerSpec.make("dropout", p=s.dropout))
    return base.with_(layers=tuple(layers), optim=replace(base.optim, weight_decay=s.weight_decay),
                      early_stop=s.early_stop, augment=s.augment,
                      name=f"{base.name} + {', '.join(describe(s)) or 'nothing'}")


def describe(s: Switches) -> list[str]:
    """The switches that are on, in words."""
    return [text for on, text in ((s.dropout, f"dropout {s.dropout:g}"), (s.weight_decay, f"weight decay {s.weight_decay:g}"),
                                  (s.early_stop, f"early stopping ({s.early_stop} evaluations)"),
                                  (s.augment.active, "augmentation")) if on]


def gap(last_eval: dict, key: str = "acc") -> float | None:
    """Train minus test `key` of an evaluation (accuracy: in points of share, 0.2 = 20 points)."""
    tr, te = last_eval.get(f"train_{key}"), last_eval.get(f"test_{key}")
    return None if tr is None or te is None else tr - te
