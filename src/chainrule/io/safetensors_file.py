"""The safetensors format by hand: a header checked before any tensor is read, checksums, writing.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON (per tensor its
dtype, shape and ``data_offsets`` [begin, end) into the data that follows; ``__metadata__`` a
str -> str map), then the tensors' bytes, little-endian and in C order. ``read_header`` checks all
of it against the file's size (bounded header, known dtypes, sizes that match the shapes, data
that tile the rest of the file without gaps or overlaps) before any tensor is read, so a caller
can compare shapes with what it expects and allocate nothing for a file that cannot fit.

Checksums: the files chainrule writes carry a SHA-256 of each tensor (its dtype, shape and
bytes), and one of the other
metadata entries, in the metadata entry ``chainrule.sha256``; ``read_tensors`` verifies each
tensor as it reads it (one tensor in memory at a time beyond those returned). Files without it
(written by other tools or older versions) load with a warning.

Complex arrays (safetensors has no complex dtype): ``pack_complex`` stores each as its real view
(shape ``+ (2,)``, real and imaginary parts, as ``torch.view_as_real``) and lists their names in
the metadata entry ``chainrule.complex``; ``read_header`` checks that list, ``Header.shape``
gives the complex shape, and ``read_tensors`` returns those arrays complex again, bit for bit.
Another reader sees the real views (``torch.view_as_complex`` turns them back).

Writing (``write_file``) puts the tensors in name order and the metadata keys in sorted order, so
the same weights and settings always give the same bytes: two runs of a seeded training write
identical files (the safetensors library orders its metadata at random).
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..backend import numpy

__all__ = ["MAX_HEADER_BYTES", "Header", "TensorInfo", "check_metadata", "digests",
           "pack_complex", "read_header", "read_tensors", "span", "write_file"]

# Ours are a few KB (a training state with a long history some 100 KB); PyTorch's largest models
# stay under 1 MB. 8 MiB bounds what parsing a hostile header costs: its Python objects take many
# times the header's size when it lists many tiny tensors (docs/performance.md).
MAX_HEADER_BYTES = 8 * 2**20
DIGESTS = "chainrule.sha256"
COMPLEX = "chainrule.complex"
_METADATA_DIGEST = "__metadata__"

_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
    "C64": "<c8",  # safetensors' own complex64 (chainrule writes complex as real views)
}
_NAMES = {numpy.dtype(code): name for name, code in _DTYPES.items()}
# Read only, widened to float32 (exactly: bfloat16 is float32's upper 16 bits). NumPy has no
# bfloat16, and checkpoints of large models are commonly saved in it.
_BF16 = "BF16"


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of a header: its NumPy dtype (little-endian), shape and byte range."""

    dtype: object
    shape: tuple
    begin: int
    end: int
    bfloat16: bool = False  # stored as BF16 (read as uint16 bits, returned as float32)


@dataclass(frozen=True)
class Header:
    """A checked safetensors header: the tensors by name, the metadata, where the data start."""

    path: Path
    tensors: dict
    metadata: dict
    data_start: int
    complex_names: frozenset = frozenset()  # stored as real views (``pack_complex``)

    @property
    def elements(self) -> int:
        return sum(math.prod(t.shape) for t in self.tensors.values())

    def shape(self, name: str) -> tuple:
        """The shape of tensor ``name`` as it loads (a complex one's, not its real view's)."""
        shape = self.tensors[name].shape
        return shape[:-1] if name in self.complex_names else shape


def pack_complex(arrays: dict, metadata: dict) -> tuple[dict, dict]:
    """``arrays`` with each complex array (C-contiguous) replaced by its real view, and
    ``metadata`` with their names under ``chainrule.complex``; unchanged without complex ones."""
    names = sorted(k for k, a in arrays.items() if a.dtype.kind == "c")
    if not names:
        return arrays, metadata
    packed = {k: a[..., None].view(a.real.dtype) if k in names else a for k, a in arrays.items()}
    return packed, {**metadata, COMPLEX: json.dumps(names)}


def _complex_names(tensors: dict, metadata: dict) -> frozenset:
    """The names listed under ``chainrule.complex``, checked: float tensors of last axis 2."""
    if COMPLEX not in metadata:
        return frozenset()
    try:
        names = json.loads(metadata[COMPLEX])
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{COMPLEX} must be a JSON list of tensor names")
    for name in names:
        info = tensors.get(name)
        if info is None or info.dtype.kind != "f" or info.dtype.itemsize < 4 \
                or info.shape[-1:] != (2,):
            raise ValueError(f"{COMPLEX} lists {name!r}, which is not a float32/float64 tensor "
                             "whose last axis has size 2 (a complex tensor's real view)")
    return frozenset(names)


def _corrupt(who: str, path, why: str) -> ValueError:
    return ValueError(
        f"{who}: '{path}' is not a readable safetensors file (truncated or corrupt?): {why}"
    )


