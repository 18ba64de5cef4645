"""What a metric and a feature extractor are to the evaluator: every member each may have, in one place.

Subclass ``Metric`` (or ``FeatureExtractor``) and the optional members keep the defaults below. One
registered without subclassing it (duck typing) is seen through it when built
(``gankit.config.contracts``); one that lacks a required member is refused then, naming it.
"""
from typing import Protocol

import torch

from gankit.config.contracts import Contract, lacks, stand_in
from gankit.config.registry import FEATURES, METRICS


class Metric(Protocol):
    """A metric compares real and generated outputs of one feature extractor.

    ``__call__(real, fake)`` (required) returns a dict of numbers. ``input`` names the extractor
    output it reads: ``"features"`` (penultimate-layer activations) or ``"probs"`` (class
    probabilities). ``features`` names the extractor (None = the evaluator's default for the data).
    A metric with ``labels = True`` (class-conditional generators only) is also given
    ``real_labels`` and ``fake_labels``, the classes of the real rows and of the generated ones.
    A metric with ``heldout = True`` is also given ``heldout``, the same extractor output for real
    images kept out of training (from its ``source``, see ``gankit.data.holdout``); ``real`` is
    then the training images.
    ``num_samples``: generated samples it reads (the first N of the evaluator's draw) when it fixes its
    own count, as the papers' presets do (None: ``eval.num_samples``); ``full_reference = True``: it
    compares with every real image, so ``eval.real_samples`` must leave none out.
    A metric with ``on_device = True`` is also given ``device``, the evaluator's device, to compute on
    (the features come on the CPU; ``pr50k3_full`` moves them there for its 50k × 50k distances).
    """

    input: str = "features"  # "features" | "probs" (an output of the extractor)
    features: str | None = None  # a FEATURES entry; None: the evaluator's default for the data
    labels: bool = False
    heldout: bool = False
    source: str = "auto"  # where held-out images come from (heldout = True): auto | holdout | test
    num_samples: int | None = None  # a preset's own count of generated images (None: eval.num_samples)
    full_reference: bool = False  # a preset compares with every real image (eval.real_samples must be null)
    on_device: bool = False  # it is also given device=, the evaluator's device, to compute on

    def __init__(self, features: str | None = None):
        self.features = features

    @stand_in
    def __call__(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        raise NotImplementedError(f"{type(self).__name__} gives no __call__(real, fake)")


class FeatureExtractor(Protocol):
    """A network whose outputs metrics compare (built by a FEATURES factory, which may declare
    the datasets it was trained on with ``@trained_on(...)``).

    * ``extract(images)`` (required): ``{output name: (N, …) tensor}`` for images in [-1, 1].
    * ``outputs`` (required): the names ``extract`` gives, e.g. ``("features", "probs")``.
    * ``weights_sha256`` (required): the hash of its weights (cached real features are keyed by it).
    * ``fast``: whether it computes in reduced precision (cached apart from full precision).
    """

    outputs: tuple[str, ...]
    weights_sha256: str
    fast: bool = False

    @stand_in
    def extract(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} gives no extract(images)")


def as_float64(x) -> torch.Tensor:
    return torch.as_tensor(x).detach().to("cpu", torch.float64)


def trained_on(*datasets: str):
    """Decorator for a feature-extractor factory: the datasets (``data.name``) its network was
    trained on. The evaluator picks it by default for those datasets (``default_features``)."""

    def mark(factory):
        factory.trained_on = tuple(datasets)
        return factory

    return mark


def _untrained(factory):
    """A FEATURES factory that declares no dataset: ``trained_on`` is empty."""
    if not hasattr(factory, "trained_on"):
        factory.trained_on = ()
    return factory


METRICS.follow(Contract(Metric, lambda m: lacks(m, "__call__(real, fake)")))
FEATURES.follow(Contract(FeatureExtractor, lambda ex: lacks(ex, "extract(images)", "outputs", "weights_sha256"),
                         registered=_untrained))
