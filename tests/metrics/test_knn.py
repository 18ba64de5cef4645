"""k-NN precision/recall and density/coverage on points of a line, by hand."""
import pytest
import torch

from gankit.metrics.knn import DensityCoverage, PrecisionRecall, density_coverage, knn_radii, precision_recall


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
