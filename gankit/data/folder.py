"""Any folder of images (PNG/JPEG/...), grayscale or RGB, resized and held in memory.

Images of any size and channel count are converted to ``channels`` and resized (shorter side to
``image_size``, then center-cropped), so a folder may mix them. A file with an image suffix that
does not decode (zero bytes, cut short, not an image at all) stops the load with its name, or is
skipped when ``skip_bad`` is set (a warning says how many).
"""
import warnings
from pathlib import Path

import torch

from gankit.errors import GankitError, first_line
from gankit.config.registry import DATASETS
from gankit.data.base import ImageData
from gankit.data.paths import check_root, walk_files

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
SKIP_HINT = "set data.skip_bad=true to skip unreadable files"


@DATASETS.register("image_folder")
def image_folder(root: str, image_size: int = 64, channels: int = 3, max_images: int | None = None,
                 skip_bad: bool = False) -> ImageData:
    """Every image under root (subfolders = classes when there are several), center-cropped and resized."""
    _check_arguments(image_size, channels, max_images)
    root_path = check_root(root)
    files = _image_files(root_path, root, skip_bad)
    images, bad = _decode_all(files, image_size, channels, max_images, skip_bad)
    if bad:
        warnings.warn(f"data.root: skipped {len(bad)} of {len(bad) + len(images)} image files under '{root}' that do "
                      f"not decode (first: {bad[0]}). Remove them to silence this warning.", UserWarning, stacklevel=2)
    if not images:
        raise GankitError(f"data.root: none of the image files under '{root}' could be read (first: {bad[0]}). "
                          f"Point data.root at a folder of images.")
    classes = sorted({p.parent for p, _ in images})
    class_index = {c: i for i, c in enumerate(classes)}
    labels = torch.tensor([class_index[p.parent] for p, _ in images])
    out = torch.stack([t for _, t in images])
    return ImageData(out, labels, num_classes=len(classes) if len(classes) > 1 else 0)


def _check_arguments(image_size, channels, max_images) -> None:
    if channels not in (1, 3):
        raise GankitError(f"data.channels: must be 1 (grayscale) or 3 (RGB), got {channels!r}.")
    if image_size < 1:
        raise GankitError(f"data.image_size: must be ≥ 1 pixel, got {image_size!r}.")
    if max_images is not None and max_images < 1:
        raise GankitError(f"data.max_images: must be ≥ 1 (or null: all), got {max_images!r}.")


def _image_files(root_path: Path, root: str, skip_bad: bool) -> list[Path]:
    files, unreadable = walk_files(root_path)
    if unreadable and not skip_bad:
        raise GankitError(f"data.root: cannot list {len(unreadable)} folder(s) under '{root}' (first: {unreadable[0]}). "
                          f"Give this user read access, or {SKIP_HINT}.")
    files = [p for p in files if p.suffix.lower() in EXTENSIONS]
    if not files:
        raise GankitError(
            f"data.root: no images ({', '.join(sorted(EXTENSIONS))}) found under '{root}'. Point data.root at a folder of images."
        )
    return files


def _decode_all(files, image_size: int, channels: int, max_images, skip_bad: bool):
    """([(path, uint8 tensor)], [why each skipped file was bad]) for up to ``max_images`` images."""
    images, bad = [], []
    for p in files:
        if max_images is not None and len(images) >= max_images:
            break
        try:
            images.append((p, _decode(p, image_size, channels)))
        except _BadImage as e:
            if not skip_bad:
                raise GankitError(f"data.root: cannot read image {p} ({e}). Remove or replace the file, "
                                  f"or {SKIP_HINT}.") from None
            bad.append(f"{p}: {e}")
    return images, bad


class _BadImage(Exception):
    """A file with an image suffix that does not decode."""


def _decode(p: Path, image_size: int, channels: int) -> torch.Tensor:
    """One image as uint8 (channels, image_size, image_size): converted, resized, center-cropped."""
    from PIL import Image
    import torchvision.transforms.functional as TF

    try:
        size = p.stat().st_size
    except OSError as e:
        raise _BadImage(e.strerror) from None
    if size == 0:
        raise _BadImage("empty file, 0 bytes")
    try:
        with Image.open(p) as im:
            t = TF.pil_to_tensor(im.convert("L" if channels == 1 else "RGB"))
    except Exception as e:  # noqa: BLE001 - PIL's decoders raise OSError, ValueError, SyntaxError, struct.error, ...
        raise _BadImage(f"{type(e).__name__}: {first_line(e)}") from None
    t = TF.resize(t, image_size, antialias=True)
    return TF.center_crop(t, [image_size, image_size])
