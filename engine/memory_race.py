"""The memory race: a plain RNN, a GRU and an LSTM on the delay task (recall the symbol seen `lag`
steps back), the same network around each cell, from the same seed, on the same batches.

The classic result it shows: past a few tens of steps the plain RNN's state is rewritten at every
step and its gradient fades on the way back, so it stays at chance, while the LSTM's forget gate
carries the symbol across (its bias starting at 2 here: mostly kept from the start; PyTorch starts it near 0, Keras at 1).
The preset `delay_rnn_vs_lstm` is the LSTM contestant; `race_specs` swaps its cell for the others.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from .presets import load_preset
from .spec import LayerSpec, RunSpec

PRESET = "delay_rnn_vs_lstm"
CELLS = ("rnn", "gru", "lstm")
LABELS = {"rnn": "plain RNN", "gru": "GRU", "lstm": "LSTM"}
SOLVED = 0.9                    # held-out accuracy that counts as recalling the symbol
AT_CHANCE = 0.1                 # ... within this of chance counts as not remembering at all


def race_specs(lag: int, steps: int | None = None) -> list[RunSpec]:
    """One spec per cell (CELLS order), the preset's with the lag (and steps) given."""
    base = load_preset(PRESET)
    base = base.with_(data=replace(base.data, lag=lag), steps=steps or base.steps)
    return [base.with_(name=f"{LABELS[c]}, lag {lag}", layers=tuple(_cell(l, c) for l in base.layers))
            for c in CELLS]


def _cell(layer: LayerSpec, cell: str) -> LayerSpec:
    if layer.kind not in CELLS:
        return layer
    keep = {k: v for k, v in layer.params.items() if k != "forget_bias"}
    return LayerSpec.make(cell, **keep, **({"forget_bias": layer.params.get("forget_bias", 0.0)}
                                            if cell == "lstm" else {}))


def verdict(accuracies: Sequence[float | None], lag: int, n_classes: int, done: bool) -> str:
    """One sentence on the race: held-out accuracy per cell (CELLS order; None before the first
    evaluation), the lag, the number of symbols, whether training has finished."""
    chance = 1 / n_classes
    acc = dict(zip(CELLS, accuracies))
    if any(a is None for a in acc.values()):
        return "Press **Race** to train the three side by side."
    pct = {c: f"{a:.0%}" for c, a in acc.items()}
    solved = [c for c in CELLS if acc[c] >= SOLVED]
    stuck = [c for c in CELLS if acc[c] < chance + AT_CHANCE]
    so_far = "" if done else " so far"
    if "lstm" in solved and "rnn" in stuck:
        return (f"At a lag of {lag} the plain RNN stays at chance ({pct['rnn']}; guessing gets {chance:.0%}) while "
                f"the LSTM recalls the symbol {pct['lstm']} of the time: its forget gate carries it across {lag} "
                f"steps, where the RNN's state is rewritten at every step (the GRU: {pct['gru']}).")
    if len(solved) == len(CELLS):
        return (f"All three recall the symbol at a lag of {lag} ({pct['rnn']}, {pct['gru']}, {pct['lstm']}): "
                "a short memory is easy. Make the lag longer (30 or more) and race again.")
    if not solved:
        return (f"None recalls the symbol{so_far} at a lag of {lag} (RNN {pct['rnn']}, GRU {pct['gru']}, LSTM "
                f"{pct['lstm']}; guessing gets {chance:.0%})" +
                (". Give them more steps, or a shorter lag." if done else ": give them time."))
    return (f"At a lag of {lag}{so_far}: plain RNN {pct['rnn']}, GRU {pct['gru']}, LSTM {pct['lstm']} "
            f"(guessing gets {chance:.0%}).")
