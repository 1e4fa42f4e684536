"""Reading the files ``torch.save`` writes, without unpickling.

A ``torch.save`` file is a zip archive: ``<name>/data.pkl`` is a pickle of the object, in which
each tensor's bytes are a reference to ``<name>/data/<key>``, a raw storage in the byte order
``<name>/byteorder`` names. ``torch_pickle.run_pickle`` interprets the pickle with the table
below, which allows what ``torch.load(..., weights_only=True)`` allows for tensors and plain
values (tensors, Parameters, OrderedDicts, dtypes, devices, sets, complex numbers, bytes) and
refuses every other name. Each tensor is built from its storage with the saved offset, shape and
strides (bounds checked against the storage) and copied, so it owns its memory.
"""

from __future__ import annotations

import collections
import math
import zipfile
import zlib

from ..autograd.tensor import Size, Tensor
from ..backend import dtypes, numpy, to_device
from ..backend.device import device as _device
from ..nn.parameter import Parameter
from .sparse_entries import rebuild_torch_sparse, torch_layout
from .torch_pickle import Global, run_pickle, short
from .zip_span import open_first

__all__ = ["LEGACY_MAGIC", "is_torch_zip", "plain", "read_torch_file"]

# torch.save(..., _use_new_zipfile_serialization=False) starts with PROTO 2 and this long int
LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"
_ZIP_MAGIC = b"PK\x03\x04"
_MAX_COPY = 1 << 30  # bytes a tensor may take beyond its storage (stride-0 views of expand())
_MAX_PICKLE = 1 << 30
_MAX_RATIO = 1100  # deflate cannot shrink more than about 1032 : 1
# what zipfile raises for a damaged archive: an unknown version or method, an "encrypted" flag
# (RuntimeError), an offset past any file (OverflowError)
_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, OSError, NotImplementedError,
               RuntimeError, OverflowError)

_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}
_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
           "uint16", "uint32", "uint64", "bool", "complex64", "complex128")


def is_torch_zip(head: bytes) -> bool:
    """Whether a file's first bytes are those of a zip archive (torch.save's format)."""
    return head[:4] == _ZIP_MAGIC


