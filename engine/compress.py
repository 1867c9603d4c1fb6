"""Compress a trained model and see the price: pruning (torch.nn.utils.prune), int8
quantization (torchao) and distillation into a smaller student, every variant measured the
same way (test accuracy, bytes on disk, non-zero parameters, CPU latency) and the Pareto
front of accuracy against size.

Every variant is made from a deep copy of the run's model, on the CPU, in eval mode: the run's
own weights are never touched. Sizes: the state_dict as torch.save writes it (dense: every
zero is stored as a float, which is what loading needs), then compressed with zlib (level 9),
the size a zipped download would have. Only the compressed size is honest for a pruned model,
whose dense file is exactly as big as the original; it is one rule for every variant.
"""
from __future__ import annotations

import copy
import io
import statistics
import time
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from .build import build_model, describe
from .optim import make_optimizer, predict
from .records import Distillation, SparsityCurve, Variant
from .spec import LayerSpec

SCOPES = {"global": "global (one threshold for all layers)", "layer": "per layer (each layer the same share)"}
STRUCTURES = {"unstructured": "single weights", "channel": "whole channels / neurons (L2 norm)"}
QUANT_MODES = {"int8_dynamic": "int8 weights and activations (dynamic)", "int8_weight": "int8 weights only"}
CURVE_SPARSITIES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95)
LATENCY_BATCH = 256            # examples per timed forward pass (fewer if the test set is smaller)
LATENCY_REPEATS = 7            # timed passes; the median is reported (after 2 untimed ones)
CONV_NOTE = "convs weight-only"   # int8_dynamic: its conv layers get int8 weights, float activations (no int8
                                  # convolution on the CPU in torchao 0.18)


@dataclass(frozen=True)
class PruneConfig:
    sparsity: float = 0.8              # share of the prunable weights (Linear, Conv2d) set to zero
    scope: str = "global"              # global: one threshold across layers | layer: each layer alike
    structure: str = "unstructured"    # unstructured: single weights | channel: whole output channels
    finetune_steps: int = 50           # training steps after pruning, with the mask kept (0: none)
    seed: int = 0                      # the fine-tune's batch order


@dataclass(frozen=True)
class DistillConfig:
    shrink: int = 4                    # the student's hidden widths (units, channels) divided by this
    temperature: float = 4.0           # softens both networks' outputs in the soft loss
    alpha: float = 0.7                 # weight of the soft loss; the hard (label) loss gets 1 - alpha
    steps: int = 300                   # training steps of each student
    seeds: tuple[int, ...] = (0, 1, 2) # one pair of students (with teacher, alone) per seed
    train_examples: int = 100          # labelled examples the students learn from (0: the whole training
                                       # set); with few, the teacher's soft targets help most
    evals: int = 10                    # points on each student's curve


# ---------------------------------------------------------------- measuring
def frozen_copy(run) -> nn.Module:
    """A deep copy of the run's model on the CPU, channels-first, in eval mode."""
    return copy.deepcopy(run.model).cpu().to(memory_format=torch.contiguous_format).eval()


def _test_data(run) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(run.data.x_test), torch.as_tensor(run.data.y_test)


@torch.no_grad()
def accuracy(model: nn.Module, run) -> float:
    """Share of the test set the model classifies right."""
    x, y = _test_data(run)
    model.eval()
    out = torch.cat([model(x[i:i + 512]) for i in range(0, len(x), 512)])
    return float((predict(run.loss_name, out).argmax(-1) == y).float().mean())


def saved_bytes(model: nn.Module) -> tuple[int, int]:
    """(zlib-compressed, dense) bytes of the model's state_dict as torch.save writes it."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    raw = buf.getvalue()
    return len(zlib.compress(raw, 9)), len(raw)


def _values(t: torch.Tensor) -> torch.Tensor:
    """A parameter's values as a plain tensor (a torchao int8 weight: its int8 data)."""
    return t.qdata if hasattr(t, "qdata") else t.detach()


def count_nonzero(model: nn.Module) -> tuple[int, int]:
    """(non-zero, all) parameters."""
    vals = [_values(p) for p in model.parameters()]
    return sum(int((v != 0).sum()) for v in vals), sum(v.numel() for v in vals)


