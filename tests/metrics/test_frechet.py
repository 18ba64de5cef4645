"""The Fréchet distance (FID formula) against closed forms and scipy."""
import numpy as np
import pytest
import torch

from gankit.metrics.frechet import FrechetDistance, frechet_distance, gaussian_fit


def test_fd_closed_form_diagonal():
    # ‖Δμ‖² + Σ(σ1 − σ2)² for diagonal covariances: 1 + 4 + (1 − 2)² + (2 − 3)² = 7
    fd = frechet_distance(torch.zeros(2), torch.diag(torch.tensor([1.0, 4.0])),
                          torch.tensor([1.0, 2.0]), torch.diag(torch.tensor([4.0, 9.0])))
    assert fd == pytest.approx(7.0, abs=1e-10)


def test_fd_matches_scipy_sqrtm_for_non_commuting_covariances():
    from scipy import linalg

    g = np.random.default_rng(0)
    a, b = g.normal(size=(5, 5)), g.normal(size=(5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu1, mu2 = g.normal(size=5), g.normal(size=5)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2)).real
    got = frechet_distance(*(torch.from_numpy(t) for t in (mu1, s1, mu2, s2)))
    assert got == pytest.approx(expected, rel=1e-9)


def test_fd_of_samples_approaches_the_gaussian_closed_form():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40000, 2, generator=g)
    y = 1.0 + 2.0 * torch.randn(40000, 2, generator=g)  # N(1, 4I): Δμ² = 2, Σ(σ1 − σ2)² = 2
    assert FrechetDistance()(x, y)["fd"] == pytest.approx(4.0, abs=0.1)


def test_fd_of_identical_sets_is_zero():
    x = torch.randn(500, 16, generator=torch.Generator().manual_seed(1))
    assert abs(FrechetDistance()(x, x.clone())["fd"]) < 1e-8


def test_gaussian_fit_needs_two_samples():
    with pytest.raises(ValueError):
        gaussian_fit(torch.zeros(1, 3))
