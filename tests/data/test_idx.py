"""gankit.data.idx: reading IDX files (gzipped or not), and refusing broken ones."""
import gzip

import numpy as np
import pytest
import torch

from gankit.data.idx import read_idx
from gankit.errors import GankitError


def write_idx(path, array: np.ndarray, gz: bool):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip(tmp_path, gz):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / ("x.idx.gz" if gz else "x.idx")
    write_idx(p, arr, gz)
    assert torch.equal(read_idx(p), torch.from_numpy(arr))


def test_idx_rejects_garbage(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"not an idx file")
    with pytest.raises(GankitError, match="not an IDX file"):
        read_idx(p)


@pytest.mark.parametrize("code, dtype", [(0x0C, ">i4"), (0x0B, ">i2"), (0x0D, ">f4"), (0x09, "i1")])
def test_big_endian_types_are_read_in_native_order(tmp_path, code, dtype):
    arr = np.array([[-2, 3], [70, -1]], dtype=dtype)
    p = tmp_path / "x.idx"
    p.write_bytes(bytes([0, 0, code, 2]) + (2).to_bytes(4, "big") * 2 + arr.tobytes())
    out = read_idx(p)
    assert out.shape == (2, 2) and out.tolist() == arr.tolist()


def test_truncated_file_says_so(tmp_path):
    p = tmp_path / "short.idx"
    p.write_bytes(bytes([0, 0, 0x08, 1]) + (10).to_bytes(4, "big") + bytes(5))  # 5 of 10 bytes
    with pytest.raises(GankitError, match="truncated"):
        read_idx(p)


def test_missing_or_corrupt_gzip_is_a_gankit_error(tmp_path):
    with pytest.raises(GankitError, match="cannot read IDX file"):
        read_idx(tmp_path / "absent.idx")
    bad = tmp_path / "bad.idx.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(GankitError, match="cannot read IDX file"):
        read_idx(bad)
