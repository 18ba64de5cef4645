"""gankit.data.cifar: CIFAR-10/100 from the authors' tarballs or extracted folders, python or binary, with labels;
pickles that would run code are refused; a missing file is named with its folder."""
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

import gankit.data.cifar as cifar_module
from gankit.config.registry import DATASETS
from gankit.data.holdout import heldout_images
from gankit.errors import GankitError

from .cifar_maker import encode, make_cifar, py2_pickle


def build(**node):
    return DATASETS.build({"download": False, **node}, "data")


@pytest.mark.parametrize("kind", ["python", "binary"])
@pytest.mark.parametrize("archive", [True, False], ids=["tarball", "folder"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar10_reads_every_layout_pixel_for_pixel(tmp_path, kind, archive, split):
    expected = make_cifar(tmp_path, "cifar10", kind, archive)
    data = build(name="cifar10", root=str(tmp_path), split=split)
    images, labels = expected[split]
    assert data.images.shape == (len(images), 3, 32, 32) and data.images.dtype == torch.uint8
    assert torch.equal(data.images, torch.from_numpy(images)) and len(data) == (15 if split == "train" else 3)
    assert data.labels.dtype == torch.int64 and data.labels.tolist() == labels["label"].tolist()
    assert data.num_classes == 10


@pytest.mark.parametrize("kind", ["python", "binary"])
@pytest.mark.parametrize("archive", [True, False], ids=["tarball", "folder"])
@pytest.mark.parametrize("label_kind", ["fine", "coarse"])
def test_cifar100_fine_and_coarse_labels(tmp_path, kind, archive, label_kind):
    expected = make_cifar(tmp_path, "cifar100", kind, archive, per_file=4)
    data = build(name="cifar100", root=str(tmp_path), split="train", label_kind=label_kind)
    images, labels = expected["train"]
    assert torch.equal(data.images, torch.from_numpy(images))
    assert data.labels.tolist() == labels[label_kind].tolist()
    assert data.num_classes == (100 if label_kind == "fine" else 20)


def test_root_may_be_the_extracted_folder_and_the_image_is_rgb_planes(tmp_path):
    """The 3072 bytes are the red plane, then green, then blue, each row by row."""
    images = np.zeros((1, 3, 32, 32), np.uint8)
    images[0, 0, 0, 1], images[0, 1, 2, 0], images[0, 2, 31, 31] = 10, 20, 30
    files = {"test_batch.bin": encode(images, {"label": np.array([7])}, "cifar10", "binary")}
    make_cifar(tmp_path, "cifar10", "binary", archive=False, files=files)
    data = build(name="cifar10", root=str(tmp_path / "cifar-10-batches-bin"), split="test")
    assert data.images[0, 0, 0, 1] == 10 and data.images[0, 1, 2, 0] == 20 and data.images[0, 2, 31, 31] == 30
    assert int(data.images.sum()) == 60 and data.labels.tolist() == [7]


def test_image_size_resizes_and_the_test_split_is_the_heldout_images(tmp_path):
    expected = make_cifar(tmp_path, "cifar10", "python", archive=True)
    node = {"name": "cifar10", "root": str(tmp_path), "split": "train", "download": False}
    data = DATASETS.build({**node, "image_size": 16}, "data")
    assert data.img_shape == (3, 16, 16) and len(data) == 15
    heldout, where = heldout_images(DATASETS.build(node, "data"), node)
    assert where == "test" and torch.equal(heldout.images, torch.from_numpy(expected["test"][0]))


def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    evil = pickle.dumps({b"data": Payload(), b"labels": [0]}, protocol=2)
    make_cifar(tmp_path, "cifar10", "python", archive=True, files={"test_batch": evil})
    with pytest.raises(GankitError, match=r"^data.root: .*test_batch is a pickle that asks to run (posix|os).system"
                                          r".*nothing in it ran"):
        build(name="cifar10", root=str(tmp_path), split="test")
    assert not marker.exists()
    assert pickle.loads(evil) == {b"data": 0, b"labels": [0]} and marker.exists()  # the payload was real


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_pickles_of_any_protocol_load(tmp_path, protocol):
    images = np.full((2, 3, 32, 32), 9, np.uint8)
    files = {"test": encode(images, {"fine": np.array([3, 99]), "coarse": np.array([1, 19])}, "cifar100", "python",
                            protocol)}
    make_cifar(tmp_path, "cifar100", "python", archive=False, files=files)
    data = build(name="cifar100", root=str(tmp_path), split="test")
    assert data.labels.tolist() == [3, 99] and torch.equal(data.images, torch.from_numpy(images))


def test_a_batch_pickled_by_python_2_as_the_authors_did_loads(tmp_path):
    images = np.random.default_rng(5).integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)
    make_cifar(tmp_path, "cifar10", "python", archive=True, files={"test_batch": py2_pickle(images.reshape(3, -1),
                                                                                           [9, 0, 4])})
    data = build(name="cifar10", root=str(tmp_path), split="test")
    assert torch.equal(data.images, torch.from_numpy(images)) and data.labels.tolist() == [9, 0, 4]


@pytest.mark.parametrize("download", [False, True])
def test_missing_files_name_the_file_and_the_folder(tmp_path, monkeypatch, download):
    def offline(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("torchvision.datasets.utils.download_url", offline)
    with pytest.raises(GankitError) as e:
        DATASETS.build({"name": "cifar10", "root": str(tmp_path), "download": download}, "data")
    msg = str(e.value)
    assert "cifar-10-python.tar.gz" in msg and str(tmp_path) in msg
    if download:
        assert msg.startswith("data.download: ") and "name resolution" in msg and "data.download=false" in msg
    else:
        assert msg.startswith("data.root: ") and "cifar-10-binary.tar.gz" in msg and "data.download=true" in msg
    assert os.listdir(tmp_path) == []  # no partial download left behind


def test_download_fetches_the_python_tarball_once(tmp_path, monkeypatch):
    calls = []

    def fake_download(url, root, filename=None, md5=None):  # no network in tests: "download" writes the tarball
        calls.append(url)
        make_cifar(tmp_path / "made", "cifar100", "python", archive=True)
        os.replace(tmp_path / "made" / "cifar-100-python.tar.gz", os.path.join(root, filename))

    monkeypatch.setattr("torchvision.datasets.utils.download_url", fake_download)
    monkeypatch.setattr("torchvision.datasets.utils.check_integrity", lambda path, md5: md5 == cifar_module.MD5[
        "cifar-100-python.tar.gz"])
    data = DATASETS.build({"name": "cifar100", "root": str(tmp_path / "data")}, "data")
    assert len(data) == 3 and calls == ["https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"]
    DATASETS.build({"name": "cifar100", "root": str(tmp_path / "data"), "split": "test"}, "data")
    assert len(calls) == 1  # found on disk the second time


def test_damaged_files_are_refused_with_their_name(tmp_path):
    make_cifar(tmp_path, "cifar10", "binary", archive=False, files={"test_batch.bin": b"\0" * 3000})
    with pytest.raises(GankitError, match="test_batch.bin holds 3000 bytes, not a whole number of 3073-byte"):
        build(name="cifar10", root=str(tmp_path), split="test")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(GankitError, match="cannot read the archive .*cifar-10-python.tar.gz.*download it again"):
        build(name="cifar10", root=str(tmp_path / "other"))


def test_an_archive_without_the_split_and_bad_arguments_are_refused(tmp_path):
    with tarfile.open(tmp_path / "cifar-100-binary.tar.gz", "w:gz"):
        pass
    with pytest.raises(GankitError, match="has no cifar-100-binary/train.bin"):
        build(name="cifar100", root=str(tmp_path))
    with pytest.raises(GankitError, match="^data.split: 'valid'"):
        build(name="cifar100", root=str(tmp_path), split="valid")
    with pytest.raises(GankitError, match="^data.label_kind: 'super'"):
        build(name="cifar100", root=str(tmp_path), label_kind="super")


def test_labels_out_of_range_are_refused(tmp_path):
    images = np.zeros((1, 3, 32, 32), np.uint8)
    make_cifar(tmp_path, "cifar10", "python", archive=False,
               files={"test_batch": encode(images, {"label": np.array([10])}, "cifar10", "python")})
    with pytest.raises(GankitError, match="test_batch holds labels outside 0..9"):
        build(name="cifar10", root=str(tmp_path), split="test")
