"""More of ``torch.linalg``: the pseudoinverse, least squares, the rank, products of Householder
reflections and Vandermonde matrices.

The pseudoinverse is one op, so that its gradient needs no distinct singular values (as it would
through ``svd``); least squares is a composition with it. The rule (Golub and Pereyra 1973), for
P = A^+ at constant rank:

    dA = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)

with conjugate transposes for a complex A (PyTorch's conjugate gradient).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

from ..autograd.function import Function, nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module, lapack, numpy
from ._conj import cj, real_dtype
from .creation import tril
from .elementwise import where
from .join import stack
from .linalg import matmul
from .shape import transpose
from .svd import _matrices, svdvals

__all__ = ["householder_product", "lstsq", "matrix_rank", "pinv", "vander"]


class LstsqResult(NamedTuple):
    """``linalg.lstsq``'s result; the fields a driver does not compute are empty Tensors."""

    solution: object
    residuals: object
    rank: object
    singular_values: object


def _t(x):
    return transpose(x, -1, -2)


def _h(x):
    return cj(transpose(x, -1, -2))


def _tolerance(op, xp, s_max, atol, rtol, m, n, dtype):
    """PyTorch's cut-off max(atol, rtol * s_max); rtol defaults to eps * max(m, n), or to 0 where
    a positive atol is given."""
    def as_array(name, v):
        if v is None:
            return None
        if isinstance(v, Tensor):
            try:  # shapes only: NumPy's broadcasting rule serves every device
                numpy.broadcast_shapes(tuple(v.shape), tuple(s_max.shape[:-1]))
            except ValueError:
                raise ValueError(f"{op}: {name} of shape {tuple(v.shape)} does not broadcast with "
                                 f"the input's batch shape {tuple(s_max.shape[:-1])}") from None
            return v._data.astype(dtype)[..., None]
        if isinstance(v, bool) or not isinstance(v, numbers.Real):  # NumPy scalars too
            raise TypeError(f"{op}: {name} must be a float or a Tensor, got {v!r}")
        return xp.asarray(v, dtype=dtype)
    atol, rtol = as_array("atol", atol), as_array("rtol", rtol)
    default = xp.finfo(dtype).eps * max(m, n)
    if rtol is None:
        rtol = default if atol is None else xp.where(atol > 0, 0.0, default).astype(dtype)
    if atol is None:
        atol = xp.zeros((), dtype=dtype)
    return xp.maximum(atol, rtol * s_max)


class Pinv(Function):
    complex_grad = True  # the rule's transposes are conjugate transposes (A^H) for a complex A

    def forward(self, a):
        xp = get_array_module(a)
        m, n = a.shape[-2:]
        if self.hermitian:
            w, v = lapack("pinv", xp.linalg.eigh, a)
            size = xp.abs(w)
            s_max = size.max(-1, keepdims=True) if size.shape[-1] else size  # 0 x 0: no max
            tol = _tolerance("pinv", xp, s_max, self.atol, self.rtol, m, n, w.dtype)
            keep = size > tol
            inv_w = xp.where(keep, 1 / xp.where(keep, w, 1), 0)
            return (v * inv_w[..., None, :]) @ xp.conj(xp.swapaxes(v, -1, -2))
        u, s, vh = lapack("pinv", xp.linalg.svd, a, full_matrices=False)
        s_max = s[..., :1] if s.shape[-1] else s
        tol = _tolerance("pinv", xp, s_max, self.atol, self.rtol, m, n, s.dtype)
        keep = s > tol
        inv_s = xp.where(keep, 1 / xp.where(keep, s, 1), 0)
        return (xp.conj(xp.swapaxes(vh, -1, -2)) * inv_s[..., None, :]) @ xp.conj(
            xp.swapaxes(u, -1, -2))

    def backward(self, g):
        a, p = self.inputs[0], self.output
        pt, gt = _h(p), _h(g)
        left = matmul(gt, matmul(p, pt))
        right = matmul(matmul(pt, p), gt)
        return (-matmul(matmul(pt, g), pt) + left - matmul(a, matmul(p, left))
                + right - matmul(matmul(right, p), a))


