"""A dataset prepared on disk (``gankit prepare-data``), read through a memory map, never loaded whole.

``open_prepared(folder)`` maps ``images.u8`` with ``numpy.memmap`` (copy-on-write: nothing is ever
written back) and wraps it in an ``ImageData`` without copying: a batch reads only its own images,
from the page cache, and is turned into float [-1, 1] when it is assembled (``gankit.data.batches``).
A dataset larger than memory therefore trains: the kernel keeps what fits in the page cache and
reads the rest from disk. Batches are the same as those of the same images held in memory.
"""
import hashlib
import json
import mmap
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

try:
    import fcntl
except ImportError:  # not POSIX: no lock, concurrent builds of one cache each write it whole
    fcntl = None

from gankit.config.registry import DATASETS
from gankit.data.base import ImageData
from gankit.data.paths import check_root
from gankit.data.prepare import FORMAT, VERSION
from gankit.errors import GankitError

PREPARE = "Make it with `gankit prepare-data SRC {root}`"
AGAIN = "Prepare it again with `gankit prepare-data SRC {root} --overwrite`"


@DATASETS.register("prepared")
def prepared(root: str, labels: bool = True, image_size: int | None = None, channels: int | None = None) -> ImageData:
    """A folder written by `gankit prepare-data`, memory-mapped (data larger than memory streams from disk).

    ``labels=false``: unlabelled. ``image_size`` / ``channels``, when set, are checked against the
    prepared images (they are never resized here: that would read them all)."""
    folder = check_root(root)
    data = open_prepared(folder, "data.root")
    c, h, w = data.img_shape
    for key, want, have in (("image_size", image_size, h if h == w else f"{h}×{w}"), ("channels", channels, c)):
        if want is not None and want != have:
            flag = "--size" if key == "image_size" else "--channels"
            raise GankitError(f"data.{key}: the recipe asks for {want}, but the images prepared in '{root}' are "
                              f"{c}×{h}×{w}. Prepare them again with `gankit prepare-data SRC {root} {flag} {want} "
                              f"--overwrite`, or set data.{key}: null to train at {have}.")
    return data if labels else replace(data, labels=None, num_classes=0)


def read_meta(folder: Path, key: str = "data.root") -> dict:
    """The checked ``meta.json`` of a prepared folder."""
    path = folder / "meta.json"
    if not path.is_file():
        raise GankitError(f"{key}: '{folder}' holds no prepared dataset (no meta.json). {PREPARE.format(root=folder)}.")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise GankitError(f"{key}: cannot read {path} ({e}). {AGAIN.format(root=folder)}.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("dtype") != "uint8":
        raise GankitError(f"{key}: {path} does not describe a gankit prepared dataset. "
                          f"{AGAIN.format(root=folder)}.")
    if meta.get("version", 0) > VERSION:
        raise GankitError(f"{key}: {path} is format version {meta['version']}; this gankit reads up to {VERSION}. "
                          f"Upgrade gankit, or prepare the data again with this one.")
    return meta


def open_prepared(folder: Path, key: str = "data.root") -> ImageData:
    """The images (memory-mapped uint8 N×C×H×W) and labels of a prepared folder."""
    meta = read_meta(folder, key)
    shape = tuple(int(s) for s in meta["shape"])
    images_path = folder / "images.u8"
    expect = int(np.prod(shape))
    have = images_path.stat().st_size if images_path.is_file() else None
    if have != expect:
        what = "is missing" if have is None else f"holds {have} bytes"
        raise GankitError(f"{key}: {images_path} {what}, but meta.json says {shape[0]} images of "
                          f"{'×'.join(map(str, shape[1:]))} ({expect} bytes): the folder was changed after it was "
                          f"prepared. {AGAIN.format(root=folder)}.")
    if shape[0] == 0:
        raise GankitError(f"{key}: the prepared dataset in '{folder}' holds no images. Prepare it again from a "
                          f"folder with images.")
    array = np.memmap(images_path, dtype=np.uint8, mode="c", shape=shape)  # "c": writable view, never written back
    mapped = getattr(array, "_mmap", None)
    if hasattr(mmap, "MADV_RANDOM") and mapped is not None:
        mapped.madvise(mmap.MADV_RANDOM)  # batches pick images at random: no read-ahead around each one
    images = torch.from_numpy(array)
    labels = _labels(folder, shape[0], meta.get("num_classes", 0), key)
    return ImageData(images, labels, int(meta.get("num_classes", 0)) if labels is not None else 0, streamed=True,
                     read_ahead=_reader_ahead(mapped, int(np.prod(shape[1:]))))


def page_ranges(indices, image_bytes: int, page: int = mmap.PAGESIZE) -> list[tuple[int, int]]:
    """(start, length) of the file's page-aligned ranges holding these images, adjacent ones merged."""
    ranges = []
    for i in sorted(set(indices)):
        start, end = i * image_bytes // page * page, (i + 1) * image_bytes
        if ranges and start <= ranges[-1][0] + ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], end - ranges[-1][0])
        else:
            ranges.append((start, end - start))
    return ranges


