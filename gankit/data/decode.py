"""Decoding images in worker processes: one encoded image → a uint8 (C, H, W) array, converted and resized.

An *item* is what a worker needs to read one image: a file path, a (zip path, member name) pair,
or the encoded bytes themselves. ``decoded(items, spec, workers)`` yields every item's array (or
why it is bad) in order: a chunked map over a process pool, so the result does not depend on the
worker count. Workers use PIL and NumPy only.
"""
import io
import multiprocessing
import os
import re
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from gankit.errors import first_line
from gankit.store.files import read_bounded

CHUNK = 64  # images per task sent to a worker
MAX_FILE = 256 * 2**20  # bytes of one encoded image (a file, or a member of a zip), at most
MAX_RATIO = 100  # inflated / compressed size of a zip member larger than RATIO_FLOOR, at most (zeros reach 1000)
RATIO_FLOOR = 16 * 2**20  # members up to this size may compress as well as they like
MAX_PIXELS = 2**26  # pixels of one image (8192 × 8192), at most: a small PNG can decode to gigabytes
READ_CHUNK = 2**20  # a zip member is read in pieces of this size, counted against MAX_FILE
_BUFFER = re.compile(r" ?<_io\.BytesIO object at 0x[0-9a-f]+>")
GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"}


class BadImage(Exception):
    """A file with an image suffix that does not decode (or, with channels=None, has the other channel count)."""


@dataclass(frozen=True)
class Spec:
    """How every image is converted: to ``channels`` (1 or 3), ``size``×``size`` pixels, by ``crop``."""

    size: int
    channels: int
    crop: str = "center"  # "center": shorter side to size, then the middle square; "none": stretched to size×size
    strict_channels: bool = False  # a grayscale image among colour ones (or the reverse) is a bad file


def decode(data: bytes, spec: Spec) -> np.ndarray:
    """One encoded image as uint8 (channels, size, size), or BadImage saying why it cannot be."""
    from PIL import Image

    if not data:
        raise BadImage("empty file, 0 bytes")
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.size[0] * im.size[1] > MAX_PIXELS:  # before decoding: a few KiB of PNG can stand for gigabytes
                raise BadImage(f"{im.size[0]}×{im.size[1]} pixels, more than the {MAX_PIXELS} an image may have")
            kind = 1 if im.mode in GRAY_MODES else 3
            if spec.strict_channels and kind != spec.channels:
                have, want = ("grayscale", "colour") if kind == 1 else ("colour", "grayscale")
                raise BadImage(f"a {have} image ({im.mode}) among {want} ones; set the channels (1 or 3) to convert "
                               f"every image")
            im = _fit(im.convert("L" if spec.channels == 1 else "RGB"), spec.size, spec.crop)
            a = np.asarray(im, dtype=np.uint8)
    except BadImage:
        raise
    except Exception as e:  # noqa: BLE001 - PIL's decoders raise OSError, ValueError, SyntaxError, struct.error, ...
        raise BadImage(_why(e)) from None
    return np.ascontiguousarray(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))


def _why(e: Exception) -> str:
    """Why PIL could not decode an image, without the in-memory buffer's address it names."""
    return f"{type(e).__name__}: {_BUFFER.sub('', first_line(e))}"


def _fit(im, size: int, crop: str):
    """Resize (antialiased bilinear) and crop as torchvision's resize(size) + center_crop(size) do."""
    from PIL import Image

    w, h = im.size
    if crop == "none":
        return im if (w, h) == (size, size) else im.resize((size, size), Image.BILINEAR)
    nw, nh = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    return im.crop((left, top, left + size, top + size))


def probe(data: bytes) -> tuple[int, int, int]:
    """(width, height, 1 or 3 channels) of an encoded image, from its header; BadImage when it has none."""
    from PIL import Image

    if not data:
        raise BadImage("empty file, 0 bytes")
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size[0], im.size[1], 1 if im.mode in GRAY_MODES else 3
    except Exception as e:  # noqa: BLE001
        raise BadImage(_why(e)) from None


_ZIPS: dict[tuple[int, str], zipfile.ZipFile] = {}  # (process id, path): each process opens a zip once, its own


def read_item(item) -> bytes:
    """The bytes of an item: a path (str), a (zip path, member) pair, or the bytes themselves."""
    if isinstance(item, bytes):
        return item
    if isinstance(item, tuple):
        key = (os.getpid(), item[0])  # a forked worker must not share its parent's file offset
        if key not in _ZIPS:
            _ZIPS[key] = zipfile.ZipFile(item[0])
        try:
            return _read_member(_ZIPS[key], _ZIPS[key].getinfo(item[1]))
        except BadImage:
            raise
        except Exception as e:  # noqa: BLE001 - zipfile raises BadZipFile, zlib.error, EOFError, ...
            raise BadImage(f"{type(e).__name__}: {first_line(e)}") from None
    try:
        return read_bounded(item, MAX_FILE)  # a regular file of at most MAX_FILE bytes: not a pipe, not a device
    except OSError as e:
        raise BadImage(e.strerror or type(e).__name__) from None


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytearray:
    """A zip member's bytes, streamed in ``READ_CHUNK`` pieces and bounded: a member whose header says
    it inflates past ``MAX_FILE``, or by more than ``MAX_RATIO`` (a zip bomb), is refused unread, and
    reading stops at ``MAX_FILE`` whatever the header says."""
    if info.file_size > MAX_FILE:  # a zip bomb: a small member that inflates to gigabytes
        raise BadImage(f"{info.file_size} bytes when inflated, more than the {MAX_FILE} an image may have")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise BadImage(f"{info.compress_size} bytes that inflate to {info.file_size} (more than {MAX_RATIO} times): "
                       f"a zip bomb, not an image")
    out = bytearray()
    with z.open(info) as f:
        while piece := f.read(READ_CHUNK):  # zipfile stops at the size the header gives
            out += piece
            if len(out) > MAX_FILE:
                raise BadImage(f"more than the {MAX_FILE} bytes an image may have")
    return out


def _decode_chunk(task):
    items, spec = task
    out = []
    for item in items:
        try:
            out.append(decode(read_item(item), spec))
        except BadImage as e:
            out.append(str(e))
    return out


def _pool(workers: int):
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)  # fork: no re-import per worker
    return ProcessPoolExecutor(workers, mp_context=ctx)


def decoded(items: list, spec: Spec, workers: int = 1, progress: bool = False, desc: str = "decoding"):
    """(index, uint8 array or why it is bad) for every item, in order; ``workers`` > 1 decodes in processes."""
    chunks = [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
    bar = tqdm(total=len(items), desc=desc, unit="img", disable=not progress, smoothing=0.1)
    pool = _pool(workers) if workers > 1 and len(chunks) > 1 else None
    try:
        results = pool.map(_decode_chunk, [(c, spec) for c in chunks]) if pool else map(_decode_chunk, [(c, spec) for c in chunks])
        i = 0
        for chunk in results:
            for r in chunk:
                yield i, r
                i += 1
            bar.update(len(chunk))
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for key in [k for k in _ZIPS if k[0] == os.getpid()]:
            _ZIPS.pop(key).close()


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
