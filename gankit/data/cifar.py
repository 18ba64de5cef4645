"""CIFAR-10 and CIFAR-100 from the official tarballs (python or binary version) or their extracted folders.

``data: {name: cifar10, root: data, split: train}`` reads ``root/cifar-10-batches-py/`` or
``root/cifar-10-batches-bin/`` (or ``root`` itself, when it is one of these folders), else the
tarball ``root/cifar-10-python.tar.gz`` or ``root/cifar-10-binary.tar.gz`` straight from the archive
(nothing is extracted); CIFAR-100 the same with ``cifar-100-python`` and ``cifar-100-binary``. Formats:
``gankit.data.cifar_files``. When none is there and ``download`` is true, the python tarball is
downloaded from the authors' site into ``root`` and checked against its MD5; without network the
error says which file to put where. The images are held in memory, uint8 (N, 3, 32, 32).
"""
import os
import socket
from pathlib import Path

import torch

from gankit.config.registry import DATASETS
from gankit.data.base import ImageData
from gankit.data.cifar_files import CLASSES, LAYOUTS, SPLITS, find_source, read_split
from gankit.data.paths import check_root
from gankit.errors import GankitError

URL = "https://www.cs.toronto.edu/~kriz/"
MD5 = {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a",  # as torchvision checks them
       "cifar-100-python.tar.gz": "eb9058c3a382ffc7106e4002c42a8d85"}
TIMEOUT_S = 20  # never hang on a machine without network


def load_cifar(dataset: str, root, split: str, download: bool, label_kind: str) -> ImageData:
    """The ``split`` of ``dataset`` found under ``root`` (downloaded first when missing and allowed)."""
    if split not in SPLITS:
        raise GankitError(f"data.split: '{split}' is not a split of {dataset}; use 'train' or 'test'.")
    root = check_root(root, must_exist=False)
    found = find_source(root, dataset, split)
    if found is None and download:
        _download(root, LAYOUTS[dataset][0].archive)
        found = find_source(root, dataset, split)
    if found is None:
        raise GankitError(_missing(root, dataset, split, download))
    images, labels = read_split(*found, split, dataset)
    return ImageData(torch.from_numpy(images), torch.from_numpy(labels[label_kind]),  # both fresh arrays
                     num_classes=CLASSES[(dataset, label_kind)])


def _missing(root: Path, dataset: str, split: str, download: bool) -> str:
    python, binary = LAYOUTS[dataset]
    how = ("set data.download=true on a machine with internet access" if not download else
           "download it on a machine with internet access")
    return (f"data.root: the {dataset} '{split}' split was not found under '{root}'. Put {python.archive} (from "
            f"{URL}{python.archive}) or {binary.archive} in {_shown(root)} as downloaded, or their extracted folder "
            f"{root / python.folder}/ or {root / binary.folder}/, or point data.root at the folder that holds "
            f"them; or {how}.")


def _shown(root: Path) -> str:
    """The folder as the recipe names it, and where that is when it is relative."""
    return f"{root}/" if root.is_absolute() else f"{root}/ ({root.absolute()})"


def _download(root: Path, filename: str) -> None:
    """``filename`` from the CIFAR site into ``root``, checked against its MD5, renamed into place when whole."""
    from torchvision.datasets.utils import check_integrity, download_url

    partial = f".{filename}.part-{os.getpid()}"
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(TIMEOUT_S)
    try:
        root.mkdir(parents=True, exist_ok=True)
        download_url(URL + filename, str(root), filename=partial)
        if not check_integrity(str(root / partial), MD5[filename]):
            raise OSError(f"the downloaded file does not have the MD5 {MD5[filename]}")
        os.replace(root / partial, root / filename)
    except Exception as e:  # network errors come in many types
        raise GankitError(
            f"data.download: downloading {URL}{filename} into {root} failed ({type(e).__name__}: {e}). Without "
            f"network access, copy {filename} (or its extracted folder) into {_shown(root)} and set "
            f"data.download=false."
        ) from e
    finally:
        socket.setdefaulttimeout(old)
        (root / partial).unlink(missing_ok=True)


@DATASETS.register("cifar10")
def cifar10(root: str = "data", split: str = "train", download: bool = True, image_size: int | None = None) -> ImageData:
    """CIFAR-10, 3×32×32, 10 classes (python or binary tarball or extracted folder in root; downloads when missing)."""
    return load_cifar("cifar10", root, split, download, "label").resized(image_size)


@DATASETS.register("cifar100")
def cifar100(root: str = "data", split: str = "train", download: bool = True, label_kind: str = "fine",
             image_size: int | None = None) -> ImageData:
    """CIFAR-100, 3×32×32, 100 fine or 20 coarse classes (label_kind; files found as for cifar10)."""
    if label_kind not in ("fine", "coarse"):
        raise GankitError(f"data.label_kind: '{label_kind}' is not a CIFAR-100 label; use 'fine' (100 classes) or "
                          f"'coarse' (20 superclasses).")
    return load_cifar("cifar100", root, split, download, label_kind).resized(image_size)
