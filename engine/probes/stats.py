"""Pure statistics of the probes: percentile bands and histograms, norms, downsampling, the
dead-unit share; plus the constants and ProbeConfig (sizes and thresholds) every part reads."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .records import Histogram

PERCENTILES = (0.0, 6.68, 15.87, 30.85, 50.0, 69.15, 84.13, 93.32, 100.0)   # TensorBoard's bands
KINDS = ("weights", "biases", "activations", "gradients")
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


def _distribution(vs: list[torch.Tensor], bins: int) -> tuple[np.ndarray, list[Histogram]]:
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
    hists = [Histogram(edges[i], counts[i]) if n[i] else
             Histogram(np.zeros(0, np.float32), np.zeros(0, np.int64)) for i in range(len(vs))]
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

