"""``scatter_reduce`` (PyTorch's name): ``input`` with ``src`` reduced into it at ``index``.

``out = input.clone()``; then every position ``p`` of ``index`` (``src`` is cut to the index's
shape, as in ``scatter``) reduces ``src[p]`` into ``out`` at ``p`` with ``index[p]`` along ``dim``,
by "sum", "prod", "mean", "amax" or "amin". With ``include_self=False`` a position that the index
reaches starts from the reduction's identity instead of ``input``'s value (for "mean", it is not
counted); a position no index reaches keeps ``input``'s value either way. "mean" divides by the
count (input's value included when ``include_self``); integer tensors round it down, as PyTorch.

Gradients are PyTorch's: "sum"/"mean" hand each contribution its share; "amax"/"amin" split a
position's gradient evenly among the entries equal to its result (``input``'s own value counted
even with ``include_self=False``, where its share is then dropped, as in PyTorch); "prod" gives
each entry the product of the others, exact at zeros (written with ``scatter_reduce`` itself, so
differentiable again away from zeros). ``input`` gets nothing where the index reaches when
``include_self=False``.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._zero_d import as_1d, scalar_dim
from .elementwise import fill_where, where
from .indexing import _index, gather
from .join import pad
from .select import _positions, _writer
from .shape import _one_axis, reshape

__all__ = ["scatter_reduce"]

_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _identity(reduce, dtype, xp):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -xp.inf if reduce == "amax" else xp.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = xp.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def _reduce_into(out, pos, values, reduce, xp):
    ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply, "amax": xp.maximum,
             "amin": xp.minimum}[reduce]
    if not hasattr(ufunc, "at"):
        raise NotImplementedError(f"scatter_reduce: reduce={reduce!r} needs {ufunc.__name__}.at, "
                                  f"which this array library lacks")
    ufunc.at(out, pos, values)


def _take(a, index, axis):
    """``a``'s values at ``index`` along ``axis`` (an array gather; ``a`` cut to the index's
    extent on the other axes first)."""
    cut = tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(index.shape))
    return get_array_module(a).take_along_axis(a[cut], index, axis)


class ScatterReduce(Function):
    def forward(self, x, src):
        xp = get_array_module(x)
        pos = _positions(self.index, self.axis)
        values = src[tuple(slice(0, n) for n in self.index.shape)]
        out = x.copy()
        if not self.include_self:
            out[pos] = _identity(self.reduce, x.dtype, xp)
        _reduce_into(out, pos, values, self.reduce, xp)
        if self.reduce == "mean":
            count = self._count(xp, x.shape)
            out = out // count.astype(x.dtype) if x.dtype.kind in "iu" else out / count
            out = out.astype(x.dtype, copy=False)
        return out

    def _count(self, xp, shape):
        """How many values each position's mean divides by (at least 1)."""
        count = xp.full(shape, 1 if self.include_self else 0, dtype="float64")
        xp.add.at(count, _positions(self.index, self.axis), 1)
        return xp.maximum(count, 1)

    def backward(self, g):
        x, src = self.inputs
        xp = get_array_module(g._data)
        idx = Tensor(self.index)
        crop = tuple(slice(0, n) for n in self.index.shape)
        gx = gs = None
        if self.reduce == "sum":
            gx, gs = g, gather(g, self.axis, idx)
        elif self.reduce == "mean":
            share = g / Tensor(self._count(xp, g.shape).astype(g.dtype))
            gx, gs = share, gather(share, self.axis, idx)
        elif self.reduce in ("amax", "amin"):
            result = self.forward(x._data, src._data)
            value = _take(result, self.index, self.axis)
            self_is = (x._data == result).astype(g.dtype)
            src_is = (src._data[crop] == value).astype(g.dtype)
            ties = self_is.copy()
            xp.add.at(ties, _positions(self.index, self.axis), src_is)
            share = g / Tensor(ties)
            gx = share * Tensor(self_is)
            gs = gather(share, self.axis, idx) * Tensor(src_is)
        else:
            gx, gs = self._prod_grads(g, x, src, idx, crop, xp)
        if not self.include_self:
            reached = xp.zeros(g.shape, bool)
            reached[_positions(self.index, self.axis)] = True
            gx = fill_where(reached, 0, gx)
        if gs.shape != src.shape:  # src larger than index: the rest got no gradient
            gs = pad(gs, [(0, n - m) for n, m in zip(src.shape, gs.shape)])
        return gx, gs

    def _prod_grads(self, g, x, src, idx, crop, xp):
        """Each entry's gradient: the product of the others at its position (PyTorch's way:
        zeros replaced by 1 where a lone zero's partner product is needed)."""
        def prod(a, s):
            return scatter_reduce(a, self.axis, idx, s, "prod", include_self=self.include_self)

        self_zero = x._data == 0
        masked_self = fill_where(self_zero, 1, x)
        gx = g * prod(masked_self, src) / masked_self
        src_zero = src._data == 0
        zeros = xp.zeros(g.shape, g.dtype)
        xp.add.at(zeros, _positions(self.index, self.axis), src_zero[crop].astype(g.dtype))
        zeros_at = xp.zeros(src.shape, g.dtype)
        zeros_at[crop] = _take(zeros, self.index, self.axis)
        lone = src_zero & (zeros_at == 1)
        others = gather(g * prod(x, fill_where(lone, 1, src)), self.axis, idx)
        plain = gather(g * prod(x, src), self.axis, idx) / fill_where(src_zero, 1, src)[crop]
        return gx, where(Tensor(lone[crop]), others, plain)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):  # noqa: A002
    """``input`` with ``src`` reduced in at ``index`` along ``dim`` (see the module docstring).

    Args:
        input: a Tensor.
        dim: the axis along which ``index`` picks positions.
        index: an int tensor with ``input``'s number of dimensions, no larger than ``src`` on
            any axis nor than ``input`` on the axes other than ``dim``.
        src: a Tensor of ``input``'s dtype.
        reduce: "sum", "prod", "mean", "amax" or "amin".
        include_self: whether ``input``'s values at the reached positions take part.
    """
    if reduce not in _REDUCES:
        raise ValueError(f"scatter_reduce: reduce must be one of {', '.join(_REDUCES)}, "
                         f"got {reduce!r}")
    if scalar_dim(input, dim):  # a 0-D input as one axis of size 1 (PyTorch's)
        return reshape(scatter_reduce(as_1d(input), 0, as_1d(index), as_1d(src), reduce,
                                      include_self=include_self), ())
    if not isinstance(input, Tensor) or not isinstance(src, Tensor):
        bad = "input" if not isinstance(input, Tensor) else "src"
        raise TypeError(f"scatter_reduce: {bad} must be a Tensor, got "
                        f"{type(input if bad == 'input' else src).__name__}")
    if src.dtype != input.dtype:
        raise TypeError(f"scatter_reduce: src must have input's dtype {input.dtype}, got "
                        f"{src.dtype}")
    if reduce == "sum" and input.dtype == "float16":  # PyTorch sums in float32, rounds once
        return scatter_reduce(input.float(), dim, index, src.float(), reduce,
                              include_self=include_self).half()
    axis = _one_axis("scatter_reduce", dim, input.ndim)
    idx = _index("scatter_reduce", input.shape, axis, index, get_array_module(input._data))._data
    if src.ndim != idx.ndim or any(m > n for m, n in zip(idx.shape, src.shape)):
        raise ValueError(f"scatter_reduce: index of shape {tuple(idx.shape)} is larger than src "
                         f"of shape {tuple(src.shape)} (or has another number of dimensions)")
    return ScatterReduce.apply(input, src, index=idx, axis=axis, reduce=reduce,
                               include_self=bool(include_self))


Tensor.scatter_reduce = scatter_reduce
Tensor.scatter_reduce_ = _writer(
    "scatter_reduce_", lambda self, dim, index, src, reduce, *, include_self=True: scatter_reduce(
        self, dim, index, src, reduce, include_self=include_self))
