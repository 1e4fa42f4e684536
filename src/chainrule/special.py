"""``chainrule.special``: PyTorch's ``torch.special`` names, most of them aliases of chainrule's
top-level functions (``expit`` is ``sigmoid``, ``gammaln`` is ``lgamma``, ``psi`` is ``digamma``,
``multigammaln`` is ``mvlgamma``). The implementations are in ``ops/special_fns.py`` (gamma family,
erfinv, ndtri, log_ndtr, xlogy, ...), ``ops/math.py`` (erf, erfc, expm1, ...) and their neighbours.

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 4.0], dtype=cr.float64, requires_grad=True)
>>> y = cr.special.gammaln(x)  # log(0!) and log(3!)
>>> y.numpy().round(12).tolist()
[0.0, 1.791759469228]
>>> y.sum().backward()  # the gradient is digamma: -gamma and 1 + 1/2 + 1/3 - gamma
>>> x.grad.numpy().round(12).tolist()
[-0.577215664902, 1.256117668432]
"""

from __future__ import annotations

from .ops import log_softmax as _log_softmax
from .ops import logsumexp as _logsumexp
from .ops import sigmoid as _sigmoid
from .ops import softmax as _softmax
from .ops._real_only import refuse_integer
from .ops.math import (
    erf,
    erfc,
    exp2,
    expm1,
    log1p,
)
from .ops.math import round as _round
from .ops.special_bessel import (
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    modified_bessel_i0,
    modified_bessel_i1,
    modified_bessel_k0,
    modified_bessel_k1,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
    spherical_bessel_j0,
)
from .ops.special_fns import (
    digamma,
    entr,
    erfcx,
    erfinv,
    i0,
    i0e,
    i1,
    i1e,
    lgamma,
    log_ndtr,
    logit,
    mvlgamma,
    ndtr,
    ndtri,
    polygamma,
    sinc,
    xlog1py,
    xlogy,
)
from .ops.special_inc import gammainc, gammaincc, zeta
from .ops.special_poly import (
    chebyshev_polynomial_t,
    chebyshev_polynomial_u,
    chebyshev_polynomial_v,
    chebyshev_polynomial_w,
    hermite_polynomial_h,
    hermite_polynomial_he,
    laguerre_polynomial_l,
    legendre_polynomial_p,
    shifted_chebyshev_polynomial_t,
    shifted_chebyshev_polynomial_u,
    shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
)

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
           "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma",
           "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc",
           "gammaincc", "gammaln", "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e",
           "i1", "i1e", "laguerre_polynomial_l", "legendre_polynomial_p", "log1p", "log_ndtr",
           "log_softmax", "logit", "logsumexp", "modified_bessel_i0", "modified_bessel_i1",
           "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri", "polygamma",
           "psi", "round", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
           "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "sinc", "softmax",
           "spherical_bessel_j0", "xlog1py", "xlogy", "zeta"]

gammaln = lgamma
psi = digamma


def expit(input):  # noqa: A002 - PyTorch's name
    """The logistic sigmoid 1 / (1 + e^-x)."""
    return _sigmoid(input)


def multigammaln(input, p):  # noqa: A002
    """The multivariate log-gamma function of dimension ``p`` (``mvlgamma``)."""
    return mvlgamma(input, p)


def logsumexp(input, dim, keepdim=False):  # noqa: A002
    """log(sum(exp(x))) over ``dim``, without overflow."""
    return _logsumexp(input, dim=dim, keepdim=keepdim)


def softmax(input, dim, dtype=None):  # noqa: A002 - dtype third, as torch.special's
    """The softmax over ``dim`` (required, as in torch.special)."""
    return _softmax(input, dim=dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):  # noqa: A002
    """The log-softmax over ``dim`` (required, as in torch.special)."""
    return _log_softmax(input, dim=dim, dtype=dtype)


def round(input, *, decimals: int = 0):  # noqa: A001, A002 - torch.special's names
    """Round half to even to ``decimals`` places, as ``chainrule.round``, of a floating-point
    tensor only: an integer or bool tensor is PyTorch's ``NotImplementedError`` here (its
    ``torch.round`` takes one, its ``torch.special.round`` does not)."""
    return _round(refuse_integer("special.round", input), decimals=decimals)