@torch.no_grad()
def latency_ms(model: nn.Module, run, batch: int = LATENCY_BATCH, repeats: int = LATENCY_REPEATS) -> tuple[float, int]:
    """(median milliseconds of one forward pass on the CPU, batch size) over `repeats` timed passes."""
    x = _test_data(run)[0][:batch]
    model.eval()
    for _ in range(2):
        model(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times), len(x)


def measure(model: nn.Module, run, name: str, kind: str, note: str = "") -> Variant:
    """Every number of one variant."""
    packed, dense = saved_bytes(model)
    nz, total = count_nonzero(model)
    ms, batch = latency_ms(model, run)
    return Variant(name, kind, accuracy(model, run), packed, dense, nz, total, ms, batch, note)


def original(run) -> Variant:
    return measure(frozen_copy(run), run, "original (float32)", "original")


# ---------------------------------------------------------------- pruning
def prunable(model: nn.Module) -> list[nn.Module]:
    """The layers with weights to prune: every Linear and Conv2d, in order."""
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def _global_channels(layers: list[nn.Module], amount: float) -> None:
    """Global per-channel pruning (torch has it only per layer): the output channels of all
    layers ranked by the RMS of their weights, the weakest zeroed until `amount` of the weights
    are; every layer keeps at least its strongest channel."""
    rows = []                                            # (rms, layer, channel, weights in it)
    for li, m in enumerate(layers):
        w = m.weight.detach().flatten(1)                 # (out, in * kh * kw)
        for c, r in enumerate(w.pow(2).mean(1).sqrt().tolist()):
            rows.append((r, li, c, w.shape[1]))
    masks = [torch.ones_like(m.weight) for m in layers]
    left = [m.weight.shape[0] for m in layers]
    budget = amount * sum(m.weight.numel() for m in layers)
    for r, li, c, n in sorted(rows, key=lambda t: t[0]):
        if n > budget:
            break
        if left[li] > 1:
            masks[li][c] = 0
            left[li] -= 1
            budget -= n
    for m, mask in zip(layers, masks):
        prune.custom_from_mask(m, "weight", mask)


def apply_pruning(model: nn.Module, cfg: PruneConfig) -> list[nn.Module]:
    """Attach magnitude-pruning masks (torch.nn.utils.prune) to the model's layers; returns the
    pruned layers. Per channel leaves the output layer alone (its rows are the classes)."""
    layers = prunable(model)
    if cfg.structure == "channel":
        layers = layers[:-1]
    if not layers or cfg.sparsity <= 0:
        return []
    s = float(min(cfg.sparsity, 1.0))
    if cfg.structure == "unstructured" and cfg.scope == "global":
        prune.global_unstructured([(m, "weight") for m in layers], pruning_method=prune.L1Unstructured, amount=s)
    elif cfg.structure == "unstructured":
        for m in layers:
            prune.l1_unstructured(m, "weight", amount=s)
    elif cfg.scope == "global":
        _global_channels(layers, s)
    else:
        for m in layers:
            prune.ln_structured(m, "weight", amount=s, n=2, dim=0)
    return layers


