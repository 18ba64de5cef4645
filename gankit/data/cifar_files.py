"""The CIFAR-10 and CIFAR-100 files as their authors ship them, read without extracting anything to disk.

Each dataset comes in two versions, each a tarball whose one folder holds the batch files of a split:

* python: ``cifar-10-python.tar.gz`` → ``cifar-10-batches-py/`` (``data_batch_1`` … ``_5``, ``test_batch``),
  ``cifar-100-python.tar.gz`` → ``cifar-100-python/`` (``train``, ``test``): pickled dicts holding
  ``data`` (N×3072 uint8, the 1024 red, then green, then blue values of each image, row by row)
  and ``labels`` (CIFAR-10) or ``fine_labels`` and ``coarse_labels`` (CIFAR-100), read by the
  restricted unpickler of ``gankit.data.safe_pickle``;
* binary: ``cifar-10-binary.tar.gz`` → ``cifar-10-batches-bin/`` (``data_batch_1.bin`` …, ``test_batch.bin``),
  ``cifar-100-binary.tar.gz`` → ``cifar-100-binary/`` (``train.bin``, ``test.bin``): fixed-size records
  of 1 label byte (CIFAR-100: the coarse, then the fine label byte) and the same 3072 bytes.

``find_source`` looks under ``root`` as torchvision lays the files out (the extracted folder, or
the tarball, in ``root``), or in ``root`` itself when it is the extracted folder; ``read_split``
returns the split's images (N, 3, 32, 32) and labels. A member is read with a bound, never
more than ``MAX_MEMBER`` bytes, whatever the archive's header claims.
"""
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gankit.data.safe_pickle import load_restricted
from gankit.errors import GankitError, first_line

PIXELS = 3 * 32 * 32
MAX_MEMBER = 512 * 2**20  # the largest CIFAR file (CIFAR-100's train batch) is 154 MB
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Layout:
    """One version of a CIFAR dataset: its tarball, the folder inside it, the files of each split."""

    archive: str
    folder: str
    kind: str  # "python" or "binary"
    files: dict  # split → file names in the folder


def _layouts(tag: str, folder: str, train: list[str], test: str, binary: bool) -> Layout:
    sfx = ".bin" if binary else ""
    archive = f"{tag}-{'binary' if binary else 'python'}.tar.gz"
    return Layout(archive, folder, "binary" if binary else "python",
                  {"train": [f + sfx for f in train], "test": [test + sfx]})


LAYOUTS = {
    "cifar10": [_layouts("cifar-10", "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch", False),
                _layouts("cifar-10", "cifar-10-batches-bin", [f"data_batch_{i}" for i in range(1, 6)], "test_batch", True)],
    "cifar100": [_layouts("cifar-100", "cifar-100-python", ["train"], "test", False),
                 _layouts("cifar-100", "cifar-100-binary", ["train"], "test", True)],
}


def find_source(root: Path, dataset: str, split: str) -> tuple[Layout, Path] | None:
    """(the version found, the folder or tarball holding it) under ``root``; extracted folders first."""
    layouts = LAYOUTS[dataset]
    for layout in layouts:
        for folder in (root / layout.folder, root):
            if all((folder / f).is_file() for f in layout.files[split]):
                return layout, folder
    for layout in layouts:
        if (root / layout.archive).is_file():
            return layout, root / layout.archive
    return None


