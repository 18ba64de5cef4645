"""Each generated sample beside its nearest training images: the picture people judge memorisation by.

Distances are measured in the feature space of the extractor the run's metrics use (LeNet for
small images, Inception-v3 for large ones, or the one the recipe's metrics name), over every
training image of the run's recipe (``data.holdout`` images excluded, as in training). The
training features come from the evaluation cache (``gankit.metrics.cache``), so a second look at
the same run, or a run on the same data, only extracts the generated samples.
"""
from typing import NamedTuple

import torch
from omegaconf import DictConfig

from gankit.data.base import ImageData, to_unit_range
from gankit.errors import GankitError
from gankit.metrics.evaluation import Evaluator, default_features
from gankit.store.grids import tile

_CHUNK = 1024
_SLACK = 8  # candidates beyond k found in float32, whose exact distances settle the order


class Neighbours(NamedTuple):
    samples: torch.Tensor  # (N, C, H, W) generated, in [-1, 1]
    images: torch.Tensor  # (N, K, C, H, W) their nearest training images, in [-1, 1]
    distances: torch.Tensor  # (N, K) float64, ascending
    indices: torch.Tensor  # (N, K) indices into the training data
    features: str  # the extractor


def nearest(query: torch.Tensor, ref: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(distances (N, k) float64 ascending, indices (N, k)) of each query row's k nearest ``ref`` rows.

    Candidates are found in float32 on centred features (one matrix product per chunk), then their
    distances recomputed in float64, so an exact copy of a training image is at distance 0."""
    if not 1 <= k <= ref.shape[0]:
        raise GankitError(f"--k: must be from 1 to the number of training images ({ref.shape[0]}), got {k}.")
    mu = ref.double().mean(0)
    r32 = (ref.double() - mu).float()
    r2 = (r32 * r32).sum(1)
    kc = min(ref.shape[0], k + _SLACK)
    dists, idx = [], []
    for q in query.split(_CHUNK):
        cand = torch.addmm(r2, (q.double() - mu).float(), r32.T, alpha=-2).topk(kc, dim=1, largest=False).indices
        exact = (q.double()[:, None] - ref[cand].double()).norm(dim=2)
        order = exact.argsort(dim=1, stable=True)[:, :k]
        dists.append(exact.gather(1, order))
        idx.append(cand.gather(1, order))
    return torch.cat(dists), torch.cat(idx)


def extractor_name(cfg: DictConfig, data: ImageData) -> str:
    """The extractor the recipe's metrics use: the first one a metric names, else the dataset's default."""
    for node in cfg.metrics or []:
        if isinstance(node, (dict, DictConfig)) and node.get("features"):
            return str(node["features"])
    return default_features(cfg.data.get("name"), data.img_shape)


def find_neighbours(samples: torch.Tensor, cfg: DictConfig, data: ImageData, k: int, features: str | None = None,
                    device="cpu") -> Neighbours:
    """The ``k`` nearest training images of each generated sample (images in [-1, 1]).

    ``cfg`` must have ``eval.real_samples`` unset, so that every training image is searched."""
    name = features or extractor_name(cfg, data)
    evaluator = Evaluator(cfg, data, device, metrics=[{"name": "fd", "features": name}])
    train = evaluator.reference(name)["features"]
    rows = evaluator.real_indices()
    fake = evaluator.extractor(name).extract(samples.to(device))["features"].cpu()
    dist, idx = nearest(fake, train, k)
    idx = rows[idx]
    images = to_unit_range(data.images[idx.flatten()]).reshape(*idx.shape, *data.img_shape)
    return Neighbours(samples.cpu(), images, dist, idx, name)


def sheet(result: Neighbours, padding: int = 2) -> torch.Tensor:
    """One RGB image in [0, 1]: a row per sample, the sample first (framed in red), then its neighbours."""
    n, k = result.indices.shape
    cells = torch.cat([result.samples[:, None], result.images], 1).flatten(0, 1).float().clamp(-1, 1)
    cells = (cells + 1) / 2
    if cells.shape[1] == 1:
        cells = cells.expand(-1, 3, -1, -1)
    grid = tile(cells, nrow=k + 1, padding=padding, pad_value=1.0)
    h, w = cells.shape[-2:]
    red = torch.tensor([1.0, 0.0, 0.0])[:, None, None]
    for r in range(n):
        y0, y1 = r * (h + padding), r * (h + padding) + h + 2 * padding
        grid[:, y0:y1, 0:padding] = red
        grid[:, y0:y1, w + padding:w + 2 * padding] = red
        grid[:, y0:y0 + padding, 0:w + 2 * padding] = red
        grid[:, y1 - padding:y1, 0:w + 2 * padding] = red
    return grid
