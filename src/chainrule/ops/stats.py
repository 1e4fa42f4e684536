"""More reductions, PyTorch's names: prod, amax/amin, nansum, norm, median, var_mean/std_mean,
count_nonzero.

    d prod(x) / d x_i = the product of the other entries
    d ||x||_2 / d x = x / ||x||_2    (0 at x = 0, as PyTorch's)

The product's derivative is computed without dividing by x_i (which fails at a zero) as the
product of the entries before i times that of the entries after it (exclusive running products
from both ends). For second derivatives, ``composite`` gives the product as recorded multiplies.
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function, nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy
from ._args import dim_or_axis, keep_flag, reduce_dim
from ._real_only import refuse_bool, refuse_complex
from ._wide import WIDE_TERMS, half_sum, in_float32, wide_sum
from ._zero_d import on_one_axis, scalar_dim
from .elementwise import abs as _abs
from .elementwise import fill_where
from .elementwise import pow as _pow
from .indexing import gather
from .reduce import _check_nonempty, _kept_shape, _unreduce, mean, std, var
from .reduce import max as _max
from .reduce import min as _min
from .reduce import sum as _sum
from .shape import getitem, normalize_axis, reshape, squeeze

__all__ = ["amax", "amin", "aminmax", "count_nonzero", "median", "nansum", "norm", "prod",
           "std_mean", "var_mean"]


def _axes(op, x, dim, axis, keepdim, keepdims):
    axes = normalize_axis(op, dim_or_axis(op, axis, reduce_dim(dim)), x.ndim,
                          scalar=True)
    return axes, keep_flag(op, keepdims, keepdim)


class Prod(Function):
    """The product over ``axis`` (one axis; ``prod`` flattens for all); for complex entries the
    gradient takes the conjugate of the other entries' product (PyTorch's convention)."""

    complex_grad = True

    def forward(self, x):
        keep = x.dtype if x.dtype.kind in "iu" else None  # int32 stays int32, as PyTorch's
        return get_array_module(x).prod(x, axis=self.axis, keepdims=self.keepdims, dtype=keep)

    def backward(self, g):
        x = self.inputs[0]._data
        xp = get_array_module(x)
        ones = xp.ones(x.shape[:self.axis] + (1,) + x.shape[self.axis + 1:], x.dtype)
        before = xp.cumprod(xp.concatenate([ones, x], axis=self.axis), axis=self.axis)
        after = xp.flip(xp.cumprod(xp.flip(xp.concatenate([x, ones], axis=self.axis),
                                           axis=self.axis), axis=self.axis), axis=self.axis)
        n = x.shape[self.axis]
        lead = (slice(None),) * self.axis
        others = before[lead + (slice(0, n),)] * after[lead + (slice(1, n + 1),)]
        if others.dtype.kind == "c":
            others = xp.conj(others)
        return _unreduce(g, x.shape, (self.axis,), self.keepdims) * Tensor(others)

    def composite(self, x):  # the product as recorded multiplies, for create_graph
        out = None
        for i in range(x.shape[self.axis]):
            part = getitem(x, (slice(None),) * self.axis + (slice(i, i + 1),))
            out = part if out is None else out * part
        if out is None:
            xp = get_array_module(x._data)
            return Tensor(xp.ones(_kept_shape(x.shape, (self.axis,)), x.dtype))
        return out if self.keepdims else squeeze(out, self.axis)


def prod(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):  # noqa: A002
    """The product of the entries over ``dim`` (all for None; one axis, as PyTorch's)."""
    dim = dim_or_axis("prod", axis, dim)
    if dtype is not None:
        input = input.astype(dtype)  # noqa: A001
    elif input.dtype.kind in "biu":
        input = input.astype("int64")  # noqa: A001
    if dim is None:
        out = Prod.apply(reshape(input, -1), axis=0, keepdims=False)
    elif isinstance(dim, (tuple, list)):
        raise TypeError(f"prod: dim must be a single int (PyTorch's), got {dim!r}")
    elif scalar_dim(input, dim):
        out = Prod.apply(reshape(input, -1), axis=0, keepdims=False)
    else:
        (ax,) = normalize_axis("prod", dim, input.ndim)
        out = Prod.apply(input, axis=ax, keepdims=bool(keepdim or keepdims))
    return out.astype(bool) if input.dtype == bool else out  # dtype=bool: all, as PyTorch's


def amax(input, dim=(), keepdim=False, *, axis=None, keepdims=False):  # noqa: A002
    """The largest entry over ``dim`` (an int or tuple; () or None: all); ties share the
    gradient evenly, as PyTorch's ``amax``."""
    refuse_complex("amax", input)
    return _max(input, axis=_dims(input, dim, axis), keepdims=bool(keepdim or keepdims))


def amin(input, dim=(), keepdim=False, *, axis=None, keepdims=False):  # noqa: A002
    """The smallest entry over ``dim``; as ``amax``."""
    refuse_complex("amin", input)
    return _min(input, axis=_dims(input, dim, axis), keepdims=bool(keepdim or keepdims))


def _dims(x, dim, axis):
    dim = dim_or_axis("amax", axis, reduce_dim(dim))
    return None if dim is None or dim == () else dim


class AMinMax(NamedTuple):
    min: Tensor
    max: Tensor


def aminmax(input, *, dim=None, keepdim=False):  # noqa: A002
    refuse_complex("aminmax", input)
    return AMinMax(amin(input, dim, keepdim), amax(input, dim, keepdim))


class NanSum(Function):
    def forward(self, x):
        keep = x.dtype if x.dtype.kind in "iu" else None  # int32 stays int32, as PyTorch's
        if x.dtype == "float16":  # summed in float32 (_wide.py)
            return half_sum(get_array_module(x).nan_to_num(x, nan=0.0), self.axes, self.keepdims)
        if x.size > WIDE_TERMS and x.dtype.char in "fF":  # many float32 terms: in float64
            return wide_sum(get_array_module(x).nan_to_num(x, nan=0.0), self.axes, self.keepdims)
        return get_array_module(x).nansum(x, axis=self.axes, keepdims=self.keepdims, dtype=keep)

    def backward(self, g):
        x = self.inputs[0]._data
        full = _unreduce(g, x.shape, self.axes, self.keepdims)
        return fill_where(get_array_module(x).isnan(x), 0, full)


def nansum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):  # noqa: A002
    """The sum with NaN counted as 0 (and no gradient to it); ``dtype`` converts ``input`` first,
    as PyTorch's."""
    if dtype is not None:
        input = input.to(dtype)  # noqa: A001
    elif input.dtype.kind in "biu":  # PyTorch sums integers and booleans in int64
        input = input.to("int64")  # noqa: A001
    axes, keep = _axes("nansum", input, dim, axis, keepdim or None, keepdims)
    out = NanSum.apply(input, axes=axes, keepdims=keep)
    return out.to(bool) if input.dtype == bool else out  # dtype=bool: any, as PyTorch's


