"""Probes: what happens inside a network while it trains, recorded as plain data.

`Recorder` is a Trainer view (`recorder(run) -> dict`), called in the worker after a step,
so every `param.grad` holds the last batch's gradients. Each call records:

- conv filters of every layer with a 4-D weight (Conv2d), downsampled;
- every layer's output for one chosen test example (by index, or the latest misclassified);
- per layer: norm and mean |value| of weights and gradients, and the update/weight ratio
  of one optimizer step (measured by one-shot optimizer step hooks);
- percentile bands (TensorBoard "distributions") of weights, biases, activations and
  gradients per layer over steps, and the current histograms;
- the share of dead ReLU units on a batch of test examples;
- flags, each a sentence: vanishing or exploding gradients, dead units.

Layers are the model's top-level children; everything is read from module outputs and
parameters generically, so a new layer kind (an RNN) needs no change here. Forward hooks
are removed in a `finally`; tensors are detached, moved to the CPU and downsampled; the
history is bounded. A different Run object (reset, new run) clears the history.

`python -m engine.probes` measures what recording costs training (the README's figure).
"""
from __future__ import annotations

import math
import os
import statistics
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PERCENTILES = (0.0, 6.68, 15.87, 30.85, 50.0, 69.15, 84.13, 93.32, 100.0)   # TensorBoard's bands
KINDS = ("weights", "biases", "activations", "gradients")
MISCLASSIFIED = "misclassified"
DEAD_TYPES = (nn.ReLU, nn.ReLU6)         # units that output exactly 0 below a threshold


@dataclass(frozen=True)
class ProbeConfig:
    history: int = 200            # records kept (one per call)
    batch: int = 32               # test examples for activation statistics and dead units
    search: int = 256             # test examples scanned per call for a new misclassified one
    sample: int = 2048            # values per tensor used for percentiles and histograms
    bins: int = 30                # bins of the current histograms
    max_maps: int = 32            # feature maps kept per layer for the chosen example
    max_side: int = 28            # larger maps are average-pooled down to this side
    max_units: int = 1024         # longer vectors are averaged in groups down to this
    max_filters: int = 64         # conv filters (output channels) kept per layer
    max_in: int = 16              # input channels kept per filter
    max_kernel: int = 11          # larger kernels are average-pooled down to this side
    vanish_ratio: float = 1e-3    # mean |grad| below this share of the largest layer's: vanishing
    explode_norm: float = 1e3     # a layer's gradient norm above this: exploding
    explode_ratio: float = 1.0    # one update larger than the weights themselves: exploding
    dead_share: float = 0.5       # ReLU layers with at least this share of dead units are flagged
    smooth: int = 5               # flags use the median over this many recent records


