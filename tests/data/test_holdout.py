"""gankit.data.holdout: ``data.holdout: N`` keeps N images out of training, the same ones for every seed."""
import pytest
import torch

from gankit.config import validate
from gankit.config.recipe import from_container
from gankit.data.base import ImageData
from gankit.data.build import build_data
from gankit.data.holdout import heldout_images, heldout_source, hold_out, holdout_order, node_of_test_split
from gankit.data.synthetic import synthetic
from gankit.errors import GankitError

from .test_mnist import make_split


def _cfg(seed=0, **data):
    return from_container({"data": {"name": "synthetic", "size": 300, **data}, "trainer": {"seed": seed}})


def _build(cfg):
    """The data of a recipe made in Python, validated first (as every entry point does)."""
    return build_data(validate.validated(cfg))


def _rows(images: torch.Tensor) -> set[bytes]:
    return {bytes(x.flatten().tolist()) for x in images}


def test_the_holdout_is_disjoint_from_training_of_the_right_size_and_shrinks_training():
    full = synthetic(size=300)  # noise makes every image distinct
    assert len(_rows(full.images)) == 300
    data = _build(_cfg(holdout=40))
    assert len(data) == 260 and len(data.heldout) == 40 and data.heldout.heldout is None
    train, held = _rows(data.images), _rows(data.heldout.images)
    assert not train & held and train | held == _rows(full.images)
    # labels travel with their images, and the class count is kept
    assert data.heldout.labels.shape == (40,) and data.heldout.num_classes == data.num_classes == 10
    by_image = {bytes(x.flatten().tolist()): int(y) for x, y in zip(full.images, full.labels)}
    assert all(by_image[bytes(x.flatten().tolist())] == int(y) for x, y in zip(data.heldout.images, data.heldout.labels))


def test_the_same_images_are_held_out_for_every_trainer_seed():
    a, b = _build(_cfg(seed=0, holdout=50)), _build(_cfg(seed=123, holdout=50))
    assert torch.equal(a.heldout.images, b.heldout.images) and torch.equal(a.images, b.images)


def test_no_holdout_by_default_and_zero_means_none():
    assert _build(_cfg()).heldout is None and len(_build(_cfg())) == 300
    assert _build(_cfg(holdout=0)).heldout is None
    assert _build(_cfg(holdout=None)).heldout is None


def test_the_holdout_is_stratified_by_label_and_nested():
    labels = torch.tensor([0] * 600 + [1] * 300 + [2] * 100)
    order = holdout_order(1000, labels)
    assert sorted(order.tolist()) == list(range(1000))
    for n in (10, 100, 500):
        counts = torch.bincount(labels[order[:n]], minlength=3).tolist()
        assert all(abs(c - n * share) <= 1 for c, share in zip(counts, (0.6, 0.3, 0.1))), (n, counts)
    index = torch.arange(1000)
    data = ImageData(torch.stack([index // 256, index % 256], 1).to(torch.uint8).view(-1, 1, 1, 2), labels, 3)
    small, large = hold_out(data, 50), hold_out(data, 51)
    assert _rows(small.heldout.images) < _rows(large.heldout.images)  # N + 1 holds out those N and one more
    assert len(large.heldout) == 51 and len(large) == 949
    unlabelled = holdout_order(1000)
    assert not torch.equal(unlabelled, torch.arange(1000)) and torch.equal(unlabelled, holdout_order(1000))


@pytest.mark.parametrize("n", [300, 301])
def test_a_holdout_as_large_as_the_data_is_refused(n):
    with pytest.raises(GankitError, match=r"data\.holdout: cannot hold .* of the 300 images .* from 0 \(none\) to 299"):
        _build(_cfg(holdout=n))


def test_gankit_check_accepts_holdout_for_any_dataset():
    cfg = from_container({"data": {"name": "mnist", "holdout": 2000}})
    assert validate.component_problems(cfg) == []
    problems = validate.component_problems(from_container({"data": {"name": "mnist", "holdout": -3}}))
    assert len(problems) == 1 and problems[0].startswith("data.holdout: must be a whole number")


def test_holdout_on_a_real_mnist_split(mnist_root):
    cfg = from_container({"data": {"name": "mnist", "root": str(mnist_root), "split": "test", "download": False,
                                   "holdout": 2000}})
    data = _build(cfg)
    assert len(data) == 8000 and len(data.heldout) == 2000 and data.heldout.img_shape == (1, 28, 28)
    counts = torch.bincount(data.heldout.labels, minlength=10).float()
    share = torch.bincount(torch.cat([data.labels, data.heldout.labels]), minlength=10).float() / 10000
    assert ((counts - 2000 * share).abs() <= 1).all()


def test_a_dataset_with_a_split_argument_offers_its_test_split():
    assert node_of_test_split({"name": "mnist", "root": "r", "holdout": 5}) == {"name": "mnist", "root": "r",
                                                                                "split": "test"}
    assert node_of_test_split({"name": "fashion_mnist", "split": "train"})["split"] == "test"
    assert node_of_test_split({"name": "mnist", "split": "test"}) is None  # trains on it already
    assert node_of_test_split({"name": "synthetic"}) is None and node_of_test_split({"name": "nope"}) is None


def test_heldout_images_come_from_the_holdout_first_then_the_test_split(tmp_path):
    make_split(tmp_path, "train", n=30)
    test_imgs = make_split(tmp_path, "t10k", n=12)
    node = {"name": "mnist", "root": str(tmp_path), "split": "train", "download": False}
    plain = _build(from_container({"data": node}))
    held = _build(from_container({"data": {**node, "holdout": 5}}))
    assert heldout_source(held, {**node, "holdout": 5}) == "holdout"
    images, where = heldout_images(held, {**node, "holdout": 5})
    assert where == "holdout" and images is held.heldout
    images, where = heldout_images(plain, node)
    assert where == "test" and torch.equal(images.images[:, 0], torch.from_numpy(test_imgs))
    images, where = heldout_images(held, {**node, "holdout": 5}, source="test")  # asked for the test split
    assert where == "test" and len(images) == 12
    with pytest.raises(GankitError, match=r"data\.holdout is 0\. Set data\.holdout: N"):
        heldout_images(plain, node, source="holdout")


def test_no_heldout_images_says_to_set_data_holdout(mnist_root):
    node = {"name": "mnist", "root": str(mnist_root), "split": "test", "download": False}
    for data, node in ((synthetic(size=20), {"name": "synthetic", "size": 20}), (_build(from_container({"data": node})), node)):
        with pytest.raises(GankitError, match=r"metrics\[0\]: .* there are none: data\.holdout is 0 and .*"
                                              r"Set data\.holdout: N in the recipe"):
            heldout_source(data, node, key="metrics[0]")
    with pytest.raises(GankitError, match="trains on the test split"):
        heldout_source(_build(from_container({"data": node})), node, source="test")
    with pytest.raises(GankitError, match="was built without it"):  # the node promises a holdout the data lacks
        heldout_source(synthetic(size=20), {"name": "synthetic", "holdout": 5})


def test_a_missing_test_split_is_reported_with_the_holdout_alternative(tmp_path):
    make_split(tmp_path, "train", n=10)
    node = {"name": "mnist", "root": str(tmp_path), "split": "train", "download": False}
    with pytest.raises(GankitError, match=r"test split, which could not be loaded: .* set data\.holdout: N"):
        heldout_images(_build(from_container({"data": node})), node)


def test_resizing_keeps_the_heldout_images():
    data = hold_out(synthetic(size=30), 6).resized(16)
    assert data.img_shape == data.heldout.img_shape == (1, 16, 16) and len(data.heldout) == 6
