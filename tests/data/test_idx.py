"""gankit.data.idx: reading IDX files (gzipped or not), and refusing broken ones."""
import gzip

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize("data, says", [
    (bytes([0, 0, 0x08, 3]) + (2).to_bytes(4, "big"), "truncated inside its header"),
    (bytes([0, 0, 0x08, 0]), "declares no dimensions"),
    (bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + bytes(5), "longer than its header says"),
    (bytes([0, 0, 0x08, 3]) + (2**20).to_bytes(4, "big") * 3 + bytes(8), "truncated"),  # no 1 EiB allocation
    (bytes([0, 0, 0x08, 4]) + (2**32 - 1).to_bytes(4, "big") * 4 + bytes(8), "impossible shape"),
    (bytes([0, 0, 0x07, 1]) + (1).to_bytes(4, "big") + bytes(1), "bad magic number"),
    (bytes([0, 0, 0x08, 5]) + b"".join(d.to_bytes(4, "big") for d in (0, 2476, 59414, 250014, 250776)),
     "impossible shape"),  # found by the fuzz test below: no bytes, yet a shape numpy cannot make
])
def test_malformed_headers_name_the_file(tmp_path, data, says):
    p = tmp_path / "x-idx1-ubyte"
    p.write_bytes(data)
    with pytest.raises(GankitError, match=f"^data: .*{p.name}.*{says}"):
        read_idx(p)


def test_damaged_deflate_stream_is_a_gankit_error(tmp_path):
    good = gzip.compress(bytes([0, 0, 0x08, 1]) + (4000).to_bytes(4, "big") + bytes(range(250)) * 16)
    p = tmp_path / "x.gz"
    p.write_bytes(good[:10] + b"\xff" * 16 + good[26:])  # the deflate stream itself (zlib.error)
    with pytest.raises(GankitError, match="cannot read IDX file"):
        read_idx(p)


DTYPE_CODES = st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x07, 0xFF])
DIMS = st.lists(st.one_of(st.integers(0, 6), st.integers(0, 2**32 - 1)), max_size=5)


@settings(max_examples=200, deadline=None)
@given(code=DTYPE_CODES, dims=DIMS, ndim_delta=st.integers(-2, 2), body=st.binary(max_size=300),
       noise=st.binary(max_size=12), gz=st.booleans())
def test_fuzzed_idx_files_give_an_array_or_a_gankit_error(tmp_path_factory, code, dims, ndim_delta, body, noise, gz):
    """Random headers (any type code, dimension count and sizes, even ones the file cannot hold) and bodies."""
    ndim = max(0, min(255, len(dims) + ndim_delta))
    data = bytes([0, 0, code, ndim]) + b"".join(d.to_bytes(4, "big") for d in dims) + body
    data = noise + data if noise and noise[0] % 4 == 0 else data  # sometimes not even the magic number
    p = tmp_path_factory.mktemp("fuzz") / ("x.gz" if gz else "x")
    p.write_bytes(gzip.compress(data) if gz else data)
    try:
        arr = read_idx(p)
    except GankitError as e:
        assert str(p) in str(e) and "\n" not in str(e)
        return
    assert arr.numel() * arr.element_size() == len(data) - 4 - 4 * arr.dim()
