"""Tensor methods PyTorch programs call that are thin spellings of other ops.

``eq``/``ne``/``lt``..., ``view_as``, ``t``, ``type``, ``new_zeros``..., ``masked_fill``,
``narrow``, ``chunk``, ``contiguous``, ``clone``, ``expand``, ``to(device or dtype)``, ``long``...
Each is a few lines over the op it names; no method here has a backward of its own.
"""

from __future__ import annotations

import numbers

from ..autograd.function import Function, nondiff
from ..autograd.tensor import Tensor
from ..autograd.views import refuse_in_place, track_copy
from ..backend import ensure_array, get_array_module, numpy, validate_device
from ..backend.dtypes import _NamedOnly, check_fill, check_fill_value
from . import creation
from ._args import dim_or_axis
from ._promotion import promoted
from .elementwise import add, cast, clip, div, mul, sub, to_device_op, where
from .elementwise import pow as _pow
from .join import split
from .memory_format import check_format
from .shape import Reshape, _one_axis, broadcast_to, getitem, reshape, transpose

__all__ = ["chunk", "clamp", "clone", "masked_fill", "narrow"]

_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


class Clone(Function):
    reads_inputs = False  # the gradient passes through unchanged (complex too)
    complex_grad = True

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def clone(input, *, memory_format=None) -> Tensor:  # noqa: A002
    """A copy of ``input`` with its own memory; gradients flow through it. A ``memory_format``
    is accepted (the values are the same; see ``memory_format.py``)."""
    if memory_format is not None:
        check_format("clone", memory_format)
    return Clone.apply(input)


