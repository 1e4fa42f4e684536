"""Reading the JSON structure of a file ``chainrule.save`` wrote, every entry checked.

``serialize.save`` writes the saved object as JSON in the safetensors metadata: lists as lists,
plain values as themselves, and everything else as a dict with one marker key (``__array__``,
``__size__``, ``__complex__``, ``__bytes__``, ``__bytearray__``, ``__dtype__``, ``__tuple__``,
``__set__``, ``__device__``, ``__dict__``, ``__sparse__``). ``decode`` rebuilds the object and
refuses, with a ValueError naming the entry, a structure ``save`` cannot have written (a
hand-made or damaged file whose checksums were recomputed, or a file without checksums): an
unknown marker, a tensor name the file does not hold, a Size of negative or non-integer
dimensions, an unhashable dict key or set item, a sparse tensor whose invariants fail. It never
returns a plausible wrong value nor raises anything else.
"""

from __future__ import annotations

import collections

from ..autograd.tensor import Size
from ..backend import dtypes, numpy
from ..backend.device import device as _device
from ..nn.lazy import UninitializedParameter
from ..nn.lazy_more import UninitializedBuffer
from ..nn.parameter import Parameter
from .sparse_entries import decode_sparse
from .torch_file import _DTYPES as TORCH_DTYPES
from .torch_file import place
from .torch_pickle import short

__all__ = ["DTYPE_NAMES", "decode"]

_MARKERS = (
    "__array__",
    "__size__",
    "__complex__",
    "__bytes__",
    "__bytearray__",
    "__dtype__",
    "__tuple__",
    "__set__",
    "__device__",
    "__dict__",
    "__sparse__",
)
_KINDS = ("tensor", "parameter", "ndarray", "uninitialized parameter", "uninitialized buffer")
DTYPE_NAMES = (*TORCH_DTYPES, "bfloat16")  # the dtypes a torch file names, which save keeps


class _DamagedError(ValueError):
    pass


class _Built(dict):
    """The file's arrays by name, and the objects built from them (``built``)."""

    def __init__(self, arrays: dict):
        super().__init__(arrays)
        self.built: dict = {}


def _check(ok: bool, value, expected: str) -> None:
    if not ok:
        raise _DamagedError(f"the entry {short(value)} is not {expected}")


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _list(value, key: str) -> list:
    items = value[key]
    _check(isinstance(items, list), value, f"a {key} entry (a list)")
    return items


def _hashable(item, value):
    try:
        hash(item)
    except TypeError:
        raise _DamagedError(
            f"the entry {short(value)} uses an unhashable "
            f"{type(item).__name__} as a dict key or set item"
        ) from None
    return item


def _array(value, arrays: dict, device):
    name, kind = value["__array__"], value.get("kind", "tensor")
    grad = value.get("requires_grad", False)
    _check(
        isinstance(name, str) and name in arrays and kind in _KINDS and isinstance(grad, bool),
        value,
        "a tensor of the file (a name it holds, a kind in " + ", ".join(_KINDS) + ")",
    )
    built = arrays.built  # an object saved twice (save writes it once) is one object again
    if (name, kind, grad) not in built:
        built[name, kind, grad] = _build(name, kind, grad, value, arrays, device)
    return built[name, kind, grad]


def _build(name: str, kind: str, grad: bool, value, arrays: dict, device):
    array = arrays[name]
    if kind == "ndarray":
        return array
    if kind.startswith("uninitialized"):  # a lazy module's, saved before its first call
        _check(array.dtype.kind == "f", value, f"an uninitialized tensor (dtype {array.dtype})")
        if kind.endswith("parameter"):
            return UninitializedParameter(requires_grad=grad, dtype=array.dtype)
        return UninitializedBuffer(dtype=array.dtype)
    if kind == "parameter":
        _check(array.dtype.kind in "fc", value, f"a Parameter (its dtype is {array.dtype})")
        return Parameter(place(array, False, "cpu", device, "load"), requires_grad=grad)
    return place(array, grad, "cpu", device, "load")


def _decode(value, arrays: dict, device):
    if isinstance(value, list):
        return [_decode(v, arrays, device) for v in value]
    if not isinstance(value, dict):
        return value  # None, a bool, a number or a str, as JSON gives them
    marks = [k for k in _MARKERS if k in value]
    _check(len(marks) == 1, value, "a saved value (one marker key)")
    mark = marks[0]
    if mark == "__array__":
        return _array(value, arrays, device)
    if mark == "__sparse__":  # io/sparse_entries.py
        return decode_sparse(
            value,
            lambda part: _decode(part, arrays, device),
            lambda expected: _DamagedError(f"the entry {short(value)} is not {expected}"),
        )
    if mark == "__size__":
        dims = _list(value, mark)
        _check(all(_int(d) and d >= 0 for d in dims), value, "a Size (dimensions >= 0)")
        return Size(dims)
    if mark == "__complex__":
        parts = _list(value, mark)
        _check(len(parts) == 2 and all(map(_number, parts)), value, "a complex number")
        return complex(*parts)
    if mark in ("__bytes__", "__bytearray__"):
        text = value[mark]
        _check(
            isinstance(text, str) and all(ord(c) < 256 for c in text),
            value,
            "bytes (a latin-1 string)",
        )
        raw = text.encode("latin1")
        return raw if mark == "__bytes__" else bytearray(raw)
    if mark == "__dtype__":
        name = value[mark]
        _check(name in DTYPE_NAMES, value, "a dtype (" + ", ".join(DTYPE_NAMES) + ")")
        return dtypes.bfloat16 if name == "bfloat16" else numpy.dtype(name)
    if mark == "__device__":
        _check(isinstance(value[mark], str), value, "a device")
        try:
            return _device(value[mark])
        except (TypeError, ValueError) as err:
            raise _DamagedError(f"the entry {short(value)} is not a device ({err})") from None
    if mark in ("__tuple__", "__set__"):
        items = [_decode(v, arrays, device) for v in _list(value, mark)]
        return tuple(items) if mark == "__tuple__" else {_hashable(v, value) for v in items}
    pairs = _list(value, mark)
    _check(
        all(isinstance(p, list) and len(p) == 2 for p in pairs),
        value,
        "a dict (a list of [key, value] pairs)",
    )
    out = (collections.OrderedDict if value.get("ordered") is True else dict)(
        (_hashable(_decode(k, arrays, device), value), _decode(v, arrays, device)) for k, v in pairs
    )
    if value.get("ordered") is True and "metadata" in value:  # a state dict's module versions
        out._metadata = _decode(value["metadata"], arrays, device)
    return collections.Counter(out) if value.get("counter") is True else out


def decode(value, arrays: dict, device, shown: str):
    """The object ``value`` (parsed JSON) describes, its tensors taken from ``arrays`` and put on
    ``device`` (``load``'s map_location); ``shown`` names the file in an error."""
    try:
        return _decode(value, _Built(arrays), device)
    except _DamagedError as err:
        raise ValueError(
            f"load: {shown} holds a structure chainrule.save does not write: "
            f"{err} (the file is damaged or hand-made)"
        ) from None
    except RecursionError:
        raise ValueError(
            f"load: {shown} holds a structure nested too deeply to read (the file "
            "is damaged or hand-made)"
        ) from None
