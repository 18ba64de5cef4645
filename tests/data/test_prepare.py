"""gankit.data.prepare and `gankit prepare-data`: decode a folder or zip once into images.u8 + labels.npy + meta.json."""
import json
import zipfile

import numpy as np
import pytest
import torchvision.transforms.functional as TF
from PIL import Image

from gankit.cli import main
from gankit.data import decode as decode_module
from gankit.data.prepare import prepare
from gankit.errors import GankitError


def make_folder(root, classes=("a", "b"), n=5, size=(12, 12), mode="RGB", seed=0):
    """n random images per class folder (or straight in root when classes is empty); returns their paths, sorted."""
    rng = np.random.default_rng(seed)
    paths = []
    for cls in classes or ("",):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
            p = root / cls / f"{i:03d}.png"
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(p)
            paths.append(p)
    return sorted(paths)


def read_out(out):
    meta = json.loads((out / "meta.json").read_text())
    images = np.fromfile(out / "images.u8", dtype=np.uint8).reshape(meta["shape"])
    labels = np.load(out / "labels.npy") if (out / "labels.npy").exists() else None
    return images, labels, meta


def test_round_trip_pixels_labels_and_meta(tmp_path):
    paths = make_folder(tmp_path / "src", n=4)
    meta = prepare(tmp_path / "src", tmp_path / "out", workers=1)
    images, labels, on_disk = read_out(tmp_path / "out")
    assert meta == on_disk and images.shape == (8, 3, 12, 12) and images.dtype == np.uint8
    for got, p in zip(images, paths):  # already 12×12: the pixels are the source's, unchanged
        assert np.array_equal(got.transpose(1, 2, 0), np.asarray(Image.open(p)))
    assert labels.tolist() == [0] * 4 + [1] * 4 and labels.dtype == np.int64
    assert (meta["count"], meta["num_classes"], meta["class_names"], meta["bad_count"]) == (8, 2, ["a", "b"], 0)
    assert meta["source"] == str((tmp_path / "src").resolve()) and meta["labels"] == "subfolders"


def test_resize_and_crop_match_torchvision(tmp_path):
    paths = make_folder(tmp_path / "src", classes=(), n=3, size=(30, 17))
    prepare(tmp_path / "src", tmp_path / "center", size=8, workers=1)
    prepare(tmp_path / "src", tmp_path / "none", size=8, crop="none", workers=1)
    center, _, meta = read_out(tmp_path / "center")
    stretched, _, _ = read_out(tmp_path / "none")
    assert meta["num_classes"] == 0 and not (tmp_path / "center" / "labels.npy").exists()
    for p, c, s in zip(paths, center, stretched):
        im = Image.open(p)
        assert np.array_equal(c, np.asarray(TF.center_crop(TF.resize(im, 8), [8, 8])).transpose(2, 0, 1))
        assert np.array_equal(s, np.asarray(im.resize((8, 8), Image.BILINEAR)).transpose(2, 0, 1))


