"""How far a generated sample is from the real one, and how many of the real modes it covers.

The distance is the squared maximum mean discrepancy (MMD^2, Gretton et al. 2012) with a sum
of gaussian kernels k(x, y) = exp(-|x - y|^2 / (2 h^2)): zero exactly when the two
distributions are equal, estimated from the two samples (see `mmd2`). The bandwidths are fixed fractions of the real sample's
median pairwise distance, so one number works for 2-D points and 64-pixel digits alike.
`mmd2_gaussians` is its closed form for two gaussians, which the estimator is tested against.
"""
from __future__ import annotations

import numpy as np
import torch

BANDWIDTH_SHARES = (1 / 16, 1 / 4, 1.0)    # kernel widths, as shares of the real sample's median distance
COVERED_SHARE = 0.25                       # a mode is covered when it holds this share of its fair share
MODE_RADIUS = 3.0                          # ... of the samples within this many stds of its centre


def bandwidths(real: torch.Tensor) -> tuple[float, ...]:
    """Kernel widths for a real sample (N, D): BANDWIDTH_SHARES of its median pairwise distance."""
    d = torch.cdist(real, real)
    median = float(d[torch.triu_indices(len(real), len(real), 1).unbind()].median())
    return tuple(s * max(median, 1e-6) for s in BANDWIDTH_SHARES)


class DistanceToReal:
    """mmd2(real, y) for one fixed real sample and many y (a GAN's samples at each evaluation):
    the real sample's own kernel means are computed once, a third of the work."""

    def __init__(self, real: torch.Tensor, widths: tuple[float, ...]):
        self.real, self.widths = real, widths
        d = torch.cdist(real, real).pow(2)
        self._kxx = [float(torch.exp(d * (-0.5 / (h * h))).mean()) for h in widths]

    def __call__(self, y: torch.Tensor) -> float:
        dyy, dxy = torch.cdist(y, y).pow(2), torch.cdist(self.real, y).pow(2)
        return max(0.0, sum(kxx + float(torch.exp(dyy * (-0.5 / (h * h))).mean())
                            - 2 * float(torch.exp(dxy * (-0.5 / (h * h))).mean())
                            for kxx, h in zip(self._kxx, self.widths)))


def mmd2(x: torch.Tensor, y: torch.Tensor, widths: tuple[float, ...], unbiased: bool = False) -> float:
    """MMD^2 between samples x (N, D) and y (M, D), summed over the kernel widths. By default
    the plain (V-statistic) estimate, never below 0: two samples of one distribution come out
    about 2/N apart, the floor a perfect generator reaches. `unbiased` leaves out each point's
    kernel with itself: its mean is the true MMD^2, and it dips below 0 near equality."""
    n, m = len(x), len(y)
    dxx, dyy, dxy = (torch.cdist(a, b).pow(2) for a, b in ((x, x), (y, y), (x, y)))
    total = 0.0
    for h in widths:
        k = lambda d: torch.exp(-d / (2 * h * h))
        kxx, kyy = k(dxx), k(dyy)
        if unbiased:
            total += float((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
                           + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * k(dxy).mean())
        else:
            total += float(kxx.mean() + kyy.mean() - 2 * k(dxy).mean())
    return max(total, 0.0) if not unbiased else total


def mmd2_gaussians(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray,
                   widths: tuple[float, ...]) -> float:
    """MMD^2 between N(mu1, cov1) and N(mu2, cov2) in closed form: for X - Y ~ N(m, S),
    E exp(-|X - Y|^2 / 2h^2) = det(I + S/h^2)^(-1/2) exp(-m^T (S + h^2 I)^(-1) m / 2)."""
    eye = np.eye(len(mu1))

    def mean_k(m: np.ndarray, s: np.ndarray, h: float) -> float:
        return float(np.linalg.det(eye + s / h**2) ** -0.5 * np.exp(-0.5 * m @ np.linalg.solve(s + h**2 * eye, m)))
    zero = np.zeros_like(mu1)
    return sum(mean_k(zero, 2 * cov1, h) + mean_k(zero, 2 * cov2, h) - 2 * mean_k(mu1 - mu2, cov1 + cov2, h)
               for h in widths)


def mode_counts(samples: np.ndarray, centres: np.ndarray, std: float) -> np.ndarray:
    """How many samples lie within MODE_RADIUS stds of each centre (K,); the rest are off-mode."""
    d = np.linalg.norm(samples[:, None, :] - centres[None], axis=-1)        # (N, K)
    near = d.min(1) <= MODE_RADIUS * std
    return np.bincount(d.argmin(1)[near], minlength=len(centres))


def modes_covered(counts: np.ndarray, n: int) -> int:
    """Modes holding at least COVERED_SHARE of the samples a perfect generator of n samples
    puts there (n / K)."""
    return int((counts >= max(1.0, COVERED_SHARE * n / len(counts))).sum())
