"""The Compress page's logic: which run it compresses (the Playground's, or a small preset trained
here), the settings as engine.compress configs, each result made once per run and settings (they
take a few seconds; a rerun with the same settings reuses them), and every variant the session
made, for the chart of all of them."""
from __future__ import annotations

from typing import Any

import streamlit as st

from engine.trainer import Trainer
from ui.study import Study

SLOT = "compress"
# presets this page can train by itself: label, and the steps it trains them for (a few seconds on a CPU)
START_PRESETS = {"mlp_digits": ("8x8 digits with an MLP (fastest)", 400),
                 "shapes_cnn": ("Shapes with a small CNN", 200),
                 "mnist_cnn": ("MNIST digits with a small CNN", 300),
                 "tf_playground": ("2-D circle data with a tiny MLP", 3000)}

COMPRESS_DEFAULTS: dict[str, Any] = {
    "cx_source": "playground",        # which run: the Playground's or the one trained here
    "cx_preset": "mlp_digits",
    "cx_sparsity": 80,                # percent of the prunable weights set to zero
    "cx_scope": "global",
    "cx_structure": "unstructured",
    "cx_finetune": 50,
    "cx_quant": "int8_dynamic",
    "cx_shrink": 4,
    "cx_temperature": 4.0,
    "cx_alpha": 0.7,
    "cx_distill_steps": 300,
    "cx_labels": 100,                 # labelled examples the students see (0: all)
    "cx_seeds": 3,
    "cx_cache": dict,                 # (what, run key, settings) -> result, the last few
    "cx_variants": dict,              # (run key, variant name) -> (run label, Variant): the session's
    "cx_asked": dict,                 # run key -> {"quant": settings, "distill": settings} pressed for
}
CACHE_SIZE = 12                       # results kept per session


STUDY = Study(SLOT, "cx", "compress", START_PRESETS)   # which run: ui/study.py


def run_key(t: Trainer) -> tuple:
    return (id(t), t.snapshot().version, t.runs()[0].step_count)


def prune_config():
    from engine.compress import PruneConfig
    s = st.session_state
    return PruneConfig(s["cx_sparsity"] / 100, s["cx_scope"], s["cx_structure"], int(s["cx_finetune"]))


def distill_config():
    from engine.compress import DistillConfig
    s = st.session_state
    return DistillConfig(int(s["cx_shrink"]), float(s["cx_temperature"]), float(s["cx_alpha"]),
                         int(s["cx_distill_steps"]), tuple(range(int(s["cx_seeds"]))), int(s["cx_labels"]))


def _cached(what: str, t: Trainer, settings: Any, make) -> Any:
    cache = st.session_state["cx_cache"]
    key = (what, run_key(t), settings)
    if key not in cache:
        cache[key] = make(t.runs()[0])
        while len(cache) > CACHE_SIZE:
            cache.pop(next(iter(cache)))
    return cache[key]


def _keep(t: Trainer, label: str, variants) -> None:
    for v in variants:
        st.session_state["cx_variants"][(run_key(t), v.name)] = (label, v)


def original(t: Trainer, label: str):
    from engine.compress import original as measure
    v = _cached("original", t, None, measure)
    _keep(t, label, [v])
    return v


def pruning(t: Trainer, label: str):
    """(variants, accuracy-sparsity curve) for the page's pruning settings."""
    from engine.compress import prune_variants, sparsity_curve
    cfg = prune_config()
    variants = _cached("prune", t, cfg, lambda run: prune_variants(run, cfg))
    curve = _cached("curve", t, (cfg.scope, cfg.structure, cfg.finetune_steps),
                    lambda run: sparsity_curve(run, cfg))
    _keep(t, label, variants)
    return variants, curve


def quantized(t: Trainer, label: str, mode: str):
    """The quantized variant, or the sentence saying why there is none."""
    from engine.compress import quantize_variant

    def make(run):
        try:
            return quantize_variant(run, mode)
        except ValueError as e:
            return str(e)
    v = _cached("quant", t, mode, make)
    if not isinstance(v, str):
        _keep(t, label, [v])
    return v


def distilled(t: Trainer, label: str):
    """(Distillation, its two variants) for the page's settings, or the sentence saying why there is none."""
    from engine.compress import distill
    cfg = distill_config()

    def make(run):
        try:
            return distill(run, cfg)
        except ValueError as e:
            return str(e)
    out = _cached("distill", t, cfg, make)
    if not isinstance(out, str):
        _keep(t, label, out[1])
    return out


def ask(t: Trainer, what: str) -> None:
    """Remember that the quantize / distil button was pressed for this run and these settings."""
    settings = st.session_state["cx_quant"] if what == "quant" else distill_config()
    st.session_state["cx_asked"].setdefault(run_key(t), {})[what] = settings


def asked(t: Trainer, what: str) -> bool:
    """Whether the button was pressed for this run with the settings now on the page."""
    settings = st.session_state["cx_quant"] if what == "quant" else distill_config()
    return st.session_state["cx_asked"].get(run_key(t), {}).get(what) == settings


def table_rows(variants, base) -> list[dict]:
    """The variants table: each against the original."""
    notes = any(v.note for v in variants)
    return [{"variant": v.name, "test accuracy": f"{v.accuracy:.1%}",
             "vs original": f"{100 * (v.accuracy - base.accuracy):+.1f} points",
             "size (zipped)": f"{v.bytes / 1024:,.1f} KB ({v.bytes / base.bytes:.0%})",
             "non-zero parameters": f"{v.nonzero:,} of {v.params:,}",
             "CPU time": f"{v.latency_ms:.2f} ms", **({"note": v.note} if notes else {})}
            for v in variants]


def session_variants() -> list[tuple[str, Any]]:
    """(run label, Variant) of every variant made in this session, in the order they were made."""
    return list(st.session_state["cx_variants"].values())
