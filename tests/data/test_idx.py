import gzip

import numpy as np
import pytest

from chainrule.data.idx import read_idx, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
def test_round_trip(tmp_path, rng, dtype, suffix):
    a = (rng.standard_normal((5, 4, 3)) * 50).astype(dtype)
    path = tmp_path / ("a" + suffix)
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


def test_known_header_layout(tmp_path):
    path = tmp_path / "labels.idx"
    path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    np.testing.assert_array_equal(read_idx(path), [7, 8, 9])


def test_truncated_file_is_a_clear_error(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros((10, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError,
                       match=r"x\.idx: IDX file truncated: header says shape \(10, 28, 28\)"):
        read_idx(path)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "x.idx.gz"
    write_idx(path, np.arange(1000, dtype=np.uint8).reshape(10, 100))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        read_idx(path)


def test_bad_magic_and_type(tmp_path):
    path = tmp_path / "bad.idx"
    path.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)
    path.write_bytes(gzip.compress(bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 5])))
    with pytest.raises(ValueError, match="unknown IDX type code 0x42"):
        read_idx(path)
