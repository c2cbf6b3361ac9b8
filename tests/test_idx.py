"""flowlab.idx: reading IDX files (MNIST's format), checked against files written from the format's definition."""

import gzip
import struct

import numpy as np
import pytest

from fakes import idx_bytes, write_bytes
from flowlab.idx import read_idx


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_uint8(tmp_path, gz):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_bytes(tmp_path / "imgs", idx_bytes(images), gz)
    got = read_idx(path)
    assert got.dtype == np.uint8 and got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, images)
    got[0, 0, 0] = 7  # writable copy


@pytest.mark.parametrize("code, dtype", [(0x09, ">i1"), (0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")])
def test_read_idx_other_types(tmp_path, code, dtype):
    values = np.array([[-1.5, 2.0, 3.25], [4.0, -5.0, 6.0]]) if "f" in dtype else np.array([[-1, 2, 3], [4, -5, 6]])
    got = read_idx(write_bytes(tmp_path / "x.gz", idx_bytes(values, code, dtype), gz=True))
    assert got.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(got, values)


def test_read_idx_errors(tmp_path):
    good = idx_bytes(np.zeros((2, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"short.*truncated.*needs 6 data bytes, file has 5") as err:
        read_idx(write_bytes(tmp_path / "short", good[:-1]))
    with pytest.raises(ValueError, match=r"long.*trailing bytes.*needs 6 data bytes, file has 8"):
        read_idx(write_bytes(tmp_path / "long", good + b"\0\0"))
    with pytest.raises(ValueError, match=r"weird.*unknown IDX data type 0x07"):
        read_idx(write_bytes(tmp_path / "weird", b"\0\0\x07\x01" + struct.pack(">I", 1) + b"\0"))
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(write_bytes(tmp_path / "text", b"hello world"))
    with pytest.raises(ValueError, match="corrupt gzip"):
        read_idx(write_bytes(tmp_path / "broken.gz", gzip.compress(good)[:-6]))
    assert "short" in str(err.value)
