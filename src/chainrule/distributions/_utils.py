"""Helpers shared by the distributions: parameter broadcasting, draws, probabilities and logits."""

from __future__ import annotations

import math
import numbers

from ..autograd import Function, Tensor, tensor
from ..backend import get_array_module
from ..backend.defaults import get_default_dtype
from ..backend.random import resolve_rng
from ..ops import broadcast_shapes, clamp, log, log1p, sigmoid

__all__ = ["broadcast_all", "clamp_probs", "count_and_param", "draw", "finfo", "logits_to_probs",
           "one_matrix", "one_of", "pick_rng", "probs_to_logits", "softplus", "sum_rightmost"]


def one_of(who, probs, logits) -> None:
    """Refuse anything but exactly one of ``probs`` and ``logits``, as PyTorch does."""
    if (probs is None) == (logits is None):
        raise ValueError(f"{who}: give exactly one of probs or logits, got "
                         f"probs={probs!r} and logits={logits!r}")


def one_matrix(who, covariance_matrix, precision_matrix, scale_tril):
    """``(name, matrix)`` of the one of ``covariance_matrix``, ``precision_matrix`` and
    ``scale_tril`` given (MultivariateNormal, Wishart); anything but exactly one is refused."""
    given = {k: v for k, v in (("covariance_matrix", covariance_matrix),
                                ("precision_matrix", precision_matrix),
                                ("scale_tril", scale_tril)) if v is not None}
    if len(given) != 1:
        raise ValueError(f"{who}: give exactly one of covariance_matrix, precision_matrix or "
                         f"scale_tril, got {sorted(given) or 'none'}")
    (name, matrix), = given.items()
    return name, matrix


def count_and_param(who, total_count, probs, logits):
    """``(total_count, name, param)`` of a count distribution (Binomial, NegativeBinomial): the
    given one of ``probs``/``logits`` broadcast with ``total_count``, which takes its dtype."""
    one_of(who, probs, logits)
    name, value = ("probs", probs) if probs is not None else ("logits", logits)
    total_count, param = broadcast_all(total_count, value)
    return total_count.to(param.dtype), name, param


def broadcast_all(*values):
    """Tensors of the values broadcast to one shape; numbers take the first tensor's dtype (the
    default dtype when all are numbers), as PyTorch's ``broadcast_all``."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number)):
            raise TypeError(f"Input arguments must all be instances of numbers.Number or Tensor, "
                            f"got {type(v).__name__}")
    dtype = like.dtype if like is not None else get_default_dtype()
    device = like.device if like is not None else None
    tensors = [v if isinstance(v, Tensor) else tensor(float(v), dtype=dtype, device=device)
               for v in values]
    shape = broadcast_shapes(*(t.shape for t in tensors))
    # A tensor already of the broadcast shape is kept as it is (no recorded node), so that a
    # distribution made once from leaf parameters serves any number of backward passes.
    return tuple(t if t.shape == shape else t.expand(shape) for t in tensors)


def sum_rightmost(value, dim: int):
    """``value`` summed over its ``dim`` rightmost dimensions."""
    if dim == 0:
        return value
    lead = tuple(value.shape[: value.ndim - dim])
    # the size given, not -1: a batch of zero elements leaves -1 undetermined
    return value.reshape(lead + (math.prod(value.shape[len(lead):]),)).sum(-1)


class finfo:  # noqa: N801 - PyTorch's name
    """eps and tiny of a float dtype."""

    def __init__(self, dtype):
        xp = get_array_module()
        if xp.dtype(dtype).kind not in "fc":
            raise TypeError(f"finfo: a floating-point dtype is needed (the parameters of a "
                            f"continuous distribution), got {dtype}")
        info = xp.finfo(dtype)
        self.eps, self.tiny, self.min = float(info.eps), float(info.tiny), float(info.min)


def clamp_probs(probs):
    eps = finfo(probs.dtype).eps
    return clamp(probs, min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary: bool = False):
    clamped = clamp_probs(probs)
    return log(clamped) - log1p(-clamped) if is_binary else log(clamped)


def logits_to_probs(logits, is_binary: bool = False):
    from ..ops import softmax

    return sigmoid(logits) if is_binary else softmax(logits, dim=-1)


class _Softplus(Function):
    """log(1 + exp(x)) to full precision for every x (no threshold)."""

    def forward(self, x):
        return get_array_module(x).logaddexp(0, x)

    def backward(self, g):
        return g * sigmoid(self.inputs[0])


def softplus(x):
    return _Softplus.apply(x)


def pick_rng(who, rng, generator, *params):
    """The Generator to draw from; ``params``, the tensors whose dtype the draws take, must be
    floating point (draws cast to integers were truncated: Normal(int loc) drew zeros)."""
    if rng is not None and generator is not None:
        raise TypeError(f"{who}: give rng or generator, not both")
    for p in params:
        if not p.is_floating_point():
            raise TypeError(f"{who}: a continuous draw needs floating-point parameters, got a "
                            f"{p.dtype} tensor (convert it with .float() or .double())")
    return resolve_rng(rng if generator is None else generator, who)


def draw(who, rng, generator, kind, shape, like, **kwargs):
    """A Tensor of ``shape`` drawn by ``rng.<kind>`` in ``like``'s dtype and device."""
    g = pick_rng(who, rng, generator, like)
    values = getattr(g, kind)(size=tuple(shape), **kwargs).astype(like.dtype, copy=False)
    return tensor(values, device=like.device)
