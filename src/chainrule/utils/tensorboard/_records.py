"""The bytes of a TensorBoard event file: CRC32C, TFRecord framing and a tiny protobuf encoder.

An event file is a TFRecord stream. Each record is

    uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes | data | uint32 masked
    CRC32C of the data

where the mask is ``((crc >> 15) | (crc << 17)) + 0xa282ead8`` modulo 2**32. The data is one
serialized ``Event`` protocol buffer (tensorflow/core/util/event.proto). The messages are encoded
here by hand, for exactly the fields SummaryWriter writes; the field numbers below were checked
against the descriptors of the ``tensorboard`` package's compiled protos (event.proto,
summary.proto, tensor.proto, tensor_shape.proto).
"""

from __future__ import annotations

import struct

__all__ = ["crc32c", "masked_crc32c", "frame_record", "event", "summary_value",
           "histogram_proto", "image_proto", "tensor_proto", "plugin_metadata",
           "DT_FLOAT", "DT_DOUBLE", "DT_STRING"]

DT_FLOAT, DT_DOUBLE, DT_STRING = 1, 2, 7  # tensorflow/core/framework/types.proto
_SESSION_START = 1  # SessionLog.START


def _make_crc32c_table() -> tuple[int, ...]:
    poly = 0x82F63B78  # Castagnoli's polynomial 0x1EDC6F41, bit-reversed
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _make_crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``, as iSCSI and TFRecord use it."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame_record(data: bytes) -> bytes:
    """One TFRecord: the length, its masked CRC, the data, the data's masked CRC."""
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc32c(header)) + data
            + struct.pack("<I", masked_crc32c(data)))


# --- protobuf wire format -------------------------------------------------------------------

def _varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # negative int64 values take ten bytes, two's complement
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return _varint((number << 3) | wire_type)


def _int(number: int, value: int) -> bytes:
    return _key(number, 0) + _varint(int(value))


def _double(number: int, value: float) -> bytes:
    return _key(number, 1) + struct.pack("<d", value)


def _float(number: int, value: float) -> bytes:
    return _key(number, 5) + struct.pack("<f", value)


def _bytes(number: int, value: bytes) -> bytes:
    return _key(number, 2) + _varint(len(value)) + value


def _packed_doubles(number: int, values) -> bytes:
    return _bytes(number, struct.pack(f"<{len(values)}d", *values)) if len(values) else b""


# proto3 leaves fields at their default value out of the encoding; the helpers below do the same
# (except for oneof members, which are written whatever their value, as protobuf does).

def event(wall_time: float, step: int | None = None, *, file_version: str | None = None,
          summary_values: list[bytes] | None = None, session_start: bool = False) -> bytes:
    """A serialized ``Event``: wall_time = 1, step = 2, file_version = 3, summary = 5,
    session_log = 7 (``Summary``: value = 1, repeated)."""
    out = _double(1, wall_time) if wall_time else b""
    if step:
        out += _int(2, step)
    if file_version is not None:
        out += _bytes(3, file_version.encode())
    if summary_values is not None:
        out += _bytes(5, b"".join(_bytes(1, v) for v in summary_values))
    if session_start:
        out += _bytes(7, _int(1, _SESSION_START))
    return out


def summary_value(tag: str, *, simple_value: float | None = None, image: bytes | None = None,
                  histo: bytes | None = None, tensor: bytes | None = None,
                  metadata: bytes | None = None) -> bytes:
    """A serialized ``Summary.Value``: tag = 1, simple_value = 2 (float), image = 4, histo = 5,
    tensor = 8, metadata = 9; exactly one of the value fields (a oneof) is given."""
    out = _bytes(1, tag.encode())
    if simple_value is not None:
        out += _float(2, simple_value)
    if image is not None:
        out += _bytes(4, image)
    if histo is not None:
        out += _bytes(5, histo)
    if tensor is not None:
        out += _bytes(8, tensor)
    if metadata is not None:
        out += _bytes(9, metadata)
    return out


def histogram_proto(minimum, maximum, num, total, sum_squares, bucket_limit, bucket) -> bytes:
    """``HistogramProto``: min = 1, max = 2, num = 3, sum = 4, sum_squares = 5 (doubles),
    bucket_limit = 6, bucket = 7 (packed doubles)."""
    out = b""
    for number, value in enumerate((minimum, maximum, num, total, sum_squares), start=1):
        if value:
            out += _double(number, float(value))
    return out + _packed_doubles(6, bucket_limit) + _packed_doubles(7, bucket)


def image_proto(height: int, width: int, colorspace: int, encoded: bytes) -> bytes:
    """``Summary.Image``: height = 1, width = 2, colorspace = 3, encoded_image_string = 4."""
    return _int(1, height) + _int(2, width) + _int(3, colorspace) + _bytes(4, encoded)


def tensor_proto(dtype: int, *, float_val=(), double_val=(), string_val=(),
                 shape: tuple[int, ...] = ()) -> bytes:
    """``TensorProto``: dtype = 1, tensor_shape = 2 (``TensorShapeProto``: dim = 2, each
    ``Dim``: size = 1), float_val = 5 (packed), double_val = 6 (packed), string_val = 8."""
    out = _int(1, dtype)
    if shape:
        out += _bytes(2, b"".join(_bytes(2, _int(1, size) if size else b"") for size in shape))
    if float_val:
        out += _bytes(5, struct.pack(f"<{len(float_val)}f", *float_val))
    out += _packed_doubles(6, double_val)
    for s in string_val:
        out += _bytes(8, s)
    return out


def plugin_metadata(plugin_name: str, content: bytes = b"") -> bytes:
    """``SummaryMetadata`` with plugin_data = 1 (``PluginData``: plugin_name = 1, content = 2)."""
    data = _bytes(1, plugin_name.encode()) + (_bytes(2, content) if content else b"")
    return _bytes(1, data)
