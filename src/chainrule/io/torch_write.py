"""Writing files ``torch.load(path, weights_only=True)`` reads, without the pickle module.

The object (a state dict, an optimizer's state dict, a checkpoint of nested dicts, lists and
tuples of Tensors and plain values) is written as PyTorch's zip archive: the pickle opcodes of
protocol 2 are generated here, naming only what PyTorch's weights-only reader allows
(``torch._utils._rebuild_tensor_v2``, ``_rebuild_parameter``, storage types, dtypes,
``collections.OrderedDict``, ``torch.device``, ``set``, ``complex``, ``_codecs.encode`` for
bytes, ``bytearray``), and each tensor's bytes go to ``archive/data/<key>``, aligned to 64 bytes as
``torch.save`` aligns them (so ``torch.load(..., mmap=True)`` maps them).
"""

from __future__ import annotations

import collections
import numbers
import struct
import zipfile

from ..autograd.tensor import Size, Tensor
from ..backend import dtypes, numpy
from ..backend.device import device as _device
from ..nn.parameter import Parameter
from .checkpoint import _host

__all__ = ["write_torch_file"]

_STORAGES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
    "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage",
    "uint8": "ByteStorage", "bool": "BoolStorage", "complex64": "ComplexFloatStorage",
    "complex128": "ComplexDoubleStorage",
}
_UNTYPED = ("uint16", "uint32", "uint64")  # PyTorch has no typed storage class for these
_ALIGN = 64


def _str(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(raw)) + raw


