"""gankit.data.mnist: MNIST / Fashion-MNIST splits from IDX files, in the flat or torchvision layout."""
import numpy as np
import pytest
import torch

import gankit.data.mnist as mnist_module
from gankit.config.registry import DATASETS
from gankit.errors import GankitError

from .test_idx import write_idx


def make_split(folder, prefix, n=7, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    imgs = np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    sfx = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{sfx}", imgs, gz)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{sfx}", np.arange(n) % 10, gz)
    return imgs


@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_fashion_mnist_reads_only_the_requested_split_in_either_layout(tmp_path, layout):
    folder = tmp_path if layout == "flat" else tmp_path / "FashionMNIST" / "raw"
    imgs = make_split(folder, "t10k", gz=(layout == "flat"))
    data = DATASETS.build({"name": "fashion_mnist", "root": str(tmp_path), "split": "test", "download": False}, "data")
    assert data.images.shape == (7, 1, 28, 28) and data.images.dtype == torch.uint8
    assert torch.equal(data.images[:, 0], torch.from_numpy(imgs)) and data.labels.tolist() == list(range(7))


def test_missing_files_without_download_say_where_they_were_looked_for(tmp_path):
    with pytest.raises(GankitError) as e:
        DATASETS.build({"name": "mnist", "root": str(tmp_path), "split": "train", "download": False}, "data")
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and str(tmp_path / "MNIST" / "raw") in msg and "data.root" in msg


def test_real_mnist_test_split(mnist_root):
    data = DATASETS.build({"name": "mnist", "root": str(mnist_root), "split": "test", "download": False}, "data")
    assert len(data) == 10000 and data.img_shape == (1, 28, 28) and data.num_classes == 10
    assert sorted(data.labels.unique().tolist()) == list(range(10))


def test_debian_fashion_mnist_folder(fashion_root):
    data = DATASETS.build({"name": "fashion_mnist", "root": str(fashion_root), "split": "test"}, "data")
    assert len(data) == 10000 and data.img_shape == (1, 28, 28)


def test_train_split_in_the_mnist_folder_with_labels_and_resize(tmp_path):
    make_split(tmp_path / "MNIST", "train", n=5, gz=False)  # root/MNIST, without raw/
    make_split(tmp_path / "MNIST", "t10k", n=3, gz=False)
    data = DATASETS.build({"name": "mnist", "root": str(tmp_path), "download": False, "image_size": 32}, "data")
    assert data.img_shape == (1, 32, 32) and len(data) == 5  # the default split is train
    assert data.labels.dtype == torch.int64 and data.num_classes == 10


def test_unknown_split_names_the_key(tmp_path):
    with pytest.raises(GankitError, match="^data.split: 'val'.*'train' or 'test'"):
        DATASETS.build({"name": "mnist", "root": str(tmp_path), "split": "val", "download": False}, "data")


def test_images_and_labels_of_different_lengths_are_refused(tmp_path):
    make_split(tmp_path, "t10k", n=4)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(3), True)
    with pytest.raises(GankitError, match="do not match"):
        DATASETS.build({"name": "mnist", "root": str(tmp_path), "split": "test", "download": False}, "data")


def test_download_is_tried_only_when_files_are_missing(tmp_path, monkeypatch):
    calls = []

    def fake_download(root, tv_class, split):  # no network in tests: "download" writes the files
        calls.append((root, tv_class, split))
        make_split(root / tv_class / "raw", "t10k", n=2)

    monkeypatch.setattr(mnist_module, "_download", fake_download)
    data = DATASETS.build({"name": "fashion_mnist", "root": str(tmp_path), "split": "test"}, "data")
    assert len(data) == 2 and calls == [(tmp_path, "FashionMNIST", "test")]
    DATASETS.build({"name": "fashion_mnist", "root": str(tmp_path), "split": "test"}, "data")
    assert len(calls) == 1  # found on disk the second time


def test_failed_download_explains_the_offline_route(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    class Offline:
        def __init__(self, *a, **k):
            raise ConnectionError("no route to host")

    monkeypatch.setattr(tvd, "MNIST", Offline)
    with pytest.raises(GankitError, match="^data.download: .*ConnectionError.*data.download=false"):
        DATASETS.build({"name": "mnist", "root": str(tmp_path), "split": "test"}, "data")
