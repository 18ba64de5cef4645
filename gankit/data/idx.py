"""Reading IDX files (the MNIST format), gzipped or not."""
import gzip
from pathlib import Path

import numpy as np
import torch

from gankit.errors import GankitError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> torch.Tensor:
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise GankitError(f"data: cannot read IDX file {path}: {e}. Re-download or replace the file.") from e
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise GankitError(f"data: {path} is not an IDX file (bad magic number). Re-download or replace it.")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_DTYPES[data[2]])
    offset = 4 + 4 * ndim
    count = int(np.prod(dims)) if dims else 0
    if len(data) - offset < count * dtype.itemsize:
        raise GankitError(f"data: {path} is truncated ({len(data)} bytes for shape {dims}). Re-download it.")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(dims)
    return torch.from_numpy(arr.astype(arr.dtype.newbyteorder("=")).copy())
