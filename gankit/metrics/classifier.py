"""Metrics of a classifier's predictions on generated samples: classifier score, mode coverage."""

import torch

from gankit.config.registry import METRICS
from gankit.metrics.base import Metric, as_float64


def classifier_score(probs) -> float:
    """exp(E_x[KL(p(y|x) ‖ p(y))]) with p(y) the mean prediction (the Inception Score formula)."""
    p = as_float64(probs)
    py = p.mean(0, keepdim=True)
    kl = torch.where(p > 0, p * (p.clamp_min(1e-300).log() - py.clamp_min(1e-300).log()), 0.0).sum(1)
    return float(kl.mean().exp())


def class_histogram(probs) -> torch.Tensor:
    """Fraction of samples whose most likely class is each class."""
    p = as_float64(probs)
    return torch.bincount(p.argmax(1), minlength=p.shape[1]).double() / p.shape[0]


@METRICS.register("classifier_score")
class ClassifierScore(Metric):
    """exp(E[KL(p(y|x) ‖ p(y))]) of the classifier's softmax on generated samples; 1 (worst) to #classes."""

    input = "probs"

    def __call__(self, real, fake) -> dict[str, float]:
        return {"classifier_score": classifier_score(fake)}


@METRICS.register("mode_coverage")
class ModeCoverage(Metric):
    """Classes holding ≥ min_fraction of generated samples (`modes`) and KL(class histogram ‖ uniform) (`modes_kl`)."""

    input = "probs"

    def __init__(self, features: str | None = None, min_fraction: float = 0.01):
        super().__init__(features)
        if not 0 <= min_fraction < 1:
            raise ValueError("min_fraction must be in [0, 1)")
        self.min_fraction = min_fraction

    def __call__(self, real, fake) -> dict[str, float]:
        h = class_histogram(fake)
        k = h.shape[0]
        kl = torch.where(h > 0, h * (h.clamp_min(1e-300) * k).log(), 0.0).sum()
        return {"modes": float((h >= self.min_fraction).sum()), "modes_kl": float(kl)}


