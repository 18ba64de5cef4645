"""The metric formulas against hand computations on constructed inputs."""
import math

import numpy as np
import pytest
import torch

from gankit.metrics.classifier import ClassifierScore, ModeCoverage, classifier_score
from gankit.metrics.frechet import FrechetDistance, frechet_distance, gaussian_fit
from gankit.metrics.kid import KernelDistance, mmd2_unbiased
from gankit.metrics.knn import density_coverage, knn_radii, precision_recall
from gankit.config.registry import METRICS


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


def test_classifier_score_uniform_is_one_and_confident_balanced_is_ten():
    uniform = torch.full((100, 10), 0.1)
    onehot = torch.eye(10).repeat(10, 1)
    assert classifier_score(uniform) == pytest.approx(1.0)
    assert ClassifierScore()(None, onehot)["classifier_score"] == pytest.approx(10.0)
    # all samples confidently the same class: p(y) = p(y|x), score 1
    assert classifier_score(torch.eye(10)[[3] * 50]) == pytest.approx(1.0)


def test_mode_coverage_counts_classes_above_one_percent():
    counts = {0: 500, 1: 300, 2: 195, 3: 5}  # class 3 holds 0.5 %: not a mode
    labels = torch.cat([torch.full((n,), c) for c, n in counts.items()])
    probs = torch.nn.functional.one_hot(labels, 10).float() * 0.9 + 0.01
    out = ModeCoverage()(None, probs)
    p = np.array([500, 300, 195, 5]) / 1000
    assert out["modes"] == 3
    assert out["modes_kl"] == pytest.approx(float((p * np.log(10 * p)).sum()))
    balanced = ModeCoverage()(None, torch.eye(10).repeat(3, 1))
    assert balanced == {"modes": 10.0, "modes_kl": pytest.approx(0.0, abs=1e-12)}


LINE = torch.tensor([[float(i), 0.0] for i in range(10)])  # real points 0..9 on a line


def test_knn_radii_by_hand():
    assert knn_radii(LINE, 3).tolist() == [3, 2, 2, 2, 2, 2, 2, 2, 2, 3]
    assert knn_radii(LINE, 5).tolist() == [5, 4, 3, 3, 3, 3, 3, 3, 4, 5]


def test_precision_recall_on_a_line():
    assert precision_recall(LINE, LINE.clone(), k=3) == (1.0, 1.0)
    assert precision_recall(LINE, LINE + 100, k=3) == (0.0, 0.0)
    # fakes 0..4: all inside real balls; their balls reach up to 7, so reals 0..7 are covered
    assert precision_recall(LINE, LINE[:5], k=3) == (1.0, pytest.approx(0.8))


def test_density_coverage_on_a_line():
    # one fake at 0 lies in the k=5 balls of reals 0, 1, 2, 3 (radii 5, 4, 3, 3): density 4/5, coverage 4/10
    d, c = density_coverage(LINE, LINE[:1], k=5)
    assert (d, c) == (pytest.approx(0.8), pytest.approx(0.4))
    d, c = density_coverage(LINE, LINE.clone(), k=5)
    assert c == 1.0 and d > 1.0


def test_metrics_are_registered_with_docs():
    for name in ("fd", "kid", "classifier_score", "mode_coverage", "precision_recall", "density_coverage"):
        assert METRICS.entry(name).doc
    assert math.isfinite(METRICS.build({"name": "kid", "subsets": 2}, "m")(LINE, LINE + 1)["kid"])
