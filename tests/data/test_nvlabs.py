"""Datasets as NVlabs' dataset_tool.py writes them (a zip or folder of PNGs in chunk sub-folders, and dataset.json):
read by image_folder and by `gankit prepare-data`, labels from dataset.json (or none when it says null)."""
import io
import json
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

import gankit.data.decode as decode_module
from gankit.cli import main
from gankit.config.registry import DATASETS
from gankit.errors import GankitError


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array.transpose(1, 2, 0)).save(buf, format="PNG")
    return buf.getvalue()


def make_nvlabs(path, n=6, labelled=True, chunk=4, as_zip=True, labels=None, extra=None):
    """dataset_tool.py's layout (a chunk sub-folder per ``chunk`` images; it uses 1000); returns (images, labels)."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    names = [f"{i // chunk:05d}/img{i:08d}.png" for i in range(n)]
    labels = labels if labels is not None else [int(i * 7 % 3) for i in range(n)]
    files = {name: png(img) for name, img in zip(names, images)}
    meta = {"labels": [[name, label] for name, label in zip(names, labels)] if labelled else None}
    files["dataset.json"] = json.dumps(meta).encode()
    files.update(extra or {})
    if as_zip:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:  # as dataset_tool.py writes it
            for name, data in files.items():
                z.writestr(name, data)
    else:
        for name, data in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes(data)
    return images, labels


@pytest.mark.parametrize("as_zip", [True, False], ids=["zip", "folder"])
def test_image_folder_reads_labels_from_dataset_json_not_chunk_folders(tmp_path, as_zip):
    src = tmp_path / ("cifar10-32x32.zip" if as_zip else "cifar10-32x32")
    images, labels = make_nvlabs(src, as_zip=as_zip)
    data = DATASETS.build({"name": "image_folder", "root": str(src), "image_size": 32}, "data")
    assert torch.equal(data.images, torch.from_numpy(images))  # PNG is lossless, no resize at 32
    assert data.labels.tolist() == labels and data.num_classes == 3


@pytest.mark.parametrize("as_zip", [True, False], ids=["zip", "folder"])
def test_labels_null_means_unlabelled_even_with_several_sub_folders(tmp_path, as_zip):
    src = tmp_path / ("ffhq.zip" if as_zip else "ffhq")
    images, _ = make_nvlabs(src, labelled=False, as_zip=as_zip)
    for cache in (True, False):
        data = DATASETS.build({"name": "image_folder", "root": str(src), "image_size": 32, "cache": cache}, "data")
        assert data.labels is None and data.num_classes == 0 and torch.equal(data.images, torch.from_numpy(images))


def test_prepare_data_takes_labels_from_dataset_json(tmp_path, capsys):
    images, labels = make_nvlabs(tmp_path / "c.zip", n=7)
    assert main(["prepare-data", str(tmp_path / "c.zip"), str(tmp_path / "out"), "--workers", "1"]) == 0
    assert "7 images of 3×32×32, 3 classes" in capsys.readouterr().out
    data = DATASETS.build({"name": "prepared", "root": str(tmp_path / "out")}, "data")
    assert torch.equal(data.images, torch.from_numpy(images)) and data.labels.tolist() == labels
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["labels"] == f"{tmp_path / 'c.zip'}/dataset.json" and meta["num_classes"] == 3
    make_nvlabs(tmp_path / "u.zip", labelled=False)
    assert main(["prepare-data", str(tmp_path / "u.zip"), str(tmp_path / "unlabelled"), "--workers", "1"]) == 0
    assert not (tmp_path / "unlabelled" / "labels.npy").exists()
    assert DATASETS.build({"name": "prepared", "root": str(tmp_path / "unlabelled")}, "data").labels is None
    assert main(["prepare-data", str(tmp_path / "c.zip"), str(tmp_path / "sub"), "--labels", "subfolders"]) == 0
    assert np.load(tmp_path / "sub" / "labels.npy").tolist() == [0, 0, 0, 0, 1, 1, 1]  # as asked: chunk folders


def test_a_member_outside_the_archive_is_refused(tmp_path):
    make_nvlabs(tmp_path / "evil.zip", extra={"../../outside.png": png(np.zeros((3, 32, 32), np.uint8))})
    with pytest.raises(GankitError, match=r"^data.root: the archive .*evil.zip' holds a member named "
                                          r"'../../outside.png', a path outside the archive"):
        DATASETS.build({"name": "image_folder", "root": str(tmp_path / "evil.zip"), "image_size": 32}, "data")
    assert not (tmp_path.parent / "outside.png").exists()


def test_a_member_larger_than_an_image_may_be_is_not_inflated(tmp_path, monkeypatch):
    monkeypatch.setattr(decode_module, "MAX_FILE", 2000)  # a 32×32 noise PNG is about 3 kB
    make_nvlabs(tmp_path / "bomb.zip", n=2, labelled=False, extra={"00000/img00000002.png": png(np.zeros((3, 32, 32), np.uint8))})
    with pytest.raises(GankitError, match=r"img00000000.png \(\d+ bytes when inflated, more than the 2000"):
        DATASETS.build({"name": "image_folder", "root": str(tmp_path / "bomb.zip"), "image_size": 32}, "data")


def test_dataset_json_problems_name_the_file(tmp_path):
    make_nvlabs(tmp_path / "vec.zip", n=2, labels=[[0.5, 1.0], [0.0, 1.0]])
    with pytest.raises(GankitError, match=r"vec.zip/dataset.json' holds the label \[0.5, 1.0\]; gankit trains on class"):
        DATASETS.build({"name": "image_folder", "root": str(tmp_path / "vec.zip")}, "data")
    make_nvlabs(tmp_path / "bad", n=2, as_zip=False, extra={"dataset.json": b"{not json"})
    with pytest.raises(GankitError, match="dataset.json is not valid JSON"):
        DATASETS.build({"name": "image_folder", "root": str(tmp_path / "bad")}, "data")
    make_nvlabs(tmp_path / "part", n=3, as_zip=False, labels=[0, 1, 2])
    listed = json.loads((tmp_path / "part" / "dataset.json").read_text())
    (tmp_path / "part" / "dataset.json").write_text(json.dumps({"labels": listed["labels"][:2]}))
    with pytest.raises(GankitError, match="img00000002.png \\(no label in the labels file\\)"):
        DATASETS.build({"name": "image_folder", "root": str(tmp_path / "part"), "image_size": 32}, "data")
    with pytest.warns(UserWarning, match="skipped 1 of 3"):
        data = DATASETS.build({"name": "image_folder", "root": str(tmp_path / "part"), "image_size": 32,
                               "skip_bad": True}, "data")
    assert data.labels.tolist() == [0, 1]  # a changed dataset.json builds a new cache
