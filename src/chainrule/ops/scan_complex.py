"""``logcumsumexp`` of a complex tensor: ``y_i = log(e^x_0 + ... + e^x_i)``, PyTorch's values.

The running sum goes one entry at a time, as PyTorch's scan, with its two-term log-add-exp:
``hi + log1p(e^(lo - hi))`` where ``hi`` is the term of the larger real part (so e^(lo - hi)
has modulus at most 1 and nothing overflows), a NaN anywhere makes NaN, and two terms with the
same infinite real part give ``lo`` (-inf) or ``log(e^lo + e^hi)`` (+inf). The imaginary part is
therefore PyTorch's branch (not wrapped to (-pi, pi]): ``Im hi`` plus the angle of the log1p.

The function is holomorphic, so (PyTorch's convention) its gradient multiplies by the conjugate
derivative: ``dL/dx_j = sum_{i >= j} g_i conj(e^(x_j - y_i))``, computed in log space as
``exp(conj(x_j) + logcumsumexp_from_end(log g_i - conj(y_i)))`` with this same op, so that it
neither overflows nor divides and differentiates again (an incoming gradient with zero entries
has no finite second derivative that way: log 0).
"""

from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module, quiet
from ._conj import Conj
from .elementwise import exp, log
from .rearrange import flip

__all__ = ["ComplexLogCumSumExp", "complex_logcumsumexp"]


def _log_add_exp(xp, x, c):
    """PyTorch's two-term complex log-add-exp of the new entries ``x`` and the running ``c``."""
    swap = x.real < c.real
    lo, hi = xp.where(swap, x, c), xp.where(swap, c, x)
    same_inf = ~xp.isfinite(lo.real) & (lo.real == hi.real)
    out = xp.log1p(xp.exp(lo - hi)) + hi
    out = xp.where(same_inf & (lo.real < 0), lo, out)
    out = xp.where(same_inf & (lo.real > 0), xp.log(xp.exp(lo) + xp.exp(hi)), out)
    return xp.where(xp.isnan(x) | xp.isnan(c), xp.asarray(complex("nan+nanj"), x.dtype), out)


def _running(x, axis):
    xp = get_array_module(x)
    a = xp.moveaxis(x, axis, 0)
    out = xp.empty_like(a)
    cum = xp.full(a.shape[1:], complex("-inf"), a.dtype)
    with quiet(xp):
        for i in range(a.shape[0]):
            cum = _log_add_exp(xp, a[i], cum)
            out[i] = cum
    return xp.moveaxis(out, 0, axis)


class ComplexLogCumSumExp(Function):
    complex_grad = True

    def forward(self, x):
        return _running(x, self.axis)

    def backward(self, g):
        axis = self.axis
        t = flip(log(g) - Conj.apply(self.output), (axis,))
        tail = flip(ComplexLogCumSumExp.apply(t, axis=axis), (axis,))
        return exp(Conj.apply(self.inputs[0]) + tail)


def complex_logcumsumexp(x, axis: int):
    """``logcumsumexp`` of the complex tensor ``x`` along ``axis`` (an axis of ``x``)."""
    return ComplexLogCumSumExp.apply(x, axis=axis)
