"""The "meta" device: arrays with a shape and a dtype but no values (PyTorch's meta tensors).

A ``MetaArray`` is what a Tensor on the meta device holds. It stores nothing but its shape and
dtype, so a model built on it (``nn.Linear(4096, 4096, device="meta")``) costs no memory, and it
is not a NumPy array, so nothing can read values out of it by mistake: ``numpy.asarray``,
``item()``, ``tolist()``, ``bool()`` and copies into a real array raise errors worded as
PyTorch's.

Ops on it give meta results of the right shape and dtype. NumPy finds them through its
dispatch protocols (``__array_ufunc__``, ``__array_function__``), and an ndarray method
(``reshape``, ``sum``, ``transpose``...) is looked up on a stand-in: a read-only zero-stride
broadcast of one zero, as large as the array claims to be but holding one element. The
operation runs on stand-ins (so NumPy's own rules decide shapes, dtypes and shape errors) and
each array result becomes a MetaArray again. Elementwise ufuncs and matmul work out their
result from the shapes alone, without computing anything. Ops whose result shape depends on
the values (``nonzero``, ``unique``, boolean-mask indexing) raise ``NotImplementedError``, as
PyTorch's do. A write into a meta array (``fill``, ``a[i] = v``, ``out=``) does nothing: there
is nothing to write to.

Mixing a meta array with a real one inside an op gives a meta result (the real values cannot
leak out of it); PyTorch refuses most such mixes at the Tensor level.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy

__all__ = ["CopyOutError", "DataDependentError", "MetaArray", "NO_DATA", "NoDataError",
           "NoItemError", "meta_like"]

NO_DATA = "Cannot copy out of meta tensor; no data!"
_NO_ITEM = "Tensor.item() cannot be called on meta tensors"
# Result shapes that depend on the values: PyTorch's meta kernels refuse these too.
_DATA_DEPENDENT = {numpy.nonzero, numpy.flatnonzero, numpy.argwhere, numpy.unique,
                   numpy.extract, numpy.compress, numpy.unique_values, numpy.unique_counts,
                   numpy.unique_inverse, numpy.unique_all, numpy.trim_zeros}
# Functions that give an array of the input's own shape and dtype.
_SAME = {numpy.copy, numpy.ascontiguousarray, numpy.asfortranarray, numpy.array,
         numpy.asarray, numpy.asanyarray}


class NoDataError(NotImplementedError):
    """Values were asked of a meta array (a copy out of it, into a real array or to the host)."""


class NoItemError(RuntimeError):
    """A single value was asked of a meta array (``item()``, ``bool()``, ``int()``...)."""


class DataDependentError(NotImplementedError):
    """An op whose result's shape depends on the values met a meta array."""


class CopyOutError(NotImplementedError):
    """A meta array was asked to move to a device that holds values."""


def _no_item(*_args, **_kwargs):
    raise NoItemError(_NO_ITEM)


def _no_data(*_args, **_kwargs):
    raise NoDataError(NO_DATA)


