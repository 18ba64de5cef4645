"""The kernel distance (KID formula) against hand computations."""
import pytest
import torch

from gankit.metrics.kid import KernelDistance, mmd2_unbiased


def test_kid_same_distribution_near_zero_and_shifted_positive():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1000, 8, generator=g), torch.randn(1000, 8, generator=g)
    kid = KernelDistance(subsets=20, subset_size=500)
    same = kid(a, b)
    shifted = kid(a, b + 0.5)
    assert abs(same["kid"]) < 3 * same["kid_std"] + 1e-3
    assert shifted["kid"] > 100 * abs(same["kid"]) and shifted["kid"] > 5 * shifted["kid_std"]


def test_kid_single_pair_by_hand():
    # d = 1, x = {0, 1}, y = {2}: needs n ≥ 2, so y = {2, 2}
    x, y = torch.tensor([[0.0], [1.0]]), torch.tensor([[2.0], [2.0]])
    k = lambda a, b: (a * b + 1) ** 3  # noqa: E731
    sxx = 2 * k(0, 1) / 2
    syy = 2 * k(2, 2) / 2
    sxy = (k(0, 2) * 2 + k(1, 2) * 2) / 4
    assert mmd2_unbiased(x.double(), y.double()) == pytest.approx(sxx + syy - 2 * sxy)
