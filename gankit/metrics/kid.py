"""Kernel distance: unbiased MMD² with a cubic polynomial kernel, averaged over subsets."""
import torch

from gankit.config.registry import METRICS
from gankit.metrics.base import Metric, as_float64


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD² with k(a, b) = (a·b / d + 1)³ (diagonals of k(x,x), k(y,y) excluded)."""
    d = x.shape[1]
    m, n = x.shape[0], y.shape[0]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    sxx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    syy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(sxx + syy - 2 * kxy.mean())


def kernel_distance(real, fake, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Mean and std of unbiased MMD² over random subsets (without replacement within a subset)."""
    real, fake = as_float64(real), as_float64(fake)
    size = min(subset_size, real.shape[0], fake.shape[0])
    if size < 2:
        raise ValueError(f"need at least 2 samples per set, got {real.shape[0]} and {fake.shape[0]}")
    g = torch.Generator().manual_seed(seed)
    vals = torch.tensor([
        mmd2_unbiased(real[torch.randperm(real.shape[0], generator=g)[:size]],
                      fake[torch.randperm(fake.shape[0], generator=g)[:size]])
        for _ in range(subsets)
    ], dtype=torch.float64)
    return float(vals.mean()), float(vals.std(unbiased=True)) if subsets > 1 else 0.0


@METRICS.register("kid")
class KernelDistance(Metric):
    """Unbiased MMD² with a cubic polynomial kernel on features (KID formula), mean and std over subsets."""

    def __init__(self, features: str | None = None, subsets: int = 100, subset_size: int = 1000, seed: int = 0):
        super().__init__(features)
        if subsets < 1 or subset_size < 2:
            raise ValueError("subsets must be ≥ 1 and subset_size ≥ 2")
        self.subsets, self.subset_size, self.seed = subsets, subset_size, seed

    def __call__(self, real, fake) -> dict[str, float]:
        mean, std = kernel_distance(real, fake, self.subsets, self.subset_size, self.seed)
        return {"kid": mean, "kid_std": std}