def count_nonzero(input, dim=None):  # noqa: A002
    axes = normalize_axis("count_nonzero", reduce_dim(dim), input.ndim, scalar=True)
    return nondiff(lambda a: get_array_module(a).asarray(
        get_array_module(a).count_nonzero(a, axis=axes)).astype("int64"), input)


class Norm2(Function):
    """The Euclidean norm over ``axes``; its gradient x / ||x|| is 0 where the norm is 0, and so
    are that gradient's derivatives (x / inf there, PyTorch's second order). A complex x has a
    real norm, sqrt(sum |x|^2), and the same gradient (PyTorch's convention)."""

    complex_grad = True

    def forward(self, x):
        xp = get_array_module(x)
        if x.dtype.kind == "c":
            x = xp.abs(x)
        return xp.sqrt((x * x).sum(axis=self.axes, keepdims=self.keepdims))

    def backward(self, g):
        x = self.inputs[0]
        kept = _kept_shape(x.shape, self.axes)
        out = reshape(self.output, kept)
        safe = fill_where(out._data == 0, float("inf"), out)
        return _unreduce(g, x.shape, self.axes, self.keepdims) * x / safe


def norm_dtype(op, x, dtype):
    """``x`` in a norm's ``dtype=``, under PyTorch's rule: a real dtype for a real x, a complex
    one for a complex x (a cast to a real dtype would drop the imaginary parts), never a
    narrower one."""
    if dtype is None:
        return x
    want, have = numpy.dtype(dtype), x._data.dtype
    if want.kind not in "fc" or (want.kind == "c") != (have.kind == "c") or \
            want.itemsize < have.itemsize:
        kind = "complex" if have.kind == "c" else "real floating point"
        raise TypeError(f"{op}: dtype must be a {kind} dtype at least as wide as the input's "
                        f"{have}, got dtype={want}")
    return x.astype(want)


def _floating(op, x):
    """PyTorch's norms refuse integer and bool tensors (a ``dtype=`` does not help)."""
    if isinstance(x, Tensor) and x.dtype.kind not in "fc":
        raise TypeError(f"{op}: expected a floating point or complex tensor, got {x.dtype} "
                        "(cast it first, e.g. x.double())")


