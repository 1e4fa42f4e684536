"""More creation, counting and dtype helpers, PyTorch's names: logspace, randint_like, randperm,
multinomial, histc, histogram, is_floating_point, is_complex, result_type, can_cast, promote_types.

None of these is differentiable (they make new leaves, count, or answer about dtypes).
``result_type`` and ``promote_types`` describe chainrule's own arithmetic, which follows PyTorch's
promotion rules (``autograd/promotion.py``): an int64 tensor with a Python float is float32, a
float32 tensor with a 0-d float64 tensor float32. ``can_cast`` is PyTorch's rule (no cast to a
lower category).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

from ..autograd.function import nondiff
from ..autograd.promotion import promote_types as _promote_types
from ..autograd.promotion import result_type as _result_type
from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy
from ..backend.random import resolve_rng
from ._histogram import check_dtype, check_edges, count, outer_edges, width_edges
from ._layout import check_factory_options
from ._linspace import torch_logspace
from .creation import _dtype, _int_scalar, _leaf, _pick, _range_dtype, _size, randint
from .memory_format import check_format

__all__ = ["can_cast", "histc", "histogram", "is_complex", "is_floating_point", "logspace",
           "multinomial", "promote_types", "randint_like", "randperm", "result_type"]


def logspace(start, end, steps, base=10.0, *, dtype=None, layout=None, device=None,
             pin_memory: bool = False, requires_grad=False):
    """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in the exponent."""
    check_factory_options("logspace", layout, pin_memory)
    steps = _int_scalar(steps)  # a one-entry integer Tensor, as PyTorch's (was refused)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"logspace: steps must be a non-negative int, got {steps!r}")
    dtype = _range_dtype("logspace", start, end, dtype)
    ends = [v.item() if isinstance(v, Tensor) else v for v in (start, end)]
    arr = torch_logspace(*ends, int(steps), base, dtype)  # PyTorch's values, to the last bit
    if arr is None:  # one step or none, float16 or complex: NumPy's, rounded once
        arr = numpy.power(float(base), numpy.linspace(start, end, int(steps)))
    return _leaf("logspace", arr.astype(dtype), device, requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None,  # noqa: A002
                 pin_memory: bool = False, requires_grad: bool = False, generator=None, rng=None,
                 memory_format=None):
    """Random ints in ``[low, high)`` of ``input``'s shape and dtype (``randint_like(x, high)``
    starts at 0)."""
    check_factory_options("randint_like", layout, pin_memory)
    if memory_format is not None:  # a layout of strides only: every chainrule tensor is dense
        check_format("randint_like", memory_format)
    if not isinstance(input, Tensor):
        raise TypeError(f"randint_like: input must be a Tensor, got {type(input).__name__}")
    if high is None:
        low, high = 0, low
    out = randint(low, high, tuple(input.shape), rng=_pick("randint_like", rng, generator),
                  dtype=input.dtype if dtype is None else dtype,
                  device=input.device if device is None else device, requires_grad=requires_grad)
    return out


def _float_tensor(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating-point tensor, got dtype {x.dtype}")
    return x


def histc(input, bins=100, min=0, max=0):  # noqa: A002 - PyTorch's names
    """Counts of the entries in ``bins`` equal-width bins over [min, max] (the data's own range
    when min == max); entries outside are left out. The counts have ``input``'s dtype."""
    x = _float_tensor("histc", input)
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins < 1:
        raise ValueError(f"histc: bins must be a positive int, got {bins!r}")
    if min > max:
        raise ValueError(f"histc: max must be larger than min, got min={min}, max={max}")

    def histc_of(a):  # a nondiff step: a trace (cr.trace, onnx.export) computes it again
        data = a.reshape(-1)
        xp = get_array_module(data)
        lo, hi = float(min), float(max)
        if lo == hi and data.size:  # PyTorch's rule: equal bounds take the data's range
            lo, hi = float(data.min()), float(data.max())
        if lo == hi:  # one value (or none): PyTorch widens the range by 1 on each side
            lo, hi = lo - 1, hi + 1
        if not (numpy.isfinite(lo) and numpy.isfinite(hi)):
            raise ValueError(f"histc: range of [{lo}, {hi}] is not finite")
        # PyTorch's bin of x: floor((x - min) * bins / (max - min)) in the input's dtype (max
        # in the last bin), not a search of the edges: an entry within an ulp of an edge lands
        # as there
        edges = xp.asarray(width_edges("histc", lo, hi, int(bins), data.dtype))
        return count(xp, data[:, None], [edges], None, False, a.dtype, ["linear"])
    return nondiff(histc_of, x)


class Histogram(NamedTuple):
    hist: Tensor
    bin_edges: Tensor


