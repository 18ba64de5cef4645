"""k-nearest-neighbour manifold metrics: precision/recall (Kynkäänniemi et al. 2019) and
density/coverage (Naeem et al. 2020). Use pre-ReLU features: dead units make k-NN balls meaningless."""
import torch

from gankit.config.registry import METRICS
from gankit.metrics.base import Metric, as_float64

_CHUNK = 1024


def knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row."""
    if x.shape[0] <= k:
        raise ValueError(f"need more than k={k} samples, got {x.shape[0]}")
    out = [torch.cdist(c, x).topk(k + 1, dim=1, largest=False).values[:, k] for c in x.split(_CHUNK)]
    return torch.cat(out)


def ball_counts(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """For each point, the number of balls B(centre_i, radius_i) that contain it."""
    return torch.cat([(torch.cdist(c, centres) <= radii[None]).sum(1) for c in points.split(_CHUNK)])


def contained(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """For each centre, whether at least one point lies in its ball (bool, per centre)."""
    hit = torch.zeros(centres.shape[0], dtype=torch.bool)
    for c in points.split(_CHUNK):
        hit |= (torch.cdist(c, centres) <= radii[None]).any(0)
    return hit


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Precision: share of fakes inside the real manifold (union of real k-NN balls); recall: vice versa."""
    real, fake = as_float64(real), as_float64(fake)
    precision = (ball_counts(fake, real, knn_radii(real, k)) > 0).double().mean()
    recall = (ball_counts(real, fake, knn_radii(fake, k)) > 0).double().mean()
    return float(precision), float(recall)


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
    """Density: mean number of real k-NN balls holding a fake, over k; coverage: share of real balls holding a fake."""
    real, fake = as_float64(real), as_float64(fake)
    radii = knn_radii(real, k)
    density = ball_counts(fake, real, radii).double().sum() / (k * fake.shape[0])
    coverage = contained(fake, real, radii).double().mean()
    return float(density), float(coverage)


class _KNNMetric(Metric):
    """A pair of k-NN numbers: ``measure(real, fake, k)`` reported under ``keys``."""

    keys: tuple[str, str] = ()
    measure = None  # staticmethod(fn(real, fake, k) -> (a, b))

    def __init__(self, features: str | None = None, k: int = 3):
        super().__init__(features)
        if k < 1:
            raise ValueError("k must be ≥ 1")
        self.k = k

    def __call__(self, real, fake) -> dict[str, float]:
        return dict(zip(self.keys, self.measure(real, fake, self.k)))


@METRICS.register("precision_recall")
class PrecisionRecall(_KNNMetric):
    """k-NN precision (fidelity) and recall (diversity) of generated vs real features (Kynkäänniemi 2019)."""

    keys, measure = ("precision", "recall"), staticmethod(precision_recall)


@METRICS.register("density_coverage")
class DensityCoverage(_KNNMetric):
    """k-NN density (fidelity, ≈1 for real) and coverage (diversity) of generated vs real features (Naeem 2020)."""

    keys, measure = ("density", "coverage"), staticmethod(density_coverage)

    def __init__(self, features: str | None = None, k: int = 5):
        super().__init__(features, k)
