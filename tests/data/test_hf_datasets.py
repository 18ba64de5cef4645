"""gankit.data.hf_datasets: local Hugging Face datasets (save_to_disk folders, parquet files), no network."""
import io
import os
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config.registry import DATASETS
from gankit.errors import GankitError

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # read when datasets is imported: never reach the Hub
datasets = pytest.importorskip("datasets")


def _images(n=9, seed=0):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)) for _ in range(n)]


def _dataset(n=9):
    features = datasets.Features({"img": datasets.Image(), "kind": datasets.ClassLabel(names=["cat", "dog", "owl"]),
                                  "word": datasets.Value("string")})
    return datasets.Dataset.from_dict({"img": _images(n), "kind": [i % 3 for i in range(n)],
                                       "word": ["b" if i % 2 else "a" for i in range(n)]}, features=features)


def build(path, **kw):
    return DATASETS.build({"name": "hf_datasets", "path": str(path), "image_column": "img", **kw}, "data")


def test_a_saved_dataset_and_its_parquet_give_the_same_images_and_labels(tmp_path):
    ds = _dataset()
    ds.save_to_disk(str(tmp_path / "saved"))
    ds.to_parquet(str(tmp_path / "part.parquet"))
    saved = build(tmp_path / "saved", label_column="kind")
    parquet = build(tmp_path / "part.parquet", label_column="kind")
    assert saved.streamed and saved.images.shape == (9, 3, 10, 10) and saved.num_classes == 3
    for i, im in enumerate(_images()):
        assert np.array_equal(saved.images[i].numpy().transpose(1, 2, 0), np.asarray(im))
    assert saved.labels.tolist() == [0, 1, 2] * 3
    assert torch.equal(saved.images, parquet.images) and torch.equal(saved.labels, parquet.labels)
    words = build(tmp_path / "saved", label_column="word", image_size=4, channels=1)
    assert words.images.shape == (9, 1, 4, 4) and words.labels.tolist() == [0, 1] * 4 + [0] and words.num_classes == 2
    assert build(tmp_path / "saved").labels is None


def test_splits_columns_and_bad_rows_are_reported(tmp_path):
    datasets.DatasetDict({"train": _dataset(4), "test": _dataset(2)}).save_to_disk(str(tmp_path / "dict"))
    assert len(build(tmp_path / "dict", split="test")) == 2
    with pytest.raises(GankitError, match="has the splits test, train; set data.split to one"):
        build(tmp_path / "dict")
    with pytest.raises(GankitError, match="data.image_column: .* has no column 'picture'; its columns are img"):
        build(tmp_path / "dict", split="train", image_column="picture")
    bad = datasets.Dataset.from_dict({"img": [{"bytes": b"not a png", "path": None}] + [
        {"bytes": _png(im), "path": None} for im in _images(3)]}, features=datasets.Features({"img": datasets.Image()}))
    bad.save_to_disk(str(tmp_path / "bad"))
    with pytest.raises(GankitError, match=r"cannot read image .*bad row 0 .*data.skip_bad=true"):
        build(tmp_path / "bad")
    with pytest.warns(UserWarning, match="skipped 1 of 4 images"):
        assert len(build(tmp_path / "bad", skip_bad=True)) == 3


def _png(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def test_without_the_datasets_package_the_error_says_what_to_install(tmp_path, monkeypatch):
    _dataset(3).save_to_disk(str(tmp_path / "saved"))
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(GankitError, match=r"needs the Hugging Face `datasets` package. .*pip install 'gankit\[hf\]'"):
        build(tmp_path / "saved", cache=False)