def pinv(input, rcond=None, hermitian: bool = False, *, atol=None,  # noqa: A002
         rtol=None):
    """The Moore-Penrose pseudoinverse of each matrix of ``input`` (*, m, n), (*, n, m).

    Singular values (eigenvalues' magnitudes for ``hermitian``, which reads only the lower
    triangle) at or below max(atol, rtol * largest) count as zero; ``rtol`` defaults to
    eps * max(m, n) (0 where a positive ``atol`` is given). ``rcond`` is PyTorch's older name
    of ``rtol``. The gradient is that of a matrix whose rank does not change.
    """
    _matrices("pinv", input, complex_ok=True)
    if rcond is not None:
        if atol is not None or rtol is not None:
            raise TypeError("pinv: give rcond (the older name of rtol) or atol/rtol, not both")
        rtol = rcond
    if hermitian and input.shape[-1] != input.shape[-2]:
        raise ValueError(f"pinv: hermitian=True needs square matrices, got shape {input.shape}")
    return Pinv.apply(input, atol=atol, rtol=rtol, hermitian=bool(hermitian))


def matrix_rank(input, tol=None, hermitian: bool = False, *, atol=None,  # noqa: A002
                rtol=None):
    """The number of singular values above PyTorch's cut-off (see ``pinv``), int64; ``tol``
    is PyTorch's older absolute tolerance (``atol=tol, rtol=0``)."""
    _matrices("matrix_rank", input, complex_ok=True)
    if tol is not None:
        if atol is not None or rtol is not None:
            raise TypeError("matrix_rank: give tol (an absolute tolerance, the older form) or "
                            "atol/rtol, not both")
        atol, rtol = tol, 0.0

    def rank(a):
        xp = get_array_module(a)
        s = (xp.abs(lapack("matrix_rank", xp.linalg.eigvalsh, a)) if hermitian
             else lapack("matrix_rank", xp.linalg.svd, a, compute_uv=False))
        if not s.shape[-1]:
            return xp.zeros(s.shape[:-1], dtype=xp.int64)
        tol = _tolerance("matrix_rank", xp, s.max(-1, keepdims=True), atol, rtol, *a.shape[-2:],
                         s.dtype)
        return (s > tol).sum(-1).astype(xp.int64)
    return nondiff(rank, input)


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(input, b, rcond=None, *, driver=None):  # noqa: A002 - PyTorch's names
    """The least-squares (minimum-norm, where A lacks rank) X minimizing ||A X - B||.

    Args:
        input: A (*, m, n); b: B (*, m, k), or (*, m) for one right-hand side each.
        rcond: singular values at or below rcond * the largest count as 0 (default eps *
            max(m, n)); 'gels' ignores it, as PyTorch's.
        driver: which of PyTorch's CPU drivers' fields to fill (default 'gelsy'); all solve
            through the pseudoinverse, so the rank is read from the singular values.

    Returns:
        ``LstsqResult(solution, residuals, rank, singular_values)``, filled as PyTorch fills them:
        rank for all but 'gels', singular_values for 'gelsd'/'gelss', residuals
        (||A X - B||^2 per column) when m > n for 'gels', and for 'gelsd'/'gelss' when every
        matrix has full rank.
    """
    _matrices("lstsq", input, complex_ok=True)
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise ValueError(f"lstsq: driver must be one of {_DRIVERS} (or None), got {driver!r}")
    if not isinstance(b, Tensor):
        raise TypeError(f"lstsq: b must be a Tensor, got {type(b).__name__}")
    vector = b.ndim == input.ndim - 1
    if b.ndim < 1 or not (vector or b.ndim == input.ndim) or \
            b.shape[-1 if vector else -2] != input.shape[-2]:
        raise ValueError(f"lstsq: b of shape {b.shape} does not fit input of shape "
                         f"{input.shape} (b: (*, m, k) or (*, m) for input (*, m, n))")
    m, n = input.shape[-2:]
    if driver == "gels":  # a QR that assumes full rank: it ignores rcond, as PyTorch's
        rcond = None
    x = pinv(input, rtol=rcond)
    b = b.reshape(b.shape + (1,)) if vector else b
    solution = matmul(x, b)
    xp = get_array_module(input._data)
    empty = Tensor(xp.zeros((0,), dtype=real_dtype(input._data.dtype)))  # residuals, S: real
    rank = matrix_rank(input, rtol=rcond)
    residuals = empty
    if driver != "gelsy" and m > n and (driver == "gels" or bool((rank._data == n).all())):
        error = matmul(input, solution) - b
        if error._data.dtype.kind == "c":
            error = error.abs()
        residuals = (error ** 2).sum(-2)  # (*, 1) for vectors (PyTorch)
    if driver == "gels":
        rank = Tensor(xp.zeros((0,), dtype=xp.int64))
    values = svdvals(input.detach()) if driver in ("gelsd", "gelss") else empty
    if vector:
        solution = solution.reshape(solution.shape[:-1])
    return LstsqResult(solution, residuals, rank, values)


