"""Tensor factories in PyTorch's names: ``zeros``, ``ones``, ``full``, ``arange``, ``randn``...

Each makes a leaf Tensor of the default dtype (float32 unless ``chainrule.set_default_dtype``
changed it, or ``dtype``; ``arange`` of ints gives int64, as in PyTorch) on the default device
(``chainrule.set_default_device``, or ``device``). Random factories draw from ``rng``, or from
the default generator that ``chainrule.manual_seed`` seeds. ``tril``/``triu`` are ops: their
gradient is the same mask.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import MetaArray, config, get_array_module, numpy, to_device, validate_device
from ..backend.dtypes import check_fill
from ..backend.random import resolve_rng
from ._arange import integer_arange as _integer_arange
from ._fill import fill_number as _fill_number
from ._layout import check_factory_options
from ._linspace import torch_linspace
from .memory_format import check_format
from .out_arg import write_into

__all__ = [
    "arange", "empty", "empty_like", "eye", "from_numpy", "full", "full_like", "linspace",
    "ones", "ones_like", "rand", "rand_like", "randint", "randn", "randn_like", "tril", "triu",
    "zeros", "zeros_like",
]


class _DefaultFloat:
    """Stands for ``config.default_dtype``, read when a tensor is made."""


FLOAT = _DefaultFloat()


def _size(op, size, keyword=None) -> tuple[int, ...]:
    """``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros([2, 3])`` and ``zeros(size=(2, 3))`` all mean
    shape (2, 3)."""
    if keyword is not None:
        if size:
            raise TypeError(f"{op}: size given both positionally ({size!r}) and as size="
                            f"{keyword!r}; give one")
        size = (keyword,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    size = tuple(_int_scalar(n) for n in size)
    if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 0
               for n in size):
        raise TypeError(f"{op}: size must be non-negative ints or one tuple of them, got {size!r}")
    return tuple(int(n) for n in size)


def _shape(op, sizes, keyword) -> tuple[int, ...]:
    """``_size`` of a factory's own size arguments, where none at all is PyTorch's TypeError
    (``zeros()``; a 0-d tensor is ``zeros(())``)."""
    if not sizes and keyword is None:
        raise TypeError(f"{op}: missing the size: give ints ({op}(2, 3)), one tuple "
                        f"({op}((2, 3)); () for a 0-d tensor) or size=")
    return _size(op, sizes, keyword)


def _int_scalar(n):
    """A one-entry integer Tensor needing no gradient as its Python int (``zeros(lengths.max())``,
    as PyTorch takes it); anything else unchanged, for the size check."""
    if isinstance(n, Tensor) and n._data.size == 1 and n.dtype.kind in "iu" \
            and not n.requires_grad and type(n._data) is not MetaArray:
        return n.item()
    return n


def _dtype(op, dtype, default=FLOAT):
    if dtype is None:
        return config.default_dtype if default is FLOAT else default
    try:
        return numpy.dtype(dtype)
    except TypeError as e:
        if str(e).startswith("chainrule cannot"):  # bfloat16 (backend/dtypes.py)
            raise TypeError(f"{op}: {e}") from None
        raise TypeError(f"{op}: dtype {dtype!r} is not a dtype (e.g. chainrule.float32)") from None


def _leaf(op, array, device, requires_grad) -> Tensor:
    if device is None:
        device = config.default_device
    if device != "cpu":
        array = to_device(array, validate_device(device))
    if requires_grad and array.dtype.kind not in "fc":
        raise TypeError(f"{op}: only floating-point and complex tensors can require gradients, "
                        f"got dtype {array.dtype}")
    return Tensor(array, requires_grad=bool(requires_grad))


def _filled(fill, shape, dtype, device):
    """``fill(shape, dtype)``, or on the meta device an array holding nothing (no memory)."""
    if (config.default_device if device is None else device) == "meta":
        return MetaArray(shape, dtype)
    return fill(shape, dtype)


def zeros(*sizes, size=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
          requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of shape ``sizes`` (ints, or one tuple), or ``size=`` (a tuple)."""
    check_factory_options("zeros", layout, pin_memory)
    arr = _filled(numpy.zeros, _shape("zeros", sizes, size), _dtype("zeros", dtype), device)
    return _leaf("zeros", arr, device, requires_grad)