def finetune(model: nn.Module, run, steps: int, seed: int = 0) -> None:
    """Train the (masked) model a few steps with the run's optimizer, loss and batch size: the
    masks stay attached, so pruned weights stay zero."""
    if steps <= 0:
        return
    x, y = torch.as_tensor(run.data.x_train), torch.as_tensor(run.data.y_train)
    opt = make_optimizer(model.parameters(), run.spec.optim)
    gen = torch.Generator().manual_seed(seed)
    bs = min(run.spec.batch_size, len(x))
    model.train()
    perm, pos = torch.randperm(len(x), generator=gen), 0
    for _ in range(steps):
        if pos + bs > len(x):
            perm, pos = torch.randperm(len(x), generator=gen), 0
        idx = perm[pos:pos + bs]
        pos += bs
        loss = run.loss_fn(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()


def make_permanent(layers: list[nn.Module]) -> None:
    """prune.remove: the masked weights become plain weights with zeros in them."""
    for m in layers:
        prune.remove(m, "weight")


def sparsity_of(layers: list[nn.Module]) -> float:
    """Share of the layers' weights that are exactly zero."""
    n = sum(m.weight.numel() for m in layers)
    return sum(int((m.weight == 0).sum()) for m in layers) / max(n, 1)


def prune_label(cfg: PruneConfig) -> str:
    return f"pruned {cfg.sparsity:.0%} ({cfg.scope.replace('layer', 'per layer')}, {cfg.structure})"


def pruned_models(run, cfg: PruneConfig) -> tuple[nn.Module, nn.Module | None, list[str]]:
    """(pruned, pruned and fine-tuned or None, names of the pruned layers), both made permanent."""
    model = frozen_copy(run)
    layers = apply_pruning(model, cfg)
    tuned = None
    if cfg.finetune_steps > 0 and layers:
        tuned = frozen_copy(run)                        # the same masks again (magnitudes decide them)
        tuned_layers = apply_pruning(tuned, cfg)
        finetune(tuned, run, cfg.finetune_steps, cfg.seed)
        make_permanent(tuned_layers)
    make_permanent(layers)
    return model, tuned, [type(m).__name__ for m in layers]


def prune_variants(run, cfg: PruneConfig) -> list[Variant]:
    """The pruned model, and after the fine-tune, measured."""
    model, tuned, _ = pruned_models(run, cfg)
    name = prune_label(cfg)
    out = [measure(model, run, name, "pruned")]
    if tuned is not None:
        out.append(measure(tuned, run, f"{name} + {cfg.finetune_steps} fine-tune steps", "fine-tuned"))
    return out


def sparsity_curve(run, cfg: PruneConfig, sparsities=CURVE_SPARSITIES) -> SparsityCurve:
    """Accuracy right after pruning, and after the fine-tune, at each sparsity (same scope, structure)."""
    measured, acc, tuned = [], [], []
    for s in sparsities:
        c = PruneConfig(s, cfg.scope, cfg.structure, cfg.finetune_steps, cfg.seed)
        model, ft, layers = pruned_models(run, c)
        measured.append(sparsity_of(prunable(model)[:len(layers)]) if layers else 0.0)
        acc.append(accuracy(model, run))
        tuned.append(accuracy(ft, run) if ft is not None else acc[-1])
    f32 = lambda v: np.asarray(v, np.float32)
    return SparsityCurve(f32(sparsities), f32(measured), f32(acc), f32(tuned) if cfg.finetune_steps > 0 else None,
                         cfg.scope, cfg.structure, cfg.finetune_steps)


# ---------------------------------------------------------------- quantization (torchao)
def quantize(run, mode: str = "int8_dynamic") -> nn.Module:
    """A copy with every Linear and Conv2d layer's weights in int8. Linear layers with torchao's
    quantize_: int8_dynamic also quantizes each batch's activations on the fly and multiplies in
    int8; int8_weight keeps float activations. Conv2d layers get int8 weights with one scale per
    output channel in both modes (engine.int8_conv; CONV_NOTE)."""
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig, quantize_

    from .int8_conv import quantize_convs
    if mode not in QUANT_MODES:
        raise ValueError(f"unknown quantization {mode!r}: one of {', '.join(QUANT_MODES)}")
    model = frozen_copy(run)
    if not any(isinstance(m, (nn.Linear, nn.Conv2d)) for m in model.modules()):
        raise ValueError("this network has no Linear or Conv2d layer to quantize")
    if any(isinstance(m, nn.Linear) for m in model.modules()):
        cfg = Int8DynamicActivationInt8WeightConfig() if mode == "int8_dynamic" else Int8WeightOnlyConfig()
        quantize_(model, cfg, filter_fn=lambda m, _fqn: isinstance(m, nn.Linear))
    quantize_convs(model)
    return model


def quantize_variant(run, mode: str = "int8_dynamic") -> Variant:
    model = quantize(run, mode)
    convs = any(isinstance(m, nn.Conv2d) for m in model.modules())
    return measure(model, run, QUANT_MODES[mode], "quantized", CONV_NOTE if convs and mode == "int8_dynamic" else "")


# ---------------------------------------------------------------- distillation
def student_layers(layers: tuple[LayerSpec, ...], shrink: int) -> tuple[LayerSpec, ...]:
    """The teacher's stack with every hidden width (Linear units, Conv2d channels; never the
    output layer) divided by `shrink`, at least 1. Raises ValueError if nothing can shrink."""
    last = max(i for i, l in enumerate(layers) if l.kind == "linear")
    out, changed = [], False
    for i, l in enumerate(layers):
        key = "units" if l.kind == "linear" and i != last else "channels" if l.kind == "conv2d" else None
        if key and l.params[key] > 1 and shrink > 1:
            l = LayerSpec(l.kind, {**l.params, key: max(1, l.params[key] // shrink)})
            changed = True
        out.append(l)
    if not changed:
        raise ValueError("this network has no hidden layer to make smaller, so there is no smaller student: "
                         "distil a network with a hidden Linear or Conv2d layer")
    return tuple(out)


def _as_scores(z: torch.Tensor) -> torch.Tensor:
    """Class scores (N, C); a binary model's one logit z becomes (-z/2, z/2), with the same softmax."""
    return torch.cat([-z / 2, z / 2], 1) if z.shape[1] == 1 else z


def soft_loss(student: torch.Tensor, teacher: torch.Tensor, t: float) -> torch.Tensor:
    """KL(teacher || student) at temperature t, times t^2 (Hinton et al., 2015), so its gradients
    keep their size as t changes."""
    log_p = torch.log_softmax(_as_scores(student) / t, 1)
    q = torch.softmax(_as_scores(teacher) / t, 1)
    return nn.functional.kl_div(log_p, q, reduction="batchmean") * t * t


def train_student(run, layers: tuple[LayerSpec, ...], cfg: DistillConfig, seed: int,
                  teacher_logits: torch.Tensor | None) -> tuple[nn.Module, list[float], list[int]]:
    """One student from seed `seed`: (model, test accuracy at each evaluation, the steps). With
    teacher logits it learns alpha * soft + (1 - alpha) * hard; without, the hard loss alone.
    The same seed gives the same initial weights and batches either way."""
    n = min(cfg.train_examples or len(run.data.y_train), len(run.data.y_train))
    x, y = torch.as_tensor(run.data.x_train[:n]), torch.as_tensor(run.data.y_train[:n])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(layers, run.data.input_shape)
    opt = make_optimizer(model.parameters(), run.spec.optim)
    gen = torch.Generator().manual_seed(seed)
    bs = min(run.spec.batch_size, len(x))
    at = sorted({max(1, round(cfg.steps * (k + 1) / cfg.evals)) for k in range(cfg.evals)})
    accs, perm, pos = [], torch.randperm(len(x), generator=gen), 0
    for step in range(1, cfg.steps + 1):
        if pos + bs > len(x):
            perm, pos = torch.randperm(len(x), generator=gen), 0
        idx = perm[pos:pos + bs]
        pos += bs
        model.train()
        out = model(x[idx])
        loss = run.loss_fn(out, y[idx])
        if teacher_logits is not None:
            loss = cfg.alpha * soft_loss(out, teacher_logits[idx], cfg.temperature) + (1 - cfg.alpha) * loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step in at:
            accs.append(accuracy(model, run))
    return model.eval(), accs, at


def distill(run, cfg: DistillConfig = DistillConfig()) -> tuple[Distillation, list[Variant]]:
    """Students with the teacher and alone over the seeds; the variants of the first seed's pair."""
    teacher = frozen_copy(run)
    layers = student_layers(run.spec.layers, cfg.shrink)
    n = min(cfg.train_examples or len(run.data.y_train), len(run.data.y_train))
    with torch.no_grad():
        x = torch.as_tensor(run.data.x_train[:n])
        logits = torch.cat([teacher(x[i:i + 512]) for i in range(0, len(x), 512)])
    with_t, alone, variants = [], [], []
    for k, seed in enumerate(cfg.seeds):
        m1, a1, steps = train_student(run, layers, cfg, seed, logits)
        m0, a0, _ = train_student(run, layers, cfg, seed, None)
        with_t.append(a1)
        alone.append(a0)
        if k == 0:
            label = f"student /{cfg.shrink}"
            variants = [measure(m1, run, f"{label} distilled (T={cfg.temperature:g}, soft {cfg.alpha:.0%})",
                                "distilled"), measure(m0, run, f"{label} alone", "student")]
    label = ", ".join(describe(l) for l in layers)
    t_params = sum(p.numel() for p in teacher.parameters())
    s_params = sum(p.numel() for p in build_model(layers, run.data.input_shape).parameters())
    f32 = lambda v: np.asarray(v, np.float32)
    return Distillation(label, t_params, s_params, accuracy(teacher, run), np.asarray(steps), f32(with_t), f32(alone),
                        tuple(cfg.seeds), cfg.temperature, cfg.alpha, n), variants


# ---------------------------------------------------------------- the Pareto front
def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the (accuracy, bytes) points no other point beats: none has at least the
    accuracy and at most the bytes, and is better in one. Sorted by bytes."""
    front = [i for i, (a, b) in enumerate(points)
             if not any(a2 >= a and b2 <= b and (a2 > a or b2 < b) for a2, b2 in points)]
    return sorted(front, key=lambda i: (points[i][1], -points[i][0]))


def kind(run) -> str | None:
    """Why the run cannot be compressed here (None when it can): a classifier of images, tables or 2-D points."""
    d = run.data
    if run.spec.task != "classification" or d.token_input or d.x_train.ndim not in (2, 4):
        return f"this page compresses classifiers of images, tables or 2-D points; this is a {run.spec.task} run"
    if not any(l.kind in ("linear", "conv2d") for l in run.spec.layers):
        return "this network has no Linear or Conv2d layer to compress"
    return None


# ---------------------------------------------------------------- the CLI's summary
def _r(a: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in a]


def _row(v: Variant, base: Variant) -> dict:
    return {"name": v.name, "kind": v.kind, "accuracy": round(v.accuracy, 4), "bytes": v.bytes,
            "dense_bytes": v.dense_bytes, "nonzero": v.nonzero, "params": v.params,
            "latency_ms": round(v.latency_ms, 3), "batch": v.batch,
            "size_vs_original": round(v.bytes / base.bytes, 4), "accuracy_vs_original": round(v.accuracy - base.accuracy, 4)
            } | ({"note": v.note} if v.note else {})


def summary(run, prune_cfg: PruneConfig = PruneConfig(), distill_cfg: DistillConfig | None = DistillConfig(),
            quant_modes: tuple[str, ...] = tuple(QUANT_MODES)) -> dict:
    """The numbers of `python -m engine compress --json`: every variant, the Pareto front, the
    accuracy-sparsity curve and the distillation comparison."""
    if why := kind(run):
        raise ValueError(f"compress: {why}")
    base = original(run)
    variants = [base, *prune_variants(run, prune_cfg)]
    notes = {}
    for mode in quant_modes:
        try:
            variants.append(quantize_variant(run, mode))
        except ValueError as e:
            notes[mode] = str(e)
    out: dict = {"threads": torch.get_num_threads(), "size": "state_dict via torch.save, zlib level 9"}
    if distill_cfg is not None:
        try:
            d, extra = distill(run, distill_cfg)
            variants += extra
            out["distillation"] = {"student": d.student, "teacher_params": d.teacher_params,
                                   "student_params": d.student_params, "teacher_accuracy": round(d.teacher_accuracy, 4),
                                   "temperature": d.temperature, "alpha": d.alpha, "steps": int(d.steps[-1]),
                                   "train_examples": d.train_examples, "seeds": list(d.seeds),
                                   "with_teacher": _r(d.with_teacher[:, -1]), "alone": _r(d.alone[:, -1]),
                                   "gain_mean": round(float(d.gain.mean()), 4), "gain_min": round(float(d.gain.min()), 4)}
        except ValueError as e:
            notes["distillation"] = str(e)
    curve = sparsity_curve(run, prune_cfg)
    out["variants"] = [_row(v, base) for v in variants]
    out["pareto"] = [variants[i].name for i in pareto_front([(v.accuracy, v.bytes) for v in variants])]
    out["sparsity_curve"] = {"scope": curve.scope, "structure": curve.structure,
                             "sparsity": _r(curve.sparsity), "measured": _r(curve.measured),
                             "accuracy": _r(curve.accuracy),
                             "finetuned": None if curve.finetuned is None else _r(curve.finetuned)}
    if notes:
        out["notes"] = notes
    return out
