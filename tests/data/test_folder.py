"""gankit.data.folder: a folder of images, subfolders as classes, center-cropped and resized."""
import os

import pytest
import torch
from PIL import Image

from gankit.config.registry import DATASETS
from gankit.data import decode as decode_module
from gankit.errors import GankitError


def build(root, **kw):
    return DATASETS.build({"name": "image_folder", "root": str(root), **kw}, "data")


def test_image_folder(tmp_path):
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


def test_one_folder_is_unlabelled_and_grayscale_on_request(tmp_path):
    for i in range(3):
        Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / f"{i}.PNG")  # suffixes match in any case
    (tmp_path / "notes.txt").write_text("not an image")
    data = build(tmp_path, image_size=4, channels=1)
    assert data.images.shape == (3, 1, 4, 4) and data.num_classes == 0
    assert int(data.images[0, 0, 2, 2]) == 76  # PIL's luma of pure red: 0.299 · 255


def test_center_crop_keeps_the_middle_and_max_images_limits(tmp_path):
    im = Image.new("RGB", (30, 10), (0, 0, 0))
    im.paste((255, 255, 255), (10, 0, 20, 10))  # a white middle third
    for i in range(4):
        im.save(tmp_path / f"{i}.png")
    data = build(tmp_path, image_size=10, max_images=2)
    assert data.images.shape == (2, 3, 10, 10)
    assert (data.images[0] == 255).all()  # only the white middle square survives the crop


def test_unreadable_image_names_the_file(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(GankitError, match="cannot read image .*broken.png"):
        build(tmp_path)


def _folder_of(tmp_path, n=6):
    root = tmp_path / "images"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(n // 2):
            Image.new("RGB", (12, 10), (i * 40, 20 if cls == "a" else 200, 90)).save(root / cls / f"{i}.png")
    return root


class DecodedAgain(Exception):
    """Not one of the errors the registry turns into a GankitError."""


def test_the_second_build_reads_the_cache_without_decoding(tmp_path, monkeypatch):
    root, cache = _folder_of(tmp_path), tmp_path / "cache"
    first = build(root, image_size=8, cache_dir=str(cache))
    assert first.streamed and len(list((cache / "image_folder").glob("images-*/images.u8"))) == 1

    def no_decoding(*a, **k):
        raise DecodedAgain

    monkeypatch.setattr(decode_module, "decode", no_decoding)
    second = build(root, image_size=8, cache_dir=str(cache))
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert second.num_classes == 2
    with pytest.raises(DecodedAgain):  # other arguments: another cache
        build(root, image_size=4, cache_dir=str(cache))


def test_a_changed_file_builds_a_new_cache_and_drops_the_old(tmp_path):
    root, cache = _folder_of(tmp_path), tmp_path / "cache"
    before = build(root, image_size=8, cache_dir=str(cache))
    old = [p.parent for p in (cache / "image_folder").glob("images-*/meta.json")]
    Image.new("RGB", (12, 10), (255, 255, 255)).save(root / "a" / "0.png")
    os.utime(root / "a" / "0.png", ns=(1, 1))  # a new time as well as new bytes
    after = build(root, image_size=8, cache_dir=str(cache))
    assert (after.images[0] == 255).all() and not (before.images[0] == 255).all()
    assert [p.is_dir() for p in old] == [False] and len(list((cache / "image_folder").glob("images-*/meta.json"))) == 1
    (root / "b" / "2.png").unlink()
    assert len(build(root, image_size=8, cache_dir=str(cache))) == 5


def test_cache_false_decodes_into_memory_and_writes_nothing(tmp_path):
    root, cache = _folder_of(tmp_path), tmp_path / "cache"
    data = build(root, image_size=8, cache=False, cache_dir=str(cache))
    assert not data.streamed and len(data) == 6 and not cache.exists()
    assert torch.equal(data.images, build(root, image_size=8, cache_dir=str(cache)).images)


def test_an_unwritable_cache_dir_names_the_key(tmp_path):
    root = _folder_of(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(GankitError, match="data.cache_dir: cannot write the decoded-image cache"):
        build(root, cache_dir=str(tmp_path / "file"))
