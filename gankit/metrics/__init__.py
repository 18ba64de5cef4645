"""Offline evaluation: metrics of real vs generated samples and the feature extractors they use.

Importing this package registers the built-in metrics (``METRICS``) and feature extractors
(``FEATURES``); heavy libraries (scipy, torchmetrics) are imported only when a metric runs.
"""
from gankit.metrics import frechet, kid, classifier, knn, conditional, memorisation  # noqa: F401  (register metrics)
from gankit.metrics import presets  # noqa: F401  (the papers' metrics: fid50k_full, kid50k_full, is50k, pr50k3_full)
from gankit.metrics import lenet, inception, dinov2, vgg16  # noqa: F401  (register feature extractors)
