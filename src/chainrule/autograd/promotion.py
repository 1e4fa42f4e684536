"""PyTorch's type promotion (``torch.result_type``), the one place chainrule decides the dtype
an arithmetic op computes in.

The operands fall in three groups: tensors with dimensions, 0-d tensors, and Python numbers
(a ``bool``, ``int``, ``float`` or ``complex``, or a NumPy scalar, counted by its kind: a float
as the default dtype, a complex as the default dtype's complex partner, an int as int64).
Each group's dtypes are promoted among themselves; then a lower group changes the result only
where its category (bool < integer < floating < complex) is higher than the groups above it:
``int64_tensor * 2.5`` is float32 (the default dtype), ``float32_tensor + float64_0d`` float32,
``int32_tensor + int64_0d`` int32, ``float16_tensor + 2.0`` float16.

Promoting two dtypes (``promote_types``) keeps the floating or complex one beside an integer or
bool (``int64`` with ``float16`` is ``float16``, where NumPy gives float64), and otherwise
follows NumPy (``uint8`` with ``int8`` is ``int16``, ``complex64`` with ``float64`` is
``complex128``). PyTorch's ``complex32`` has no NumPy dtype: ``float16`` beside a complex
number gives ``complex64`` here.
"""

from __future__ import annotations

from ..backend import numpy
from ..backend.defaults import get_default_dtype
from .tensor import Tensor

__all__ = ["can_cast", "check_in_place", "default_complex", "dense_beside_sparse", "promote_types",
           "result_type", "true_divide_dtype"]

_BOOL = numpy.dtype(bool)
_INT64 = numpy.dtype("int64")
_COMPLEX64 = numpy.dtype("complex64")
_COMPLEX128 = numpy.dtype("complex128")
_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # the categories, lowest first


def default_complex() -> numpy.dtype:
    """The complex partner of the default dtype (complex64 for float32, complex128 for float64)."""
    return _COMPLEX128 if get_default_dtype() == numpy.float64 else _COMPLEX64


def promote_types(a, b) -> numpy.dtype:
    """The smallest dtype both ``a`` and ``b`` convert to by PyTorch's table (see the module)."""
    a, b = numpy.dtype(a), numpy.dtype(b)
    if a == b:
        return a
    ra, rb = _RANK.get(a.kind, 1), _RANK.get(b.kind, 1)
    if ra >= 2 and rb < 2:
        return a
    if rb >= 2 and ra < 2:
        return b
    return numpy.promote_types(a, b)


def _to_complex(dtype):
    return _COMPLEX128 if dtype == numpy.float64 else _COMPLEX64


