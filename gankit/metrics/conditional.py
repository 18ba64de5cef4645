"""Metrics of class-conditional generators: does each sample show the class it was asked for,
and does each class look like the real images of that class?

They read labels besides features (``labels = True``): the evaluator passes the real images'
labels and the labels the samples were generated with.
"""
import torch

from gankit.config.registry import METRICS
from gankit.metrics.base import Metric, as_float64
from gankit.metrics.frechet import frechet_distance, gaussian_fit


@METRICS.register("label_agreement")
class LabelAgreement(Metric):
    """Share of generated samples the classifier assigns to the label they were generated for; 1 is best."""

    input = "probs"
    labels = True

    def __call__(self, real, fake, real_labels=None, fake_labels=None) -> dict[str, float]:
        hits = as_float64(fake).argmax(1) == torch.as_tensor(fake_labels).cpu()
        return {"label_agreement": float(hits.double().mean())}


@METRICS.register("intra_fd")
class IntraFD(Metric):
    """Mean over classes of the FD between a class's real and generated features (intra-FID); lower is better.

    Miyato & Koyama 2018. Classes drawn well under the wrong labels, or drawn as images the
    classifier still calls right but that look nothing like the class, score badly.
    """

    labels = True

    def __call__(self, real, fake, real_labels=None, fake_labels=None) -> dict[str, float]:
        real_labels, fake_labels = torch.as_tensor(real_labels).cpu(), torch.as_tensor(fake_labels).cpu()
        fds = []
        for k in torch.unique(fake_labels).tolist():
            r, f = real[real_labels == k], fake[fake_labels == k]
            if r.shape[0] < 2 or f.shape[0] < 2:
                raise ValueError(f"class {k} has {r.shape[0]} real and {f.shape[0]} generated samples; need ≥ 2 each")
            fds.append(frechet_distance(*gaussian_fit(r), *gaussian_fit(f)))
        return {"intra_fd": sum(fds) / len(fds)}
