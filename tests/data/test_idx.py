import gzip
import tracemalloc

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


def _gzip_idx(path, shape, payload: bytes, zero_mb: int = 0):
    """A gzipped uint8 IDX file: header for ``shape``, ``payload``, then ``zero_mb`` MB of zeros
    as repeated 1 MB gzip members (a valid multi-member gzip file of a few KB per 1000 MB)."""
    header = bytes([0, 0, 0x08, len(shape)]) + np.asarray(shape, ">u4").tobytes()
    path.write_bytes(gzip.compress(header + payload) + gzip.compress(b"\0" * 2**20) * zero_mb)
    return path


def _peak_bytes(fn):
    """The peak of memory traced (Python objects and NumPy arrays) while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_gzip_bomb_after_the_data_stops_at_the_first_extra_byte(tmp_path):
    path = _gzip_idx(tmp_path / "bomb.gz", (3,), b"\1\2\3", zero_mb=64)

    def read():
        with pytest.raises(ValueError, match=r"bomb\.gz: IDX file has trailing bytes: header "
                                             r"says shape \(3,\)"):
            read_idx(path)

    assert _peak_bytes(read) < 2**20  # not the 64 MB the file expands to


def test_gzip_header_claiming_more_than_deflate_can_hold(tmp_path):
    path = _gzip_idx(tmp_path / "claims.gz", (100000, 100000, 100), b"\0" * 10)
    with pytest.raises(ValueError, match=r"claims\.gz: IDX header says shape \(100000, 100000, "
                                         r"100\) .* more than a \d+-byte gzip file can hold"):
        read_idx(path)


def test_max_bytes_bounds_a_consistent_file(tmp_path):
    path = tmp_path / "x.idx.gz"
    write_idx(path, np.zeros((100, 10), np.uint8))
    assert read_idx(path, max_bytes=1000).shape == (100, 10)
    with pytest.raises(ValueError, match=r"x\.idx\.gz: IDX header says shape \(100, 10\) "
                                         r"\(1012 bytes\), more than the 999 bytes allowed"):
        read_idx(path, max_bytes=999)


def test_gzip_shorter_than_its_header_says(tmp_path):
    path = _gzip_idx(tmp_path / "short.gz", (10, 10), b"\0" * 50)
    with pytest.raises(ValueError, match=r"short\.gz: IDX file truncated: header says shape "
                                         r"\(10, 10\) \(112 bytes\) but the data end after 50"):
        read_idx(path)


def test_raw_file_size_is_checked_before_reading(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros((10, 10), np.int16))
    path.write_bytes(path.read_bytes() + b"\0" * 2**23)

    def read():
        with pytest.raises(ValueError, match=r"x\.idx: IDX file has trailing bytes: header says "
                                             r"shape \(10, 10\) \(212 bytes\) but the file has "
                                             r"8388820 bytes"):
            read_idx(path)

    assert _peak_bytes(read) < 2**20  # the 8 MB file is not read
