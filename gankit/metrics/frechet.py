"""Fréchet distance between Gaussian fits of two feature sets (the FID formula)."""
import torch

from gankit.config.registry import METRICS
from gankit.metrics.base import Metric, as_float64


def gaussian_fit(x) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance (float64) of the rows of ``x``."""
    x = as_float64(x)
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 samples for a covariance, got {x.shape[0]}")
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (x.shape[0] - 1)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """‖μ1 − μ2‖² + tr(Σ1) + tr(Σ2) − 2 tr((Σ1 Σ2)^½), in float64.

    tr((Σ1 Σ2)^½) is the sum of the square roots of the eigenvalues of Σ1 Σ2 (real and ≥ 0 in
    exact arithmetic for covariances; tiny negative or imaginary round-off is dropped), which
    avoids the unstable matrix square root.
    """
    mu1, sigma1, mu2, sigma2 = (as_float64(t) for t in (mu1, sigma1, mu2, sigma2))
    eig = torch.linalg.eigvals(sigma1 @ sigma2)
    tr_sqrt = eig.real.clamp(min=0).sqrt().sum()
    d = ((mu1 - mu2) ** 2).sum() + sigma1.trace() + sigma2.trace() - 2 * tr_sqrt
    return float(d)


@METRICS.register("fd")
class FrechetDistance(Metric):
    """Fréchet distance between Gaussian fits of real and generated features (FID formula); lower is better."""

    def __call__(self, real, fake) -> dict[str, float]:
        return {"fd": frechet_distance(*gaussian_fit(real), *gaussian_fit(fake))}
