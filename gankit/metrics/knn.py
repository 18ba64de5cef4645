"""k-nearest-neighbour manifold metrics: precision/recall (Kynkäänniemi et al. 2019) and
density/coverage (Naeem et al. 2020). Use pre-ReLU features: dead units make k-NN balls meaningless.

``precision_recall`` works in float64 on the CPU; ``batched_precision_recall`` is the same definition
as NVlabs' ``compute_pr`` runs it (rows and columns in batches, float32, on any device), for 50k × 50k."""
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


def kth_radii(x: torch.Tensor, k: int, row_batch: int, col_batch: int) -> torch.Tensor:
    """NVlabs' radii: the (k+1)-th smallest distance from each row to all rows, itself included
    (``dist.kthvalue(k + 1)``), merged over column batches so memory stays row_batch × col_batch."""
    if x.shape[0] <= k:
        raise ValueError(f"need more than k={k} samples, got {x.shape[0]}")
    out = []
    for rows in x.split(row_batch):
        best = rows.new_empty(rows.shape[0], 0)
        for cols in x.split(col_batch):
            d = torch.cat([best, torch.cdist(rows, cols)], dim=1)
            best = d.topk(min(k + 1, d.shape[1]), dim=1, largest=False).values
        out.append(best[:, k])
    return torch.cat(out)


def covered(probes: torch.Tensor, manifold: torch.Tensor, radii: torch.Tensor, row_batch: int,
            col_batch: int) -> torch.Tensor:
    """For each probe, whether some manifold point ``j`` lies within ``radii[j]`` of it (bool)."""
    out = []
    for rows in probes.split(row_batch):
        hit = torch.zeros(rows.shape[0], dtype=torch.bool, device=rows.device)
        for cols, r in zip(manifold.split(col_batch), radii.split(col_batch)):
            hit |= (torch.cdist(rows, cols) <= r[None]).any(1)
        out.append(hit)
    return torch.cat(out)


def batched_precision_recall(real, fake, k: int = 3, row_batch: int = 10_000, col_batch: int = 10_000,
                             device="cpu", dtype=torch.float32) -> tuple[float, float]:
    """NVlabs' ``compute_pr`` (stylegan2-ada-pytorch, metrics/precision_recall.py): precision = share of
    fakes within the k-NN radius of some real, recall = share of reals within that of some fake."""
    real = torch.as_tensor(real).detach().to(device, dtype)
    fake = torch.as_tensor(fake).detach().to(device, dtype)
    results = []
    for manifold, probes in ((real, fake), (fake, real)):
        radii = kth_radii(manifold, k, row_batch, col_batch)
        results.append(float(covered(probes, manifold, radii, row_batch, col_batch).double().mean()))
    return results[0], results[1]


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
