"""Matrix functions with gradients (PyTorch's ``torch.linalg``): inverse, log-determinant,
solve, Cholesky and the symmetric eigendecomposition, batched over leading axes.

The matrix-calculus rules (Giles 2008; Murray 2016 for Cholesky), written with recorded ops so
they differentiate again (T: the transpose of the last two axes):

    Y = A^-1:          dA = -Y^T G Y^T
    log|det A|:        dA = g A^-T            (det = sign * exp(log|det A|))
    X = A^-1 B:        dB = A^-T G,  dA = -dB X^T
    det A:             dA = g det(A) A^-T         (determinant.py)
For complex matrices (inverse, solve, determinants) the transposes are conjugate transposes and
the factors conjugated, PyTorch's convention (a holomorphic map's gradient is g times the
conjugate derivative); Cholesky and eigh stay real (their complex forms need Hermitian rules).
    A = L L^T:         dA = sym(L^-T Phi(L^T G) L^-1), Phi: the lower triangle, diagonal halved
    A = V diag(w) V^T: dA = V (diag(g_w) + F o (V^T G_V)) V^T,  F_ij = 1 / (w_j - w_i), i != j
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import LinAlgError, device_of, get_array_module, lapack, numpy
from ._conj import Imag, MakeComplex, cj, real_dtype
from .elementwise import fill_where
from .linalg import matmul
from .shape import broadcast_to, transpose

__all__ = ["LinAlgError", "cholesky", "eigh", "inv", "slogdet", "solve"]


def _t(x):
    return transpose(x, -1, -2)


def _h(x):
    """The conjugate transpose of the last two axes (the transpose of a real x)."""
    return cj(transpose(x, -1, -2))


def kept_outputs(fn) -> tuple:
    """The outputs a decomposition's backward reads (``fn.kept``, held by ``svd``, ``qr``,
    ``eigh`` and ``eig`` so that a second derivative goes through them). Where the user changed
    one in place after (``q.mul_(2)``), the engine made a stand-in holding the values the node
    computed (autograd/inplace_record.py) and the node's output is that stand-in now: backward
    reads it, not the changed tensor (which gave a silently wrong gradient)."""
    return tuple(t if now is None else now for t, now in zip(fn.kept, fn.outputs()))


def nan_through(fn, a, *rest, sign=False):
    """``fn(a, *rest)`` with NaN results for the matrices of ``a`` that hold a NaN, as LAPACK's
    LU gives them in PyTorch (NumPy's may call such a matrix singular, or warn); ``sign``: the
    first of ``fn``'s two results is a sign, 0 there for a real ``a``, as PyTorch's."""
    if device_of(a) == "meta":  # no values, no NaN: the meta module gives the shapes
        return fn(a, *rest)
    xp = get_array_module(a)
    bad = xp.isnan(a).any(axis=(-2, -1))
    if not bad.any():
        return fn(a, *rest)
    out = fn(xp.where(bad[..., None, None], xp.eye(a.shape[-1], dtype=a.dtype), a), *rest)
    outs = out if isinstance(out, tuple) else (out,)
    filled = [xp.where(bad.reshape(bad.shape + (1,) * (o.ndim - bad.ndim)),
                       0 if sign and k == 0 and o.dtype.kind != "c" else xp.nan, o)
              for k, o in enumerate(outs)]
    return tuple(filled) if isinstance(out, tuple) else filled[0]


def _square(op, a, complex_ok=False):
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{op}: expected square matrices (*, n, n), got shape {a.shape}")
    if a._data.dtype.kind != "f" and not (complex_ok and a._data.dtype.kind == "c"):
        kinds = "floating-point or complex" if complex_ok else "floating-point"
        raise TypeError(f"{op}: expected a {kinds} Tensor, got dtype {a.dtype}")


class Inv(Function):
    complex_grad = True

    def forward(self, a):
        return nan_through(lambda m: lapack("inv", get_array_module(m).linalg.inv, m), a)

    def backward(self, g):
        y = _h(self.output)
        return -matmul(matmul(y, g), y)


class SLogDet(Function):
    """(sign, log|det A|); the sign is piecewise constant, its gradient 0. At a singular matrix
    (sign 0, log|det| -inf) the gradient of log|det| is not defined: a loss that uses it there
    is refused (PyTorch returns a mix of infinities and finite numbers). For a complex A the
    sign is det / |det| (complex) and log|det| real, as PyTorch's; log det = log|det| + i theta
    (sign = e^(i theta)) is holomorphic, so A's gradient is c A^-H with c = g_logabs +
    i Im(g_sign conj(sign))."""

    complex_grad = True

    def forward(self, a):
        xp = get_array_module(a)
        sign, logabs = nan_through(xp.linalg.slogdet, a, sign=True)
        self.singular = xp.asarray((sign == 0) & ~xp.isnan(logabs))  # NaN: not singular
        self.sign = sign.astype(a.dtype)
        return self.sign, logabs.astype(real_dtype(a.dtype))

    def backward(self, g_sign, g_logabs):
        a, singular = self.inputs[0], self.singular
        g = g_logabs.reshape(g_logabs.shape + (1, 1))
        if a._data.dtype.kind == "c":
            sign = self.outputs()[0]  # recorded, for create_graph; the saved values if dropped
            turn = Imag.apply(g_sign * cj(Tensor(self.sign) if sign is None else sign))
            g = MakeComplex.apply(g, turn.reshape(turn.shape + (1, 1)))
        if not singular.any():
            return g * _h(inv(a))
        if (g_logabs._data[singular] != 0).any():
            raise ValueError(f"slogdet: the gradient of log|det| is not defined at a singular "
                             f"matrix (det 0, log|det| -inf), and {int(singular.sum())} of the "
                             f"{singular.size} matrices are singular (PyTorch returns infinities)")
        xp = get_array_module(singular)
        stand_in = fill_where(singular[..., None, None], 0, a) + Tensor(
            (singular[..., None, None] * xp.eye(a.shape[-1])).astype(a._data.dtype))
        return fill_where(singular[..., None, None], 0, g * _h(inv(stand_in)))


class Solve(Function):
    """X = A^-1 B for A (*, n, n) and B (*, n, k) of one batch shape (solve() broadcasts)."""

    complex_grad = True

    def forward(self, a, b):
        return nan_through(lambda m, r: lapack("solve", get_array_module(m).linalg.solve, m, r),
                           a, b)

    def backward(self, g):
        a = self.inputs[0]
        gb = solve(_h(a), g)
        if not self.needs_input_grad[0]:
            return None, gb
        return -matmul(gb, _h(self.output)), gb


def _nan_pivot():
    raise numpy.linalg.LinAlgError("a pivot is NaN")


class Cholesky(Function):
    complex_grad = True  # Hermitian: the transposes below are conjugate transposes

    def forward(self, a):
        xp = get_array_module(a)
        low = lapack("cholesky", xp.linalg.cholesky, a)
        if xp.isnan(xp.diagonal(low, 0, -2, -1)).any():  # NumPy lets a NaN pivot through
            lapack("cholesky", _nan_pivot)  # LAPACK's potrf (and PyTorch) fails there
        return low

    def backward(self, g):
        low = self.output
        n = low.shape[-1]
        xp = get_array_module(low._data)
        upper = xp.triu(xp.ones((n, n), bool), 1)
        diag = xp.eye(n, dtype=bool)
        phi = fill_where(upper, 0, matmul(_h(low), g))
        phi = fill_where(diag, 0, phi) + 0.5 * fill_where(~diag, 0, phi)
        linv = inv(low)
        s = matmul(matmul(_h(linv), phi), linv)
        return 0.5 * (s + _h(s))


class Eigh(Function):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix; of a complex
    Hermitian one, with V^H in place of V^T, the eigenvectors' phases being free: a loss that
    depends on them is refused (PyTorch's rule)."""

    complex_grad = True

    def forward(self, a):
        return lapack("eigh", get_array_module(a).linalg.eigh, a, UPLO=self.uplo)

    def backward(self, g_w, g_v):
        w, v = kept_outputs(self)  # kept by eigh() whenever the node is recorded
        n = w.shape[-1]
        xp = get_array_module(w._data)
        diag = xp.broadcast_to(xp.eye(n, dtype=bool), w.shape[:-1] + (n, n))
        inner = Tensor(xp.zeros(diag.shape, dtype=w._data.dtype))
        # The eigenvectors are used (their gradient needs distinct w): g_v is not 0, or it is
        # recorded (a function of other cotangents, as jvp's zero dummies make), when the
        # gradient with respect to it is not 0 although its value is.
        if bool(g_v._data.any()) or g_v.requires_grad:
            gaps = w.reshape(w.shape[:-1] + (1, n)) - w.reshape(w.shape[:-1] + (n, 1))  # w_j - w_i
            if ((gaps._data == 0) & ~diag).any():
                raise ValueError("eigh: the gradient through the eigenvectors is not defined for "
                                 "repeated eigenvalues (PyTorch gives inf or NaN); a loss of the "
                                 "eigenvalues alone (linalg.eigvalsh) has one")
            vg = matmul(_h(v), g_v)
            if vg._data.dtype.kind == "c" and (xp.abs(xp.diagonal(vg._data, 0, -2, -1).imag) > (
                    xp.finfo(w._data.dtype).eps ** 0.5 * (1 + xp.abs(vg._data).max()))).any():
                raise ValueError("eigh: the loss depends on the phases of the complex "
                                 "eigenvectors, which are arbitrary (e^(i phi) v is one too), so "
                                 "its gradient is not defined (PyTorch refuses it too)")
            # Only V^H G_V's skew-Hermitian part enters (V^H dV is skew for an orthonormal V),
            # PyTorch's projection: the gradient is then itself symmetric (Hermitian).
            vg = 0.5 * (vg - _h(vg))
            inner = fill_where(diag, 0, 1 / fill_where(diag, 1, gaps)) * vg
        inner = inner + g_w.reshape(g_w.shape + (1,)) * Tensor(xp.eye(n, dtype=w._data.dtype))
        if v._data.dtype.kind == "c" and inner._data.dtype.kind != "c":
            inner = MakeComplex.apply(inner, Tensor(xp.zeros(inner.shape, inner._data.dtype)))
        return matmul(matmul(v, inner), _h(v))


def inv(A):  # noqa: N803 - PyTorch's argument name
    """The inverse of each square matrix of ``A`` (*, n, n)."""
    _square("inv", A, complex_ok=True)
    return Inv.apply(A)


def slogdet(A):  # noqa: N803 - PyTorch's argument name
    """(sign, log|det|) of each square matrix, PyTorch's ``linalg.slogdet``."""
    _square("slogdet", A, complex_ok=True)
    return SLogDet.apply(A)


def solve(A, B, *, left: bool = True):  # noqa: N803 - PyTorch's argument names
    """X with A X = B (X A = B for ``left=False``) for square A (*, n, n) and B (*, n, k), or
    vectors B (*, n): as PyTorch, B is a (batch of) vector(s) if it is 1-D or shaped
    A.shape[:-1]. The batch axes broadcast."""
    _square("solve", A, complex_ok=True)
    if not isinstance(B, Tensor):
        raise TypeError(f"solve: B must be a Tensor, got {type(B).__name__}")
    if not left:  # a B shaped A.shape[:-1] is a batch of vectors, refused here, as PyTorch
        if B.ndim < 2 or B.shape[-1] != A.shape[-1] or (B.ndim == A.ndim - 1
                                                         and B.shape == A.shape[:-1]):
            raise ValueError(f"solve: B of shape {B.shape} does not fit A of shape {A.shape} "
                             "for X A = B (left=False); B must be (*, k, n), a vector B (1-D or "
                             "shaped A.shape[:-1]) is refused, as in PyTorch")
        return _t(solve(_t(A), _t(B)))
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    rhs = B.reshape(B.shape + (1,)) if vector else B
    if rhs.ndim < 2 or rhs.shape[-2] != A.shape[-1]:
        raise ValueError(f"solve: B of shape {B.shape} does not fit A of shape {A.shape}")
    try:  # shapes only: NumPy's broadcasting rule serves every device
        batch = numpy.broadcast_shapes(A.shape[:-2], rhs.shape[:-2])
    except ValueError:
        raise ValueError(f"solve: the batch shapes of A {A.shape} and B {B.shape} do not "
                         "broadcast") from None
    x = Solve.apply(broadcast_to(A, batch + A.shape[-2:]),
                    broadcast_to(rhs, batch + rhs.shape[-2:]))
    return x.reshape(x.shape[:-1]) if vector else x


def cholesky(input, *, upper: bool = False):  # noqa: A002 - PyTorch's argument name
    """The lower-triangular L with A = L L^H (or U = L^H for ``upper``) of symmetric (Hermitian)
    positive-definite matrices, read from the lower triangle (the upper one for ``upper``)."""
    _square("cholesky", input, complex_ok=True)
    if upper:  # LAPACK's potrf('U') reads the upper triangle, PyTorch's too: U = chol(A^H)^H
        return _h(Cholesky.apply(_h(input)))
    return Cholesky.apply(input)


class EighResult(NamedTuple):
    """``eigh``'s result, PyTorch's ``torch.return_types.linalg_eigh``."""

    eigenvalues: Tensor
    eigenvectors: Tensor


def eigh(input, UPLO: str = "L"):  # noqa: A002, N803 - PyTorch's argument names
    """(eigenvalues ascending, eigenvectors as columns) of symmetric matrices. As PyTorch's, the
    values read only the lower (``UPLO="L"``) or upper triangle, and the gradient is that of a
    function of a symmetric matrix (the same whichever triangle was read)."""
    _square("eigh", input, complex_ok=True)
    if not isinstance(UPLO, str) or UPLO.upper() not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U' (either case), got {UPLO!r}")
    UPLO = UPLO.upper()  # noqa: N806 - PyTorch's argument name
    w, v = Eigh.apply(input, uplo=UPLO)
    if w._ctx is not None:  # both outputs enter the gradient's formula, even if one is dropped:
        w._ctx.kept = (w, v)  # held so that a second derivative goes through both
    return EighResult(w, v)


Tensor.inverse = inv
Tensor.cholesky = lambda self, upper=False: cholesky(self, upper=upper)
