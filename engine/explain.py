"""Explain a prediction: Captum's attribution methods on a trained run, with the checks that
tell a map that explains the model from one that only looks plausible.

Images: Saliency, Integrated Gradients, SmoothGrad, Occlusion and Grad-CAM for one test image
and one class, each map with its deletion and insertion curves; IG's completeness gap; on the
shapes dataset the share of the map on the object; the randomisation sanity check. Tables: IG
per feature. 2-D data: the gradient of a class score over the plane. Everything works on a
deep copy of the run's model in eval mode: the run's own weights are never touched.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .build import describe
from .records import (Attribution, Curve, FeatureExplanation, GradientField, ImageExplanation,
                      Sanity)
from .views import _display, plane_grid

METHODS = {"saliency": "Saliency", "ig": "Integrated Gradients", "smoothgrad": "SmoothGrad",
           "occlusion": "Occlusion", "gradcam": "Grad-CAM"}
BASELINES = {"zeros": "all zeros", "blurred": "the image blurred", "mean": "the average training image"}
MISCLASSIFIED = -1             # example index meaning "the latest test example the model gets wrong"
FIELD_GRID = 21                # the gradient field's grid (arrows per side)


@dataclass(frozen=True)
class ExplainConfig:
    methods: tuple[str, ...] = tuple(METHODS)   # which maps to make
    target: int | None = None                   # the class explained; None = the predicted one
    baseline: str = "zeros"                     # IG's reference, and what Occlusion and deletion put in
    ig_steps: int = 64                          # IG's points along the path (Gauss-Legendre)
    smooth_samples: int = 16                    # SmoothGrad's noisy copies ...
    smooth_sigma: float = 0.15                  # ... with noise of this share of the image's value range
    window: int = 5                             # Occlusion's square patch, pixels
    stride: int = 2                             # ... moved this many pixels at a time
    gradcam_layer: int | None = None            # the conv layer's index in the stack; None = the last one
    curve_points: int = 21                      # points on each deletion / insertion curve
    sanity: bool = True                         # run the randomisation check (one map per layer per method)
    seed: int = 0                               # SmoothGrad's noise and the re-initialised weights


class Scores(nn.Module):
    """The model's class scores (N, classes); a binary model's single logit z becomes
    (-z/2, z/2), whose softmax is (1 - sigmoid(z), sigmoid(z))."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.model(x)
        return torch.cat([-z / 2, z / 2], 1) if z.shape[1] == 1 else z


def frozen_copy(run) -> Scores:
    """A deep copy of the run's model, channels-first, in eval mode, returning class scores."""
    model = copy.deepcopy(run.model).to(memory_format=torch.contiguous_format).eval()
    return Scores(model).eval()


def kind(run) -> str | None:
    """image | table | plane (2-D points) for a classifier that can be explained here, else None."""
    d = run.data
    if run.spec.task != "classification" or d.token_input:
        return None
    if d.x_train.ndim == 4:
        return "image"
    if d.x_train.ndim == 2:
        return "plane" if d.points_train is not None else "table"
    return None


def methods_for(run) -> tuple[str, ...]:
    """The methods that apply to the run's model: Grad-CAM only with a Conv2d layer."""
    return tuple(m for m in METHODS if m != "gradcam" or conv_layers(run))


def conv_layers(run) -> list[tuple[int, str]]:
    """(index in the stack, label) of every Conv2d layer: where Grad-CAM can look."""
    return [(i, f"layer {i + 1}: {describe(layer)}") for i, (layer, m) in
            enumerate(zip(run.spec.layers, run.model)) if isinstance(m, nn.Conv2d)]


@torch.no_grad()
def predictions(net: Scores, x: np.ndarray, device, chunk: int = 512) -> np.ndarray:
    """(N, classes) float32 probabilities of the copied model on numpy inputs."""
    out = [torch.softmax(net(torch.as_tensor(x[i:i + chunk], device=device)), 1).cpu()
           for i in range(0, len(x), chunk)]
    return torch.cat(out).numpy()


def pick_example(run, index: int, net: Scores | None = None) -> tuple[int, bool]:
    """(test index, found): `index` itself, or for MISCLASSIFIED the last test example the model
    gets wrong (found False, and the last example, when it gets every one right)."""
    n = len(run.data.y_test)
    if index != MISCLASSIFIED:
        return min(max(0, int(index)), n - 1), True
    pred = predictions(net or frozen_copy(run), run.data.x_test, run.device).argmax(1)
    wrong = np.flatnonzero(pred != run.data.y_test)
    return (int(wrong[-1]), True) if len(wrong) else (n - 1, False)


