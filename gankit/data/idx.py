"""Reading IDX files (the MNIST format), gzipped or not.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian 4-byte size per dimension, then exactly that many values. Anything else — a
bad magic number, a header cut short, a body longer or shorter than the sizes say, a damaged
gzip stream — is a ``GankitError`` naming the file, read without allocating more than the
file holds.
"""
import gzip
import math
import zlib
from pathlib import Path

import numpy as np
import torch

from gankit.errors import GankitError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_FIX = "Re-download the file or replace it with a good copy"


def read_idx(path: str | Path) -> torch.Tensor:
    """The array an IDX file holds, in native byte order."""
    path = Path(path)
    data = _read_bytes(path)
    dtype, dims = _header(path, data)
    offset = 4 + 4 * len(dims)
    expected = offset + math.prod(dims) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise GankitError(f"data: {path} is {what} ({len(data)} bytes, but its header promises shape {dims} of "
                          f"{dtype.itemsize}-byte values: {expected} bytes). {_FIX}.")
    arr = np.frombuffer(data, dtype=dtype, count=math.prod(dims), offset=offset).reshape(dims)
    return torch.from_numpy(arr.astype(arr.dtype.newbyteorder("=")).copy())


def _read_bytes(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:  # gzip: EOFError when cut short, zlib.error when damaged
        raise GankitError(f"data: cannot read IDX file {path}: {e}. {_FIX}.") from None


def _header(path: Path, data: bytes) -> tuple[np.dtype, list[int]]:
    """The value type and the dimensions an IDX header declares."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise GankitError(f"data: {path} is not an IDX file (bad magic number {data[:4].hex() or 'none'}). {_FIX}.")
    ndim = data[3]
    if ndim == 0:
        raise GankitError(f"data: {path} is not a usable IDX file (its header declares no dimensions). {_FIX}.")
    if len(data) < 4 + 4 * ndim:
        raise GankitError(f"data: {path} is truncated inside its header ({len(data)} bytes for {ndim} "
                          f"dimensions). {_FIX}.")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_DTYPES[data[2]])
    if math.prod(max(d, 1) for d in dims) * dtype.itemsize >= 2**62:  # even with a 0 in it: no array can have it
        raise GankitError(f"data: {path} declares an impossible shape {dims}. {_FIX}.")
    return dtype, dims
