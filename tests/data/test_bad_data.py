"""Bad data on disk, through `gankit check` and `gankit train`: exit code 2 and one paragraph naming the
file (or folder) and the fix, never a traceback or a hang; or, with data.skip_bad, a count of what was skipped."""
import gzip
import os
import re

import pytest
from PIL import Image

from gankit.cli import main
from gankit.data import paths

from tests.reliability.helpers import SMALL

from .test_mnist import make_split


def _recipe(tmp_path, data: str, generator: str = "") -> str:
    r = tmp_path / "r.yaml"
    r.write_text(f"base: {SMALL}\ndata: {data}\n{generator}")
    return str(r)


def _mnist(tmp_path):
    root = tmp_path / "mnist"
    make_split(root, "t10k", n=20, gz=False)
    return root, _recipe(tmp_path, f"{{name: mnist, root: {root}, split: test, download: false, size: null}}")


def _folder(tmp_path, n=3, size=(8, 8), mode="L"):
    root = tmp_path / "images"
    root.mkdir(exist_ok=True)
    for i in range(n):
        Image.new(mode, size, 128).save(root / f"{i}.png")
    return root, _recipe(tmp_path, f"{{name: image_folder, root: {root}, image_size: 8, channels: 1, size: null}}")


def _images_file(root):
    return root / "t10k-images-idx3-ubyte"


def truncated_idx(tmp_path):
    root, r = _mnist(tmp_path)
    f = _images_file(root)
    f.write_bytes(f.read_bytes()[:-100])
    return r, [str(f), "is truncated"]


def idx_longer_than_its_header(tmp_path):
    root, r = _mnist(tmp_path)
    f = _images_file(root)
    f.write_bytes(f.read_bytes() + b"\0" * 7)
    return r, [str(f), "longer than its header says"]


def idx_wrong_magic(tmp_path):
    root, r = _mnist(tmp_path)
    f = root / "t10k-labels-idx1-ubyte"
    f.write_bytes(b"\x01\x02" + f.read_bytes()[2:])
    return r, [str(f), "bad magic number"]


def idx_labels_out_of_range(tmp_path):
    root, r = _mnist(tmp_path)
    f = root / "t10k-labels-idx1-ubyte"
    f.write_bytes(f.read_bytes()[:-1] + b"\xc8")  # label 200
    return r, [str(f), "outside the classes 0..9"]


def idx_gzip_damaged(tmp_path):
    root, r = _mnist(tmp_path)
    f = _images_file(root)
    body = bytearray(gzip.compress(f.read_bytes()))
    body[40:60] = b"\xff" * 20
    f.unlink()
    (root / "t10k-images-idx3-ubyte.gz").write_bytes(bytes(body))
    return r, [str(f) + ".gz", "cannot read IDX file"]


def folder_empty(tmp_path):
    root, r = _folder(tmp_path, n=0)
    return r, ["data.root", str(root), "no images"]


def folder_zero_byte_file(tmp_path):
    root, r = _folder(tmp_path)
    (root / "empty.png").write_bytes(b"")
    return r, [str(root / "empty.png"), "empty file, 0 bytes", "data.skip_bad=true"]


def folder_undecodable_image(tmp_path):
    root, r = _folder(tmp_path)
    data = (root / "0.png").read_bytes()
    (root / "cut.png").write_bytes(data[: len(data) // 2])
    return r, [str(root / "cut.png"), "data.skip_bad=true"]


def folder_text_named_png(tmp_path):
    root, r = _folder(tmp_path)
    (root / "notes.jpg").write_text("not an image at all")
    return r, [str(root / "notes.jpg"), "cannot identify image file"]


def root_is_a_file(tmp_path):
    f = tmp_path / "data.png"
    f.write_bytes(b"x")
    return _recipe(tmp_path, f"{{name: image_folder, root: {f}, size: null}}"), [str(f), "is a file, not a folder"]


def root_is_a_symlink_loop(tmp_path):
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    return _recipe(tmp_path, f"{{name: mnist, root: {loop}, download: false, size: null}}"), [str(loop), "loops"]


def conditional_on_unlabelled_folder(tmp_path):
    _, r = _folder(tmp_path)
    with open(r, "a") as f:
        f.write("generator: {name: conditional, body: mlp, body_args: {hidden: [16]}, z_dim: 8, hidden: null, "
                "batch_norm: null}\n")
    return r, ["generator", "labelled dataset", "num_classes=0"]


CASES = [truncated_idx, idx_longer_than_its_header, idx_wrong_magic, idx_labels_out_of_range, idx_gzip_damaged,
         folder_empty, folder_zero_byte_file, folder_undecodable_image, folder_text_named_png, root_is_a_file,
         root_is_a_symlink_loop, conditional_on_unlabelled_folder]


def _refused(argv, expect, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: ") and "Traceback" not in err and "\n\n" not in err.strip(), err
    for text in expect:
        assert text in err, f"{text!r} not in {err}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_bad_data_is_refused_by_check_naming_the_file(case, tmp_path, capsys):
    recipe, expect = case(tmp_path)
    _refused(["check", recipe, "--steps", "0"], expect, capsys)


@pytest.mark.parametrize("case", [truncated_idx, folder_undecodable_image, root_is_a_symlink_loop],
                         ids=lambda c: c.__name__)
def test_bad_data_is_refused_by_train_the_same_way(case, tmp_path, capsys):
    recipe, expect = case(tmp_path)
    _refused(["train", recipe, "--out", str(tmp_path / "run")], expect, capsys)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_fifo_named_like_an_image_is_not_opened(tmp_path, capsys):
    root, r = _folder(tmp_path, n=20)
    os.mkfifo(root / "pipe.png")  # opening it would block forever
    os.symlink(root, root / "again")  # a link back to the folder: walked once
    assert main(["check", r, "--steps", "0"]) == 0
    assert "20 images" in capsys.readouterr().out


def test_skip_bad_skips_and_says_how_many(tmp_path, capsys):
    root, r = _folder(tmp_path, n=20)
    (root / "empty.png").write_bytes(b"")
    (root / "notes.png").write_text("text")
    with pytest.warns(UserWarning, match=r"skipped 2 of 22 image files under .* \(first: .*empty.png: .*0 bytes"):
        assert main(["check", r, "data.skip_bad=true", "--steps", "0"]) == 0
    assert "20 images" in capsys.readouterr().out


def test_mixed_sizes_and_channel_counts_are_converted(tmp_path, capsys):
    root, r = _folder(tmp_path, n=20, size=(8, 8), mode="L")
    Image.new("RGB", (30, 12), (255, 0, 0)).save(root / "wide_rgb.png")
    Image.new("RGBA", (5, 9), (0, 255, 0, 100)).save(root / "small_rgba.png")
    Image.new("P", (16, 16)).save(root / "palette.gif")
    assert main(["check", r, "--steps", "0"]) == 0
    assert "23 images of 1×8×8" in capsys.readouterr().out


def test_an_unreadable_root_says_so(tmp_path, monkeypatch):
    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(paths.os, "scandir", denied)  # (as root, chmod cannot take read access away)
    with pytest.raises(Exception, match=re.escape(f"data.root: cannot list folder '{tmp_path}' (Permission denied)")):
        paths.check_root(tmp_path)


def test_a_channel_count_images_cannot_have_names_the_key(tmp_path, capsys):
    root, r = _folder(tmp_path)
    _refused(["check", r, "data.channels=4", "--steps", "0"], ["data.channels", "must be 1 (grayscale) or 3 (RGB)"],
             capsys)