# ---------------------------------------------------------------- small tensor helpers
def _first_tensor(out: Any) -> torch.Tensor | None:
    """A module's main output: the tensor itself, or the first tensor of a tuple (RNNs)."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        return next((o for o in out if isinstance(o, torch.Tensor)), None)
    return None


def _sample(t: torch.Tensor, k: int) -> torch.Tensor:
    """At most k values of t, evenly strided (deterministic), as float32 on the CPU."""
    v = t.detach().reshape(-1)
    if v.numel() > k:
        v = v[:: math.ceil(v.numel() / k)]
    return v.float().cpu()


def _distribution(vs: list[torch.Tensor], bins: int) -> tuple[np.ndarray, list[dict]]:
    """Percentiles (L, len(PERCENTILES)), as np.percentile computes them, and a histogram
    of each 1-D tensor in `vs` (non-finite values ignored), with one sort for all of them."""
    nan = float("nan")
    if not vs:
        return np.zeros((0, len(PERCENTILES)), np.float32), []
    m = torch.nn.utils.rnn.pad_sequence([v if v.numel() else v.new_full((1,), nan) for v in vs],
                                        batch_first=True, padding_value=nan)      # (L, longest)
    m[~torch.isfinite(m)] = nan
    s = m.sort(1).values                                   # NaN sort last
    n = torch.isfinite(s).sum(1)                           # (L,) finite values per row
    q = torch.tensor(PERCENTILES) / 100
    pos = q[None] * (n[:, None] - 1).clamp(min=0)          # (L, P) fractional ranks
    lo, hi = pos.floor().long(), pos.ceil().long()
    a, b = s.gather(1, lo), s.gather(1, hi)
    pct = a + (b - a) * (pos - lo)
    pct[n == 0] = nan
    first, last = pct[:, 0], pct[:, -1]
    flat = (last - first) < 1e-12
    first, last = torch.where(flat, first - 0.5, first), torch.where(flat, last + 0.5, last)
    edges = first[:, None] + (last - first)[:, None] * torch.linspace(0, 1, bins + 1)[None]
    edges[:, 0], edges[:, -1] = first, last                 # exact ends: the max falls in the last bin
    s = torch.nan_to_num(s, nan=float("inf"))
    start = torch.searchsorted(s, edges[:, :-1].contiguous())
    end = torch.cat([torch.searchsorted(s, edges[:, 1:-1].contiguous()),
                     torch.searchsorted(s, edges[:, -1:].contiguous(), right=True)], 1)
    counts, edges, n = (end - start).numpy(), edges.numpy(), n.tolist()
    hists = [{"edges": edges[i], "counts": counts[i]} if n[i] else
             {"edges": np.zeros(0, np.float32), "counts": np.zeros(0, np.int64)} for i in range(len(vs))]
    return pct.numpy().astype(np.float32), hists


def _nanmedian(a: np.ndarray) -> np.ndarray:
    """Median of each column over its finite values (NaN when none); (T, P) -> (P,)."""
    out = np.full(a.shape[1], np.nan)
    for j in range(a.shape[1]):
        col = np.sort(a[:, j][np.isfinite(a[:, j])])
        if col.size:
            out[j] = (col[(col.size - 1) // 2] + col[col.size // 2]) / 2
    return out


def _flat(ts: list[torch.Tensor]) -> torch.Tensor | None:
    """All values of the tensors as one float vector (None when there are none)."""
    return torch.cat([t.detach().reshape(-1) for t in ts]).float() if ts else None


def _norm_mean(ts: list[torch.Tensor]) -> tuple[float, float]:
    """(L2 norm over all tensors, mean |value|), or NaNs when there are none."""
    if not ts:
        return math.nan, math.nan
    sq = sum(t.detach().float().pow(2).sum() for t in ts)
    ab = sum(t.detach().float().abs().sum() for t in ts)
    n = sum(t.numel() for t in ts)
    return float(sq.sqrt()), float(ab) / max(n, 1)


def _downsample_maps(a: torch.Tensor, cfg: ProbeConfig) -> torch.Tensor:
    """(C, H, W) -> at most (max_maps, max_side, max_side), average-pooled."""
    a = a[: cfg.max_maps]
    if max(a.shape[-2:]) > cfg.max_side:
        a = F.adaptive_avg_pool2d(a[None].float(), (min(a.shape[-2], cfg.max_side),
                                                    min(a.shape[-1], cfg.max_side)))[0]
    return a


def _downsample_vector(a: torch.Tensor, cfg: ProbeConfig) -> tuple[torch.Tensor, int]:
    """(N,) -> at most max_units values, averaged in groups; returns (values, group size)."""
    if a.numel() <= cfg.max_units:
        return a, 1
    group = math.ceil(a.numel() / cfg.max_units)
    pad = group * math.ceil(a.numel() / group) - a.numel()
    padded = torch.cat([a.float(), a.new_full((pad,), float("nan"))])
    return padded.reshape(-1, group).nanmean(1), group


def _example_values(a: torch.Tensor, cfg: ProbeConfig) -> tuple[np.ndarray, int]:
    """One example's layer output, downsampled by rank: maps, matrices or vectors."""
    a = a.detach().float()
    if a.dim() == 3:                                          # (C, H, W) feature maps
        return _downsample_maps(a, cfg).cpu().numpy(), 1
    if a.dim() == 2:                                          # (T, F) sequences and the like
        return _downsample_maps(a[None], cfg)[0].cpu().numpy(), 1
    v, group = _downsample_vector(a.reshape(-1), cfg)
    return v.cpu().numpy(), group


