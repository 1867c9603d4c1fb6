"""Probes: what happens inside a network while it trains, recorded as typed records.

- recorder.py: `Recorder`, the Trainer view that records each layer (forward hooks made by a
  factory and removed in a `finally`, one-shot optimizer step hooks) and the layer bookkeeping;
- stats.py: the pure statistics it uses (percentiles and histograms, norms, downsampling, the
  dead-unit share), the constants and `ProbeConfig`;
- diagnosis.py: the flags, each a sentence with the fix, from the recorded statistics;
- records.py: `ProbeRecord` and its parts, what the Recorder publishes (torch-free);
- cell.py: one output cell of a trained conv layer explained number by number (`ConvCell`), for
  the output channel, row and column `Recorder.set_cell` asks for.

What recording costs training: `python -m engine.bench.overhead`.
"""
from .diagnosis import diagnose
from .recorder import MISCLASSIFIED, Recorder
from .records import ProbeRecord
from .stats import DEAD_TYPES, KINDS, PERCENTILES, ProbeConfig, _distribution

__all__ = ["DEAD_TYPES", "KINDS", "MISCLASSIFIED", "PERCENTILES", "ProbeConfig", "ProbeRecord", "Recorder",
           "_distribution", "diagnose"]