def _foreign(path, head: bytes) -> str:
    """What a file that fails to parse as safetensors seems to be instead: PyTorch's formats."""
    hint = "; chainrule.load(path) reads PyTorch's files without unpickling them"
    if zipfile.is_zipfile(path):
        return "; it is a zip archive, as torch.save writes" + hint
    # PROTO 2..5, then an opcode (never 0): not a header length of 640..1535 bytes (0x0280...)
    if head[0] == 0x80 and 2 <= head[1] <= 5 and head[2] != 0:
        return "; it looks like a Python pickle (torch.save's legacy format)" + hint
    return ""


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tensor_info(name: str, entry) -> TensorInfo:
    """One header entry checked for form; raises ValueError saying what is wrong."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise ValueError(f"tensor {name!r}: expected keys dtype, shape, data_offsets, got {got}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in _DTYPES and dtype != _BF16:
        raise ValueError(f"tensor {name!r}: unsupported dtype {dtype!r}; chainrule reads "
                         f"{', '.join(_DTYPES)} and {_BF16} (as float32)")
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise ValueError(f"tensor {name!r}: shape must be a list of ints >= 0, got {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(_is_int(o) and o >= 0 for o in offsets) or offsets[0] > offsets[1]):
        raise ValueError(f"tensor {name!r}: data_offsets must be [begin, end] with "
                         f"0 <= begin <= end, got {offsets!r}")
    dt = numpy.dtype(_DTYPES["U16" if dtype == _BF16 else dtype])
    nbytes = math.prod(shape) * dt.itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise ValueError(f"tensor {name!r}: {dtype} of shape {tuple(shape)} is {nbytes} bytes, "
                         f"its data_offsets {offsets} span {offsets[1] - offsets[0]}")
    return TensorInfo(dt, tuple(shape), offsets[0], offsets[1], dtype == _BF16)


def span(data: bytes) -> int | None:
    """How many bytes the safetensors file at the start of ``data`` takes (its header's length
    and the end of its last tensor), or None where its header cannot be parsed; what follows
    (another file saved after it into one buffer) is not part of it. Nothing is checked here."""
    n = int.from_bytes(data[:8], "little")
    if len(data) < 8 or n > MAX_HEADER_BYTES or 8 + n > len(data):
        return None
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
        ends = [e["data_offsets"][1] for k, e in header.items() if k != "__metadata__"]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return None
    return 8 + n + max(ends, default=0) if all(_is_int(e) and e >= 0 for e in ends) else None


def read_header(who: str, path) -> Header:
    """Read and check the header of the safetensors file at ``path``; reads no tensor data.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: anything wrong with the header, naming the file and the problem.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{who}: '{path}' is a folder, not a file")
    if not path.is_file():
        raise FileNotFoundError(f"{who}: no such file: '{path}'")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise _corrupt(who, path, f"the file has {size} bytes, less than the 8 of the "
                                      "header length")
        n = int.from_bytes(head, "little")
        if n > MAX_HEADER_BYTES:
            raise _corrupt(who, path, f"header length {n} exceeds the {MAX_HEADER_BYTES}-byte "
                                      "limit" + _foreign(path, head))
        if 8 + n > size:
            raise _corrupt(who, path, f"header length {n} runs past the end of the "
                                      f"{size}-byte file" + _foreign(path, head))
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise _corrupt(who, path, f"the header is not valid JSON ({err})"
                       + _foreign(path, head)) from None
    if not isinstance(header, dict):
        raise _corrupt(who, path, f"the header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise _corrupt(who, path, "__metadata__ must map strings to strings")
    tensors = {}
    try:
        for name, entry in header.items():
            tensors[name] = _tensor_info(name, entry)
    except ValueError as err:
        raise _corrupt(who, path, str(err)) from None
    end = 0
    for name, info in sorted(tensors.items(), key=lambda item: (item[1].begin, item[1].end)):
        if info.begin != end:
            what = "overlaps the previous one" if info.begin < end else "leaves a gap before it"
            raise _corrupt(who, path, f"tensor {name!r} at bytes {info.begin}..{info.end} {what}")
        end = info.end
    if 8 + n + end != size:
        raise _corrupt(who, path, f"the header describes {end} bytes of tensor data, the file "
                                  f"holds {size - 8 - n}")
    try:
        complex_names = _complex_names(tensors, metadata)
    except ValueError as err:
        raise _corrupt(who, path, str(err)) from None
    return Header(path, tensors, metadata, 8 + n, complex_names)


def _metadata_digest(metadata: dict) -> str:
    body = json.dumps({k: v for k, v in metadata.items() if k != DIGESTS}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _bytes_of(array):
    return memoryview(array.reshape(-1).view(numpy.uint8)) if array.size else b""


def _tensor_digest(dtype, shape, buffer) -> str:
    """SHA-256 of a tensor's dtype and shape, then its bytes: a header whose "F32" became "I32",
    or whose shape changed with the byte count kept, fails the check as a changed byte does."""
    h = hashlib.sha256(f"{_NAMES.get(dtype, str(dtype))}{json.dumps(list(shape))}".encode())
    h.update(buffer)
    return h.hexdigest()


def digests(arrays: dict, metadata: dict) -> str:
    """The ``chainrule.sha256`` entry for a file of ``arrays`` (C-contiguous, little-endian)."""
    table = {name: _tensor_digest(a.dtype, a.shape, _bytes_of(a)) for name, a in arrays.items()}
    table[_METADATA_DIGEST] = _metadata_digest(metadata)
    return json.dumps(table, sort_keys=True)


def check_metadata(who: str, header: Header) -> None:
    """Verify the metadata (config, training state) against its checksum, where there is one."""
    if DIGESTS in header.metadata:
        _expected_digests(who, header)


def _expected_digests(who: str, header: Header) -> dict | None:
    text = header.metadata.get(DIGESTS)
    if text is None:
        warnings.warn(
            f"{who}: '{header.path}' has no SHA-256 checksums (written by another tool or an "
            "older chainrule), so damage to it cannot be detected; save it again to add them",
            UserWarning, stacklevel=4)
        return None
    try:
        table = json.loads(text)
    except ValueError:
        table = None
    if not isinstance(table, dict) or set(table) != set(header.tensors) | {_METADATA_DIGEST}:
        raise ValueError(f"{who}: '{header.path}' is damaged: its checksum table does not list "
                         "exactly its tensors")
    if table[_METADATA_DIGEST] != _metadata_digest(header.metadata):
        raise ValueError(f"{who}: '{header.path}' is damaged: its metadata (config or training "
                         "state) does not match its SHA-256 checksum")
    return table


def read_tensors(who: str, header: Header, names=None) -> dict:
    """Read the tensors ``names`` (default: all) of a checked header, verifying checksums.

    Returns arrays in native byte order. Every tensor's checksum is verified (a tensor not asked
    for is hashed and dropped), so a damaged file is never half-trusted.

    Raises:
        ValueError: a tensor whose bytes do not match its SHA-256, or a file that changed since
            its header was read; the message names the file and the tensor.
    """
    expected = _expected_digests(who, header)
    wanted = set(header.tensors) if names is None else set(names)
    out = {}
    with open(header.path, "rb") as f:
        for name, info in header.tensors.items():
            if name not in wanted and expected is None:
                continue
            array = numpy.empty(info.shape, info.dtype)
            buffer = _bytes_of(array)
            f.seek(header.data_start + info.begin)
            if len(buffer) and f.readinto(buffer) != len(buffer):
                raise _corrupt(who, header.path, f"tensor {name!r} is cut short (the file "
                                                 "shrank while it was read)")
            if (expected is not None
                    and _tensor_digest(info.dtype, info.shape, buffer) != expected[name]):
                raise ValueError(
                    f"{who}: '{header.path}' is damaged: tensor {name!r} does not match its "
                    "SHA-256 checksum (a changed byte or bit, dtype or shape); restore the file "
                    "from a copy"
                )
            if name in wanted:
                out[name] = array if info.dtype.isnative else array.astype(
                    info.dtype.newbyteorder("="))
                if name in header.complex_names:
                    out[name] = out[name].view(numpy.result_type(info.dtype, 1j))[..., 0]
                if info.bfloat16:
                    out[name] = (out[name].astype(numpy.uint32) << 16).view(numpy.float32)
    return out


def write_file(f, arrays: dict, metadata: dict) -> None:
    """Write ``arrays`` and ``metadata`` to the binary file object ``f`` in the safetensors format.

    Args:
        f: a file open for writing bytes.
        arrays: name -> NumPy array, C-contiguous and little-endian (``checkpoint._host`` makes
            them so), of a dtype the format knows.
        metadata: str -> str.

    The header lists the tensors in name order, each one's bytes following the previous one's,
    and the metadata keys sorted; it is padded with spaces to a multiple of 8 bytes, as the
    safetensors library pads it, so that the data start aligned.
    """
    header, offset = {}, 0
    if metadata:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"safetensors metadata must map str to str, got {key!r}: "
                                f"{type(value).__name__}")
        header["__metadata__"] = dict(sorted(metadata.items()))
    names = sorted(arrays)
    for name in names:
        array = arrays[name]
        kind = _NAMES.get(array.dtype)
        if kind is None or not array.flags.c_contiguous:
            raise TypeError(f"safetensors: tensor {name!r} must be a C-contiguous little-endian "
                            f"array of {', '.join(_DTYPES)}, got dtype {array.dtype}")
        header[name] = {"dtype": kind, "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for name in names:
        f.write(_bytes_of(arrays[name]))