class _StorageType:
    def __init__(self, name: str, dtype):
        self.name, self.dtype = name, dtype  # dtype None: UntypedStorage, sized in bytes

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class _TypeName:
    """``torch.Tensor`` or ``torch.nn.parameter.Parameter`` named in ``_rebuild_from_type_v2``."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


class _Storage:
    def __init__(self, key: str, dtype, count: int, location: str):
        self.key, self.dtype, self.count, self.location = key, dtype, count, location


class _Archive:
    def __init__(self, zf: zipfile.ZipFile, prefix: str, big_endian: bool, who: str):
        self.zf, self.prefix, self.big, self.who = zf, prefix, big_endian, who
        self.cache: dict = {}

    def entry(self, name: str, size=None, limit=None) -> bytes:
        try:
            info = self.zf.getinfo(self.prefix + name)
        except KeyError:
            raise ValueError(f"{self.who}: the archive has no '{self.prefix}{name}' (the file "
                             "is truncated or damaged)") from None
        if size is not None and info.file_size != size:
            raise ValueError(f"{self.who}: '{self.prefix}{name}' holds {info.file_size} bytes, "
                             f"but the pickle says {size} (the file is damaged)")
        if (limit is not None and info.file_size > limit) or (
                info.compress_type != zipfile.ZIP_STORED
                and info.file_size > _MAX_RATIO * info.compress_size + 1024):
            raise ValueError(f"{self.who}: '{self.prefix}{name}' claims {info.file_size} bytes, "
                             "more than the archive can hold (the file is damaged)")
        try:
            return self.zf.read(info)
        except _ZIP_ERRORS as err:
            raise ValueError(f"{self.who}: cannot read '{self.prefix}{name}' from the archive "
                             f"({err}); the file is truncated or damaged") from None

    def storage(self, pid) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and isinstance(pid[3], str)
                and isinstance(pid[4], int) and not isinstance(pid[4], bool) and pid[4] >= 0):
            raise ValueError(f"{self.who}: the pickle refers to storage {short(pid)}, which is not "
                             "one torch.save writes ('storage', type, key, location, size)")
        return _Storage(pid[2], pid[1].dtype, pid[4], pid[3])

    def data(self, storage: _Storage, itemsize: int) -> bytes:
        nbytes = storage.count * (1 if storage.dtype is None else itemsize)
        if storage.key not in self.cache:
            self.cache[storage.key] = self.entry(f"data/{storage.key}", size=nbytes)
        data = self.cache[storage.key]
        if len(data) != nbytes:  # the same key named twice with different sizes
            raise ValueError(f"{self.who}: storage '{storage.key}' is named with two sizes")
        return data


def _dims(value, what: str, who: str) -> tuple:
    if not (isinstance(value, tuple) and len(value) <= 64 and all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 63 for v in value)):
        raise ValueError(f"{who}: a tensor's {what} is {short(value)}; expected a tuple of at "
                         "most 64 non-negative int64s (the file is damaged)")
    return value


class _Builder:
    """The constructors the pickle's names map to, bound to one archive and one load call."""

    def __init__(self, archive: _Archive, device, upcast_bfloat16: bool):
        self.archive, self.device, self.upcast = archive, device, upcast_bfloat16
        self.who = archive.who

    def array(self, storage, offset, size, stride, dtype):
        who = self.who
        if not isinstance(storage, _Storage):
            raise ValueError(f"{who}: a tensor is rebuilt from {short(storage)}, not a storage")
        size, stride = _dims(size, "shape", who), _dims(stride, "strides", who)
        if len(size) != len(stride) or not isinstance(offset, int) or not (
                0 <= offset < 1 << 63):
            raise ValueError(f"{who}: a tensor has shape {size}, strides {stride} and offset "
                             f"{short(offset)}; expected as many strides as dimensions and an "
                             "int64 offset >= 0 (the file is damaged)")
        bf16 = dtype is dtypes.bfloat16
        if bf16 and not self.upcast:
            raise ValueError(
                f"{who}: the file holds a bfloat16 tensor (storage '{storage.key}'); NumPy has "
                "no bfloat16, so chainrule cannot keep its dtype. Pass upcast_bfloat16=True to "
                "read bfloat16 tensors as float32 (exactly: every bfloat16 is a float32)")
        dt = numpy.dtype("uint16" if bf16 else dtype).newbyteorder(
            ">" if self.archive.big else "<")
        count = len(self.archive.data(storage, dt.itemsize)) // dt.itemsize
        numel = math.prod(size)
        end = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if numel else 0
        if numel > count and numel * dt.itemsize > _MAX_COPY:
            raise ValueError(
                f"{who}: a tensor of shape {size} repeats storage '{storage.key}' ({count} "
                f"elements) into {numel * dt.itemsize} bytes, more than chainrule copies from "
                "a view (the file is damaged or hostile)")
        if end > count:
            raise ValueError(
                f"{who}: a tensor of shape {size}, strides {stride} and offset {offset} reaches "
                f"element {end - 1} of storage '{storage.key}', which holds {count} "
                f"{dt.name} elements (the file is damaged)")
        flat = numpy.frombuffer(self.archive.data(storage, dt.itemsize), dtype=dt)
        if numel:
            view = numpy.lib.stride_tricks.as_strided(
                flat[offset:], size, tuple(s * dt.itemsize for s in stride), writeable=False)
        else:
            view = numpy.empty(size, dtype=dt)
        out = view.astype(dt.newbyteorder("="), copy=True)
        if bf16:  # bfloat16 is the upper half of a float32
            out = (out.astype(numpy.uint32) << 16).view(numpy.float32)
        return out

    def tensor(self, array, requires_grad, location) -> Tensor:
        if not isinstance(requires_grad, bool):
            raise ValueError(f"{self.who}: requires_grad is {short(requires_grad)}, not a bool")
        return place(array, requires_grad, location, self.device, self.who)

    def rebuild_v2(self, storage, offset, size, stride, requires_grad, hooks, metadata=None):
        if not isinstance(storage, _Storage) or storage.dtype is None:
            raise ValueError(f"{self.who}: _rebuild_tensor_v2 needs a typed storage, got "
                             f"{short(storage)}")
        return self.rebuild_v3(storage, offset, size, stride, requires_grad, hooks,
                               storage.dtype, metadata)

    def rebuild_v3(self, storage, offset, size, stride, requires_grad, hooks, dtype,
                   metadata=None):
        self._plain(hooks, None)
        if not (isinstance(dtype, numpy.dtype) or dtype is dtypes.bfloat16):
            raise ValueError(f"{self.who}: _rebuild_tensor_v3 got dtype {short(dtype)}")
        if isinstance(storage, _Storage) and storage.dtype is not None and (
                storage.dtype != dtype):
            raise ValueError(f"{self.who}: a {dtype} tensor is rebuilt from a "
                             f"{storage.dtype} storage (the file is damaged)")
        array = self.array(storage, offset, size, stride, dtype)
        # a conj() or _neg_view() view is saved as its storage and a flag PyTorch resolves
        flags = {} if metadata is None else metadata
        if not isinstance(flags, dict) or not set(flags) <= {"conj", "neg"} or not all(
                isinstance(v, bool) for v in flags.values()):
            raise ValueError(f"{self.who}: a tensor carries metadata {short(metadata)}, which "
                             "chainrule does not read (it reads the conj and neg flags)")
        if flags.get("conj"):
            array = numpy.conj(array)
        if flags.get("neg"):
            array = numpy.negative(array)
        return self.tensor(array, requires_grad, storage.location)

    def _plain(self, hooks, state):
        if not isinstance(hooks, dict) or hooks or state not in (None, {}):
            raise ValueError(f"{self.who}: a tensor carries backward hooks or state "
                             f"({short(hooks)}, {short(state)}), which chainrule does not read")

    def parameter(self, data, requires_grad, hooks, state=None):
        if not isinstance(data, Tensor) or not isinstance(requires_grad, bool):
            raise ValueError(f"{self.who}: _rebuild_parameter got {type(data).__name__} data "
                             f"and requires_grad={short(requires_grad)}")
        self._plain(hooks, None)
        return self._attributes(self._parameter(data, requires_grad), state)

    def _parameter(self, data: Tensor, requires_grad: bool) -> Parameter:
        if data.dtype.kind not in "fc":  # PyTorch allows one with requires_grad=False
            raise ValueError(
                f"{self.who}: the file holds an nn.Parameter of dtype {data.dtype}; chainrule's "
                "Parameters are floating-point or complex: save it as a buffer or plain tensor")
        return Parameter(data, requires_grad=requires_grad)

    def from_type(self, func, new_type, args, state):
        if not isinstance(func, Global) or not isinstance(args, tuple) or not isinstance(
                new_type, _TypeName):
            raise ValueError(f"{self.who}: the file holds a tensor subclass ({short(new_type)}), "
                             "which chainrule does not read")
        out = func.call(*args)
        if new_type.name != "torch.Tensor" and not isinstance(out, Parameter):
            out = self._parameter(out, out.requires_grad)
        return self._attributes(out, state)

    def _attributes(self, out: Tensor, state):
        """A tensor's own Python attributes (``p._no_weight_decay = True``), which torch.save
        keeps as its state (a dict, or a dict and slots): set as PyTorch sets them, except
        that a name the Tensor already has (a method, ``grad``, ``_data``...) is refused."""
        if isinstance(state, tuple) and len(state) == 2 and state[1] in (None, {}):
            state = state[0]
        if state is None or state == {}:
            return out
        if not isinstance(state, dict) or not all(
                isinstance(k, str) and k.isidentifier() and not hasattr(out, k) for k in state):
            raise ValueError(f"{self.who}: a tensor carries attributes {short(state)}; "
                             "chainrule sets new plain attributes only, none that a Tensor has")
        plain(state, self.who)
        for key, value in state.items():
            setattr(out, key, value)
        return out