def _combine(higher, lower):
    """A higher group's dtype, changed by a lower group's only where the lower one's category is
    higher (c10's rule for combining the groups)."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "c":
        return higher
    if lower.kind == "c":
        return _to_complex(higher) if higher.kind == "f" else lower
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def _number_dtype(x):
    """The dtype a Python number (or a NumPy scalar) stands for; None for anything else."""
    if isinstance(x, numpy.generic):
        kind = x.dtype.kind
    elif isinstance(x, bool):
        return _BOOL
    elif isinstance(x, int):
        return _INT64
    elif isinstance(x, float):
        return get_default_dtype()
    elif isinstance(x, complex):
        return default_complex()
    else:
        return None
    return (_BOOL if kind == "b" else _INT64 if kind in "iu" else get_default_dtype()
            if kind == "f" else default_complex() if kind == "c" else None)


def result_type(*operands) -> numpy.dtype:
    """The dtype PyTorch computes ``operands`` (Tensors, arrays, Python numbers) in."""
    dims = zero = wrapped = None
    for x in operands:
        if isinstance(x, Tensor):
            x = x._data
        elif not hasattr(x, "ndim") or isinstance(x, numpy.generic):
            dtype = _number_dtype(x)
            if dtype is not None:
                wrapped = dtype if wrapped is None else promote_types(wrapped, dtype)
                continue
            x = numpy.asarray(x)
        if x.ndim:
            dims = x.dtype if dims is None else promote_types(dims, x.dtype)
        else:
            zero = x.dtype if zero is None else promote_types(zero, x.dtype)
    out = _combine(dims, _combine(zero, wrapped))
    if out is None:
        raise TypeError("result_type: give at least one operand")
    return out


def true_divide_dtype(dtype) -> numpy.dtype:
    """The dtype of a true division computed in ``dtype``: the default dtype for integers and
    bool, as in PyTorch."""
    return get_default_dtype() if dtype.kind in "biu" else dtype


def can_cast(from_, to) -> bool:
    """PyTorch's ``can_cast``: whether a result of dtype ``from_`` may be written into a tensor of
    dtype ``to`` (no lower category: complex to real, floating to integer, any to bool)."""
    a, b = numpy.dtype(from_), numpy.dtype(to)
    return _RANK.get(a.kind, 1) <= _RANK.get(b.kind, 1)


_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
          "int64": "Long", "float16": "Half", "float32": "Float", "float64": "Double",
          "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def check_in_place(who: str, t: Tensor, dtype) -> None:
    """RuntimeError, in PyTorch's words, where a result of ``dtype`` cannot be written into
    ``t`` (``int_tensor.add_(1.5)``)."""
    want = t._data.dtype
    if not can_cast(dtype, want):
        raise RuntimeError(f"{who}: result type {_NAMES.get(dtype.name, dtype.name)} can't be "
                           f"cast to the desired output type {_NAMES.get(want.name, want.name)} "
                           f"(the result is {dtype}, this tensor {want}: cast it first, e.g. "
                           ".float())")


def check_alpha(who: str, t: Tensor, other, alpha) -> None:
    """PyTorch's RuntimeError for a float ``alpha`` of ``add_``/``sub_`` where the result is an
    integer or bool (it would be truncated: ``int_tensor.add_(x, alpha=0.5)``)."""
    if isinstance(alpha, float) and result_type(t, other).kind in "biu":
        raise RuntimeError(f"{who}: for integral input tensors, argument alpha must not be a "
                           f"floating point number (got alpha={alpha!r}), as in PyTorch")


def dense_beside_sparse(who: str, a, b):
    """``a`` and ``b`` with a sparse COO operand (``chainrule.sparse``) beside a dense Tensor
    made dense, for PyTorch's ``dense + sparse`` (and ``-``, ``add_``...), which is dense and
    differentiates into both. PyTorch does not broadcast there: the shapes must be equal."""
    sparse_a = type(a) is not Tensor and getattr(a, "is_sparse", False)
    sparse_b = type(b) is not Tensor and getattr(b, "is_sparse", False)
    if sparse_a == sparse_b or not isinstance(b if sparse_a else a, Tensor):
        return a, b
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{who}: a dense and a sparse tensor must have the same shape (PyTorch "
                         f"does not broadcast dense-sparse sums), got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return (a.to_dense(), b) if sparse_a else (a, b.to_dense())


def nested_data_dtype(data):
    """``torch.tensor``'s dtype for nested lists that hold NumPy scalars, arrays or tensors: each
    of those counts by its own dtype (``[np.float64(2.5)]`` is float64), a Python float as the
    default dtype, an int as int64, promoted together. None when the lists hold Python numbers
    only (the caller's rule, NumPy's inference, then applies)."""
    typed, plain, stack, big = set(), set(), [data], None
    while stack:
        seq = stack.pop()
        kinds = set(map(type, seq))
        if int in kinds and big is None:
            big = next((v for v in seq if type(v) is int and not -2**63 <= v < 2**63), None)
        for t in kinds - {list, tuple}:
            if issubclass(t, numpy.generic):
                typed.add(numpy.dtype(t))
            elif t in _PLAIN:
                plain.add(_PLAIN[t]())
            else:
                typed.update(numpy.dtype(v.dtype) for v in seq if type(v) is t and
                             hasattr(v, "dtype"))
        if list in kinds or tuple in kinds:
            stack.extend(v for v in seq if type(v) in (list, tuple))
    if big is not None and all(d.kind in "biu" for d in typed | plain):  # an int tensor
        raise ValueError(f"tensor(): the Python int {big} does not fit int64 (PyTorch's "
                         "'Overflow when unpacking long long'; NumPy made it uint64 or float "
                         "silently); pass dtype=, e.g. chainrule.float64, for a float tensor")
    if not typed:
        return None
    dtype = typed.pop()
    for other in typed | plain:
        dtype = promote_types(dtype, other)
    return dtype


_PLAIN = {bool: lambda: _BOOL, int: lambda: _INT64, float: get_default_dtype,
          complex: default_complex}
