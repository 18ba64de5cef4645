"""MNIST and Fashion-MNIST from IDX files: only the requested split is needed."""
import socket
from pathlib import Path

import torch

from gankit.errors import GankitError
from gankit.config.registry import DATASETS
from gankit.data.base import ImageData
from gankit.data.idx import read_idx
from gankit.data.paths import check_root

_PREFIX = {"train": "train", "test": "t10k"}


def _find(root: Path, folder: str, stem: str) -> Path | None:
    for d in (root, root / folder / "raw", root / folder):
        for name in (stem, stem + ".gz"):
            if (d / name).is_file():
                return d / name
    return None


def load_idx_split(root, split: str, folder: str, download: bool, tv_class: str) -> ImageData:
    if split not in _PREFIX:
        raise GankitError(f"data.split: '{split}' is not a split of {folder}; use 'train' or 'test'.")
    root = check_root(root, must_exist=False)
    stems = [f"{_PREFIX[split]}-images-idx3-ubyte", f"{_PREFIX[split]}-labels-idx1-ubyte"]
    paths = [_find(root, folder, s) for s in stems]
    if None in paths and download:
        _download(root, tv_class, split)
        paths = [_find(root, folder, s) for s in stems]
    if None in paths:
        looked = ", ".join(str(d) for d in (root, root / folder / "raw", root / folder))
        raise GankitError(
            f"data.root: the {folder} '{split}' split was not found. Looked for {stems[0]}[.gz] and "
            f"{stems[1]}[.gz] in: {looked}. Put the IDX files in one of these folders, point data.root at "
            f"the folder that holds them, or set data.download=true on a machine with internet access."
        )
    images, labels = (read_idx(p) for p in paths)
    _check_pair(images, labels, *paths)
    return ImageData(images.unsqueeze(1).contiguous(), labels.long(), num_classes=10)


def _check_pair(images, labels, images_path: Path, labels_path: Path) -> None:
    """The images file holds (N, H, W) bytes and the labels file N digits 0..9."""
    fix = "Re-download the split or replace the file with a good copy."
    if images.dim() != 3 or images.dtype != torch.uint8:
        raise GankitError(f"data: {images_path} holds {images.dtype} values of shape {tuple(images.shape)}, not "
                          f"images (uint8, N×H×W). {fix}")
    if labels.dim() != 1 or labels.shape[0] != images.shape[0]:
        raise GankitError(f"data: {labels_path} holds labels of shape {tuple(labels.shape)} for the "
                          f"{images.shape[0]} images of {images_path}; they do not match. {fix}")
    if labels.is_floating_point() or (labels.numel() and not 0 <= int(labels.min()) <= int(labels.max()) < 10):
        raise GankitError(f"data: {labels_path} holds labels outside the classes 0..9. {fix}")


def _download(root: Path, tv_class: str, split: str) -> None:
    import torchvision.datasets as tvd

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # never hang on a machine without network
    try:
        getattr(tvd, tv_class)(str(root), train=(split == "train"), download=True)
    except Exception as e:  # network errors come in many types
        raise GankitError(
            f"data.download: downloading {tv_class} into {root} failed ({type(e).__name__}: {e}). "
            f"Without network access, copy the IDX files into {root} (or {root}/{tv_class}/raw) and set data.download=false."
        ) from e
    finally:
        socket.setdefaulttimeout(old)


@DATASETS.register("mnist")
def mnist(root: str = "data", split: str = "train", download: bool = True, image_size: int | None = None) -> ImageData:
    """Handwritten digits, 1×28×28, 10 classes (IDX files from root, root/MNIST/raw)."""
    return load_idx_split(root, split, "MNIST", download, "MNIST").resized(image_size)


@DATASETS.register("fashion_mnist")
def fashion_mnist(root: str = "data", split: str = "train", download: bool = True, image_size: int | None = None) -> ImageData:
    """Zalando clothing images, 1×28×28, 10 classes (IDX files from root, root/FashionMNIST/raw)."""
    return load_idx_split(root, split, "FashionMNIST", download, "FashionMNIST").resized(image_size)