def clamp(input, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's argument names
    """Limit every element to ``[min, max]`` (either may be None), like ``torch.clamp``."""
    return clip(input, min, max)


def masked_fill(x, mask, value) -> Tensor:
    """``x`` with ``value`` where the boolean ``mask`` (broadcast to ``x``) is True."""
    m = mask._data if isinstance(mask, Tensor) else mask
    if getattr(m, "dtype", None) is None or m.dtype.kind != "b":
        raise TypeError(f"masked_fill: mask must be a boolean Tensor, got "
                        f"{getattr(m, 'dtype', type(mask).__name__)}")
    # a number, or a 0-d tensor, as PyTorch's; one x's dtype cannot hold is PyTorch's error
    value = check_fill_value("masked_fill", value, x.dtype)  # (-1e9 into float16: no silent -inf)
    if isinstance(value, Tensor) and not value.requires_grad:  # its number, checked the same way
        value = check_fill("masked_fill", value.item(), x.dtype)
    if not isinstance(value, Tensor):
        value = Tensor(get_array_module(x._data).asarray(value, dtype=x.dtype))
    # the mask Tensor itself (not its array): a recorded comparison stays in the recording
    return where(mask if isinstance(mask, Tensor) else Tensor(m), value, x)


def narrow(input, dim: int, start: int, length: int) -> Tensor:  # noqa: A002
    """The view ``input[..., start:start + length, ...]`` along ``dim``."""
    axis = _one_axis("narrow", dim, input.ndim)
    n = input.shape[axis]
    start = start + n if start < 0 else start
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise IndexError(f"narrow: start {start} and length {length} fall outside axis {axis} "
                         f"of size {n}")
    return getitem(input, (slice(None),) * axis + (slice(start, start + length),))


def chunk(input, chunks: int, dim: int = 0) -> tuple:  # noqa: A002
    """Split ``input`` into ``chunks`` pieces along ``dim`` (the last may be smaller)."""
    if isinstance(chunks, bool) or not isinstance(chunks, numbers.Integral) or chunks < 1:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    n = input.shape[_one_axis("chunk", dim, input.ndim)]
    if n == 0:  # PyTorch's: an empty axis gives ``chunks`` empty pieces, not one
        return split(input, [0] * chunks, dim)
    return split(input, -(-n // chunks), dim)


def _is_dtype(value) -> bool:
    if isinstance(value, (numpy.dtype, type, _NamedOnly)):  # bfloat16: cast() says it can't
        return True
    if isinstance(value, str):
        try:
            numpy.dtype(value)
        except TypeError:
            return False
        return True
    return False


def _to(self, *args, device=None, dtype=None, non_blocking=False, copy=False,
        memory_format=None):
    """This tensor on a device and/or of a dtype: ``to("cuda")``, ``to(cr.float64)``,
    ``to(device, dtype)``, ``to(other_tensor)``; recorded, so gradients flow back. A
    ``memory_format`` is accepted (the values are the same; see ``memory_format.py``)."""
    if memory_format is not None:
        check_format("to", memory_format)
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif _is_dtype(a):
            dtype = a
        elif device is None:
            device = a
        else:
            raise TypeError(f"to: unexpected argument {a!r}")
    out = self
    if dtype is not None:
        out = cast(out, dtype)
    if device is not None:
        name = validate_device(device)
        out = out if name == out.device else to_device_op(out, name)
    return clone(out) if copy and out is self else out


def _split_method(self, split_size, dim=None, *, axis=None):
    """``x.split(split_size, dim=0)``: PyTorch's method names the size ``split_size`` (its
    function, ``torch.split``, ``split_size_or_sections``); an int or a list of sizes."""
    return split(self, split_size, axis, dim=dim)


def _view(self, *shape, size=None, dtype=None):
    """``x.view(shape)`` (also ``size=``): ``reshape``'s view; ``x.view(dtype)`` (also
    ``dtype=``): the same bytes read as another dtype, as PyTorch's (the last axis scaled by the
    ratio of the item sizes; no gradient flows through it, as in PyTorch)."""
    if dtype is None and len(shape) == 1 and _is_dtype(shape[0]):
        shape, dtype = (), shape[0]
    if dtype is None:
        return _refuse_writes_if_copied(self, reshape(self, *_sizes("view", shape, size)))
    if shape or size is not None:
        raise TypeError(f"view: give a shape or a dtype, not both (got {shape or size!r} and "
                        f"dtype={dtype!r})")
    target = numpy.dtype(dtype)
    return nondiff(lambda a: a.view(target), self)  # no gradient, even to the same dtype


def _refuse_writes_if_copied(x, out):
    """``out``, a ``view`` of ``x``; if NumPy could not show x's memory in that shape, ``out`` is
    a copy, and a change made in place through it would not reach ``x`` (PyTorch's would), so
    its count of in-place changes refuses to count one."""
    if out is not x and not getattr(out, "_viewed", False) and out._data.size > 1:
        shape, viewed_as = tuple(x._data.shape), tuple(out._data.shape)
        refuse_in_place(out, (
            f"x.view{viewed_as} (x of shape {shape}) is a copy: x is stored in an order that "
            "cannot be shown in that shape without copying (a transpose, a permute, or a "
            "convolution or pooling output stored batch-last, viewed with its batch axis "
            "merged), so changing the copy would not change x as PyTorch's view does. Change x "
            "itself, or use x.reshape(...) (or x.contiguous().view(...)) to say that a copy is "
            "meant"))
        track_copy(out, x)  # and a change of x is carried into it
    return out


def legacy_dtype(dtype):
    """The dtype a ``type()`` argument names: a legacy type (``torch.FloatTensor``) or its
    name (``"torch.cuda.FloatTensor"``) gives its dtype; anything else is returned as given."""
    if callable(dtype) and getattr(dtype, "__name__", None) in _TYPE_NAMES.values():
        dtype = dtype.__name__  # x.type(torch.FloatTensor): the legacy constructor names it
    if isinstance(dtype, str) and dtype.rsplit(".", 1)[-1] in _TYPE_NAMES.values():
        name = dtype.rsplit(".", 1)[-1]
        dtype = next(k for k, v in _TYPE_NAMES.items() if v == name)
    return dtype


def _type(self, dtype=None):
    """The type name (``"chainrule.FloatTensor"``) without an argument, else ``to(dtype)``."""
    if dtype is None:
        return "chainrule." + _TYPE_NAMES.get(str(self.dtype), f"Tensor[{self.dtype}]")
    return cast(self, legacy_dtype(dtype))


def _sizes(who, sizes, size):
    """The shape given as varargs, one sequence, or PyTorch's ``size=`` keyword."""
    if size is not None:
        if sizes:
            raise TypeError(f"{who}: give the sizes positionally or as size=, not both (got "
                            f"{sizes!r} and size={size!r})")
        return tuple(size) if isinstance(size, (tuple, list)) else (size,)
    return sizes


def _new(factory):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        who = "new_" + factory.__name__
        if set(kw) - {"size"}:
            raise TypeError(f"{who}: unexpected keyword argument(s) {sorted(set(kw) - {'size'})}")
        size = _sizes(who, size, kw.get("size"))
        return factory(*size, dtype=self.dtype if dtype is None else dtype,
                       device=device or (None if self.device == "cpu" else self.device),
                       requires_grad=requires_grad)

    return method


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return creation.full(size, fill_value, dtype=self.dtype if dtype is None else dtype,
                         device=device or (None if self.device == "cpu" else self.device),
                         requires_grad=requires_grad)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    xp = get_array_module(self._data)
    arr = xp.array(data._data if isinstance(data, Tensor) else data,
                   dtype=self.dtype if dtype is None else dtype)
    return creation._leaf("new_tensor", arr,
                          device or (None if self.device == "cpu" else self.device), requires_grad)


def _expand(self, *sizes, size=None):
    sizes = _sizes("expand", sizes, size)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    lead = len(sizes) - self.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes for a tensor of shape {self.shape}")
    shape = tuple(self.shape[i - lead] if s == -1 and i >= lead else s
                  for i, s in enumerate(sizes))
    return _expanded(self, shape)


def _expanded(self, shape):
    """``self`` broadcast to ``shape``: always a new Tensor, with a node of its own where self
    requires grad, as PyTorch's, also in its own shape (data-parallel wrappers reach a
    parameter's AccumulateGrad through ``p.expand_as(p).grad_fn.next_functions[0][0]``)."""
    out = broadcast_to(self, shape)
    return Reshape.apply(self, shape=tuple(shape)) if out is self else out


def _t(self):
    if self.ndim > 2:
        raise ValueError(f"t: expects a tensor with at most 2 dimensions, got shape {self.shape}")
    return self if self.ndim < 2 else transpose(self, 0, 1)


def _compare(name):
    op = getattr(Tensor, name)
    return lambda self, other: op(self, other)


def _reduce_bool(fn_name):
    def method(self, dim=None, keepdim=False, *, axis=None):
        axis = dim_or_axis(fn_name, axis, dim)
        if isinstance(axis, list):  # x.any([0, 2]) as x.any((0, 2)); [] as (): none, PyTorch's
            axis = tuple(axis)
        xp = get_array_module(self._data)

        def reduce(a):  # uint8 input gives uint8, as PyTorch's (and torch.all/any here)
            r = ensure_array(getattr(xp, fn_name)(a, axis=axis, keepdims=keepdim))
            return r.astype(a.dtype) if a.dtype == numpy.uint8 else r

        return nondiff(reduce, self)

    method.__name__ = fn_name
    return method


def _bitwise(name, ufunc, reflected=False):
    """``&``, ``|``, ``^`` on boolean or integer Tensors (masks), as PyTorch; not differentiable."""

    def method(self, other):
        for t in (self, other):
            kind = (t._data if isinstance(t, Tensor) else numpy.asarray(t)).dtype.kind
            if kind not in "biu":
                raise TypeError(f"{name}: needs boolean or integer tensors (masks), got dtype "
                                f"{t.dtype if isinstance(t, Tensor) else type(t).__name__}")
        xp = get_array_module(self._data)
        a, b = promoted(self, other)  # PyTorch's promotion (int32 & a 0-d int64: int32)
        a, b = (b, a) if reflected else (a, b)
        return nondiff(lambda x, y: xp.asarray(getattr(xp, ufunc)(x, y)), a, b)

    method.__name__ = name
    return method


def _invert(self):
    """``~mask``: logical not of a boolean Tensor, bitwise not of an integer one (PyTorch's)."""
    if self._data.dtype.kind not in "biu":
        raise TypeError(f"__invert__: needs a boolean or integer tensor, got dtype {self.dtype}")
    xp = get_array_module(self._data)
    return nondiff(lambda x: xp.asarray(xp.invert(x)), self)


for _op, _ufunc in (("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor")):
    setattr(Tensor, f"__{_op}__", _bitwise(f"__{_op}__", _ufunc))
    setattr(Tensor, f"__r{_op}__", _bitwise(f"__r{_op}__", _ufunc, reflected=True))
    setattr(Tensor, f"logical_{_op}", lambda self, other, _u=f"logical_{_op}": nondiff(
        lambda a, b: get_array_module(a).asarray(getattr(get_array_module(a), _u)(a, b)),
        self, other if isinstance(other, Tensor) else Tensor(numpy.asarray(other))))
def _view_as(self, other):
    """``self`` in ``other``'s shape, always a new Tensor (its own node of the graph), as
    PyTorch's: ``x.view_as(x)`` is how the transforms give each argument a node of its own, so
    a Tensor passed twice is differentiated per position."""
    out = reshape(self, other.shape)
    if out is self:
        return Reshape.apply(self, shape=tuple(out.shape))
    return _refuse_writes_if_copied(self, out)


Tensor.__invert__ = _invert
Tensor.logical_not = lambda self: nondiff(
    lambda a: get_array_module(a).asarray(get_array_module(a).logical_not(a)), self)

for _name, _dunder in (("eq", "__eq__"), ("ne", "__ne__"), ("lt", "__lt__"), ("le", "__le__"),
                       ("gt", "__gt__"), ("ge", "__ge__")):
    setattr(Tensor, _name, _compare(_dunder))
Tensor.any = _reduce_bool("any")
Tensor.all = _reduce_bool("all")
Tensor.add = lambda self, other, *, alpha=1: add(self, other if alpha == 1 else other * alpha)
Tensor.sub = lambda self, other, *, alpha=1: sub(self, other if alpha == 1 else other * alpha)
Tensor.mul = mul
Tensor.div = div
Tensor.pow = _pow
Tensor.clamp = clamp
Tensor.clone = clone
Tensor.masked_fill = masked_fill
Tensor.narrow = narrow
Tensor.chunk = chunk
Tensor.split = _split_method
Tensor.view = _view
Tensor.to = _to
Tensor.type = _type
Tensor.t = _t
Tensor.expand = _expand
Tensor.expand_as = lambda self, other: _expanded(self, tuple(other.shape))
Tensor.view_as = _view_as
Tensor.reshape_as = lambda self, other: reshape(self, other.shape)
Tensor.is_floating_point = lambda self: self.dtype.kind == "f"
Tensor.long = lambda self: cast(self, "int64")
Tensor.int = lambda self: cast(self, "int32")
Tensor.bool = lambda self: cast(self, "bool")
Tensor.half = lambda self: cast(self, "float16")
Tensor.new_zeros = _new(creation.zeros)
Tensor.new_ones = _new(creation.ones)
Tensor.new_empty = _new(creation.empty)
Tensor.new_full = _new_full
Tensor.new_tensor = _new_tensor
Tensor.element_size = lambda self: self.dtype.itemsize
