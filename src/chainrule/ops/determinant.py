"""The determinant, with a gradient at every matrix, singular ones included.

det(A) is a polynomial in A's entries; its gradient is the cofactor matrix adj(A)^T, defined for
every A. Two ways to it (T: the transpose of the last two axes):

    A invertible:             adj(A)^T = det(A) A^-T                       (one inverse: fast)
    any A = U diag(s) V^T:    adj(A)^T = det(U) det(V) U diag(c) V^T,  c_i = prod_{j != i} s_j
    complex A = U diag(s) Vh: adj(A)^T = det(U) det(Vh) conj(U) diag(c) conj(Vh)

The first loses accuracy as A nears singularity (det(A) -> 0 while A^-T grows) and fails at it;
the second holds everywhere: at rank n - 1 only the product that skips the zero singular value
survives, at rank <= n - 2 every c_i is 0. ``backward`` takes the inverse when every matrix of
the batch is well conditioned (``_well_conditioned``), else the SVD for the whole batch; both
are written with recorded ops, so they differentiate again (the SVD route needs distinct singular
values for that, as ``svd``'s own gradient does).
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._conj import cj
from .decomp import _square, inv, nan_through
from .elementwise import fill_where
from .linalg import matmul
from .shape import broadcast_to, transpose
from .stats import prod
from .svd import svd

__all__ = ["cofactor", "det"]


def _t(x):
    return transpose(x, -1, -2)


def _well_conditioned(a) -> bool:
    """True when every matrix of the array ``a`` has a 1-norm condition number below
    ``eps ** (-1 / 3)`` (about 1.7e5 in float64, 200 in float32), so that ``det(A) A^-T`` keeps
    all but about a third of the digits; False for a singular one."""
    xp = get_array_module(a)
    if a.shape[-1] == 0:
        return True
    try:
        a_inv = xp.linalg.inv(a)
    except xp.linalg.LinAlgError:
        return False
    norm1 = xp.abs(a).sum(axis=-2).max(axis=-1)  # the largest column sum
    kappa = norm1 * xp.abs(a_inv).sum(axis=-2).max(axis=-1)
    return bool((kappa < xp.finfo(a.dtype).eps ** (-1 / 3)).all())  # False for NaN or inf


def cofactor(a, d):
    """adj(A)^T, the cofactor matrix, of each square matrix of ``a`` (*, n, n); ``d`` holds
    their determinants (used by the inverse route)."""
    n = a.shape[-1]
    if _well_conditioned(a._data):
        return d.reshape(d.shape + (1, 1)) * _t(inv(a))
    if a._data.dtype.kind == "c":
        return _ComplexCofactor.apply(a)
    xp = get_array_module(a._data)
    u, s, vh = svd(a)
    rows = broadcast_to(s.reshape(s.shape[:-1] + (1, n)), s.shape + (n,))
    c = prod(fill_where(xp.eye(n, dtype=bool), 1.0, rows), dim=-1)  # c_i: s_i left out
    # det(U) det(V) is +-1 and piecewise constant: a constant here.
    signs = xp.linalg.det(u._data) * xp.linalg.det(vh._data)
    scale = Tensor(xp.sign(signs).astype(a._data.dtype)).reshape(s.shape[:-1] + (1, 1))
    return matmul(u * (scale * c.reshape(s.shape[:-1] + (1, n))), vh)


class _ComplexCofactor(Function):
    """adj(A)^T = det(U) det(Vh) conj(U) diag(c) conj(Vh) of ill-conditioned complex matrices;
    its own derivative (det's second) is refused: through a complex SVD near rank loss it needs
    the phases of the vanishing singular vectors, which are free."""

    complex_grad = True

    def forward(self, a):
        xp = get_array_module(a)
        u, s, vh = xp.linalg.svd(a)
        n = s.shape[-1]
        c = xp.prod(xp.where(xp.eye(n, dtype=bool), 1.0, s[..., None, :]), axis=-1)
        scale = (xp.linalg.det(u) * xp.linalg.det(vh))[..., None, None]
        return scale * (xp.conj(u) * c[..., None, :]) @ xp.conj(vh)

    def backward(self, g):
        raise ValueError("det: the second derivative at a singular (or nearly singular, "
                         "condition number past eps^(-1/3)) complex matrix is not supported")


class Det(Function):
    """det(A) by LU (LAPACK's getrf, through the array library); its gradient the cofactors
    (conjugated for a complex A: det is holomorphic, PyTorch's convention)."""

    complex_grad = True

    def forward(self, a):
        return nan_through(get_array_module(a).linalg.det, a).astype(a.dtype)

    def backward(self, g):
        return g.reshape(g.shape + (1, 1)) * cj(cofactor(self.inputs[0], self.output))


def det(A):  # noqa: N803 - PyTorch's argument name
    """The determinant of each square matrix of ``A`` (*, n, n), PyTorch's ``linalg.det``.

    The gradient is adj(A)^T at every matrix, singular ones included (PyTorch 2.13 returns 0
    at an exactly singular matrix of rank n - 1, where adj(A) is not 0).

    >>> import chainrule as cr
    >>> a = cr.tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    >>> det(a).backward()
    >>> [[round(v, 12) for v in row] for row in a.grad.tolist()]
    [[4.0, -2.0], [-2.0, 1.0]]
    """
    _square("det", A, complex_ok=True)
    return Det.apply(A)


Tensor.det = det