class MetaArray:
    """An array of ``shape`` and ``dtype`` with no values (see the module's docstring)."""

    __slots__ = ("shape", "dtype")
    base = None  # never a view of another array's memory: there is none
    __array_priority__ = 2000  # above a Tensor's: ``ndarray op meta`` asks the meta side

    def __init__(self, shape, dtype):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = numpy.dtype(dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def strides(self) -> tuple[int, ...]:
        """The strides a C-contiguous array of this shape would have."""
        out, step = [], self.dtype.itemsize
        for d in reversed(self.shape):
            out.append(step)
            step *= max(d, 1)
        return tuple(reversed(out))

    @property
    def flags(self):
        """A fresh record each time: a C-contiguous array that owns its (absent) memory; setting
        ``writeable`` on it changes nothing, as writes change nothing."""
        return SimpleNamespace(writeable=True, c_contiguous=True, f_contiguous=self.ndim <= 1,
                               owndata=True, aligned=True)

    @property
    def T(self):  # noqa: N802 - NumPy's name
        return MetaArray(self.shape[::-1], self.dtype)

    @property
    def mT(self):  # noqa: N802 - NumPy's name
        if self.ndim < 2:
            raise ValueError(f"matrix transpose with ndim < 2 is undefined (shape {self.shape})")
        return MetaArray(self.shape[:-2] + self.shape[-2:][::-1], self.dtype)

    def standin(self):
        """A read-only array of this shape and dtype that holds one zero (zero strides)."""
        return numpy.broadcast_to(numpy.zeros((), self.dtype), self.shape)

    def __repr__(self) -> str:
        return f"MetaArray(shape={self.shape}, dtype={self.dtype})"

    # Reading values out: refused, in PyTorch's words.
    item = __bool__ = __float__ = __int__ = __complex__ = __index__ = _no_item
    tolist = tobytes = __array__ = __dlpack__ = _no_data

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def astype(self, dtype, *args, **kwargs):
        return MetaArray(self.shape, dtype)

    def copy(self, *args, **kwargs):
        return MetaArray(self.shape, self.dtype)

    def fill(self, value) -> None:
        """Nothing to fill."""

    def __getitem__(self, index):
        return _wrap(self.standin()[_unwrap_index(index)])

    def __setitem__(self, index, value) -> None:
        # Checked as NumPy checks an assignment (the index, the value's shape), then dropped.
        try:
            target = self.standin()[_unwrap_index(index)]
        except DataDependentError:  # a meta mask: what it picks is unknown, and nothing changes
            return
        numpy.broadcast_shapes(numpy.shape(_unwrap(value)), target.shape)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self.standin(), name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            return _call(attr, args, kwargs)

        return method

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        if out is not None:
            out = out if isinstance(out, tuple) else (out,)
            if any(o is not None and not isinstance(o, MetaArray) for o in out):
                raise NoDataError(NO_DATA)
        if method == "__call__" and ufunc.signature is None:
            result = _elementwise(ufunc, inputs, kwargs)
        elif ufunc is numpy.matmul and method == "__call__" and not kwargs:
            result = _matmul(*inputs)
        else:
            result = _call(getattr(ufunc, method), inputs, kwargs)
        if out is not None:  # the write has nothing to land in: give back the given arrays
            return out[0] if len(out) == 1 else out
        return result

    def __array_function__(self, func, types, args, kwargs):
        if func in _DATA_DEPENDENT:
            raise DataDependentError(
                f"numpy.{func.__name__} on a meta array: its result's shape depends on the "
                "values, which a meta tensor does not have")
        if func in _SAME and isinstance(args[0], MetaArray) and len(args) == 1:
            dtype = kwargs.get("dtype")
            return MetaArray(args[0].shape, args[0].dtype if dtype is None else dtype)
        out = kwargs.get("out")
        if out is not None and not isinstance(out, MetaArray):
            raise NoDataError(NO_DATA)
        if func is numpy.copyto:
            if not isinstance(args[0], MetaArray):
                raise NoDataError(NO_DATA)
            numpy.broadcast_shapes(numpy.shape(_unwrap(args[1])), args[0].shape)
            return None
        if out is not None:
            kwargs = {k: v for k, v in kwargs.items() if k != "out"}
            _call(func, args, kwargs)
            return out
        return _call(func, args, kwargs)


def _shape(shape) -> tuple:
    return (shape,) if isinstance(shape, int) else tuple(shape)


class _MetaFactories:
    """NumPy, but with array factories (``empty``, ``zeros``, ``ones``, ``full``) that make meta
    arrays: what ``get_array_module()`` gives while "meta" is the default device, so that a
    layer built there (``Parameter(xp.empty(shape))``) allocates nothing."""

    __name__ = "numpy"

    def __getattr__(self, name):
        return getattr(numpy, name)

    @staticmethod
    def empty(shape, dtype=float, *args, **kwargs) -> MetaArray:
        return MetaArray(_shape(shape), dtype)

    zeros = ones = empty

    @staticmethod
    def full(shape, fill_value, dtype=None, *args, **kwargs) -> MetaArray:
        return MetaArray(_shape(shape), numpy.asarray(fill_value).dtype if dtype is None else dtype)


META_FACTORIES = _MetaFactories()


def meta_like(array) -> MetaArray:
    """A meta array of ``array``'s shape and dtype."""
    return MetaArray(array.shape, array.dtype)


def _unwrap(x, eye=False):
    if type(x) is MetaArray:
        return x.standin() if not eye or x.ndim < 2 else _identities(x)
    if type(x) in (tuple, list):
        return type(x)(_unwrap(v, eye) for v in x)
    return x


def _identities(x):
    """A read-only stack of identity matrices of ``x``'s shape: linear algebra on zeros fails
    (a singular matrix), on identities it succeeds with results of the right shapes."""
    return numpy.broadcast_to(numpy.eye(*x.shape[-2:], dtype=x.dtype), x.shape)


def _unwrap_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    for p in parts:
        if isinstance(p, MetaArray) and p.dtype == numpy.bool_:
            raise DataDependentError(
                "indexing with a boolean meta mask: the result's shape depends on the mask's "
                "values, which a meta tensor does not have")
    return _unwrap(index)


def _wrap(x):
    if isinstance(x, (numpy.ndarray, numpy.generic)):
        return MetaArray(numpy.shape(x), x.dtype)
    if isinstance(x, (tuple, list)):  # a named tuple too (linalg's SVDResult...)
        items = [_wrap(v) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)
    if isinstance(x, dict):
        return {k: _wrap(v) for k, v in x.items()}
    return x


def _call(fn, args, kwargs):
    """``fn`` run on stand-ins, its array results made meta arrays."""
    eye = getattr(fn, "__module__", None) == "numpy.linalg"
    with numpy.errstate(all="ignore"):
        result = fn(*_unwrap(args, eye), **{k: _unwrap(v, eye) for k, v in kwargs.items()})
    return _wrap(result)


def _probe(x):
    """A one-element array of ``x``'s dtype (a Python number stays itself: NumPy's promotion
    treats those differently from arrays)."""
    if isinstance(x, (MetaArray, numpy.ndarray, numpy.generic)):
        return numpy.ones((), x.dtype)
    return x


def _elementwise(ufunc, inputs, kwargs):
    shapes = [numpy.shape(x) if not isinstance(x, MetaArray) else x.shape for x in inputs]
    where = kwargs.pop("where", None)
    if isinstance(where, (MetaArray, numpy.ndarray)):
        shapes.append(where.shape)
    shape = numpy.broadcast_shapes(*shapes)
    with numpy.errstate(all="ignore"):
        probe = ufunc(*[_probe(x) for x in inputs], **kwargs)
    if ufunc.nout == 1:
        return MetaArray(shape, numpy.asarray(probe).dtype)
    return tuple(MetaArray(shape, numpy.asarray(p).dtype) for p in probe)


def _matmul(a, b):
    sa, sb = numpy.shape(a) if not isinstance(a, MetaArray) else a.shape, (
        numpy.shape(b) if not isinstance(b, MetaArray) else b.shape)
    if not sa or not sb:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    ma = (1,) + sa if len(sa) == 1 else sa
    mb = sb + (1,) if len(sb) == 1 else sb
    if ma[-1] != mb[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0 "
                         f"(size {mb[-2]} is different from {ma[-1]}); shapes {sa} and {sb}")
    shape = numpy.broadcast_shapes(ma[:-2], mb[:-2]) + (ma[-2], mb[-1])
    if len(sa) == 1:
        shape = shape[:-2] + shape[-1:]
    if len(sb) == 1:
        shape = shape[:-1]
    dtype = numpy.matmul(numpy.ones((1, 1), a.dtype), numpy.ones((1, 1), b.dtype)).dtype
    return MetaArray(shape, dtype)


def _binary(ufunc, reflected=False):
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)


