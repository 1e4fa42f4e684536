"""``logit`` (``torch.logit``, ``torch.special.logit``, ``Tensor.logit``): log(x / (1 - x)), with
PyTorch's ``eps`` rules.

``eps`` >= 0 clamps x as PyTorch's kernel does, x < eps to eps and else x > 1 - eps to 1 - eps,
with gradient 0 where x was moved (so an eps above 1/2 gives logit(eps) below eps and
logit(1 - eps) from eps on, every gradient 0). A negative ``eps`` clamps nothing: it is
``eps=None``. Without clamping, x outside [0, 1] gives NaN and a NaN gradient, as PyTorch's (not
the finite 1 / (x (1 - x))); NaN gives NaN and a NaN gradient under every eps.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..backend.defaults import get_default_dtype
from .elementwise import clip, log, where
from .math import _float_input, _real, log1p

__all__ = ["logit"]


def _nan_where(x, mask, xp):
    """x times NaN where ``mask``, 0 elsewhere: the value NaN there, its gradient NaN."""
    return x * Tensor(xp.where(mask, xp.nan, 0.0).astype(x._data.dtype))


def logit(input, eps=None):  # noqa: A002
    """log(x / (1 - x)); with ``eps`` >= 0, x is first clamped to [eps, 1 - eps] (gradient 0
    where it was moved, as PyTorch's); a negative ``eps`` is no ``eps``, as PyTorch's."""
    x = _real("logit", _float_input("logit", input))
    if x.dtype.kind in "biu":  # PyTorch's integer inputs give the default float dtype
        x = x.astype(get_default_dtype())
    d = x._data
    xp = get_array_module(d)
    if eps is not None and eps >= 0:
        if eps <= 0.5:
            c = clip(x, eps, 1 - eps)
        else:  # bounds crossed: PyTorch's kernel tests x < eps first, then x > 1 - eps
            c = where(
                Tensor(xp.zeros(d.shape, bool)),
                x,
                Tensor(xp.where(d < eps, eps, 1 - eps).astype(d.dtype)),
            )
        out = log(c) - log1p(-c)
        nan = xp.isnan(d)  # clip's gradient is 0 there; PyTorch's logit gives NaN its NaN
        return out if not nan.any() else out + _nan_where(where(Tensor(nan), x, 0.0), nan, xp)
    outside = (d < 0) | (d > 1)
    if not bool(outside.any()):
        return log(x) - log1p(-x)
    inside = where(Tensor(outside), 0.5, x)  # 1/2 (logit 0) in their place, plus x times NaN
    return log(inside) - log1p(-inside) + _nan_where(x, outside, xp)