def read_split(layout: Layout, source: Path, split: str, dataset: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(images uint8 (N, 3, 32, 32), {label kind: int64 labels (N,)}) of ``split`` from ``source``."""
    names = layout.files[split]
    blobs = _from_archive(source, layout, names) if source.is_file() else [_from_file(source / n) for n in names]
    parse = _parse_binary if layout.kind == "binary" else _parse_python
    parts = [parse(data, f"{source}/{name}" if source.is_file() else str(source / name), dataset)
             for name, data in zip(names, blobs)]
    images = np.concatenate([p[0] for p in parts]).reshape(-1, 3, 32, 32)
    labels = {k: np.concatenate([p[1][k] for p in parts]) for k in parts[0][1]}
    return images, labels


def _fix(where) -> str:
    return f"Download the file again, or replace {where} with a good copy."


def _read_bounded(f, size: int, where: str) -> bytes:
    """All of ``f`` when it is at most ``MAX_MEMBER`` bytes (one read, never more than one byte past
    that bound, whatever its header claims); a larger file is refused."""
    if size > MAX_MEMBER:
        raise GankitError(f"data.root: {where} claims {size} bytes, more than any CIFAR file ({MAX_MEMBER} at most); "
                          f"it is not a CIFAR batch. {_fix(where)}")
    data = f.read(MAX_MEMBER + 1)
    if len(data) > MAX_MEMBER:
        raise GankitError(f"data.root: {where} holds more than {MAX_MEMBER} bytes; it is not a CIFAR batch. "
                          f"{_fix(where)}")
    return data


def _from_file(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return _read_bounded(f, path.stat().st_size, str(path))
    except OSError as e:
        raise GankitError(f"data.root: cannot read {path} ({e.strerror}). Give this user read access, or "
                          f"download the file again.") from None


def _from_archive(path: Path, layout: Layout, names: list[str]) -> list[bytes]:
    """The members ``layout.folder/name`` of the tarball, read in one pass over it."""
    wanted = {f"{layout.folder}/{n}": n for n in names}
    found = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                name = wanted.get(member.name.removeprefix("./"))
                if name is None or not member.isfile():
                    continue
                found[name] = _read_bounded(tar.extractfile(member), member.size, f"{path}:{member.name}")
                if len(found) == len(names):
                    break
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise GankitError(f"data.root: cannot read the archive {path} ({type(e).__name__}: {first_line(e)}); it is damaged or "
                          f"cut short. Delete it and download it again ({layout.archive}).") from None
    missing = [n for n in names if n not in found]
    if missing:
        raise GankitError(f"data.root: the archive {path} has no {layout.folder}/{missing[0]}; it is not the "
                          f"{layout.archive} the CIFAR authors ship. Delete it and download it again.")
    return [found[n] for n in names]


def _parse_binary(data: bytes, where: str, dataset: str) -> tuple[np.ndarray, dict]:
    head = 1 if dataset == "cifar10" else 2
    record = head + PIXELS
    if not data or len(data) % record:
        raise GankitError(f"data.root: {where} holds {len(data)} bytes, not a whole number of {record}-byte CIFAR "
                          f"records ({head} label byte{'s' if head > 1 else ''} + {PIXELS} pixel bytes). {_fix(where)}")
    rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    labels = {"label": rows[:, 0]} if head == 1 else {"coarse": rows[:, 0], "fine": rows[:, 1]}
    return rows[:, head:], _checked(labels, dataset, where)


def _parse_python(data: bytes, where: str, dataset: str) -> tuple[np.ndarray, dict]:
    obj = load_restricted(data, where, _fix(where))
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()} if isinstance(obj, dict) else {}
    keys = {"label": "labels"} if dataset == "cifar10" else {"coarse": "coarse_labels", "fine": "fine_labels"}
    images = batch.get("data")
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != PIXELS:
        what = f"{images.dtype} {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
        raise GankitError(f"data.root: {where} does not hold a CIFAR batch ('data' should be N×{PIXELS} uint8, "
                          f"found {what if 'data' in batch else 'no data'}). {_fix(where)}")
    labels = {}
    for kind, key in keys.items():
        try:
            labels[kind] = np.asarray(batch[key], dtype=np.int64).reshape(-1)
        except (KeyError, TypeError, ValueError):
            raise GankitError(f"data.root: {where} has no list of whole numbers '{key}'; it is not a "
                              f"{dataset} batch. {_fix(where)}") from None
        if labels[kind].shape[0] != images.shape[0]:
            raise GankitError(f"data.root: {where} holds {images.shape[0]} images but {labels[kind].shape[0]} "
                              f"'{key}'. {_fix(where)}")
    return images, _checked(labels, dataset, where)


CLASSES = {("cifar10", "label"): 10, ("cifar100", "fine"): 100, ("cifar100", "coarse"): 20}


def _checked(labels: dict, dataset: str, where: str) -> dict:
    out = {}
    for kind, values in labels.items():
        n = CLASSES[(dataset, kind)]
        values = np.asarray(values, dtype=np.int64)
        if values.size and not 0 <= values.min() <= values.max() < n:
            what = "labels" if kind == "label" else f"{kind} labels"
            raise GankitError(f"data.root: {where} holds {what} outside 0..{n - 1}; it is not a {dataset} "
                              f"batch. {_fix(where)}")
        out[kind] = values
    return out