def place(array, requires_grad: bool, location: str, map_location, who: str) -> Tensor:
    """A loaded array as a Tensor where ``map_location`` puts a tensor saved at ``location``.

    ``map_location`` is PyTorch's: None (the host), a device, a dict from saved locations
    (``"cuda:0"``) to devices (a location it does not name goes to the host), or a function
    called with the Tensor and its saved location, whose returned Tensor is used (None, as in
    PyTorch, leaves it where no map_location would put it).
    """
    if callable(map_location) and not isinstance(map_location, str):
        given = Tensor(array, requires_grad=requires_grad)
        out = map_location(given, location)
        if out is None:
            return given
        if not isinstance(out, Tensor):
            raise TypeError(f"{who}: map_location returned {type(out).__name__} for a tensor "
                            f"saved on '{location}'; expected a Tensor (chainrule calls it with "
                            "each Tensor, not a storage)")
        return out
    target = map_location
    if isinstance(map_location, dict):
        target = map_location.get(location)
    if target is not None:
        if not isinstance(target, str):
            raise TypeError(f"{who}: map_location must be None, a device, a dict of locations "
                            f"or a function, got {type(map_location).__name__} {short(target)}")
        array = to_device(array, str(_device(target)))
    return Tensor(array, requires_grad=requires_grad)


