"""PyTorch's top-level linear-algebra names beside ``torch.linalg``: logdet, matrix_power (also
``linalg.matrix_power``),
geqrf/orgqr/ormqr (QR as Householder reflections), lu_unpack, diagflat and dist. All but geqrf
(which PyTorch does not differentiate either) are compositions of recorded ops."""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._conj import cj
from .creation import eye, tril, triu
from .decomp import _square, inv, slogdet
from .decomp import cholesky as _cholesky
from .diagonal import diag_embed
from .elementwise import fill_where, log, where
from .linalg import matmul
from .linalg_extra import householder_product
from .lu import LUResult, _permutation, check_pivots
from .methods import clone
from .shape import transpose
from .stats import norm as _norm
from .svd import _matrices

__all__ = ["cholesky", "diagflat", "dist", "geqrf", "logdet", "lu_unpack", "matrix_power", "orgqr",
           "ormqr"]


def logdet(input):  # noqa: A002 - PyTorch's name
    """log(det A) of square matrices: NaN where the determinant is negative, -inf where it is 0;
    the gradient is A^-T where the determinant is positive, 0 where it is negative. A complex A
    gives the complex log(det A) = log|det A| + log(sign), as PyTorch's."""
    sign, logabs = slogdet(input)
    if sign.dtype.kind == "c":
        return log(sign) + logabs
    return fill_where(sign._data < 0, math.nan, logabs)


class GeqrfResult(NamedTuple):
    """``geqrf``'s result, PyTorch's ``torch.return_types.geqrf``."""

    a: Tensor
    tau: Tensor


def geqrf(input):  # noqa: A002
    """LAPACK geqrf's QR as (a, tau): R on and above the diagonal of ``a``, the Householder
    vectors below it, their scales in tau (``orgqr``/``ormqr`` use them). No gradient, as in
    PyTorch: a loss through it raises on backward (it is not dropped as a constant)."""
    _matrices("geqrf", input, complex_ok=True)
    return GeqrfResult(*_Geqrf.apply(input))


class _Geqrf(Function):
    complex_grad = True  # (refused in backward, for complex inputs as for real ones)

    def forward(self, a):
        h, tau = get_array_module(a).linalg.qr(a, mode="raw")  # h: transposed (Fortran order)
        return get_array_module(a).ascontiguousarray(h.swapaxes(-1, -2)), tau

    def backward(self, g_a, g_tau):
        raise NotImplementedError("geqrf: the derivative is not implemented (nor is it in "
                                  "PyTorch); use linalg.qr, which has one, or detach the input")


def orgqr(input, tau):  # noqa: A002
    """``linalg.householder_product`` under PyTorch's older name."""
    return householder_product(input, tau)


def ormqr(input, tau, other, left: bool = True, transpose: bool = False):  # noqa: A002
    """Q C, Q^H C (``transpose``), C Q or C Q^H (``left=False``) for C = ``other`` (*, m, n),
    with Q = H_1 ... H_k the (m, m) product of ``input``'s Householder reflections (geqrf's)."""
    _matrices("ormqr", input, complex_ok=True)
    if not isinstance(other, Tensor) or other.ndim < 2:
        raise ValueError(f"ormqr: other must be matrices (*, m, n), got {other!r}")
    rows = input.shape[-2]
    side = other.shape[-2] if left else other.shape[-1]
    if side != rows or tau.shape[-1] > min(input.shape[-2:]):
        raise ValueError(f"ormqr: input of shape {input.shape}, tau of shape {tau.shape} and "
                         f"other of shape {other.shape} do not fit (left={left})")
    xp = get_array_module(input._data)
    cols = input.shape[-1]
    vectors = tril(input, -1) + Tensor(xp.eye(rows, cols, dtype=input._data.dtype))
    order = range(tau.shape[-1])
    if left != bool(transpose):  # Q C and C Q^T apply H_k first
        order = reversed(order)
    c = other
    for i in order:
        v = vectors[..., i:i + 1]
        t = tau[..., i:i + 1, None]
        t = cj(t) if transpose else t  # H^H = I - conj(tau) v v^H
        if left:
            c = c - t * matmul(v, matmul(cj(_t(v)), c))
        else:
            c = c - t * matmul(matmul(c, v), cj(_t(v)))
    return c


