"""gankit.data.prepared: a prepared folder read through a memory map, batched exactly like in-memory data."""
import json
import os

import numpy as np
import pytest
import torch

from gankit.cli import main
from gankit.config.registry import DATASETS
from gankit.data.base import ImageData
from gankit.data.batches import BatchStream
from gankit.data.prepare import prepare
from gankit.errors import GankitError

from .test_prepare import make_folder


def build(root, **kw):
    return DATASETS.build({"name": "prepared", "root": str(root), **kw}, "data")


@pytest.fixture
def out(tmp_path):
    make_folder(tmp_path / "src", classes=("a", "b", "c"), n=12, size=(8, 8))
    prepare(tmp_path / "src", tmp_path / "out", workers=1)
    return tmp_path / "out"


def test_the_images_are_the_prepared_array_memory_mapped(out):
    data = build(out)
    meta = json.loads((out / "meta.json").read_text())
    on_disk = np.fromfile(out / "images.u8", dtype=np.uint8).reshape(meta["shape"])
    assert data.streamed and data.images.dtype == torch.uint8 and data.img_shape == (3, 8, 8)
    assert np.array_equal(data.images.numpy(), on_disk) and data.num_classes == 3
    assert data.labels.tolist() == np.load(out / "labels.npy").tolist()
    data.images[0] += 1  # copy-on-write: the file never changes
    assert np.array_equal(np.fromfile(out / "images.u8", dtype=np.uint8).reshape(meta["shape"]), on_disk)
    unlabelled = build(out, labels=False)
    assert unlabelled.labels is None and unlabelled.num_classes == 0
    assert len(build(out, image_size=8, channels=3)) == 36
    with pytest.raises(GankitError, match=r"data.image_size: the recipe asks for 64, but the images prepared in .* are "
                                          r"3×8×8. Prepare them again with .*--size 64 --overwrite"):
        build(out, image_size=64)
    with pytest.raises(GankitError, match="data.channels: the recipe asks for 1"):
        build(out, channels=1)


@pytest.mark.parametrize("world", [1, 2])
def test_batches_equal_the_in_memory_batches_for_the_same_seed(out, world):
    mapped = build(out)
    memory = ImageData(mapped.images.clone(), mapped.labels.clone(), mapped.num_classes)
    for rank in range(world):
        a = BatchStream(mapped, 8, seed=3, device="cpu", rank=rank, world=world, micro=2)
        b = BatchStream(memory, 8, seed=3, device="cpu", rank=rank, world=world, micro=2)
        for index in (0, 3, 4, 9):  # 36 images: 4 batches an epoch, so 4 and 9 are later epochs
            for micro in (0, 1):
                (xa, ya), (xb, yb) = a.batch(index, micro), b.batch(index, micro)
                assert xa.dtype == torch.float32 and -1 <= xa.min() and xa.max() <= 1
                assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_page_ranges_cover_each_image_from_its_page_and_merge_neighbours():
    from gankit.data.prepared import page_ranges

    assert page_ranges([0], 100, page=64) == [(0, 100)]
    assert page_ranges([1], 100, page=64) == [(64, 136)]  # bytes 100..199 from the page at 64
    assert page_ranges([3, 1, 2, 1], 100, page=64) == [(64, 336)]  # 100..399, adjacent images merged once
    assert page_ranges([0, 5], 100, page=64) == [(0, 100), (448, 152)]  # 500..599 from the page at 448
    for start, length in page_ranges([7, 2, 30], 12288):
        assert start % 4096 == 0 and length > 0


def test_a_prepared_set_reads_the_next_batch_ahead_and_batches_stay_the_same(out):
    """On a real memory map, read-ahead (MADV_WILLNEED) runs without error and changes no batch."""
    import mmap

    mapped = build(out)
    if not hasattr(mmap, "MADV_WILLNEED"):
        assert mapped.read_ahead is None
        return
    calls = []
    read_ahead = mapped.read_ahead
    mapped.read_ahead = lambda idx: (calls.append(len(idx)), read_ahead(idx))
    memory = ImageData(mapped.images.clone(), mapped.labels.clone(), mapped.num_classes)
    a, b = BatchStream(mapped, 8, seed=3, device="cpu"), BatchStream(memory, 8, seed=3, device="cpu")
    for index in range(6):
        assert torch.equal(a.batch(index)[0], b.batch(index)[0])
    assert calls == [8] * 6 and b.read_ahead is None
    assert build(out, labels=False).read_ahead is not None  # the unlabelled view keeps it


def _rss_kib() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_a_large_prepared_set_is_not_read_into_memory(tmp_path):
    n, shape = 40_000, (3, 32, 32)  # 123 MB of (sparse) zeros on disk
    (tmp_path / "images.u8").open("wb").truncate(n * int(np.prod(shape)))
    (tmp_path / "meta.json").write_text(json.dumps({"format": "gankit.prepared", "version": 1, "shape": [n, *shape],
                                                    "dtype": "uint8", "count": n, "num_classes": 0}))
    before = _rss_kib()
    data = build(tmp_path)
    x, _ = BatchStream(data, 64, seed=0, device="cpu").batch(5)
    grown_mib = (_rss_kib() - before) / 1024
    assert x.shape == (64, *shape) and float(x.max()) == -1.0
    assert grown_mib < 20, f"RSS grew by {grown_mib:.0f} MiB opening a 123 MB prepared set"


def test_damaged_or_missing_folders_say_how_to_fix_them(out, tmp_path):
    with pytest.raises(GankitError, match="holds no prepared dataset .*gankit prepare-data SRC"):
        build(tmp_path / "src")
    with pytest.raises(GankitError, match="does not exist"):
        build(tmp_path / "nope")
    data = (out / "images.u8").read_bytes()
    (out / "images.u8").write_bytes(data[:-10])
    with pytest.raises(GankitError, match=r"images.u8 holds 6902 bytes, but meta.json says 36 images of 3×8×8"):
        build(out)
    (out / "images.u8").write_bytes(data)
    np.save(out / "labels.npy", np.arange(36))  # classes beyond the 3 of the meta
    with pytest.raises(GankitError, match="does not hold 36 labels 0..2"):
        build(out)
    (out / "meta.json").write_text("{not json")
    with pytest.raises(GankitError, match="cannot read .*meta.json"):
        build(out)


@pytest.mark.slow
def test_training_a_tiny_recipe_on_a_prepared_set(tmp_path, tiny_recipe):
    make_folder(tmp_path / "src", classes=(), n=64, size=(28, 28), mode="L")
    assert main(["prepare-data", str(tmp_path / "src"), str(tmp_path / "data"), "--workers", "2"]) == 0
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"base: {tiny_recipe}\ndata: {{name: prepared, root: {tmp_path / 'data'}, size: null}}\n")
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "trainer.batch_size=16"]) == 0
    assert (tmp_path / "run" / "checkpoints").is_dir() and "name: prepared" in (tmp_path / "run" / "recipe.yaml").read_text()
    last = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert (last["step"], last["epoch"]) == (4, 1.0)  # 4 batches of 16: one epoch of the 64 prepared images
