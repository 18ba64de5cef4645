"""Real images kept out of training, for metrics that need fresh real data (``memorisation``).

Two sources of held-out images, one rule for choosing between them:

* ``data.holdout: N`` (any dataset; default 0 = none). The recipe key is popped from the data
  node before the dataset is built (``gankit.config.run_keys.split_holdout``), so datasets never see it; the built
  ``ImageData`` is then split (``hold_out``): N images leave the training set and ride along as
  ``data.heldout`` (images and labels). Which images is fixed by a constant seed, not by
  ``trainer.seed``, so every seed of a recipe trains on the same images and holds out the same
  ones; labelled data is held out in proportion to each class's share (stratified), and the
  held-out set for N is the first N of one fixed order (N + 1 holds out those N and one more).
* The dataset's test split. A dataset "has" one when its factory takes a ``split`` argument
  (``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100``) and the recipe does not already train on
  ``split: test``: the held-out images are then that dataset built with ``split: test`` and the
  recipe's other arguments (same root, same ``image_size``).

A metric names its ``source``: ``"holdout"`` (``data.holdout`` only), ``"test"`` (the test split
only) or ``"auto"`` (the default: ``data.holdout`` when set, else the test split when there is
one). With neither, ``heldout_images`` raises an error that says to set ``data.holdout: N``.
"""
import torch

from gankit.config.registry import DATASETS
from gankit.config.run_keys import split_holdout
from gankit.data.base import ImageData
from gankit.errors import GankitError

HOLDOUT_SEED = 0x5EED_0DA7  # fixed: the held-out images must not change with trainer.seed
SOURCES = ("auto", "holdout", "test")
TEST_SPLIT = "test"


def holdout_order(num_images: int, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Every index of the data, in the order images are held out (the first N are ``data.holdout: N``).

    A fixed seeded permutation; with labels, re-ordered so that every prefix takes each class in
    proportion to its size (image k of a class of size m comes at fraction (k + ½) / m)."""
    perm = torch.randperm(num_images, generator=torch.Generator().manual_seed(HOLDOUT_SEED))
    if labels is None or num_images == 0:
        return perm
    _, cls = torch.unique(torch.as_tensor(labels)[perm], return_inverse=True)
    counts = torch.bincount(cls)
    grouped = torch.argsort(cls, stable=True)  # positions by class, permutation order within each class
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty(num_images, dtype=torch.long)
    rank[grouped] = torch.arange(num_images) - starts[cls[grouped]]
    frac = (rank.double() + 0.5) / counts[cls].double()
    return perm[torch.argsort(frac, stable=True)]


def hold_out(data: ImageData, n: int, key: str = "data", name: str | None = None) -> ImageData:
    """The training part of ``data`` without its ``n`` held-out images, which it carries as ``heldout``."""
    if n == 0:
        return data
    if not 0 <= n < len(data):
        raise GankitError(
            f"{key}.holdout: cannot hold {n} images out of the {len(data)} images of "
            f"{repr(name) if name else 'the dataset'}: training needs at least one image left, and the held-out "
            f"images are taken from the data the recipe names. Set {key}.holdout to a whole number from 0 (none) to "
            f"{len(data) - 1}, typically a few thousand (e.g. {key}.holdout: 2000), or use a larger dataset.")
    order = holdout_order(len(data), data.labels)
    held, keep = order[:n].sort().values, order[n:].sort().values

    def part(idx, heldout=None):
        labels = data.labels[idx] if data.labels is not None else None
        return ImageData(data.images[idx].contiguous(), labels, data.num_classes, heldout)

    return part(keep, part(held))


def node_of_test_split(node: dict) -> dict | None:
    """The data node of the dataset's test split (without ``holdout``), or None when it has none (see the module doc)."""
    node, _ = split_holdout(node)
    if node.get("name") not in DATASETS:
        return None
    split = DATASETS.entry(node["name"]).parameters().get("split")
    if split is None or node.get("split", split.default) == TEST_SPLIT:
        return None
    return {**node, "split": TEST_SPLIT}


def heldout_source(data: ImageData, node: dict, source: str = "auto", key: str = "metric") -> str:
    """Where the held-out images come from: ``"holdout"`` or ``"test"``; an error when neither is available."""
    if source not in SOURCES:
        raise GankitError(f"{key}.source: '{source}' is not one of {', '.join(SOURCES)}.")
    _, n = split_holdout(node)
    if n and data.heldout is None:
        raise GankitError(f"{key}: the recipe sets data.holdout: {n}, but the data was built without it. "
                          f"Build the data with gankit.data.build.build_data(recipe).")
    if source != "test" and data.heldout is not None and len(data.heldout):
        return "holdout"
    if source != "holdout" and node_of_test_split(node) is not None:
        return "test"
    no_test = (f"the recipe trains on the test split of '{node.get('name')}'" if node.get("split") == TEST_SPLIT
               else f"dataset '{node.get('name')}' has no test split")
    why = {"holdout": "data.holdout is 0", "test": no_test, "auto": f"data.holdout is 0 and {no_test}"}[source]
    raise GankitError(
        f"{key}: this metric compares generated samples with real images that training never saw, and there are "
        f"none: {why}. Set data.holdout: N in the recipe (e.g. data.holdout: 2000) to keep N real images out of "
        f"training, or train on a dataset with a test split (split: train), whose test split is then used.")


def heldout_images(data: ImageData, node: dict, source: str = "auto", key: str = "metric") -> tuple[ImageData, str]:
    """The held-out real images of a run and where they came from (``heldout_source``)."""
    where = heldout_source(data, node, source, key)
    if where == "holdout":
        return data.heldout, where
    test = node_of_test_split(node)
    try:
        images = DATASETS.build(test, "data")
    except GankitError as e:
        raise GankitError(f"{key}: the held-out images were to come from the '{test['name']}' test split, which "
                          f"could not be loaded: {e} Or set data.holdout: N to hold images out of training.") from e
    if not isinstance(images, ImageData) or images.img_shape != data.img_shape:
        raise GankitError(f"{key}: the '{test['name']}' test split does not match the training images "
                          f"({getattr(images, 'img_shape', type(images).__name__)} vs {data.img_shape}). "
                          f"Set data.holdout: N to hold images out of training instead.")
    return images, where