def ones(*sizes, size=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ones of shape ``sizes`` (ints, or one tuple), or ``size=`` (a tuple)."""
    check_factory_options("ones", layout, pin_memory)
    arr = _filled(numpy.ones, _shape("ones", sizes, size), _dtype("ones", dtype), device)
    return _leaf("ones", arr, device, requires_grad)


def empty(*sizes, size=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
          requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``sizes`` or ``size=``; chainrule fills it with zeros (never
    uninitialized memory)."""
    check_factory_options("empty", layout, pin_memory)
    return zeros(_shape("empty", sizes, size), dtype=dtype, device=device,
                 requires_grad=requires_grad)


def full(size, fill_value, *, dtype=None, layout=None, device=None, pin_memory: bool = False,
         requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` holding ``fill_value`` everywhere.

    The dtype follows the value when not given: float32 for a float (complex64 for a complex),
    int64 for an int, bool for a bool (as in PyTorch).
    """
    check_factory_options("full", layout, pin_memory)
    fill_value = _fill_number(fill_value)
    default = FLOAT if isinstance(fill_value, float) else numpy.asarray(fill_value).dtype
    if type(fill_value) is complex:  # complex64 beside float32, as PyTorch
        default = numpy.result_type(config.default_dtype, numpy.complex64)
    size = _size("full", size if isinstance(size, (tuple, list)) else (size,))
    dtype = _dtype("full", dtype, default)
    fill_value = check_fill("full", fill_value, dtype)
    arr = _filled(lambda shape, dt: numpy.full(shape, fill_value, dt), size, dtype, device)
    return _leaf("full", arr, device, requires_grad)


def _like(op, x, dtype, layout, pin_memory, memory_format=None):
    check_factory_options(op, layout, pin_memory)
    if memory_format is not None:  # a layout of strides only: every chainrule tensor is dense
        check_format(op, memory_format)
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a Tensor, got {type(x).__name__}")
    return x.shape, (x.dtype if dtype is None else dtype), x.device


def zeros_like(input, *, dtype=None, layout=None, device=None,  # noqa: A002
               pin_memory: bool = False, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    """Zeros of ``input``'s shape, dtype and device."""
    shape, dtype, dev = _like("zeros_like", input, dtype, layout, pin_memory, memory_format)
    return zeros(shape, dtype=dtype, device=device or dev, requires_grad=requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None,  # noqa: A002
              pin_memory: bool = False, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """Ones of ``input``'s shape, dtype and device."""
    shape, dtype, dev = _like("ones_like", input, dtype, layout, pin_memory, memory_format)
    return ones(shape, dtype=dtype, device=device or dev, requires_grad=requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None,  # noqa: A002
               pin_memory: bool = False, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    """``zeros_like`` (chainrule never hands out uninitialized memory)."""
    check_factory_options("empty_like", layout, pin_memory)
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad,
                      memory_format=memory_format)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None,  # noqa: A002
              pin_memory: bool = False, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """``fill_value`` in ``input``'s shape, dtype and device."""
    shape, dtype, dev = _like("full_like", input, dtype, layout, pin_memory, memory_format)
    return full(shape, fill_value, dtype=dtype, device=device or dev,
                requires_grad=requires_grad)


def arange(start=None, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """``start, start + step, ...`` up to (not including) ``end``; ``arange(n)`` and
    ``arange(end=n)`` are 0..n-1.

    int64 when every bound is an int, else the default dtype (as in PyTorch). A bound may be a
    one-entry 0-d tensor (``arange(lengths.max())``). ``out=`` is written and returned, in its
    own dtype (``arange(0, n, out=torch.LongTensor(n))``, Tacotron 2's mask of lengths).
    """
    check_factory_options("arange", layout, pin_memory)
    if start is None and end is None:
        raise TypeError("arange: missing the end: arange(end), arange(start, end) or "
                        "arange(start, end, step)")
    if end is None:
        start, end = 0, start
    elif start is None:  # arange(end=n), PyTorch's keyword form
        start = 0
    bounds = tuple(b.item() if isinstance(b, Tensor) and b.ndim == 0 else b
                   for b in (start, end, step))
    start, end, step = bounds
    if not all(isinstance(b, numbers.Real) and not isinstance(b, bool) for b in bounds):
        raise TypeError(f"arange: start, end and step must be numbers or 0-d tensors, got "
                        f"{bounds!r}")
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError(f"arange: unsupported range {start!r} -> {end!r} (not finite)")
    if (end - start) * step < 0:  # NumPy's empty result; PyTorch's error
        raise ValueError(f"arange: end {end!r} lies on the wrong side of start {start!r} for "
                         f"step {step!r} (upper bound and lower bound inconsistent with step sign)")
    ints = all(isinstance(b, numbers.Integral) for b in bounds)
    default = numpy.dtype("int64") if ints else FLOAT
    if out is not None:
        dtype = _out_dtype("arange", out, dtype)
    dtype = _dtype("arange", dtype, default)
    if not ints and dtype.kind in "iu":
        arr = _integer_arange(start, end, step, dtype)
    else:
        arr = numpy.arange(start, end, step, dtype="int64" if ints else "float64")
    result = _leaf("arange", arr.astype(dtype), device, requires_grad)
    if out is None:
        return result
    write_into("arange", out, result, keep_count=True, stacklevel=3)  # out's rules (out_arg.py)
    return out


def _out_dtype(op, out, dtype):
    """The dtype of a factory that writes ``out``: ``out``'s own (``dtype=`` must agree)."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}: out must be a Tensor, got {type(out).__name__}")
    if dtype is not None and numpy.dtype(_dtype(op, dtype)) != out._data.dtype:
        raise RuntimeError(f"{op}: dtype {numpy.dtype(_dtype(op, dtype))} does not match the "
                           f"dtype of out ({out._data.dtype})")
    return out._data.dtype  # a recorded argument: write_into's RuntimeError


def linspace(start, end, steps: int, *, dtype=None, layout=None, device=None,
             pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included), default dtype."""
    steps = _int_scalar(steps)  # a one-entry integer Tensor, as PyTorch's (was refused)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    check_factory_options("linspace", layout, pin_memory)
    dtype = _range_dtype("linspace", start, end, dtype)
    arr = None
    if numpy.dtype(dtype).kind != "c":  # PyTorch's values to the last bit (_linspace.py)
        ends = [v.item() if isinstance(v, Tensor) else v for v in (start, end)]
        arr = torch_linspace(*ends, int(steps), dtype)
    if arr is None:
        arr = numpy.linspace(start, end, int(steps)).astype(dtype)
    return _leaf("linspace", arr, device, requires_grad)


def _range_dtype(op, start, end, dtype):
    """``linspace``/``logspace``'s dtype: a complex end (a number or a tensor) makes it the
    default complex dtype, as PyTorch's (NumPy's cast to a real dtype would drop the imaginary
    part), and a real ``dtype`` then is PyTorch's error."""
    complex_end = any(numpy.iscomplexobj(v._data if isinstance(v, Tensor) else v)
                      for v in (start, end))
    if not complex_end:
        return _dtype(op, dtype)
    if dtype is None:
        return numpy.result_type(config.default_dtype, numpy.complex64)
    if _dtype(op, dtype).kind != "c":
        raise RuntimeError(f"{op}: a complex start or end ({start!r}, {end!r}) can't be safely "
                           f"cast to the real dtype {numpy.dtype(dtype)}")
    return _dtype(op, dtype)


def eye(n: int, m: int | None = None, *, dtype=None, layout=None, device=None,
        pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The ``n`` x ``m`` identity matrix (``m`` defaults to ``n``)."""
    check_factory_options("eye", layout, pin_memory)
    n, m = _size("eye", (n, n if m is None else m))
    return _leaf("eye", numpy.eye(n, m, dtype=_dtype("eye", dtype)), device, requires_grad)


def from_numpy(array) -> Tensor:
    """A Tensor sharing ``array``'s memory (a change to one shows in the other)."""
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(numeric("from_numpy", array))


def numeric(op, array):
    """``array`` as a plain ndarray of numbers (a subclass such as ``np.matrix`` as a view); one
    of objects, strings, dates..., or not in the machine's byte order, refused as PyTorch's."""
    if array.dtype.kind in "OVUSMm":
        raise TypeError(f"{op}: cannot make a numeric tensor from an array of dtype {array.dtype}; "
                        "expected booleans, integers, floats or complex numbers")
    if not array.dtype.isnative:  # was: a tensor whose dtype equalled no chainrule dtype
        raise ValueError(f"{op}: given numpy array has byte order different from the native "
                         f"byte order ({array.dtype.str}); use .astype(dtype.newbyteorder('='))")
    return array if type(array) is numpy.ndarray else array.view(numpy.ndarray)


def _pick(op, rng, generator):
    """``rng``, or PyTorch's name for it, ``generator`` (a ``chainrule.Generator``)."""
    if generator is not None and rng is not None:
        raise TypeError(f"{op}: give rng or generator, not both")
    return rng if generator is None else generator


def _random(op, size, rng, dtype, device, requires_grad, draw, part=None) -> Tensor:
    size = _size(op, size)
    dtype = _dtype(op, dtype)
    if dtype.kind == "c" and part is not None:  # real and imaginary parts drawn apart, as PyTorch
        g = resolve_rng(rng, op)
        values = (part * draw(g, size) + 1j * part * draw(g, size)).astype(dtype)
        return _leaf(op, values, device, requires_grad)
    if dtype.kind != "f":
        raise TypeError(f"{op}: dtype must be floating-point or complex, got {dtype}")
    values = draw(resolve_rng(rng, op), size).astype(dtype, copy=False)
    return _leaf(op, values, device, requires_grad)


def randn(*sizes, size=None, rng=None, dtype=None, layout=None, device=None,
          pin_memory: bool = False, requires_grad: bool = False, generator=None) -> Tensor:
    """Standard normal samples of shape ``size``, from ``rng`` (PyTorch's ``generator``) or the
    default generator; a complex ``dtype`` has variance 1 (each part 1/2), as PyTorch's."""
    check_factory_options("randn", layout, pin_memory)
    return _random("randn", _shape("randn", sizes, size), _pick("randn", rng, generator), dtype,
                   device, requires_grad,
                   lambda g, s: g.standard_normal(s), part=0.5 ** 0.5)


def rand(*sizes, size=None, rng=None, dtype=None, layout=None, device=None,
         pin_memory: bool = False, requires_grad: bool = False, generator=None) -> Tensor:
    """Uniform samples in [0, 1) of shape ``size``, from ``rng`` (or ``generator``) or the default
    generator; for a complex ``dtype``, the real and imaginary parts each."""
    check_factory_options("rand", layout, pin_memory)
    return _random("rand", _shape("rand", sizes, size), _pick("rand", rng, generator), dtype,
                   device, requires_grad,
                   lambda g, s: g.random(s), part=1.0)


def randn_like(input, *, rng=None, dtype=None, layout=None, device=None,  # noqa: A002
               pin_memory: bool = False, requires_grad: bool = False, generator=None,
               memory_format=None) -> Tensor:
    """``randn`` of ``input``'s shape, dtype and device."""
    shape, dtype, dev = _like("randn_like", input, dtype, layout, pin_memory, memory_format)
    return randn(shape, rng=_pick("randn_like", rng, generator), dtype=dtype, device=device or dev,
               requires_grad=requires_grad)


def rand_like(input, *, rng=None, dtype=None, layout=None, device=None,  # noqa: A002
              pin_memory: bool = False, requires_grad: bool = False, generator=None,
              memory_format=None) -> Tensor:
    """``rand`` of ``input``'s shape, dtype and device."""
    shape, dtype, dev = _like("rand_like", input, dtype, layout, pin_memory, memory_format)
    return rand(shape, rng=_pick("rand_like", rng, generator), dtype=dtype, device=device or dev,
               requires_grad=requires_grad)


def randint(low=None, high=None, size=(), *, rng=None, dtype=None, layout=None, device=None,
            pin_memory: bool = False, requires_grad: bool = False, generator=None) -> Tensor:
    """Random ints in ``[low, high)`` (``randint(high, size)`` and ``randint(high=h, size=s)``
    start at 0), int64 (or ``dtype``; ``requires_grad`` only with a floating-point ``dtype``)."""
    check_factory_options("randint", layout, pin_memory)
    if any(isinstance(v, float) for v in (low, high)):  # numpy would draw up to the float
        raise TypeError(f"randint: low and high must be ints, got {low!r} and {high!r}")
    if low is None and high is not None:
        low = 0
    elif high is None or isinstance(high, (tuple, list)):
        low, high, size = 0, low, (size if high is None else high)
    size = _size("randint", size if isinstance(size, (tuple, list)) else (size,))
    if not high > low:
        raise ValueError(f"randint: high must exceed low, got low={low}, high={high}")
    dtype = _dtype("randint", dtype, numpy.dtype("int64"))
    if dtype.kind in "biuf":  # PyTorch's bounds check; a cast would wrap the draws around
        lo, hi = (0, 1) if dtype.kind == "b" else (-math.inf, math.inf) if dtype.kind == "f" \
            else (int(numpy.iinfo(dtype).min), int(numpy.iinfo(dtype).max))
        if dtype == numpy.float16:
            lo, hi = -65504, 65504
        for name, v in (("low", low), ("high - 1", high - 1)):
            if not lo <= v <= hi:
                raise ValueError(f"randint: {name} = {v} is out of bounds for {dtype}")
    arr = resolve_rng(_pick("randint", rng, generator), "randint").integers(low, high, size)
    return _leaf("randint", arr.astype(dtype), device, requires_grad)


class _Triangle(Function):
    complex_grad = True

    def forward(self, x):
        xp = get_array_module(x)
        return (xp.tril if self.lower else xp.triu)(x, self.diagonal)

    def backward(self, g):
        return _Triangle.apply(g, lower=self.lower, diagonal=self.diagonal)


def _triangle(op, x, diagonal, lower):
    if not isinstance(x, Tensor):
        x = Tensor(get_array_module(x).asarray(x))
    if x.ndim < 2:
        raise ValueError(f"{op}: needs at least 2 dimensions, got shape {x.shape}")
    if isinstance(diagonal, bool) or not isinstance(diagonal, numbers.Integral):
        raise TypeError(f"{op}: diagonal must be an int, got {diagonal!r}")
    return _Triangle.apply(x, lower=lower, diagonal=int(diagonal))


def tril(input, diagonal: int = 0) -> Tensor:  # noqa: A002
    """The lower triangle of the last two axes (the rest zero); ``diagonal`` shifts the edge."""
    return _triangle("tril", input, diagonal, True)


def triu(input, diagonal: int = 0) -> Tensor:  # noqa: A002
    """The upper triangle of the last two axes (the rest zero); ``diagonal`` shifts the edge."""
    return _triangle("triu", input, diagonal, False)


Tensor.tril = tril
Tensor.triu = triu