def plain(obj, who: str):
    """``obj``, once no part of it is a storage, class or function the pickle named without
    building a tensor from it: ``torch.save(t.untyped_storage())`` would load as chainrule's
    internal record of a storage, and ``torch.save(torch.FloatStorage)`` as a table entry."""
    stack, seen = [obj], set()
    while stack:
        item = stack.pop()
        if isinstance(item, _Storage):
            raise ValueError(
                f"{who}: the file holds a bare storage (storage '{item.key}', as "
                "torch.save(t.untyped_storage()) or torch.save(t.storage()) writes), not a "
                "tensor; chainrule has no storage type: save the tensor itself")
        if isinstance(item, (_StorageType, _TypeName, Global)):
            raise ValueError(
                f"{who}: the file holds {short(item)} itself (a class or function, not a "
                "value); chainrule reads tensors and plain values only")
        if isinstance(item, (list, tuple, set, frozenset, dict)) and id(item) not in seen:
            seen.add(id(item))  # a list may hold itself (the pickle's memo)
            stack.extend(item)
            if isinstance(item, dict):
                stack.extend(item.values())
    return obj


def _bytes(text, encoding="latin1"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise TypeError(f"_codecs.encode({short(text)}, {short(encoding)}) is not how bytes "
                        "are pickled")
    return text.encode("latin1")


def _bytearray(*args):
    if args and not isinstance(args[0], bytes) or len(args) > 1:  # bytearray(n) would allocate
        raise TypeError(f"bytearray{short(args)} is not how a bytearray is pickled")
    return bytearray(*args)


def _complex(real=0.0, imag=0.0):
    if not all(isinstance(v, (int, float)) for v in (real, imag)):
        raise TypeError(f"complex({short(real)}, {short(imag)}) takes two numbers here")
    return complex(real, imag)


def _table(builder: _Builder) -> dict:
    table = {
        "torch._utils._rebuild_tensor_v2": Global("_rebuild_tensor_v2", builder.rebuild_v2, True),
        "torch._utils._rebuild_tensor_v3": Global("_rebuild_tensor_v3", builder.rebuild_v3, True),
        "torch._utils._rebuild_parameter": Global("_rebuild_parameter", builder.parameter, True),
        "torch._utils._rebuild_parameter_with_state": Global(
            "_rebuild_parameter_with_state", builder.parameter, True),
        "torch._tensor._rebuild_from_type_v2": Global("_rebuild_from_type_v2",
                                                      builder.from_type, True),
        "torch._utils._rebuild_sparse_tensor": Global("_rebuild_sparse_tensor",
                                                      rebuild_torch_sparse, True),
        "torch.serialization._get_layout": Global("_get_layout", torch_layout, True),
        "torch.Tensor": _TypeName("torch.Tensor"),
        "torch.nn.parameter.Parameter": _TypeName("torch.nn.parameter.Parameter"),
        "collections.OrderedDict": Global("OrderedDict", collections.OrderedDict),
        "collections.Counter": Global("Counter", collections.Counter),
        "torch.Size": Global("torch.Size", lambda dims=(): Size(_dims(
            tuple(dims), "torch.Size", builder.who))),
        "torch.device": Global("torch.device", _device),
        "torch.storage.UntypedStorage": _StorageType("storage.UntypedStorage", None),
        "_codecs.encode": Global("_codecs.encode", _bytes),
        "builtins.bytearray": Global("bytearray", _bytearray),
        "builtins.set": Global("set", lambda items=(): set(items)),
        "builtins.complex": Global("complex", _complex),
        "torch.bfloat16": dtypes.bfloat16,
    }
    for name, dtype in _STORAGE_DTYPES.items():
        dt = dtypes.bfloat16 if dtype == "bfloat16" else numpy.dtype(dtype)
        table[f"torch.{name}"] = _StorageType(name, dt)
    table.update({f"torch.{name}": numpy.dtype(name) for name in _DTYPES})
    return table


def read_torch_file(source, *, map_location=None, upcast_bfloat16=False, who="load"):
    """Read a file ``torch.save`` wrote (a path or a binary file object of the zip archive).

    Tensors come back as chainrule Tensors (``Parameter`` where PyTorch saved one), with the
    stored ``requires_grad``, on ``map_location`` (None: the host).
    """
    try:
        zf = open_first(source)  # the first archive of several (two saves into one buffer)
    except (*_ZIP_ERRORS, ValueError) as err:
        shown = f"'{source}'" if isinstance(source, str) or hasattr(source, "__fspath__") else (
            "the file object")  # not its repr, <_io.BytesIO object at 0x...>
        raise ValueError(f"{who}: {shown} is not a readable zip archive ({err}); the file "
                         "is truncated or damaged") from None
    with zf:
        names = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(names) != 1:
            raise ValueError(f"{who}: the zip archive has {len(names)} '<name>/data.pkl' "
                             "entries, not one: it is not a file torch.save wrote")
        prefix = names[0][:-len("data.pkl")]
        if prefix + "constants.pkl" in zf.namelist():
            raise ValueError(
                f"{who}: the file is a TorchScript archive (torch.jit.save: it holds the "
                "model's code), which chainrule does not read; save the model's state_dict() "
                "with torch.save, or export it to ONNX and use chainrule.onnx.load")
        order = "little"
        if prefix + "byteorder" in zf.namelist():
            order = _Archive(zf, prefix, False, who).entry("byteorder", limit=16).decode(
                "ascii", "replace").strip()
        if order not in ("little", "big"):
            raise ValueError(f"{who}: the archive's byteorder is {short(order)}; expected 'little' "
                             "or 'big'")
        archive = _Archive(zf, prefix, order == "big", who)
        builder = _Builder(archive, map_location, upcast_bfloat16)
        data = archive.entry("data.pkl", limit=_MAX_PICKLE)
        return plain(run_pickle(data, _table(builder), archive.storage, who), who)
