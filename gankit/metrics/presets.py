"""The metrics the papers report, as NVlabs' stylegan2-ada-pytorch computes them (metrics/metric_main.py).

``fid50k_full``: FID of 50,000 generated images against every real training image (no x-flips);
``kid50k_full``: KID over 100 subsets of 1,000 (NVlabs: up to 1M real images, i.e. all of them);
``is50k``: Inception Score of 50,000 generated images over 10 consecutive splits (mean and std).
``pr50k3_full``: improved precision and recall (k = 3) of 50,000 generated images vs every real image.
These three read Inception-v3 (torch-fidelity's port of the 2015-12-05 TensorFlow graph, ``inception_v3``);
``pr50k3_full`` reads the fc7 features of NVlabs' VGG16 (``vgg16_pr``).
A preset fixes its own counts: it declares ``num_samples`` (generated images, whatever
``eval.num_samples`` says; the first N of the evaluator's seeded draw) and ``full_reference`` (every
real image: ``eval.real_samples`` must be null). Its key is the preset's name, as NVlabs logs it.
"""
import torch

from gankit.config.registry import METRICS
from gankit.metrics.base import Metric, as_float64
from gankit.metrics.frechet import frechet_distance, gaussian_fit
from gankit.metrics.kid import kernel_distance
from gankit.metrics.knn import batched_precision_recall

PAPER_SAMPLES = 50_000


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """Mean and (population) std over ``splits`` consecutive chunks of exp(E_x KL(p(y|x) ‖ p(y)))."""
    p = as_float64(probs)
    n = p.shape[0]
    if n < splits:
        raise ValueError(f"need at least {splits} samples for {splits} splits, got {n}")
    scores = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        py = part.mean(0, keepdim=True)
        kl = torch.where(part > 0, part * (part.clamp_min(1e-300).log() - py.clamp_min(1e-300).log()), 0.0)
        scores.append(kl.sum(1).mean().exp())
    scores = torch.stack(scores)
    return float(scores.mean()), float(scores.std(unbiased=False))


class Preset(Metric):
    """A paper metric with fixed counts: ``num_samples`` generated vs every real image (``full_reference``)."""

    num_samples = PAPER_SAMPLES
    full_reference = True

    def __init__(self, features: str | None = "inception_v3"):
        super().__init__(features)


@METRICS.register("fid50k_full")
class FID50kFull(Preset):
    """NVlabs' fid50k_full: FID of 50k generated images vs every real image, Inception-v3 pool features."""

    def __call__(self, real, fake) -> dict[str, float]:
        return {"fid50k_full": frechet_distance(*gaussian_fit(real), *gaussian_fit(fake))}


@METRICS.register("kid50k_full")
class KID50kFull(Preset):
    """NVlabs' kid50k_full: KID (100 subsets of 1,000) of 50k generated images vs every real image, Inception-v3."""

    def __call__(self, real, fake) -> dict[str, float]:
        return {"kid50k_full": kernel_distance(real, fake, subsets=100, subset_size=1000, seed=0)[0]}


@METRICS.register("is50k")
class IS50k(Preset):
    """NVlabs' is50k: Inception Score of 50k generated images, mean and std over 10 splits (no real images)."""

    input = "probs"
    full_reference = False

    def __call__(self, real, fake) -> dict[str, float]:
        mean, std = inception_score(fake, splits=10)
        return {"is50k_mean": mean, "is50k_std": std}


@METRICS.register("pr50k3_full")
class PR50k3Full(Preset):
    """NVlabs' pr50k3_full: precision and recall (k = 3) of 50k generated images vs every real image, VGG16 fc7."""

    on_device = True
    nhood_size, row_batch, col_batch = 3, 10_000, 10_000  # NVlabs' compute_pr arguments

    def __init__(self, features: str | None = "vgg16_pr"):
        super().__init__(features)

    def __call__(self, real, fake, device="cpu") -> dict[str, float]:
        precision, recall = batched_precision_recall(real, fake, self.nhood_size, self.row_batch, self.col_batch,
                                                     device=device)
        return {"pr50k3_full_precision": precision, "pr50k3_full_recall": recall}
