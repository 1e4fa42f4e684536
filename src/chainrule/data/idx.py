"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST (gzipped or raw).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the data in C order, big-endian.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from ..backend.files import write_atomically

__all__ = ["read_idx", "write_idx"]

_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}


# zlib's deflate cannot expand data more than about 1032-fold: a gzip file whose header claims
# more than that is lying, and is refused before anything is allocated or decompressed.
_DEFLATE_MAX_RATIO = 1032
_CHUNK = 1 << 20


def _read_exact(stream, n: int) -> bytes:
    data = stream.read(n)
    return data if data is not None else b""


def _fill(path: str, stream, data: np.ndarray, what: str) -> None:
    """Read ``data.nbytes`` bytes of ``stream`` into ``data``, chunk by chunk."""
    buffer = memoryview(data.reshape(-1).view(np.uint8)) if data.size else memoryview(b"")
    done = 0
    while done < len(buffer):
        n = stream.readinto(buffer[done:done + _CHUNK])
        if not n:
            raise ValueError(f"{path}: IDX file truncated: {what} but the data end after "
                             f"{done} bytes")
        done += n


def read_idx(path, *, max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a NumPy array in native byte order.

    The header is read first and the size it declares checked before any data are: a raw file
    must hold exactly that many bytes after it, a gzip file cannot hold more than deflate's
    maximum ratio (about 1032) times its own size. The data are then decompressed into the
    array chunk by chunk, and one byte more is read to make sure nothing follows, so a damaged
    or hostile file (a gzip bomb) fails having expanded no more than it declared.

    Args:
        path: the file.
        max_bytes: refuse files whose data would take more bytes than this (None: no limit).

    Raises:
        ValueError: the file is not IDX (bad magic number), has an unknown type code, declares
            more data than it can hold or than ``max_bytes``, or its length does not match its
            header (e.g. a truncated download); the message names the file.
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        try:
            return _read_stream(path, stream, size, compressed, max_bytes)
        except (EOFError, OSError, zlib.error) as e:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from None


def _read_stream(path: str, stream, size: int, compressed: bool, max_bytes) -> np.ndarray:
    head = _read_exact(stream, 4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {head.hex() or 'empty'})")
    code, ndim = head[2], head[3]
    if code not in _TYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    dims = _read_exact(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(
            f"{path}: truncated IDX header ({4 + len(dims)} bytes, expected at least {header})"
        )
    shape = tuple(int(d) for d in np.frombuffer(dims, ">u4"))
    dtype = _TYPES[code]
    nbytes = math.prod(shape) * dtype.itemsize
    expected = header + nbytes
    says = f"header says shape {shape} ({expected} bytes)"
    if compressed and expected > size * _DEFLATE_MAX_RATIO:
        raise ValueError(
            f"{path}: IDX {says}, more than a {size}-byte gzip file can hold (at most "
            f"{_DEFLATE_MAX_RATIO}x): a damaged or hostile file"
        )
    if not compressed and size != expected:
        what = "truncated" if size < expected else "has trailing bytes"
        raise ValueError(f"{path}: IDX file {what}: {says} but the file has {size} bytes")
    if max_bytes is not None and nbytes > max_bytes:
        raise ValueError(f"{path}: IDX {says}, more than the {max_bytes} bytes allowed")
    data = np.empty(shape, dtype)
    _fill(path, stream, data, says)
    if compressed and _read_exact(stream, 1):
        raise ValueError(f"{path}: IDX file has trailing bytes: {says} but the data go on")
    return data.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path, array, *, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file atomically (gzip if ``path`` ends in .gz or ``compress``)."""
    path = os.fspath(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(f"write_idx: dtype {array.dtype} has no IDX type code")
    code = _CODES[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    body = header + np.ascontiguousarray(array, _TYPES[code]).tobytes()
    if compress or (compress is None and path.endswith(".gz")):
        body = gzip.compress(body)
    write_atomically(path, body, make_folder=True)