def householder_product(input, tau):  # noqa: A002 - PyTorch's name
    """The first n columns of H_1 H_2 ... H_k, H_i = I - tau_i v_i v_i^H, where v_i is column i
    of ``input`` (*, m, n) below the diagonal with a 1 on it (LAPACK's orgqr; with geqrf's output
    it is the Q of a QR decomposition). ``tau`` (*, k), k <= n <= m. Differentiable in both."""
    _matrices("householder_product", input, complex_ok=True)
    if not isinstance(tau, Tensor):
        raise TypeError(f"householder_product: tau must be a Tensor, got {type(tau).__name__}")
    m, n = input.shape[-2:]
    if m < n or tau.ndim != input.ndim - 1 or tau.shape[:-1] != input.shape[:-2] or \
            tau.shape[-1] > n:
        raise ValueError(f"householder_product: expected input (*, m, n) with m >= n and tau "
                         "(*, k) "
                         f"with k <= n, got shapes {input.shape} and {tau.shape}")
    xp = get_array_module(input._data)
    vectors = tril(input, -1) + Tensor(xp.eye(m, n, dtype=input._data.dtype))
    q = Tensor(xp.broadcast_to(xp.eye(m, n, dtype=input._data.dtype), input.shape))
    for i in reversed(range(tau.shape[-1])):  # Q = H_i Q, from the last reflection to the first
        v = vectors[..., i:i + 1]
        q = q - tau[..., i:i + 1, None] * matmul(v, matmul(_h(v), q))  # v^H: complex
    if not tau.shape[-1]:  # no reflection: I's columns, still in input's graph (a 0 gradient)
        q = where(Tensor(xp.ones(q.shape, dtype=bool)), q, input)
    return q


def vander(x, *, N=None):  # noqa: N803 - PyTorch's name
    """The Vandermonde matrices [x^0, x^1, ..., x^(N-1)] (increasing powers, as PyTorch) of the
    vectors ``x`` (*, n): shape (*, n, N), N = n by default."""
    if not isinstance(x, Tensor):
        raise TypeError(f"vander: x must be a Tensor, got {type(x).__name__}")
    if x.ndim < 1:
        raise ValueError(f"vander: x must have at least one dimension, got shape {x.shape}")
    if x.dtype.kind == "b" or x.dtype.itemsize == 2 and x.dtype.kind == "f":
        raise TypeError(f"vander: x must be a floating point (not float16), complex or integer "
                        f"tensor, got {x.dtype}")
    count = x.shape[-1] if N is None else N
    if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 2:
        raise ValueError(f"vander: N must be an int greater than 1 (PyTorch's), got {count!r}")
    count = int(count)
    if x.dtype.kind in "iu":  # PyTorch's powers of integers are int64
        x = x.astype("int64")
    powers = [Tensor(get_array_module(x._data).ones(x.shape, dtype=x._data.dtype))]
    for _ in range(1, count):
        powers.append(powers[-1] * x)
    return stack(powers, -1)


def pinverse(input, rcond: float = 1e-15):  # noqa: A002 - PyTorch's name
    """PyTorch's older ``torch.pinverse``: ``linalg.pinv(input, rtol=rcond)``."""
    return pinv(input, rtol=rcond)


Tensor.pinverse = pinverse