# ---------------------------------------------------------------- the maps (Captum)
def baseline_of(run, x: torch.Tensor, how: str) -> torch.Tensor:
    """The reference input (1, C, H, W): zeros, the image blurred (Gaussian, sigma = H / 10),
    or the training set's average image."""
    if how == "zeros":
        return torch.zeros_like(x)
    if how == "blurred":
        from scipy.ndimage import gaussian_filter
        s = max(1.0, x.shape[-1] / 10)
        return torch.as_tensor(gaussian_filter(x.cpu().numpy(), sigma=(0, 0, s, s)), device=x.device)
    if how == "mean":
        return torch.as_tensor(run.data.x_train.mean(0, keepdims=True), device=x.device)
    raise ValueError(f"unknown baseline {how!r}: one of {', '.join(BASELINES)}")


def attribute(net: Scores, method: str, x: torch.Tensor, target: int, base: torch.Tensor,
              cfg: ExplainConfig) -> tuple[torch.Tensor, float | None]:
    """(attributions (1, C, H, W), IG's convergence delta or None) of one method."""
    from captum.attr import (IntegratedGradients, LayerAttribution, LayerGradCam, NoiseTunnel,
                             Occlusion, Saliency)
    sigma = cfg.smooth_sigma * float(x.max() - x.min() or 1.0)      # SmoothGrad's noise
    x = x.detach().requires_grad_()                                  # the gradient methods read x.grad
    if method == "saliency":
        return Saliency(net).attribute(x, target=target, abs=True), None
    if method == "ig":
        a, delta = IntegratedGradients(net).attribute(x, baselines=base, target=target, n_steps=cfg.ig_steps,
                                                      internal_batch_size=256, return_convergence_delta=True)
        return a, float(delta.abs().sum())
    if method == "smoothgrad":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            return NoiseTunnel(Saliency(net)).attribute(x, nt_type="smoothgrad", nt_samples=cfg.smooth_samples,
                                                         nt_samples_batch_size=cfg.smooth_samples, stdevs=sigma,
                                                         target=target, abs=True), None
    if method == "occlusion":
        c, h, w = x.shape[1:]
        win, stride = min(cfg.window, h, w), max(1, min(cfg.stride, h, w))
        return Occlusion(net).attribute(x, sliding_window_shapes=(c, win, win), strides=(c, stride, stride),
                                        baselines=base, target=target, perturbations_per_eval=128), None
    if method == "gradcam":
        convs = [i for i, m in enumerate(net.model) if isinstance(m, nn.Conv2d)]
        if not convs:
            raise ValueError("Grad-CAM needs a Conv2d layer, and this network has none")
        i = cfg.gradcam_layer if cfg.gradcam_layer in convs else convs[-1]
        cam = LayerGradCam(net, net.model[i]).attribute(x, target=target, relu_attributions=True)  # (1, 1, h, w)
        cam = LayerAttribution.interpolate(cam, tuple(x.shape[2:]), interpolate_mode="bilinear")
        return cam.expand_as(x) / x.shape[1], None
    raise ValueError(f"unknown method {method!r}: one of {', '.join(METHODS)}")


@torch.no_grad()
def curves(net: Scores, x: torch.Tensor, base: torch.Tensor, heat: np.ndarray, target: int,
           points: int) -> tuple[Curve, Curve]:
    """Deletion and insertion curves of one map: the most important pixels first (by heat,
    highest first), replaced by the baseline / put onto it, `points` fractions from 0 to 1."""
    order = torch.as_tensor(np.argsort(-heat.ravel(), kind="stable").copy(), device=x.device)
    n = order.numel()
    fractions = np.linspace(0, 1, points).astype(np.float32)
    masks = torch.zeros(points, n, device=x.device)                  # (K, H*W), 1 = chosen pixel
    for k, f in enumerate(fractions):
        masks[k, order[:int(round(f * n))]] = 1
    masks = masks.view(points, 1, *x.shape[2:])                     # (K, 1, H, W), over every channel
    deleted = x * (1 - masks) + base * masks
    inserted = base * (1 - masks) + x * masks
    p = torch.softmax(net(torch.cat([deleted, inserted])), 1)       # (2K, classes)
    prob = p[:, target].cpu().numpy().astype(np.float32)
    acc = (p.argmax(1) == target).float().cpu().numpy()
    make = lambda s: Curve(fractions, prob[s], acc[s], float(np.trapezoid(prob[s], fractions)))
    return make(slice(0, points)), make(slice(points, None))