def _t(x):
    return transpose(x, -1, -2)


def lu_unpack(LU_data, LU_pivots, unpack_data: bool = True,  # noqa: N803 - PyTorch's names
              unpack_pivots: bool = True):
    """(P, L, U) from ``linalg.lu_factor``'s packed result; the parts not asked for are empty
    Tensors, as PyTorch's."""
    _matrices("lu_unpack", LU_data, complex_ok=True)
    xp = get_array_module(LU_data._data)
    dtype = LU_data._data.dtype
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    empty = Tensor(xp.zeros((0,), dtype=dtype))
    if unpack_pivots:
        check_pivots("lu_unpack", LU_pivots, LU_data)
    p = Tensor(_permutation(LU_pivots._data, m, dtype)) if unpack_pivots else empty
    if not unpack_data:
        return LUResult(p, empty, empty)
    low = tril(LU_data, -1)[..., :k] + Tensor(xp.eye(m, k, dtype=dtype))
    return LUResult(p, low, triu(LU_data)[..., :k, :])


def diagflat(input, offset: int = 0):  # noqa: A002
    """The flattened ``input`` on the ``offset`` diagonal of a square matrix."""
    if not isinstance(input, Tensor):
        raise TypeError(f"diagflat: expected a Tensor, got {type(input).__name__}")
    return diag_embed(input.reshape(-1), offset)


def dist(input, other, p: float = 2):  # noqa: A002
    """The p-norm of ``input - other`` (broadcast), over all entries."""
    return _norm(input - other, p)



def matrix_power(input, n: int):  # noqa: A002
    """A^n by repeated squaring; a negative n inverts first; n = 0 gives the identity (also
    where A holds NaN or inf, as PyTorch's; its gradient 0). Integer matrices (n >= 0) stay
    integers, as PyTorch's; the result never aliases A."""
    if isinstance(n, Tensor) and n.ndim == 0 and n._data.dtype.kind in "iu":
        n = int(n.item())  # PyTorch takes what converts to an index: a 0-d integer Tensor
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"matrix_power: n must be an int, got {n!r}")
    n = int(n)  # a NumPy integer too
    integer = isinstance(input, Tensor) and input._data.dtype.kind in "iu" and n >= 0
    if not integer:
        _square("matrix_power", input, complex_ok=True)
    elif input.ndim < 2 or input.shape[-1] != input.shape[-2]:
        raise ValueError(f"matrix_power: expected square matrices (*, n, n), got shape "
                         f"{input.shape}")
    if n < 0:
        input, n = inv(input), -n  # noqa: A001
    if n == 0:  # I, in input's graph (a 0 gradient), whatever input holds
        xp = get_array_module(input._data)
        identity = eye(input.shape[-1], dtype=input.dtype).expand(*input.shape)
        return where(Tensor(xp.ones(input.shape, dtype=bool)), identity, input)
    if n == 1:
        return clone(input)
    result = None
    while n:
        if n & 1:
            result = input if result is None else matmul(result, input)
        n >>= 1
        if n:
            input = matmul(input, input)  # noqa: A001
    return result


def cholesky(input, upper: bool = False):  # noqa: A002 - PyTorch's name
    """PyTorch's older ``torch.cholesky`` (``upper`` positional): ``linalg.cholesky``."""
    return _cholesky(input, upper=upper)


Tensor.logdet = logdet
Tensor.matrix_power = matrix_power
Tensor.orgqr = orgqr
Tensor.ormqr = ormqr
Tensor.geqrf = geqrf
Tensor.diagflat = diagflat
Tensor.dist = dist