def histogram(input, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
    """``(hist, bin_edges)``: counts (or weights, or a density) in ``bins`` (an int for equal
    widths over ``range`` or the data's range, PyTorch's edges; or a 1-D tensor of edges)."""
    x = _float_tensor("histogram", input)
    data = x._data.reshape(-1)
    xp = get_array_module(data)
    if isinstance(bins, Tensor):
        if range is not None:  # PyTorch has no such overload: the edges fix the range
            raise TypeError(f"histogram: range={range!r} goes with an int bins, not with a "
                            f"tensor of edges")
        bins = bins._data
        check_edges("histogram", bins)
        check_dtype("histogram", "bins", bins, data.dtype)
        search = "edges"
    elif isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins < 1:
        raise ValueError(f"histogram: bins must be a positive int or a 1-D tensor of edges, "
                         f"got {bins!r}")
    else:
        outer_edges("histogram", data, range)  # its checks, at once
        search = "local"
    w = None
    if weight is not None:
        if not isinstance(weight, Tensor) or tuple(weight.shape) != tuple(x.shape):
            raise ValueError(f"histogram: weight must be a Tensor of the input's shape "
                             f"{tuple(x.shape)}, got {getattr(weight, 'shape', weight)}")
        check_dtype("histogram", "weight", weight._data, data.dtype)
        w = (weight,)

    def part(k):  # nondiff steps: a trace (cr.trace, onnx.export) computes them again
        def histogram_of(a, *weights):
            d = a.reshape(-1)
            edges = bins if search == "edges" else xp.asarray(
                width_edges("histogram", *outer_edges("histogram", d, range), int(bins), d.dtype))
            edges = edges.astype(a.dtype)
            if k:
                return edges
            w = weights[0].reshape(-1) if weights else None
            return count(xp, d[:, None], [edges], w, bool(density), a.dtype, [search])
        return nondiff(histogram_of, x, *(w or ()))
    return Histogram(part(0), part(1))


def is_floating_point(input) -> bool:  # noqa: A002
    """True for a tensor of a floating-point dtype."""
    return input.dtype.kind == "f"


def is_complex(input) -> bool:  # noqa: A002
    """True for a tensor of a complex dtype (complex64, complex128)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_complex: input must be a Tensor, got {type(input).__name__}")
    return input.dtype.kind == "c"


def _operand(op, x):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (bool, int, float, complex)):
        return x
    raise TypeError(f"{op}: expected Tensors or Python numbers, got {type(x).__name__}")


def result_type(tensor1, tensor2):
    """The dtype an arithmetic op computes the two (Tensors or numbers) in, by PyTorch's rules:
    dimensioned tensors first, then 0-d tensors, then numbers, each changing the result only
    where its category (bool, integer, floating, complex) is higher."""
    _operand("result_type", tensor1), _operand("result_type", tensor2)
    return _result_type(tensor1, tensor2)


def promote_types(type1, type2):
    """The dtype both dtypes promote to, by PyTorch's rules (an integer with a floating dtype is
    the floating one: int64 with float16 is float16)."""
    return _promote_types(_dtype("promote_types", type1), _dtype("promote_types", type2))


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # bool < integer < floating < complex


def can_cast(from_, to) -> bool:
    """Whether PyTorch's casting rule allows ``from_`` to ``to``: never to a lower category (bool,
    integer, floating, complex), any size within one (int8 to uint8 and float64 to float16 pass)."""
    return _CATEGORY[_dtype("can_cast", from_).kind] <= _CATEGORY[_dtype("can_cast", to).kind]


Tensor.is_complex = is_complex


def randperm(n: int, *, rng=None, dtype=None, layout=None, device=None,
             pin_memory: bool = False, requires_grad: bool = False, generator=None) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64, or ``dtype``; ``requires_grad`` only with a
    floating-point one). A dtype that cannot hold ``n - 1`` exactly is refused, as in PyTorch
    (a cast would repeat values: no longer a permutation)."""
    check_factory_options("randperm", layout, pin_memory)
    (n,) = _size("randperm", (n,))
    dtype = _dtype("randperm", dtype, numpy.dtype("int64"))
    if dtype.kind not in "iuf":
        raise TypeError(f"randperm: dtype must be an integer or floating-point dtype, got {dtype}")
    top = 2 ** (numpy.finfo(dtype).nmant + 1) + 1 if dtype.kind == "f" \
        else int(numpy.iinfo(dtype).max) + 1
    if n > top:
        raise ValueError(f"randperm: n = {n} is too large for {dtype} (at most {top}: every "
                         "value below n must be exact)")
    arr = resolve_rng(_pick("randperm", rng, generator), "randperm").permutation(n)
    return _leaf("randperm", arr.astype(dtype), device, requires_grad)


def multinomial(input, num_samples: int, replacement: bool = False, *, rng=None,  # noqa: A002
                generator=None) -> Tensor:
    """Indices drawn with the (unnormalized, non-negative) weights ``input``, int64.

    Args:
        input: a 1-D or 2-D floating-point Tensor of weights (each row its own distribution;
            no rows: an empty result).
        num_samples: how many indices per row (a positive int).
        replacement: draw with replacement; without it ``num_samples`` may not exceed the
            number of non-zero weights.
        rng: numpy Generator (None: the default generator); ``generator`` is PyTorch's name.
    """
    if isinstance(input, Tensor) and input.dtype.kind != "f":
        raise TypeError(f"multinomial: input must be a floating-point tensor, got dtype "
                        f"{input.dtype}")
    p = numpy.asarray(input.numpy() if isinstance(input, Tensor) else input, dtype="float64")
    if p.ndim not in (1, 2):
        raise ValueError(f"multinomial: probs must be 1-D or 2-D, got shape {p.shape}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) \
            or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive int, got {num_samples!r}")
    if p.shape[-1] == 0:
        raise ValueError("multinomial: probs has no categories (its last dimension is 0)")
    if (p < 0).any() or not numpy.isfinite(p).all():
        raise ValueError("multinomial: probs must be finite and non-negative")
    rows = p.reshape(-1, p.shape[-1])
    total = rows.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise ValueError("multinomial: every row of probs needs a positive sum")
    if not replacement and rows.shape[0] and num_samples > int((rows > 0).sum(axis=1).min()):
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement "
                         "from fewer non-zero weights")
    g = resolve_rng(_pick("multinomial", rng, generator), "multinomial")
    out = numpy.zeros((rows.shape[0], num_samples), dtype="int64")
    for i, (r, t) in enumerate(zip(rows, total[:, 0], strict=True)):
        out[i] = g.choice(rows.shape[1], num_samples, replace=bool(replacement), p=r / t)
    device = input.device if isinstance(input, Tensor) else None
    return _leaf("multinomial", out.reshape(p.shape[:-1] + (num_samples,)), device, False)