def test_more_workers_give_the_identical_array(tmp_path):
    make_folder(tmp_path / "src", n=80, size=(6, 6))  # 160 images: several chunks of 64
    prepare(tmp_path / "src", tmp_path / "one", workers=1)
    prepare(tmp_path / "src", tmp_path / "three", workers=3)
    for name in ("images.u8", "labels.npy", "meta.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "three" / name).read_bytes()


def _with_bad_files(src):
    make_folder(src, n=3)
    (src / "a" / "empty.png").write_bytes(b"")
    (src / "b" / "notes.png").write_text("not an image")
    data = (src / "a" / "000.png").read_bytes()
    (src / "b" / "cut.png").write_bytes(data[: len(data) // 2])


def test_bad_files_are_skipped_and_counted(tmp_path, capsys):
    _with_bad_files(tmp_path / "src")
    assert main(["prepare-data", str(tmp_path / "src"), str(tmp_path / "out"), "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 6 images of 3×12×12, 2 classes" in printed and "skipped 3 bad files" in printed
    _, labels, meta = read_out(tmp_path / "out")
    assert meta["bad_count"] == 3 and labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert any("empty.png: empty file, 0 bytes" in b for b in meta["bad"])
    assert any("notes.png: UnidentifiedImageError: cannot identify image file" in b for b in meta["bad"])
    assert any("cut.png" in b for b in meta["bad"])


def test_refuse_names_the_bad_file_and_writes_nothing(tmp_path, capsys):
    _with_bad_files(tmp_path / "src")
    argv = ["prepare-data", str(tmp_path / "src"), str(tmp_path / "out"), "--on-bad", "refuse", "--workers", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"cannot read image {tmp_path / 'src' / 'a' / 'empty.png'} (empty file, 0 bytes)" in err
    assert "--on-bad skip" in err and "Traceback" not in err
    assert list((tmp_path / "out").iterdir()) == []  # no images.u8, no temporary file


def test_a_failure_midway_leaves_the_previous_dataset_whole(tmp_path, monkeypatch):
    make_folder(tmp_path / "src", n=40, size=(6, 6))
    prepare(tmp_path / "src", tmp_path / "out", workers=1)
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    calls, real = [], decode_module.decode

    def dies_after_50(data, spec):
        calls.append(1)
        if len(calls) > 50:
            raise RuntimeError("disk unplugged")
        return real(data, spec)

    monkeypatch.setattr(decode_module, "decode", dies_after_50)
    with pytest.raises(RuntimeError, match="disk unplugged"):
        prepare(tmp_path / "src", tmp_path / "out", workers=1, overwrite=True)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before


def test_zip_source_gives_the_folders_array(tmp_path):
    make_folder(tmp_path / "src", n=40, size=(6, 6))  # 80 images: two chunks, decoded by two processes
    with zipfile.ZipFile(tmp_path / "src.zip", "w") as z:
        for p in sorted((tmp_path / "src").rglob("*.png")):
            z.write(p, p.relative_to(tmp_path / "src").as_posix())
    prepare(tmp_path / "src", tmp_path / "folder", workers=1)
    prepare(tmp_path / "src.zip", tmp_path / "zip", workers=2)
    a, la, _ = read_out(tmp_path / "folder")
    b, lb, meta = read_out(tmp_path / "zip")
    assert np.array_equal(a, b) and np.array_equal(la, lb) and meta["class_names"] == ["a", "b"]


def test_labels_from_a_csv_or_json_file(tmp_path):
    make_folder(tmp_path / "src", classes=(), n=4)
    (tmp_path / "labels.csv").write_text("file,label\n000.png,cat\n001.png,dog\n002.png,cat\n")  # 003.png: none
    meta = prepare(tmp_path / "src", tmp_path / "csv", labels=str(tmp_path / "labels.csv"), workers=1)
    _, labels, _ = read_out(tmp_path / "csv")
    assert labels.tolist() == [0, 1, 0] and meta["class_names"] == ["cat", "dog"]
    assert meta["bad_count"] == 1 and "003.png: no label in the labels file" in meta["bad"][0]
    (tmp_path / "dataset.json").write_text(json.dumps({"labels": [[f"{i:03d}.png", i % 2 * 4] for i in range(4)]}))
    meta = prepare(tmp_path / "src", tmp_path / "json", labels=str(tmp_path / "dataset.json"), workers=1)
    assert read_out(tmp_path / "json")[1].tolist() == [0, 4, 0, 4] and meta["num_classes"] == 5
    with pytest.raises(GankitError, match="no label in the labels file"):
        prepare(tmp_path / "src", tmp_path / "refused", labels=str(tmp_path / "labels.csv"), on_bad="refuse")


def test_channels_follow_the_first_image_unless_given(tmp_path):
    make_folder(tmp_path / "src", classes=(), n=3, mode="L")
    Image.new("RGB", (12, 12), (255, 0, 0)).save(tmp_path / "src" / "red.png")
    meta = prepare(tmp_path / "src", tmp_path / "auto", workers=1)
    assert meta["shape"] == [3, 1, 12, 12] and "red.png: a colour image (RGB) among grayscale ones" in meta["bad"][0]
    meta = prepare(tmp_path / "src", tmp_path / "rgb", channels=3, workers=1)
    assert meta["shape"] == [4, 3, 12, 12] and meta["bad_count"] == 0


def test_out_is_not_replaced_without_overwrite_and_errors_name_the_path(tmp_path, capsys):
    make_folder(tmp_path / "src", n=2)
    prepare(tmp_path / "src", tmp_path / "out", workers=1)
    assert main(["prepare-data", str(tmp_path / "src"), str(tmp_path / "out")]) == 2
    assert "already holds a prepared dataset. Pass --overwrite" in capsys.readouterr().err
    assert main(["prepare-data", str(tmp_path / "src"), str(tmp_path / "out"), "--overwrite", "--size", "4"]) == 0
    assert read_out(tmp_path / "out")[2]["shape"] == [4, 3, 4, 4]
    (tmp_path / "empty").mkdir()
    with pytest.raises(GankitError, match="no images .* found in"):
        prepare(tmp_path / "empty", tmp_path / "o2")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(GankitError, match="is a file but not a .zip archive"):
        prepare(tmp_path / "x.txt", tmp_path / "o3")
