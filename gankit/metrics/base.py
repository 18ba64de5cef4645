"""What a metric and a feature extractor look like to the evaluator."""
import torch


class Metric:
    """A metric compares real and generated outputs of one feature extractor.

    ``input`` names the extractor output it reads: ``"features"`` (penultimate-layer
    activations) or ``"probs"`` (class probabilities). ``features`` names the extractor
    (None = the evaluator's default for the data). ``__call__`` returns a dict of numbers.
    A metric with ``labels = True`` (class-conditional generators only) is also given
    ``real_labels`` and ``fake_labels``, the classes of the real rows and of the generated ones.
    A metric with ``heldout = True`` is also given ``heldout``, the same extractor output for real
    images kept out of training (from its ``source``, see ``gankit.data.holdout``); ``real`` is
    then the training images.
    ``num_samples``: generated samples it reads (the first N of the evaluator's draw) when it fixes its
    own count, as the papers' presets do (None: ``eval.num_samples``); ``full_reference = True``: it
    compares with every real image, so ``eval.real_samples`` must leave none out.
    """

    input = "features"
    labels = False
    heldout = False
    num_samples: int | None = None
    full_reference = False

    def __init__(self, features: str | None = None):
        self.features = features

    def __call__(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        raise NotImplementedError


def as_float64(x) -> torch.Tensor:
    return torch.as_tensor(x).detach().to("cpu", torch.float64)


def trained_on(*datasets: str):
    """Decorator for a feature-extractor factory: the datasets (``data.name``) its network was
    trained on. The evaluator picks it by default for those datasets (``default_features``)."""

    def mark(factory):
        factory.trained_on = tuple(datasets)
        return factory

    return mark
