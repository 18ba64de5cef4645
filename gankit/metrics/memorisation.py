"""Memorisation: are generated samples closer to the training images than fresh real images are?

A low FD can come from copying training images. In the extractor's feature space, each generated
sample's distance to its nearest training image is compared with the same distance for real
images that training never saw (``gankit.data.holdout``: ``data.holdout: N`` or the dataset's test
split). τ is the q-quantile of the held-out distances:

* ``memorised``: share of generated samples nearer to a training image than τ. About q for a
  generator as novel as fresh real data, towards 1 for one that copies training images.
* ``nn_ratio``: median generated nearest-training distance / median held-out one. About 1 for
  novel samples, towards 0 for copies (well above 1: samples far from every real image).

The training side is the evaluator's reference features (all training images, or the
``eval.real_samples`` subset: then both distances grow alike and the comparison stays fair).
"""
import torch

from gankit.config.registry import METRICS
from gankit.data.holdout import SOURCES
from gankit.errors import GankitError
from gankit.metrics.base import Metric

_CHUNK = 1024

NO_HELDOUT = ("memorisation: no held-out real images to compare with. Set data.holdout: N in the recipe "
              "(e.g. data.holdout: 2000) to keep N real images out of training, or train on a dataset with "
              "a test split (split: train), whose test split is then used.")


def nearest_distances(query, ref, chunk: int = _CHUNK) -> torch.Tensor:
    """Euclidean distance (float64) from each row of ``query`` to its nearest row of ``ref``.

    The nearest row is found in float32 by one matrix product per chunk of queries (features
    centred first, which keeps the ‖q‖² + ‖r‖² − 2 q·r round-off small), and its distance is then
    recomputed exactly, so a copy of a reference row is at distance 0."""
    query, ref = (torch.as_tensor(t).detach().cpu() for t in (query, ref))
    if query.dim() != 2 or ref.dim() != 2 or query.shape[1] != ref.shape[1] or ref.shape[0] == 0:
        raise ValueError(f"need (N, D) query and non-empty (M, D) reference features, got "
                         f"{tuple(query.shape)} and {tuple(ref.shape)}")
    mu = ref.double().mean(0)
    r32 = (ref.double() - mu).float()
    r2 = (r32 * r32).sum(1)
    out = []
    for q in query.split(chunk):
        q32 = (q.double() - mu).float()
        nearest = torch.addmm(r2, q32, r32.T, alpha=-2).argmin(1)  # ‖r‖² − 2 q·r: the ‖q‖² term does not change it
        out.append((q.double() - ref[nearest].double()).norm(dim=1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)


def memorisation(train, fake, heldout, q: float = 0.05) -> dict[str, float]:
    """``memorised`` and ``nn_ratio`` of generated features ``fake`` (see the module doc)."""
    if heldout is None or len(heldout) == 0:
        raise GankitError(NO_HELDOUT)
    d_fake, d_held = nearest_distances(fake, train), nearest_distances(heldout, train)
    if d_fake.numel() == 0:
        raise ValueError("no generated samples")
    tau = torch.quantile(d_held, q)
    med_held = torch.quantile(d_held, 0.5)
    if med_held <= 0:
        raise GankitError("memorisation: most held-out images are exact duplicates of training images (median "
                          "nearest-training distance 0), so they cannot stand for fresh data. Remove the duplicates "
                          "from the dataset, or use another held-out source.")
    return {"memorised": float((d_fake < tau).double().mean()),
            "nn_ratio": float(torch.quantile(d_fake, 0.5) / med_held)}


@METRICS.register("memorisation")
class Memorisation(Metric):
    """Copying check: share of samples nearer a training image than held-out real ones (≈ q novel, → 1 copied), nn_ratio.

    ``q``: the quantile of held-out nearest-training distances that sets the threshold τ.
    ``source``: the held-out images: ``auto`` (``data.holdout`` when set, else the dataset's
    test split), ``holdout`` or ``test`` (``gankit.data.holdout``).
    """

    heldout = True

    def __init__(self, features: str | None = None, q: float = 0.05, source: str = "auto"):
        super().__init__(features)
        if not 0 < q < 1:
            raise ValueError(f"q must be in (0, 1), got {q}")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        self.q, self.source = float(q), source

    def __call__(self, real, fake, heldout=None) -> dict[str, float]:
        return memorisation(real, fake, heldout, self.q)
