"""Diagnosis: the recorded statistics turned into flags, each a sentence with the fix
(vanishing or exploding gradients, huge updates, dead units); pure functions of the history."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from torch import nn

from .records import Flag
from .stats import ProbeConfig, _nanmedian

if TYPE_CHECKING:
    from .recorder import _Layer


def _say(layer: _Layer) -> str:
    """'layer 2 (Conv2d 8@3x3)' for sentences."""
    number, _, name = layer.label.partition(" ")
    return f"layer {number} ({name})"


def _names(layers: list[_Layer], limit: int = 3) -> str:
    names = [_say(l) for l in layers]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return " and ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " and " + names[-1]


def diagnose(layers: list[_Layer], params: list[_Layer], h: dict[str, np.ndarray], dead: dict[int, float],
             batch: int, cfg: ProbeConfig) -> list[Flag]:
    """Flags for the latest record of the history `h` (columns, one row per record, over
    `params`, the layers with parameters); `dead` maps a layer index to its share of dead
    units among `batch` test examples."""
    flags = []
    bad = [l for l, g in zip(params, h["g_norm"][-1])
           if not math.isfinite(g) and any(p.grad is not None for p in l.weights)]
    if bad:
        flags.append(Flag("exploding", tuple(l.index for l in bad),
                          f"Exploding gradients: the gradient of {_names(bad)} is not a finite number. "
                          "Lower the learning rate (try 10x smaller) and replay the run from the start."))
    g, gn = _nanmedian(h["g_mean"][-cfg.smooth:]), _nanmedian(h["g_norm"][-cfg.smooth:])
    mats = [(l, v) for l, v in zip(params, g) if l.matrix and math.isfinite(v)]
    if len(mats) >= 2:
        top_layer, top = max(mats, key=lambda lv: lv[1])
        small = [(l, v) for l, v in mats if v < cfg.vanish_ratio * top]
        if top > 0 and small:
            low = min(v for _, v in small)
            times = f"{1 / cfg.vanish_ratio:,.0f}x"
            if all(l.index < top_layer.index for l, _ in small):
                names = _names([l for l, _ in small])
                if low == 0 and any(v >= cfg.dead_share for v in dead.values()):
                    text = (f"No gradient reaches {names}: the dead ReLU units after them pass none back, "
                            "so they stop learning (see the dead-units warning).")
                else:
                    saturating = any(isinstance(l.module, (nn.Sigmoid, nn.Tanh)) for l in layers)
                    fix = ("use ReLU instead of Sigmoid or Tanh, fewer layers, or add BatchNorm" if saturating
                           else "use fewer layers, add BatchNorm, or reset to fresh weights")
                    text = (f"Vanishing gradients: {names} get gradients more than {times} smaller than "
                            f"{_say(top_layer)}: mean |gradient| {low:.1e} vs {top:.1e}. They barely learn; "
                            f"to fix it, {fix}.")
                flags.append(Flag("vanishing", tuple(l.index for l, _ in small), text))
            else:
                flags.append(Flag("exploding", (top_layer.index,),
                                  f"Exploding gradients: {_say(top_layer)} gets gradients more than {times} larger "
                                  f"than {_names([l for l, _ in small])}: mean |gradient| {top:.1e} vs {low:.1e}. "
                                  "They grow as they flow back; lower the learning rate, use fewer layers, "
                                  "or add BatchNorm."))
    big = [l for l, v in zip(params, gn) if l.weights and math.isfinite(v) and v > cfg.explode_norm]
    if big and not bad:
        flags.append(Flag("exploding", tuple(l.index for l in big),
                          f"Exploding gradients: the gradient norm{'s' if len(big) > 1 else ''} of {_names(big)} "
                          f"{'are' if len(big) > 1 else 'is'} above {cfg.explode_norm:g}. "
                          "Lower the learning rate, normalise the inputs, or add BatchNorm."))
    jumps = [l for l, v in zip(params, h["ratio"][-1]) if math.isfinite(v) and v > cfg.explode_ratio]
    if jumps:
        flags.append(Flag("exploding", tuple(l.index for l in jumps),
                          f"Huge updates: one step changed the weights of {_names(jumps)} by more than their "
                          "own size. Lower the learning rate (try 10x smaller)."))
    for index, share in dead.items():
        if share >= cfg.dead_share:
            flags.append(Flag("dead", (index,),
                              f"Dead units: {share:.0%} of the units of {_say(layers[index])} output 0 "
                              f"for all {batch} test examples checked, so no gradient flows through them and "
                              "they stop learning. Lower the learning rate, use LeakyReLU, or start afresh with a new seed."))
    return flags
