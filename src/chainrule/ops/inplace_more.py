"""More of PyTorch's in-place methods (``cumsum_``, ``bitwise_and_``, ``gcd_``, ``ldexp_``,
``igamma_``, ``renorm_``, ``index_put_``, ``index_reduce_`` ...), the top-level ``torch.X_``
functions among them (``gcd_``, ``lcm_``, ``ldexp_``, ``index_put_``, ``detach_``), and the
methods ``hardshrink`` and ``prelu``. (``is_inference`` is not given: chainrule has no inference
tensors, and an answer of False for a tensor made inside ``inference_mode`` would be wrong.)

Each value-changing method computes the out-of-place op and writes it into the tensor through
``autograd.inplace_record.change``, as the family in ``inplace_methods``: recorded while
gradients are recorded and the tensor or an argument requires grad, plain otherwise; a leaf that
requires grad is refused, as in PyTorch.
"""

from __future__ import annotations

from ..autograd.inplace_record import change
from ..autograd.tensor import Tensor
from .activation_extra import hardshrink, prelu
from .inplace_methods import _binary, _function  # the makers of the first family
from .rearrange import cumsum
from .torch_lowrank import igamma, igammac
from .torch_math import gcd, lcm, ldexp, nextafter
from .torch_names import (
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
)
from .torch_scatter import index_put, index_reduce
from .torch_stats import renorm

__all__ = ["addmv_", "detach_", "gcd_", "index_put_", "lcm_", "ldexp_"]


_BINARY = {
    "bitwise_and_": (bitwise_and, "``self & other`` in place (integer or bool tensors)."),
    "bitwise_or_": (bitwise_or, "``self | other`` in place (integer or bool tensors)."),
    "bitwise_xor_": (bitwise_xor, "``self ^ other`` in place (integer or bool tensors)."),
    "bitwise_left_shift_": (bitwise_left_shift, "``self << other`` in place."),
    "bitwise_right_shift_": (bitwise_right_shift, "``self >> other`` in place."),
    "gcd_": (gcd, "The greatest common divisor of ``self`` and ``other``, in place."),
    "lcm_": (lcm, "The least common multiple of ``self`` and ``other``, in place."),
    "ldexp_": (ldexp, "``self * 2 ** other`` in place."),
    "igamma_": (igamma, "The regularized lower incomplete gamma ``P(self, other)``, in place."),
    "igammac_": (igammac, "The regularized upper incomplete gamma ``Q(self, other)``, in "
                          "place."),
    "nextafter_": (nextafter, "The next representable value after ``self`` towards ``other``, "
                              "in place."),
}


def bitwise_not_(self) -> Tensor:
    """``~self`` in place (integer or bool tensors)."""
    return change(self, "bitwise_not_", bitwise_not)


def cumsum_(self, dim, *, dtype=None) -> Tensor:
    """Running sums along ``dim``, in place (``dtype``: the sums' dtype before they are written
    back in this tensor's)."""
    return change(self, "cumsum_", lambda x: cumsum(x, dim, dtype=dtype))


def renorm_(self, p, dim, maxnorm) -> Tensor:
    """``renorm(self, p, dim, maxnorm)`` in place: each slice along ``dim`` whose ``p``-norm
    exceeds ``maxnorm`` is scaled down to it."""
    return change(self, "renorm_", lambda x: renorm(x, p, dim, maxnorm))


def index_put_(self, indices, values, accumulate: bool = False) -> Tensor:
    """Write ``values`` (broadcast) at ``self[indices]`` (a tuple of index tensors), in place;
    with ``accumulate`` they add, repeated positions included."""
    return change(self, "index_put_", lambda x: index_put(x, indices, values, accumulate),
                  (values,))


def index_reduce_(self, dim, index, source, reduce, *, include_self: bool = True) -> Tensor:
    """Reduce the slices of ``source`` into the slices ``index`` along ``dim`` (``reduce``:
    "prod", "mean", "amax" or "amin"), in place."""
    return change(self, "index_reduce_", lambda x: index_reduce(
        x, dim, index, source, reduce, include_self=include_self), (source,))


def _hardshrink(self, lambd=0.5) -> Tensor:
    return hardshrink(self, lambd)


def _prelu(self, weight) -> Tensor:
    return prelu(self, weight)


_hardshrink.__doc__ = "``F.hardshrink(self, lambd)``: x where ``|x| > lambd``, else 0."
_prelu.__doc__ = "``F.prelu(self, weight)``: x where x > 0, else ``weight * x``."

for _name, (_op, _doc) in _BINARY.items():
    setattr(Tensor, _name, _binary(_name, _op, _doc))
for _fn in (bitwise_not_, cumsum_, renorm_, index_put_, index_reduce_):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.hardshrink = _hardshrink
Tensor.prelu = _prelu


addmv_, detach_, gcd_, index_put_, lcm_, ldexp_ = (
    _function(_n) for _n in ("addmv_", "detach_", "gcd_", "index_put_", "lcm_", "ldexp_"))
