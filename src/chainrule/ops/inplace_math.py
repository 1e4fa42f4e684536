"""The in-place forms of the scans, special functions and products (``lgamma_``, ``cumprod_``,
``addmm_`` ...), and the ``histc``/``histogram`` methods.

Each computes the out-of-place result and writes it into the tensor's memory through the writers'
checks (``select._writer``): a tensor that requires grad changes in place only under ``no_grad``,
the change is counted so that backward refuses values changed after an op read them, and a
floating result is never truncated into an integer tensor.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from . import special_fns as sf
from .creation_extra import histc, histogram
from .products import addbmm, addmm, addmv, addr, baddbmm
from .scan import cumprod
from .select import _writer

__all__: list[str] = []

_UNARY = {name: getattr(sf, name) for name in (
    "lgamma", "digamma", "erfinv", "sinc", "asinh", "acosh", "atanh", "deg2rad", "rad2deg",
    "fix", "i0")}
_UNARY.update(arcsinh=sf.asinh, arccosh=sf.acosh, arctanh=sf.atanh)

for _name, _fn in _UNARY.items():
    setattr(Tensor, _name + "_", _writer(_name + "_", lambda self, _f=_fn: _f(self)))

for _name, _compute in {
    "polygamma_": lambda self, n: sf.polygamma(n, self),
    "mvlgamma_": lambda self, p: sf.mvlgamma(self, p),
    "logit_": lambda self, eps=None: sf.logit(self, eps),
    "xlogy_": lambda self, other: sf.xlogy(self, other),
    "copysign_": lambda self, other: sf.copysign(self, other),
    "true_divide_": lambda self, other: sf.true_divide(self, other),
    "heaviside_": lambda self, values: sf.heaviside(self, values),
    "cumprod_": lambda self, dim, *, dtype=None: cumprod(self, dim, dtype=dtype),
    "addmm_": lambda self, mat1, mat2, *, beta=1, alpha=1: addmm(self, mat1, mat2, beta=beta,
                                                                 alpha=alpha),
    "addmv_": lambda self, mat, vec, *, beta=1, alpha=1: addmv(self, mat, vec, beta=beta,
                                                               alpha=alpha),
    "addr_": lambda self, vec1, vec2, *, beta=1, alpha=1: addr(self, vec1, vec2, beta=beta,
                                                               alpha=alpha),
    "addbmm_": lambda self, batch1, batch2, *, beta=1, alpha=1: addbmm(
        self, batch1, batch2, beta=beta, alpha=alpha),
    "baddbmm_": lambda self, batch1, batch2, *, beta=1, alpha=1: baddbmm(
        self, batch1, batch2, beta=beta, alpha=alpha),
}.items():
    setattr(Tensor, _name, _writer(_name, _compute))

Tensor.histc = histc
Tensor.histogram = histogram
