"""What metrics and feature extractors declare: registration with docs, trained_on."""
import math

from gankit.config.registry import FEATURES, METRICS
from gankit.metrics.base import trained_on

from .test_knn import LINE


def test_metrics_are_registered_with_docs():
    for name in ("fd", "kid", "classifier_score", "mode_coverage", "precision_recall", "density_coverage"):
        assert METRICS.entry(name).doc
    assert math.isfinite(METRICS.build({"name": "kid", "subsets": 2}, "m")(LINE, LINE + 1)["kid"])


def test_trained_on_marks_a_factory_with_its_datasets():
    @trained_on("digits", "letters")
    def extractor(device="cpu"):
        return device

    assert extractor.trained_on == ("digits", "letters") and extractor("cuda") == "cuda"
    assert FEATURES.get("lenet_mnist").trained_on == ("mnist",)
    assert FEATURES.get("lenet_fashion_mnist").trained_on == ("fashion_mnist",)
    assert FEATURES.get("inception_v3").trained_on == ()  # declares none: the contract gives the empty default