def inside_share(heat: np.ndarray, mask: np.ndarray | None) -> float | None:
    """Share of the map's absolute mass on the object's pixels (None without a mask)."""
    if mask is None:
        return None
    total = float(np.abs(heat).sum())
    return float(np.abs(heat)[mask].sum() / total) if total > 0 else 0.0


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps' absolute values (NaN when one is constant)."""
    from scipy.stats import spearmanr
    a, b = np.abs(a).ravel(), np.abs(b).ravel()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def _heats(net: Scores, methods: tuple[str, ...], x, target, base, cfg) -> dict[str, np.ndarray]:
    return {m: attribute(net, m, x, target, base, cfg)[0].sum(1)[0].detach().cpu().numpy() for m in methods}


def sanity_check(run, net: Scores, x: torch.Tensor, target: int, base: torch.Tensor, cfg: ExplainConfig,
                 original: dict[str, np.ndarray]) -> Sanity:
    """Cascading randomisation (Adebayo et al., 2018): re-initialise the layers with weights one
    more at a time from the output down, and compare each method's map with the trained one's."""
    net = copy.deepcopy(net)
    layers = [i for i, m in enumerate(net.model) if hasattr(m, "reset_parameters") and any(True for _ in m.parameters())]
    labels, corr = [], {m: [] for m in original}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed + 1)
        for i in reversed(layers):
            net.model[i].reset_parameters()
            labels.append(f"up to layer {i + 1}: {describe(run.spec.layers[i])}")
            for m, heat in _heats(net, tuple(original), x, target, base, cfg).items():
                corr[m].append(spearman(original[m], heat))
    return Sanity(tuple(labels), {m: np.asarray(v, np.float32) for m, v in corr.items()})


def explain_image(run, index: int = 0, cfg: ExplainConfig = ExplainConfig(), mask: np.ndarray | None = None
                  ) -> ImageExplanation:
    """Every chosen method's map of one test image, with its checks. `mask` (H, W) bool: the
    object's pixels (the shapes dataset's are found by themselves)."""
    d = run.data
    net = frozen_copy(run)
    index, _ = pick_example(run, index, net)
    if mask is None and run.spec.data.name == "shapes":
        from .data.images import shape_masks
        mask = shape_masks(run.spec.data, run.spec.seed)[index]
    x = torch.as_tensor(d.x_test[index:index + 1], device=run.device)              # (1, C, H, W)
    base = baseline_of(run, x, cfg.baseline)
    with torch.no_grad():
        scores = net(torch.cat([x, base]))                                           # (2, classes)
    probs = torch.softmax(scores[0], 0).cpu().numpy()
    pred = int(probs.argmax())
    target = pred if cfg.target is None or not 0 <= cfg.target < len(probs) else int(cfg.target)
    f_x, f_b = float(scores[0, target]), float(scores[1, target])
    maps, heats = [], {}
    for m in (m for m in cfg.methods if m in methods_for(run)):
        a, delta = attribute(net, m, x, target, base, cfg)
        a = a.detach()[0].cpu().numpy().astype(np.float32)                           # (C, H, W)
        heat = a.sum(0)
        heats[m] = heat
        gap = None if delta is None else delta / max(abs(f_x - f_b), 1e-12)
        dele, ins = curves(net, x, base, heat, target, cfg.curve_points)
        maps.append(Attribution(m, METHODS[m], a, heat, m in ("ig", "occlusion"), gap, inside_share(heat, mask),
                                dele, ins))
    sanity = sanity_check(run, net, x, target, base, cfg, heats) if cfg.sanity and heats else None
    return ImageExplanation(index, _display(d.x_test[index]).astype(np.float32), int(d.y_test[index]), pred,
                            target, probs.astype(np.float32), tuple(d.class_names), cfg.baseline, f_x, f_b,
                            tuple(maps), mask, None if mask is None else float(mask.mean()), sanity)


# ---------------------------------------------------------------- tables and the plane
def explain_features(run, index: int = 0, cfg: ExplainConfig = ExplainConfig()) -> FeatureExplanation:
    """Integrated Gradients per feature of one test row, from the all-zeros baseline (the
    training mean when the features are standardised)."""
    from captum.attr import IntegratedGradients
    d = run.data
    net = frozen_copy(run)
    index, _ = pick_example(run, index, net)
    x = torch.as_tensor(d.x_test[index:index + 1], device=run.device).requires_grad_()  # (1, F)
    base = torch.zeros_like(x)
    with torch.no_grad():
        scores = net(torch.cat([x, base]))
    pred = int(scores[0].argmax())
    target = pred if cfg.target is None or not 0 <= cfg.target < scores.shape[1] else int(cfg.target)
    a, delta = IntegratedGradients(net).attribute(x, baselines=base, target=target, n_steps=cfg.ig_steps,
                                                  return_convergence_delta=True)
    f_x, f_b = float(scores[0, target]), float(scores[1, target])
    names = tuple(d.feature_names) or tuple(f"feature {i + 1}" for i in range(x.shape[1]))
    return FeatureExplanation(index, names, d.x_test[index].astype(np.float32),
                              a.detach()[0].cpu().numpy().astype(np.float32), int(d.y_test[index]), pred, target,
                              d.class_names[target], f_x, f_b,
                              float(delta.abs().sum()) / max(abs(f_x - f_b), 1e-12))