def _inplace(ufunc):
    def method(self, other):
        ufunc(self, other, out=self)
        return self

    return method


for _name, _uf in {"add": numpy.add, "sub": numpy.subtract, "mul": numpy.multiply,
                   "truediv": numpy.true_divide, "floordiv": numpy.floor_divide,
                   "mod": numpy.remainder, "pow": numpy.power, "matmul": numpy.matmul,
                   "and": numpy.bitwise_and, "or": numpy.bitwise_or, "xor": numpy.bitwise_xor,
                   "lshift": numpy.left_shift, "rshift": numpy.right_shift}.items():
    setattr(MetaArray, f"__{_name}__", _binary(_uf))
    setattr(MetaArray, f"__r{_name}__", _binary(_uf, reflected=True))
    setattr(MetaArray, f"__i{_name}__", _inplace(_uf))
for _name, _uf in {"eq": numpy.equal, "ne": numpy.not_equal, "lt": numpy.less,
                   "le": numpy.less_equal, "gt": numpy.greater, "ge": numpy.greater_equal}.items():
    setattr(MetaArray, f"__{_name}__", _binary(_uf))
for _name, _uf in {"neg": numpy.negative, "pos": numpy.positive, "abs": numpy.absolute,
                   "invert": numpy.invert}.items():
    setattr(MetaArray, f"__{_name}__", lambda self, _uf=_uf: _uf(self))
MetaArray.__hash__ = None
del _name, _uf