def _global(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode("ascii")


def _int(value: int) -> bytes:
    if -(1 << 31) <= value < (1 << 31):
        return b"J" + struct.pack("<i", value)
    raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    if len(raw) < 256:
        return b"\x8a" + bytes([len(raw)]) + raw
    return b"\x8b" + struct.pack("<I", len(raw)) + raw


def _tuple(parts: list) -> bytes:
    if not parts:
        return b")"
    if len(parts) <= 3:
        return b"".join(parts) + {1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(parts)]
    return b"(" + b"".join(parts) + b"t"


_EMPTY_ORDERED = _global("collections", "OrderedDict") + b")R"


class _Writer:
    def __init__(self):
        self.storages: dict = {}  # key -> bytes
        self.memo: dict = {}      # id(tensor) -> memo index: a tensor saved twice is one object
        self.path: set = set()    # ids of the containers being written (cycles are refused)
        self.keep: list = []      # the tensors named in `memo`, alive until the file is written

    def value(self, obj, where: str) -> bytes:
        if obj is None:
            return b"N"
        if isinstance(obj, (bool, numpy.bool_)):
            return b"\x88" if obj else b"\x89"
        if isinstance(obj, Tensor):  # saved once, then referred to: torch.load gives one object
            if id(obj) in self.memo:
                return b"j" + struct.pack("<I", self.memo[id(obj)])
            self.memo[id(obj)] = len(self.memo)
            self.keep.append(obj)
            return self.tensor(obj, where) + b"r" + struct.pack("<I", self.memo[id(obj)])
        if isinstance(obj, _device):
            return _global("torch", "device") + _str(str(obj)) + b"\x85R"
        if isinstance(obj, numpy.dtype) and obj.name in (*_STORAGES, *_UNTYPED):
            return _global("torch", obj.name)
        if obj is dtypes.bfloat16:
            return _global("torch", "bfloat16")
        if isinstance(obj, numbers.Integral):
            return _int(int(obj))
        if isinstance(obj, numbers.Real):
            return b"G" + struct.pack(">d", float(obj))
        if isinstance(obj, numbers.Complex):
            z = complex(obj)
            return _global("__builtin__", "complex") + _tuple(
                [self.value(z.real, where), self.value(z.imag, where)]) + b"R"
        if isinstance(obj, str):
            return _str(obj)
        if isinstance(obj, (bytes, bytearray)):  # protocol 2 has no bytes opcode: pickle's way
            raw = _global("_codecs", "encode") + _str(bytes(obj).decode("latin1")) + _str(
                "latin1") + b"\x86R"
            return raw if isinstance(obj, bytes) else (
                _global("__builtin__", "bytearray") + raw + b"\x85R")
        if isinstance(obj, Size):  # torch.load gives a torch.Size, as torch.save's file does
            return _global("torch", "Size") + _tuple([_int(int(n)) for n in obj]) + b"\x85R"
        if isinstance(obj, (dict, list, tuple, set)):
            if id(obj) in self.path:
                raise ValueError(f"save: {where} contains itself; a torch file cannot hold a "
                                 "cycle")
            self.path.add(id(obj))
            try:
                return self.container(obj, where)
            finally:
                self.path.discard(id(obj))
        raise TypeError(
            f"save: {where} is a {type(obj).__name__}, which a torch file written by chainrule "
            "cannot hold (torch.load(weights_only=True) would refuse it): save Tensors, "
            "numbers, strings, bytes, bytearrays, None, devices, dtypes, Sizes and "
            "dicts/lists/tuples/sets of "
            "them, e.g. model.state_dict() rather than the model")

    def container(self, obj, where: str) -> bytes:
        if isinstance(obj, tuple):
            return _tuple([self.value(v, f"{where}[{i}]") for i, v in enumerate(obj)])
        if isinstance(obj, list):
            items = b"".join(self.value(v, f"{where}[{i}]") for i, v in enumerate(obj))
            return b"]" + (b"(" + items + b"e" if obj else b"")
        if isinstance(obj, set):
            items = b"".join(self.value(v, f"{where} item") for v in obj)
            return _global("__builtin__", "set") + b"]" + (
                b"(" + items + b"e" if obj else b"") + b"\x85R"
        ordered = isinstance(obj, collections.OrderedDict)
        out = _EMPTY_ORDERED if ordered else b"}"
        if obj:
            out += b"(" + b"".join(self.value(k, f"{where} key") + self.value(
                v, f"{where}[{k!r}]") for k, v in obj.items()) + b"u"
        if isinstance(obj, collections.Counter):  # Counter(dict), as pickle spells it
            return _global("collections", "Counter") + out + b"\x85R"
        metadata = getattr(obj, "_metadata", None) if ordered else None
        if isinstance(metadata, dict):
            out += b"}" + _str("_metadata") + self.value(metadata, f"{where}._metadata") + b"sb"
        return out

    def tensor(self, t: Tensor, where: str) -> bytes:
        array = _host(t, f"save: {where}")
        name = array.dtype.name
        if name not in _STORAGES and name not in _UNTYPED:
            raise TypeError(f"save: {where} is a {name} tensor, which a torch file cannot hold")
        key = str(len(self.storages))
        self.storages[key] = array.tobytes()
        numel, shape = array.size, array.shape
        strides = [1] * len(shape)
        for i in range(len(shape) - 2, -1, -1):
            strides[i] = strides[i + 1] * max(shape[i + 1], 1)
        untyped = name in _UNTYPED
        storage_type = (_global("torch.storage", "UntypedStorage") if untyped
                        else _global("torch", _STORAGES[name]))
        pid = b"(" + _str("storage") + storage_type + _str(key) + _str("cpu") + _int(
            numel * array.itemsize if untyped else numel) + b"tQ"
        args = [pid, _int(0), _tuple([_int(n) for n in shape]),
                _tuple([_int(s) for s in strides]),
                self.value(t.requires_grad and not isinstance(t, Parameter), where),
                _EMPTY_ORDERED]
        if untyped:
            args.append(_global("torch", name))
            rebuilt = _global("torch._utils", "_rebuild_tensor_v3") + b"(" + b"".join(args) + b"tR"
        else:
            rebuilt = _global("torch._utils", "_rebuild_tensor_v2") + b"(" + b"".join(args) + b"tR"
        if not isinstance(t, Parameter):
            return rebuilt
        return _global("torch._utils", "_rebuild_parameter") + b"(" + rebuilt + self.value(
            t.requires_grad, where) + _EMPTY_ORDERED + b"tR"


def _aligned(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    start = zf.fp.tell() + 30 + len(name.encode()) + 4  # local header, name, extra's own header
    pad = -start % _ALIGN
    info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad  # PyTorch pads with this field
    zf.writestr(info, data)


def write_torch_file(obj, stream) -> None:
    """Write ``obj`` to the binary ``stream`` as a torch.save zip archive (protocol 2)."""
    writer = _Writer()
    pickle = b"\x80\x02" + writer.value(obj, "obj") + b"."
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as zf:
        _aligned(zf, "archive/data.pkl", pickle)
        _aligned(zf, "archive/byteorder", b"little")
        for key, data in writer.storages.items():
            _aligned(zf, f"archive/data/{key}", data)
        _aligned(zf, "archive/version", b"3\n")
