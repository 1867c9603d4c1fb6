"""Recorder: what happens inside a network while it trains, recorded as typed records.

`Recorder` is a Trainer view (`recorder(run) -> ProbeRecord`, see records.py), called in the
worker after a step, so every `param.grad` holds the last batch's gradients. Each call records:

- conv filters of every layer with a 4-D weight (Conv2d), downsampled;
- every layer's output for one chosen test example (by index, or the latest misclassified);
- per layer: norm and mean |value| of weights and gradients, and the update/weight ratio
  of one optimizer step (measured by one-shot optimizer step hooks);
- percentile bands (TensorBoard "distributions") of weights, biases, activations and
  gradients per layer over steps, and the current histograms;
- the share of dead ReLU units on a batch of test examples;
- flags, each a sentence (diagnosis.py): vanishing or exploding gradients, dead units.

Layers are the model's top-level children; everything is read from module outputs and
parameters generically, so a new layer kind (an RNN) needs no change here. Forward hooks
are removed in a `finally`; tensors are detached, moved to the CPU and downsampled; the
history is bounded. A different Run object (reset, new run) clears the history.
"""
from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .cell import CellChoice, explain_conv_cell
from .diagnosis import diagnose
from .records import ActivationMap, Distribution, Example, Filters, History, ProbedLayer, ProbeRecord
from .stats import (DEAD_TYPES, KINDS, PERCENTILES, ProbeConfig, _dead_share, _distribution, _example_values,
                    _first_tensor, _flat, _sample)

MISCLASSIFIED = "misclassified"


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
        from ..build import describe
        labels = [describe(l) for l in spec_layers]
    out = []
    for i, (_, m) in enumerate(children):
        named = list(m.named_parameters())
        w = [p for n, p in named if not n.rsplit(".", 1)[-1].startswith("bias")]
        b = [p for n, p in named if n.rsplit(".", 1)[-1].startswith("bias")]
        label = f"{i + 1} {labels[i] if labels else type(m).__name__}"
        out.append(_Layer(i, label, m, w, b, any(p.dim() >= 2 for p in w)))
    return out


# ---------------------------------------------------------------- the recorder
class Recorder:
    """A Trainer view that records the inside of the network; see the module docstring.

    `set_example(i)` / `set_example("misclassified")` may be called from any thread. Each
    call returns a `ProbeRecord` (records.py).
    """

    def __init__(self, example: int | str = 0, config: ProbeConfig | None = None):
        self.config = config or ProbeConfig()
        self._lock = threading.Lock()
        self._choice: int | str = 0
        self._cell = CellChoice()
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

    def set_cell(self, layer: int | None = None, map: int = 0, row: int | None = None,
                 col: int | None = None) -> None:
        """Which conv output cell to explain (engine/probes/cell.py): a layer index, its output
        channel, row and column; out-of-range numbers are clamped when recorded."""
        with self._lock:
            self._cell = CellChoice(layer, max(0, int(map)), None if row is None else max(0, int(row)),
                                    None if col is None else max(0, int(col)))

    @property
    def example(self) -> int | str:
        with self._lock:
            return self._choice

    def close(self) -> None:
        """Remove a pending optimizer hook (the worker's thread; tests call it at the end)."""
        self._disarm()

    # ------------------------------------------------------------ the worker
    def __call__(self, run: Any) -> ProbeRecord:
        if self._run_ref is None or self._run_ref() is not run:
            self._start(run)
        cfg = self.config
        with self._lock:
            choice, cell_choice = self._choice, self._cell
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
                cell = explain_conv_cell(model, [(l.index, l.label, l.module) for l in self._layers],
                                         x[first:first + 1], first, cell_choice)
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
        return ProbeRecord(
            step=int(run.step_count),
            task=getattr(getattr(run, "spec", None), "task", "classification"),
            layers=tuple(ProbedLayer(l.index, l.label, type(l.module).__name__,
                                     tuple(outs[l.index].shape[1:]) if l.index in outs else (),
                                     l.has_params, l.matrix) for l in self._layers),
            param_layers=tuple(l.index for l in params),
            bias_layers=tuple(l.index for l in biased),
            example=example,
            activations=self._activations(ex_outs),
            filters=self._filters(),
            history=History(**{f.name: h[f.name] for f in fields(History)}),
            dist={k: Distribution(tuple(l.index for l in (self._layers if k == "activations" else
                                                          biased if k == "biases" else params)),
                                  h[f"pct_{k}"], tuple(dists[k][1]))
                  for k in KINDS},
            percentiles=PERCENTILES,
            dead=dead,
            batch=int(rows - 1),
            flags=tuple(diagnose(self._layers, params, self._hist, dead, rows - 1, cfg)),
            cell=cell,
        )

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
        from ..optim import predict
        return predict(getattr(run, "loss_name", "cross_entropy"), out.float()).argmax(-1) != y

    def _example(self, run: Any, index: int, choice: int | str, found: bool, out: torch.Tensor) -> Example:
        """What the page shows about the recorded example: input, label, output."""
        x, y = run.x_test, run.y_test
        data = getattr(run, "data", None)
        inp = x[index].detach().float()
        if inp.dim() == 3:                                             # (C, H, W) image
            inp = inp[:3]
            if max(inp.shape[-2:]) > 64:
                inp = F.adaptive_avg_pool2d(inp[None], (min(inp.shape[-2], 64), min(inp.shape[-1], 64)))[0]
        if self._classify(run):
            from ..optim import predict
            p = predict(getattr(run, "loss_name", "cross_entropy"), out[None].float())[0].cpu().numpy()
            label = int(y[index])
            names = tuple(getattr(data, "class_names", ()) or ()) or tuple(str(i) for i in range(len(p)))
            answer = dict(label=label, pred=int(p.argmax()), probs=p, class_names=names,
                          correct=int(p.argmax()) == label)
        else:
            answer = dict(target=y[index].float().reshape(-1).cpu().numpy(),
                          output=out.float().reshape(-1).cpu().numpy())
        return Example(index=index, mode=MISCLASSIFIED if choice == MISCLASSIFIED else "index", found=found,
                       n_test=len(x), input=inp.cpu().numpy(),
                       feature_names=tuple(getattr(data, "feature_names", ()) or ()), **answer)

    def _activations(self, outs: dict[int, torch.Tensor]) -> tuple[ActivationMap, ...]:
        """Each layer's output for the recorded example (row 0 of the pass), downsampled."""
        acts = []
        for l in self._layers:
            if l.index not in outs:
                continue
            values, group = _example_values(outs[l.index][0], self.config)
            acts.append(ActivationMap(l.index, l.label, tuple(outs[l.index].shape[1:]), values, group))
        return tuple(acts)

    def _filters(self) -> tuple[Filters, ...]:
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
            out.append(Filters(l.index, l.label, tuple(w.shape), k.cpu().numpy(), mean.cpu().numpy()))
        return tuple(out)

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
