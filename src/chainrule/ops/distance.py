"""Norms and distances along an axis: ``normalize``, ``cosine_similarity`` and
``pairwise_distance`` (PyTorch's functions, PyTorch's eps rules).

All are compositions of recorded ops. The p-norm is guarded where it is 0, so that its gradient
there is 0 (PyTorch's subgradient) rather than 0 / 0. ``normalize`` and ``pairwise_distance``
take any order PyTorch's ``norm`` takes (0 counts the nonzeros, -inf is the smallest magnitude, a
negative p is ``(sum |x|^p)^(1/p)``), and ``normalize`` a tuple of dims.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._loss_args import plain_number
from ._wide import in_float32
from ._zero_d import on_one_axis, scalar_dim
from .activation import _float_input
from .elementwise import _check_broadcast, clip, where
from .elementwise import abs as _abs
from .elementwise import pow as _pow
from .elementwise import sqrt as _sqrt
from .out_arg import write_into
from .reduce import max as _max
from .reduce import sum as _sum
from .shape import _one_axis, broadcast_to, normalize_axis
from .stats import norm as _norm

__all__ = ["cosine_similarity", "normalize", "pairwise_distance"]


def _p(op, p) -> float:
    p = plain_number(p)  # a 0-d tensor too, as PyTorch's
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or math.isnan(p):
        raise ValueError(f"{op}: p must be a real number (or +-inf), got {p!r}")
    return float(p)


def _any_norm(x, p: float, dim, keepdims: bool) -> Tensor:
    """The p-norm along ``dim`` (an int or a tuple): ``vector_norm`` for p > 0 on one axis,
    PyTorch's ``norm`` rules for every other order."""
    if p > 0 and isinstance(dim, int) and x.ndim:
        return vector_norm(x, p, dim, keepdims)
    return _norm(x, p, dim, keepdims)


def _eps(op, eps) -> float:
    eps = plain_number(eps)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or math.isnan(eps):
        raise TypeError(f"{op}: eps must be a real number, got {eps!r}")
    return float(eps)


@in_float32()
def vector_norm(x, p: float, axis: int, keepdims: bool) -> Tensor:
    """The p-norm of ``x`` along ``axis``; its gradient is 0 where the norm is 0."""
    if p == math.inf:
        return _max(_abs(x), axis=axis, keepdims=keepdims)
    if p == 1.0:
        return _sum(_abs(x), axis, keepdims)
    if p == 2.0 and x._data.dtype.kind != "c":
        s = _sum(x * x, axis, keepdims)
    else:  # complex x: |x|^p, also for p = 2
        a = _abs(x)
        if p < 1.0:  # |x|^p has an infinite slope at 0; PyTorch's subgradient there is 0
            hit = a == 0  # recorded comparisons: chainrule.onnx.export writes them
            a = where(hit, 0.0, _pow(where(hit, 1.0, a), p))
        else:
            a = _pow(a, p)
        s = _sum(a, axis, keepdims)
    zero = s == 0
    safe = where(zero, 1.0, s)
    root = _sqrt(safe) if p == 2.0 else _pow(safe, 1.0 / p)
    return where(zero, 0.0, root)


class _ClampMinStraight(Function):
    """max(x, low) whose gradient passes through unchanged (PyTorch clamps the norms of
    ``cosine_similarity`` without recording the clamp)."""

    def forward(self, x):
        return get_array_module(x).maximum(x, x.dtype.type(self.low))

    def backward(self, g):
        return g


@in_float32()
def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:  # noqa: A002
    """``input / max(||input||_p, eps)`` along ``dim`` (an int, a tuple, or None for the whole
    tensor: PyTorch's ``F.normalize``)."""
    if out is not None:  # written into out with PyTorch's out= rules (no gradient through it)
        write_into("normalize", out, normalize(input, p, dim, eps))
        return out
    x = _float_input("normalize", input, True)  # complex: divided by its real norm, as PyTorch
    p, eps = _p("normalize", p), _eps("normalize", eps)
    if dim is None:  # one norm of every entry (PyTorch's vector_norm over all dimensions)
        dim = tuple(range(x.ndim)) if x.ndim else 0
    if scalar_dim(x, dim):
        return on_one_axis(lambda t, d: normalize(t, p, d, eps), x)
    if x.ndim == 0:
        raise ValueError(f"normalize: dim {dim!r} is out of range for a 0-D tensor (valid: -1, 0)")
    if isinstance(dim, (tuple, list)):
        axes = normalize_axis("normalize", tuple(dim), x.ndim)
        return x / clip(_norm(x, p, axes, True), eps)
    axis = _one_axis("normalize", dim, x.ndim)
    return x / clip(_any_norm(x, p, axis, True), eps)


def _pair(op, x1, x2, complex_ok=False):
    x1, x2 = _float_input(op, x1, complex_ok), _float_input(op, x2, complex_ok)
    _check_broadcast(op, x1, x2)
    return x1, x2


@in_float32()
def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim`` (broadcasting): each is
    divided by its norm clamped to at least ``eps``, as in PyTorch."""
    x1, x2 = _pair("cosine_similarity", x1, x2)
    eps = _eps("cosine_similarity", eps)
    ndim = max(x1.ndim, x2.ndim)
    if ndim == 0 and scalar_dim(x1, dim):  # 0-D: one axis of size 1, as PyTorch's
        return cosine_similarity(x1.reshape(1), x2.reshape(1), 0, eps)
    if ndim == 0:
        raise ValueError(f"cosine_similarity: dim {dim!r} is out of range for 0-D tensors "
                         "(valid: -1 or 0)")
    axis = _one_axis("cosine_similarity", dim, ndim) - ndim  # counted from the end
    xp = get_array_module(x1._data, x2._data)
    shape = xp.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    a = broadcast_to(x1, shape) if tuple(x1.shape) != shape else x1
    b = broadcast_to(x2, shape) if tuple(x2.shape) != shape else x2
    na = _ClampMinStraight.apply(vector_norm(a, 2.0, axis, True), low=eps)
    nb = _ClampMinStraight.apply(vector_norm(b, 2.0, axis, True), low=eps)
    return _sum((a / na) * (b / nb), axis)


@in_float32()
def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """The p-norm of ``x1 - x2 + eps`` along the last axis (PyTorch's ``F.pairwise_distance``)."""
    x1, x2 = _pair("pairwise_distance", x1, x2, complex_ok=True)  # the norm of a complex x1 - x2
    p, eps = _p("pairwise_distance", p), _eps("pairwise_distance", eps)
    return _any_norm(x1 - x2 + eps, p, -1, bool(keepdim))  # 0-D inputs: their one value