@in_float32()
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):  # noqa: A002
    """The vector p-norm over ``dim`` (all entries for None): p = 2 or "fro" (Euclidean), 1,
    inf, -inf, 0 (the count of nonzeros) or any other number ``(sum |x|^p)^(1/p)``; "nuc" is the
    nuclear norm of the matrices over two dims (``dim`` a pair, or None for a 2-D input)."""
    _floating("norm", input)
    input = norm_dtype("norm", input, dtype)  # noqa: A001
    if p is None:  # PyTorch's torch.norm(x, p=None): the 2-norm
        p = 2
    axes = normalize_axis("norm", reduce_dim(dim), input.ndim, scalar=True)
    keep = bool(keepdim)
    if p in ("fro", 2, 2.0):
        return Norm2.apply(input, axes=axes, keepdims=keep)
    if p == "nuc":  # PyTorch's: the matrix nuclear norm over two dims (a 2-D input's own)
        from .linalg_norms import matrix_norm  # builds on this module: imported when needed

        whole = tuple(range(input.ndim))
        return matrix_norm(input, "nuc", whole if dim is None else dim, keep)
    if isinstance(p, str):
        raise ValueError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r} (use "
                         "chainrule.linalg for other matrix norms)")
    if p < 0 and any(input.shape[ax] == 0 for ax in axes):
        raise ValueError(f"norm: the {p} norm of an empty reduction is undefined (a negative "
                         f"order has no identity): got shape {input.shape}, dim {dim!r}")
    a = _abs(input)
    if p == float("inf"):
        return _max(a, axis=axes, keepdims=keep)
    if p == float("-inf"):
        return _min(a, axis=axes, keepdims=keep)
    nonzero = a._data != 0
    if p == 0:  # the count, recorded with gradient 0 (PyTorch's): x masked out, then 1 put in
        every = get_array_module(nonzero).ones(nonzero.shape, dtype=bool)
        return _sum(fill_where(nonzero, 1, fill_where(every, 0, a)), axis=axes, keepdims=keep)
    if p == 1:
        return _sum(a, axis=axes, keepdims=keep)
    # Zero entries and zero norms get the gradient 0, as PyTorch's (|x|^p and s^(1/p) are not
    # differentiable there: stand-in 1s keep inf * 0 = nan out). For p < 0 a zero entry makes
    # the sum inf and the norm 0: that group is set to 0 directly.
    zero = ~nonzero
    total = _sum(fill_where(zero, 0, _pow(fill_where(zero, 1, a), p)), axis=axes, keepdims=keep)
    xp = get_array_module(zero)
    null = total._data == 0 if p > 0 else xp.any(zero, axis=axes, keepdims=keep)
    return fill_where(null, 0, _pow(fill_where(null, 1, total), 1.0 / p))


class MedianIndices(NamedTuple):
    values: Tensor
    indices: Tensor


class _Picked(Function):
    """The entry of the flattened x that ``pick(flat array)`` names, found in forward (so that a
    trace finds it again for each call); its gradient is shared evenly among the entries equal
    to it, or among the NaNs for a NaN (the ties, PyTorch's rule for a full reduction)."""

    def forward(self, x):
        flat = x.reshape(-1)
        self.index = int(self.pick(flat))
        return flat[self.index]

    def backward(self, g):
        x = self.inputs[0]._data
        v = x.reshape(-1)[self.index]
        mask = get_array_module(x).isnan(x) if v != v else x == v
        return g * Tensor((mask / mask.sum()).astype(x.dtype, copy=False))


def _median_pick(x, axis):
    """The lower median's index along ``axis`` as an array; a NaN in a slice is picked (its
    first one), as PyTorch's median propagates NaN."""
    xp = get_array_module(x)
    k = (x.shape[axis] - 1) // 2
    pick = xp.take(xp.argsort(x, axis=axis, kind="stable"), [k], axis=axis)
    nan = xp.isnan(x)
    if nan.any():
        pick = xp.where(nan.any(axis=axis, keepdims=True),
                        xp.argmax(nan, axis=axis, keepdims=True), pick)
    return pick


def median(input, dim=None, keepdim=False):  # noqa: A002
    """The lower median (PyTorch's: the ((n - 1) // 2)-th smallest) of all entries, or along
    ``dim`` as ``(values, indices)``; NaN if a slice holds one. The gradient goes to that entry
    (for all entries: shared evenly among the entries equal to it, as PyTorch's)."""
    refuse_bool("median", input)
    if dim is None:
        _check_nonempty("median", reshape(input, -1), (0,))
        return _Picked.apply(input, pick=lambda flat: _median_pick(flat, 0)[0])
    if scalar_dim(input, dim):
        return on_one_axis(lambda t, d: median(t, d, keepdim), input)
    axis = normalize_axis("median", dim, input.ndim)[0]
    _check_nonempty("median", input, (axis,))
    pick = nondiff(lambda a: _median_pick(a, axis), input)  # a trace picks again at each call
    values = gather(input, axis, pick)
    if not keepdim:
        values, pick = squeeze(values, axis), squeeze(pick, axis)
    return MedianIndices(values, pick)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """(var, mean) over ``dim``; ``var``'s default correction, as in chainrule's ``var``
    (``var_mean(input, unbiased)`` with a bool, too)."""
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim=_mean_dim(dim), keepdim=bool(keepdim)))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    return (std(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim=_mean_dim(dim), keepdim=bool(keepdim)))


def _mean_dim(dim):
    """The mean's dim of a ``var_mean``/``std_mean`` call: a bool there is PyTorch's
    ``(input, unbiased)`` overload, a reduction over every dim."""
    return None if isinstance(dim, bool) else dim


for _name, _fn in {"prod": prod, "amax": amax, "amin": amin, "aminmax": aminmax,
                   "nansum": nansum, "count_nonzero": count_nonzero, "norm": norm,
                   "median": median}.items():
    setattr(Tensor, _name, _fn)