def _reader_ahead(mapped, image_bytes: int):
    """``read_ahead(indices)`` for a mapped file: MADV_WILLNEED on those images' pages, so the kernel
    reads them from disk in the background while the current step trains (None where unsupported)."""
    if mapped is None or not hasattr(mmap, "MADV_WILLNEED"):
        return None

    def read_ahead(indices: torch.Tensor) -> None:
        for start, length in page_ranges(indices.tolist(), image_bytes):
            mapped.madvise(mmap.MADV_WILLNEED, start, length)
    return read_ahead


def _labels(folder: Path, n: int, num_classes: int, key: str) -> torch.Tensor | None:
    path = folder / "labels.npy"
    if not path.is_file():
        return None
    try:
        labels = np.load(path)
    except (OSError, ValueError) as e:
        raise GankitError(f"{key}: cannot read {path} ({e}). {AGAIN.format(root=folder)}.") from None
    if labels.shape != (n,) or labels.dtype != np.int64 or (n and not 0 <= labels.min() <= labels.max() < num_classes):
        raise GankitError(f"{key}: {path} does not hold {n} labels 0..{num_classes - 1} (int64) for the images of "
                          f"'{folder}'. {AGAIN.format(root=folder)}.")
    return torch.from_numpy(labels)


def default_cache_dir() -> Path:
    """Where decoded-image caches go unless ``data.cache_dir`` says: $XDG_CACHE_HOME/gankit or ~/.cache/gankit."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gankit"


def cached(kind: str, source: Path, fingerprint, make, cache_dir: str | None = None) -> tuple[Path, bool]:
    """(the prepared folder caching ``source`` as ``fingerprint`` describes it, whether it was there already).

    A missing one is built by ``make(folder)`` under a lock (processes of one run build it once), and
    the older caches of the same source are removed. ``fingerprint``: everything the images depend on."""
    base = (Path(cache_dir).expanduser() if cache_dir else default_cache_dir()) / kind
    prefix = f"{_safe(source.name)}-{_digest(str(source.resolve()))[:8]}"
    folder = base / f"{prefix}-{_digest(repr((VERSION, fingerprint)))[:16]}"
    try:
        base.mkdir(parents=True, exist_ok=True)
        lock = open(base / f"{prefix}.lock", "w")
    except OSError as e:
        raise GankitError(f"data.cache_dir: cannot write the decoded-image cache in '{base}' ({e.strerror}). Set "
                          f"data.cache_dir to a writable folder, or data.cache=false to decode into memory on "
                          f"every run.") from None
    with lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "meta.json").is_file():
            return folder, True
        make(folder)
        for old in base.glob(f"{prefix}-*"):
            if old != folder and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    return folder, False


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:40] or "data"