@torch.no_grad()
def gradient_field(run, target: int | None = None, grid: int = FIELD_GRID) -> GradientField:
    """The gradient of a class score (the last class by default: class 1 of two) with respect to
    the raw point (x1, x2) over the plane, by central differences through the input features."""
    from .data.synthetic import featurize
    d = run.data
    net = frozen_copy(run)
    n_classes = len(d.class_names)
    target = n_classes - 1 if target is None or not 0 <= target < n_classes else int(target)
    axis, pts = plane_grid(float(d.extent), grid)
    h = 1e-3 * float(d.extent)
    feats = tuple(d.feature_names)

    def score(p: np.ndarray) -> np.ndarray:
        out = net(torch.as_tensor(featurize(p.astype(np.float32), feats), device=run.device))
        return out[:, target].double().cpu().numpy()
    step = lambda dx, dy: pts + np.array([dx, dy], np.float32)
    gx = (score(step(h, 0)) - score(step(-h, 0))) / (2 * h)
    gy = (score(step(0, h)) - score(step(0, -h))) / (2 * h)
    shape = (grid, grid)
    return GradientField(axis, score(pts).reshape(shape).astype(np.float32), gx.reshape(shape).astype(np.float32),
                         gy.reshape(shape).astype(np.float32), d.class_names[target], float(d.extent),
                         d.points_test.astype(np.float32), d.y_test.astype(np.int64), tuple(d.class_names))


# ---------------------------------------------------------------- the CLI's summary
def summary(run, examples: int = 4, cfg: ExplainConfig = ExplainConfig()) -> dict:
    """The numbers of `python -m engine explain --json`: per example and on average, each
    method's completeness gap (IG), mass on the object and its area share (shapes), deletion /
    insertion areas, and the sanity check's correlations."""
    k = kind(run)
    out: dict = {"kind": k}
    if k == "table":
        rows = [explain_features(run, i, cfg) for i in range(min(examples, len(run.data.y_test)))]
        out["examples"] = [{"index": r.index, "true": r.true, "pred": r.pred, "target": r.target,
                            "ig": {"completeness_gap": r.completeness_gap,
                                   "attributions": dict(zip(r.feature_names, r.attr.round(5).tolist()))}}
                           for r in rows]
        out["mean"] = {"ig": {"completeness_gap": float(np.mean([r.completeness_gap for r in rows]))}}
        return out
    if k == "plane":
        f = gradient_field(run)
        out["field"] = {"target": f.target_name, "mean_gradient_norm": float(np.hypot(f.gx, f.gy).mean())}
        return out
    if k != "image":
        raise ValueError("explain: only classifiers of images, tables or 2-D points can be explained")
    rows = []
    for i in range(min(examples, len(run.data.y_test))):
        e = explain_image(run, i, cfg)
        row = {"index": e.index, "true": e.true, "pred": e.pred, "target": e.target,
               "object_share": e.object_share, "methods": {}}
        for a in e.maps:
            row["methods"][a.method] = {k: v for k, v in (
                ("completeness_gap", a.completeness_gap), ("inside_share", a.inside_share),
                ("inside_over_area", None if a.inside_share is None else a.inside_share / e.object_share),
                ("deletion_auc", a.deletion.auc), ("insertion_auc", a.insertion.auc)) if v is not None}
        if e.sanity is not None:
            row["sanity"] = {"layers": list(e.sanity.layers),
                             **{m: [None if c != c else round(float(c), 4) for c in v]
                                for m, v in e.sanity.correlation.items()}}
        rows.append(row)
    out["examples"] = rows
    mean: dict = {}
    for m in rows[0]["methods"]:
        vals = [r["methods"][m] for r in rows]
        mean[m] = {key: float(np.mean([v[key] for v in vals])) for key in vals[0]}
        if rows[0].get("sanity"):
            mean[m]["sanity_last"] = float(np.nanmean([r["sanity"][m][-1] if r["sanity"][m][-1] is not None
                                                       else np.nan for r in rows]))
    if rows[0]["object_share"] is not None:
        out["object_share"] = float(np.mean([r["object_share"] for r in rows]))
    out["mean"] = mean
    return out