def _dead_share(out: torch.Tensor) -> float:
    """Share of units that are <= 0 for every example of the batch (N, C, ...): a unit is a
    channel of a feature map (dim 1) or one feature of a vector / sequence step (last dim)."""
    if out.dim() == 4:                                        # (N, C, H, W): per channel
        top = out.amax(dim=(0, 2, 3))
    else:                                                     # (N, F) or (N, T, F)
        top = out.reshape(-1, out.shape[-1]).amax(0)
    return float((top <= 0).float().mean())


# ---------------------------------------------------------------- the model's layers
@dataclass
class _Layer:
    index: int
    label: str                          # "2 Conv2d 8@3x3": position (from 1) and description
    module: nn.Module
    weights: list[nn.Parameter]         # every parameter not named bias*
    biases: list[nn.Parameter]
    matrix: bool                        # has a weight with 2+ dims (Linear, Conv, RNN): used for flags

    @property
    def has_params(self) -> bool:
        return bool(self.weights or self.biases)


def _layers(run: Any) -> list[_Layer]:
    model: nn.Module = run.model
    children = list(model.named_children()) or [("0", model)]
    spec_layers = getattr(getattr(run, "spec", None), "layers", ())
    labels = None
    if len(spec_layers) == len(children):
        from .build import describe
        labels = [describe(l) for l in spec_layers]
    out = []
    for i, (_, m) in enumerate(children):
        named = list(m.named_parameters())
        w = [p for n, p in named if not n.rsplit(".", 1)[-1].startswith("bias")]
        b = [p for n, p in named if n.rsplit(".", 1)[-1].startswith("bias")]
        label = f"{i + 1} {labels[i] if labels else type(m).__name__}"
        out.append(_Layer(i, label, m, w, b, any(p.dim() >= 2 for p in w)))
    return out


def _say(layer: _Layer) -> str:
    """'layer 2 (Conv2d 8@3x3)' for sentences."""
    number, _, name = layer.label.partition(" ")
    return f"layer {number} ({name})"


def _names(layers: list[_Layer], limit: int = 3) -> str:
    names = [_say(l) for l in layers]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return " and ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " and " + names[-1]


