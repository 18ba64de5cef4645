import gzip

import numpy as np
import pytest
import torch

from gankit.data.base import ImageData, to_unit_range, to_uint8
from gankit.data.batches import BatchStream
from gankit.data.idx import read_idx
from gankit.errors import GankitError
from gankit.config.registry import DATASETS


def write_idx(path, array: np.ndarray, gz: bool):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip(tmp_path, gz):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / ("x.idx.gz" if gz else "x.idx")
    write_idx(p, arr, gz)
    assert torch.equal(read_idx(p), torch.from_numpy(arr))


def test_idx_rejects_garbage(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"not an idx file")
    with pytest.raises(GankitError, match="not an IDX file"):
        read_idx(p)


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


def test_pixels_scale_to_minus_one_one():
    u8 = torch.tensor([0, 255, 128], dtype=torch.uint8)
    assert to_unit_range(u8).tolist() == pytest.approx([-1.0, 1.0, 128 / 127.5 - 1], abs=1e-6)
    assert torch.equal(to_uint8(to_unit_range(u8)), u8)


def test_resize_keeps_uint8():
    d = ImageData(torch.full((3, 1, 28, 28), 200, dtype=torch.uint8))
    r = d.resized(32)
    assert r.images.shape == (3, 1, 32, 32) and r.images.dtype == torch.uint8 and int(r.images[0, 0, 16, 16]) == 200


def test_image_folder(tmp_path):
    from PIL import Image

    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.new("RGB", (40, 30), (i * 100, 50, 200)).save(tmp_path / cls / f"{i}.png")
    data = DATASETS.build({"name": "image_folder", "root": str(tmp_path), "image_size": 16}, "data")
    assert data.images.shape == (4, 3, 16, 16) and data.num_classes == 2 and data.labels.tolist() == [0, 0, 1, 1]
    (tmp_path / "empty").mkdir()
    with pytest.raises(GankitError, match="no images"):
        DATASETS.build({"name": "image_folder", "root": str(tmp_path / "empty")}, "data")
    with pytest.raises(GankitError, match="does not exist"):
        DATASETS.build({"name": "image_folder", "root": str(tmp_path / "nope")}, "data")


def test_batches_cover_each_epoch_once_and_shard_across_processes():
    n, B = 20, 8
    data = ImageData(torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous(),
                     torch.arange(n))
    one = BatchStream(data, B, seed=1, device="cpu")
    assert one.steps_per_epoch == 2  # the incomplete last batch is dropped
    seen = torch.cat([one.batch(i)[1] for i in range(2)])
    assert len(set(seen.tolist())) == 16  # no repeats within an epoch
    assert not torch.equal(one.batch(0)[1], one.batch(2)[1])  # reshuffled next epoch
    x, y = one.batch(0)
    assert x.dtype == torch.float32 and torch.allclose(x[:, 0, 0, 0], y.float() * 2 / 255 - 1)
    ranks = [BatchStream(data, B, seed=1, device="cpu", rank=r, world=2) for r in range(2)]
    for i in range(4):
        assert torch.equal(torch.cat([r.batch(i)[1] for r in ranks]), one.batch(i)[1])
    # a fresh stream reproduces the same order (exact resume needs no sampler state)
    assert torch.equal(BatchStream(data, B, seed=1, device="cpu").batch(3)[1], one.batch(3)[1])


def test_synthetic_is_deterministic():
    a = DATASETS.build({"name": "synthetic", "size": 16}, "data")
    b = DATASETS.build({"name": "synthetic", "size": 16}, "data")
    assert torch.equal(a.images, b.images) and a.images.shape == (16, 1, 28, 28)


