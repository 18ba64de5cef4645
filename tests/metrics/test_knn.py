"""k-NN precision/recall and density/coverage on points of a line, by hand; NVlabs' batched
precision/recall against a brute-force float64 reference."""
import pytest
import torch

from gankit.metrics.knn import (DensityCoverage, PrecisionRecall, batched_precision_recall, density_coverage,
                                kth_radii, knn_radii, precision_recall)


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


def test_knn_metrics_report_their_keys_and_refuse_k_below_one():
    assert PrecisionRecall()(LINE, LINE.clone()) == {"precision": 1.0, "recall": 1.0}
    out = DensityCoverage(k=5)(LINE, LINE[:1])
    assert out == {"density": pytest.approx(0.8), "coverage": pytest.approx(0.4)}
    for cls in (PrecisionRecall, DensityCoverage):
        with pytest.raises(ValueError, match="k must be ≥ 1"):
            cls(k=0)
    assert (PrecisionRecall().k, DensityCoverage().k) == (3, 5)


def brute_force_pr(real, fake, k):
    """Kynkäänniemi et al. 2019 as NVlabs' compute_pr defines it, on the whole distance matrices in float64:
    radius = (k+1)-th smallest distance within a set (itself included); a probe counts when it lies
    within the radius of some point of the other set."""
    real, fake = real.double(), fake.double()

    def dist(a, b):
        return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1).sqrt()

    def share(probes, manifold):
        radii = dist(manifold, manifold).sort(1).values[:, k]
        return (dist(probes, manifold) <= radii[None]).any(1).double().mean().item()

    return share(fake, real), share(real, fake)


def _clouds(seed, n_real=83, n_fake=61, d=7):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n_real, d, generator=g), torch.randn(n_fake, d, generator=g) * 1.3 + 0.4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batched_precision_recall_is_the_brute_force_definition(seed):
    real, fake = _clouds(seed)
    ref = brute_force_pr(real, fake, 3)
    assert 0 < ref[0] < 1 and 0 < ref[1] < 1  # neither trivial 0 nor 1
    assert batched_precision_recall(real, fake, 3, dtype=torch.float64) == ref
    assert batched_precision_recall(real, fake, 3) == ref  # float32 (the preset's): no point on a radius here
    assert precision_recall(real, fake, k=3) == pytest.approx(ref, abs=1e-12)  # gankit's float64 version agrees
    assert brute_force_pr(real, fake, 5) == batched_precision_recall(real, fake, 5, dtype=torch.float64)


def test_batch_sizes_do_not_change_radii_or_result():
    real, fake = _clouds(3)
    whole = kth_radii(real, 3, 10_000, 10_000)
    assert torch.allclose(whole, knn_radii(real.double(), 3).float(), rtol=1e-5)
    for rows, cols in [(1, 1), (7, 5), (16, 83), (83, 4), (10_000, 10_000)]:
        # cdist's float32 rounding depends on the block's shape (it uses a matmul above 25 rows or columns)
        assert torch.allclose(kth_radii(real, 3, rows, cols), whole, rtol=1e-6)
        assert batched_precision_recall(real, fake, 3, rows, cols) == batched_precision_recall(real, fake, 3)


def test_batched_precision_recall_on_a_line():
    assert batched_precision_recall(LINE, LINE[:5], 3, 3, 4) == (1.0, 0.8)  # as precision_recall, by hand above
    assert batched_precision_recall(LINE, LINE + 100, 3) == (0.0, 0.0)
    with pytest.raises(ValueError, match="need more than k=3"):
        batched_precision_recall(LINE, LINE[:3], 3)
