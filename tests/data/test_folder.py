"""gankit.data.folder: a folder of images, subfolders as classes, center-cropped and resized."""
import pytest
import torch
from PIL import Image

from gankit.config.registry import DATASETS
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