# ---------------------------------------------------------------- the recorder
class Recorder:
    """A Trainer view that records the inside of the network; see the module docstring.

    `set_example(i)` / `set_example("misclassified")` may be called from any thread. Each
    call returns plain data: step, task, layers [{index, label, type, out_shape, ...}],
    param_layers / bias_layers (layer indices, the columns below), example {index, input,
    label, pred, probs, class_names | target, output}, activations [{layer, shape, values,
    group}], filters [{layer, shape, weights (O, I, k, k), mean (O, k, k)}], history
    {step, ratio_step, w_norm, w_mean, g_norm, g_mean, ratio: (T, P)}, dist {kind: {layers,
    pct (T, L, 9), hist [{edges, counts}]}}, percentiles, dead {layer: share}, batch, flags
    [{kind, layers, text}].
    """

    def __init__(self, example: int | str = 0, config: ProbeConfig | None = None):
        self.config = config or ProbeConfig()
        self._lock = threading.Lock()
        self._choice: int | str = 0
        self.set_example(example)
        self._run_ref: weakref.ref | None = None
        self._layers: list[_Layer] = []
        self._hist: dict[str, np.ndarray] = {}        # history columns, one row per record
        self._held = 0                              # the misclassified example being shown
        self._scan = 0                              # where the next search for one starts
        self._ratio_step = -1                       # step whose update/weight ratio is in _ratio
        self._ratio: np.ndarray | None = None
        self._opt_handles: list = []

    # ------------------------------------------------------------ any thread
    def set_example(self, choice: int | str) -> None:
        """Which test example's activations to record: an index, or "misclassified"."""
        if isinstance(choice, str) and choice != MISCLASSIFIED:
            raise ValueError(f"example must be an index or {MISCLASSIFIED!r}, got {choice!r}")
        if not isinstance(choice, str):
            choice = max(0, int(choice))
        with self._lock:
            self._choice = choice

    @property
    def example(self) -> int | str:
        with self._lock:
            return self._choice

    def close(self) -> None:
        """Remove a pending optimizer hook (the worker's thread; tests call it at the end)."""
        self._disarm()

    # ------------------------------------------------------------ the worker
    def __call__(self, run: Any) -> dict:
        if self._run_ref is None or self._run_ref() is not run:
            self._start(run)
        cfg = self.config
        with self._lock:
            choice = self._choice
        x = run.x_test
        first = self._held if choice == MISCLASSIFIED else min(int(choice), len(x) - 1)
        model: nn.Module = run.model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                outs, final = self._forward(run, torch.cat([x[first:first + 1], x[: cfg.batch]]))
                ex_outs, ex_final, found = outs, final, True
                if choice == MISCLASSIFIED:
                    pick = self._misclassified(run, first, final)
                    found = pick is not None
                    if found and pick != first:
                        first = self._held = pick
                        ex_outs, ex_final = self._forward(run, x[first:first + 1])
        finally:
            model.train(was_training)
        example = self._example(run, first, choice, found, ex_final[0])
        rows = len(final)

        params = [l for l in self._layers if l.has_params]
        biased = [l for l in params if l.biases]
        weights = [_flat(l.weights) for l in params]
        grads = [_flat([p.grad for p in l.weights if p.grad is not None]) for l in params]
        nan = torch.tensor(float("nan"))
        stats = torch.stack([torch.stack([torch.linalg.vector_norm(w), w.abs().mean()]) if w is not None and w.numel()
                             else torch.stack([nan, nan]) for w in weights + grads]).reshape(2, -1, 2)
        stats = stats.cpu().numpy().astype(np.float64)          # (weights | grads, P, norm | mean)
        empty = torch.zeros(0)
        samples = {
            "weights": [_sample(w, cfg.sample) if w is not None else empty for w in weights],
            "biases": [_sample(_flat(l.biases), cfg.sample) for l in biased],
            "activations": [_sample(outs[l.index][1:], cfg.sample) if l.index in outs else empty
                            for l in self._layers],
            "gradients": [_sample(g, cfg.sample) if g is not None else empty for g in grads],
        }
        pct, hist = _distribution([v for k in KINDS for v in samples[k]], cfg.bins)
        bounds = np.cumsum([0] + [len(samples[k]) for k in KINDS])
        dists = {k: (pct[bounds[i]:bounds[i + 1]], hist[bounds[i]:bounds[i + 1]]) for i, k in enumerate(KINDS)}
        # the update/weight ratio of the first step after the previous record (each used once)
        ratio, ratio_step = np.full(len(params), np.nan), -1
        if self._ratio is not None:
            ratio, ratio_step, self._ratio = self._ratio, self._ratio_step, None
        h = self._hist
        if len(h) and h["step"][-1] == run.step_count and ratio_step < 0:
            ratio, ratio_step = h["ratio"][-1], int(h["ratio_step"][-1])   # same step seen again
        self._push({"step": run.step_count, "ratio_step": ratio_step,
                    "w_norm": stats[0, :, 0], "w_mean": stats[0, :, 1],
                    "g_norm": stats[1, :, 0], "g_mean": stats[1, :, 1], "ratio": ratio,
                    **{f"pct_{k}": dists[k][0] for k in KINDS}})
        self._arm(run, params)

        dead = {l.index: _dead_share(outs[l.index][1:]) for l in self._layers
                if isinstance(l.module, DEAD_TYPES) and l.index in outs and len(outs[l.index]) > 1}
        h = self._hist
        return {
            "step": int(run.step_count),
            "task": getattr(getattr(run, "spec", None), "task", "classification"),
            "layers": [{"index": l.index, "label": l.label, "type": type(l.module).__name__,
                        "out_shape": list(outs[l.index].shape[1:]) if l.index in outs else [],
                        "has_params": l.has_params, "matrix": l.matrix} for l in self._layers],
            "param_layers": [l.index for l in params],
            "bias_layers": [l.index for l in biased],
            "example": example,
            "activations": self._activations(ex_outs),
            "filters": self._filters(),
            "history": {k: h[k] for k in ("step", "ratio_step", "w_norm", "w_mean", "g_norm", "g_mean", "ratio")},
            "dist": {k: {"layers": [l.index for l in (self._layers if k == "activations" else
                                                      biased if k == "biases" else params)],
                         "pct": h[f"pct_{k}"], "hist": dists[k][1]}
                     for k in KINDS},
            "percentiles": list(PERCENTILES),
            "dead": dead,
            "batch": int(rows - 1),
            "flags": self._flags(params, dead, rows - 1),
        }

    def _push(self, row: dict) -> None:
        """Append a record to the history columns (replacing the last one for the same step).
        Always makes new arrays: the ones already published are never changed."""
        h, cap = self._hist, self.config.history
        replace = bool(h) and h["step"][-1] == row["step"]
        for key, value in row.items():
            new = np.asarray(value)[None]
            old = h.get(key)
            if old is None:
                h[key] = new
                continue
            old = old[:-1] if replace else old
            h[key] = np.concatenate([old[len(old) - (cap - 1):] if len(old) >= cap else old, new])

    # ------------------------------------------------------------ steps of a record
    def _start(self, run: Any) -> None:
        """A new Run (first call, reset, new spec): forget everything about the old one."""
        self._disarm()
        self._run_ref = weakref.ref(run)
        self._layers = _layers(run)
        self._hist = {}
        self._held, self._scan, self._ratio_step, self._ratio = 0, 0, -1, None

    def _forward(self, run: Any, xb: torch.Tensor) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
        """One pass over `xb` with a forward hook on every layer (removed in the finally).
        Returns (layer index -> its output (N, ...), the model's output)."""
        outs: dict[int, torch.Tensor] = {}
        inplace_next = {l.index for l in self._layers[:-1]
                        if getattr(self._layers[l.index + 1].module, "inplace", False)}

        def keep(index: int):
            def hook(module: nn.Module, args: Any, output: Any) -> None:
                t = _first_tensor(output)
                if t is not None:
                    outs[index] = t.detach().clone() if index in inplace_next else t.detach()
            return hook

        handles = []
        try:
            for l in self._layers:
                handles.append(l.module.register_forward_hook(keep(l.index)))
            final = _first_tensor(run.model(xb))
        finally:
            for h in handles:
                h.remove()
        return outs, final

    def _misclassified(self, run: Any, first: int, final: torch.Tensor) -> int | None:
        """A test example the model gets wrong: `first` while it stays wrong, else the first
        wrong one in the batch, else in the next `search` test examples (a rotating window).
        Regression: the worst prediction in the batch."""
        x, y = run.x_test, run.y_test
        targets = torch.cat([y[first:first + 1], y[: len(final) - 1]])    # (rows,) | (rows, T)
        if not self._classify(run):
            err = (final.float() - targets.float()).pow(2).reshape(len(final), -1).mean(1)
            return int(err[1:].argmax())
        wrong = self._wrong(run, final, targets)
        if bool(wrong[0]):
            return first
        if len(hits := torch.nonzero(wrong[1:]).flatten()):
            return int(hits[0])
        start = self._scan if self._scan < len(x) else 0
        window = slice(start, start + self.config.search)
        self._scan = start + self.config.search
        wrong = self._wrong(run, _first_tensor(run.model(x[window])), y[window])
        return start + int(hits[0]) if len(hits := torch.nonzero(wrong).flatten()) else None

    @staticmethod
    def _classify(run: Any) -> bool:
        return getattr(getattr(run, "spec", None), "task", "classification") == "classification"

    @staticmethod
    def _wrong(run: Any, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        from .optim import predict
        return predict(getattr(run, "loss_name", "cross_entropy"), out.float()).argmax(-1) != y

    def _example(self, run: Any, index: int, choice: int | str, found: bool, out: torch.Tensor) -> dict:
        """What the page shows about the recorded example: input, label, output."""
        x, y = run.x_test, run.y_test
        data = getattr(run, "data", None)
        inp = x[index].detach().float()
        if inp.dim() == 3:                                             # (C, H, W) image
            inp = inp[:3]
            if max(inp.shape[-2:]) > 64:
                inp = F.adaptive_avg_pool2d(inp[None], (min(inp.shape[-2], 64), min(inp.shape[-1], 64)))[0]
        ex: dict = {"index": index, "mode": MISCLASSIFIED if choice == MISCLASSIFIED else "index",
                    "found": found, "n_test": len(x), "input": inp.cpu().numpy(),
                    "feature_names": list(getattr(data, "feature_names", []) or [])}
        if self._classify(run):
            from .optim import predict
            p = predict(getattr(run, "loss_name", "cross_entropy"), out[None].float())[0].cpu().numpy()
            label = int(y[index])
            names = list(getattr(data, "class_names", []) or []) or [str(i) for i in range(len(p))]
            return ex | {"label": label, "pred": int(p.argmax()), "probs": p, "class_names": names,
                         "correct": int(p.argmax()) == label}
        return ex | {"target": y[index].float().reshape(-1).cpu().numpy(),
                     "output": out.float().reshape(-1).cpu().numpy()}

    def _activations(self, outs: dict[int, torch.Tensor]) -> list[dict]:
        """Each layer's output for the recorded example (row 0 of the pass), downsampled."""
        acts = []
        for l in self._layers:
            if l.index not in outs:
                continue
            values, group = _example_values(outs[l.index][0], self.config)
            acts.append({"layer": l.index, "label": l.label, "shape": list(outs[l.index].shape[1:]),
                         "values": values, "group": group})
        return acts

    def _filters(self) -> list[dict]:
        cfg, out = self.config, []
        for l in self._layers:
            w = next((p for p in l.weights if p.dim() == 4), None)    # (O, I, kh, kw)
            if w is None:
                continue
            k = w.detach()[: cfg.max_filters, : cfg.max_in].float()
            if max(k.shape[-2:]) > cfg.max_kernel:
                o, i = k.shape[:2]
                k = F.adaptive_avg_pool2d(k.reshape(o * i, 1, *k.shape[-2:]), cfg.max_kernel)
                k = k.reshape(o, i, cfg.max_kernel, cfg.max_kernel)
            mean = w.detach().float()[: cfg.max_filters].mean(1)           # (O, kh, kw) over all inputs
            if max(mean.shape[-2:]) > cfg.max_kernel:
                mean = F.adaptive_avg_pool2d(mean[:, None], cfg.max_kernel)[:, 0]
            out.append({"layer": l.index, "label": l.label, "shape": list(w.shape),
                        "weights": k.cpu().numpy(), "mean": mean.cpu().numpy()})
        return out

    # ------------------------------------------------------------ update/weight ratio
    def _arm(self, run: Any, params: list[_Layer]) -> None:
        """Measure the next optimizer step once: copy the weights before it, compare after,
        then remove both hooks (in a finally)."""
        opt = getattr(run, "opt", None)
        if opt is None or self._opt_handles or not params:
            return
        before: list[list[torch.Tensor]] = []

        def pre(optimizer: Any, args: Any, kwargs: Any) -> None:
            before[:] = [[p.detach().clone() for p in l.weights] for l in params]

        def post(optimizer: Any, args: Any, kwargs: Any) -> None:
            try:
                ratio = []
                for l, old in zip(params, before):
                    delta = math.sqrt(sum(float((p.detach() - o).float().pow(2).sum())
                                          for p, o in zip(l.weights, old)))
                    size = math.sqrt(sum(float(o.float().pow(2).sum()) for o in old))
                    ratio.append(delta / size if size > 0 else math.nan)
                self._ratio = np.array(ratio, np.float64)
                self._ratio_step = int(run.step_count) + 1     # Run.step counts the step after opt.step
            finally:
                self._disarm()

        self._opt_handles = [opt.register_step_pre_hook(pre), opt.register_step_post_hook(post)]

    def _disarm(self) -> None:
        handles, self._opt_handles = self._opt_handles, []
        for h in handles:
            h.remove()

    # ------------------------------------------------------------ flags
    def _flags(self, params: list[_Layer], dead: dict[int, float], batch: int) -> list[dict]:
        cfg, flags = self.config, []
        h = self._hist
        bad = [l for l, g in zip(params, h["g_norm"][-1])
               if not math.isfinite(g) and any(p.grad is not None for p in l.weights)]
        if bad:
            flags.append({"kind": "exploding", "layers": [l.index for l in bad], "text":
                          f"Exploding gradients: the gradient of {_names(bad)} is not a finite number. "
                          "Lower the learning rate (try 10x smaller) and press Reset."})
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
                        saturating = any(isinstance(l.module, (nn.Sigmoid, nn.Tanh)) for l in self._layers)
                        fix = ("use ReLU instead of Sigmoid or Tanh, fewer layers, or add BatchNorm" if saturating
                               else "use fewer layers, add BatchNorm, or reset to fresh weights")
                        text = (f"Vanishing gradients: {names} get gradients more than {times} smaller than "
                                f"{_say(top_layer)}: mean |gradient| {low:.1e} vs {top:.1e}. They barely learn; "
                                f"to fix it, {fix}.")
                    flags.append({"kind": "vanishing", "layers": [l.index for l, _ in small], "text": text})
                else:
                    flags.append({"kind": "exploding", "layers": [top_layer.index], "text":
                                  f"Exploding gradients: {_say(top_layer)} gets gradients more than {times} larger "
                                  f"than {_names([l for l, _ in small])}: mean |gradient| {top:.1e} vs {low:.1e}. "
                                  "They grow as they flow back; lower the learning rate, use fewer layers, "
                                  "or add BatchNorm."})
        big = [l for l, v in zip(params, gn) if l.weights and math.isfinite(v) and v > cfg.explode_norm]
        if big and not bad:
            flags.append({"kind": "exploding", "layers": [l.index for l in big], "text":
                          f"Exploding gradients: the gradient norm{'s' if len(big) > 1 else ''} of {_names(big)} "
                          f"{'are' if len(big) > 1 else 'is'} above {cfg.explode_norm:g}. "
                          "Lower the learning rate, normalise the inputs, or add BatchNorm."})
        jumps = [l for l, v in zip(params, h["ratio"][-1]) if math.isfinite(v) and v > cfg.explode_ratio]
        if jumps:
            flags.append({"kind": "exploding", "layers": [l.index for l in jumps], "text":
                          f"Huge updates: one step changed the weights of {_names(jumps)} by more than their "
                          "own size. Lower the learning rate (try 10x smaller)."})
        for index, share in dead.items():
            if share >= cfg.dead_share:
                flags.append({"kind": "dead", "layers": [index], "text":
                              f"Dead units: {share:.0%} of the units of {_say(self._layers[index])} output 0 "
                              f"for all {batch} test examples checked, so no gradient flows through them and "
                              "they stop learning. Lower the learning rate, use LeakyReLU, or press Reset."})
        return flags



# ---------------------------------------------------------------- recording overhead
def measure_overhead(spec: Any, rounds: int = 15, window_s: float = 1.5) -> dict:
    """Training speed of the Trainer without views and with a Recorder (at the trainer's
    normal view rate), taking turns in windows of `window_s` seconds so a busy machine slows
    both alike: samples per second of wall time, samples per CPU second of the worker thread
    (robust when other processes share the cores), and the share of the worker's CPU time
    spent inside the recorder (what recording costs training when the CPU is the limit)."""
    from .trainer import Trainer
    spent = [0.0]
    recorder = Recorder()

    def timed(run: Any) -> dict:
        t = time.thread_time()
        try:
            return recorder(run)
        finally:
            spent[0] += time.thread_time() - t

    spec = spec.with_(steps=10_000_000, device="cpu")             # never finishes inside the test
    trainers = {"without": Trainer(spec), "with": Trainer(spec, views={"probes": timed})}
    wall: dict[str, list[float]] = {k: [] for k in trainers}
    cpu: dict[str, list[float]] = {k: [] for k in trainers}
    worker_cpu = recorder_cpu = 0.0
    try:
        for t in trainers.values():
            t.wait(lambda s: s.state == "idle", timeout=120)
        for _ in range(rounds):
            for name, t in trainers.items():
                run, clock = t.runs()[0], time.pthread_getcpuclockid(t._thread.ident)   # the worker's CPU clock
                t.resume()
                time.sleep(0.3)                                    # warm up, skip the start
                s0, t0, c0, r0 = run.step_count, time.perf_counter(), time.clock_gettime(clock), spent[0]
                time.sleep(window_s)
                s1, t1, c1, r1 = run.step_count, time.perf_counter(), time.clock_gettime(clock), spent[0]
                t.pause()
                t.wait(lambda s: s.state == "paused", timeout=30)
                wall[name].append((s1 - s0) * run.batch_size / (t1 - t0))
                cpu[name].append((s1 - s0) * run.batch_size / max(c1 - c0, 1e-9))
                if name == "with":
                    worker_cpu, recorder_cpu = worker_cpu + c1 - c0, recorder_cpu + r1 - r0
    finally:
        for t in trainers.values():
            t.stop()
    med = statistics.median
    ratios = lambda d: [1 - w / wo for w, wo in zip(d["with"], d["without"]) if wo > 0] or [math.nan]
    return {"wall": {k: med(v) for k, v in wall.items()}, "cpu": {k: med(v) for k, v in cpu.items()},
            "slowdown_wall": med(ratios(wall)), "slowdown_cpu": med(ratios(cpu)),
            "recorder_share": recorder_cpu / max(worker_cpu, 1e-9), "rounds": rounds, "window_s": window_s}


def _main() -> None:
    """python -m engine.probes [--rounds N] [--window S]: the overhead figure of the README."""
    import argparse
    from .presets import load_preset
    p = argparse.ArgumentParser(description=_main.__doc__)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--window", type=float, default=1.5)
    args = p.parse_args()
    from .device import pick_device
    print(f"torch {torch.__version__}, {pick_device('cpu').name}, {os.cpu_count()} cores")
    for name in ("mnist_cnn", "tf_playground"):
        r = measure_overhead(load_preset(name), args.rounds, args.window)
        w, c = r["wall"], r["cpu"]
        print(f"{name}: recorder share of the worker's CPU time {r['recorder_share']:.1%}; samples/s without / "
              f"with the recorder {w['without']:,.0f} / {w['with']:,.0f} (median slowdown {r['slowdown_wall']:+.1%}); "
              f"per CPU second of the worker {c['without']:,.0f} / {c['with']:,.0f} "
              f"(median slowdown {r['slowdown_cpu']:+.1%}); {r['rounds']} rounds of {r['window_s']:g} s")

if __name__ == "__main__":
    _main()
