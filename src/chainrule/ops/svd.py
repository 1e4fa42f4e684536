"""The singular value and QR decompositions with gradients (PyTorch's ``linalg.svd``,
``svdvals``, ``qr`` and the older ``torch.svd``/``torch.qr``), batched over leading axes.

The backward rules (real matrices; T: the transpose of the last two axes; k = min(m, n)):

    A = U diag(s) V^T (thin):  dA = U [(F o (U^T G_U - G_U^T U)) S + diag(g_s)
                                      + S (F o (V^T G_V - G_V^T V))] V^T
                                    + (I - U U^T) G_U S^-1 V^T + U S^-1 G_V^T (I - V V^T),
                               F_ij = 1 / (s_j^2 - s_i^2) for i != j, 0 on the diagonal
                               (Townsend 2016; the last two terms vanish for square A)
    A = Q R (m >= n):          M = tril(Q^T G_Q - G_Q^T Q + R G_R^T - G_R R^T, -1)
                               dA = Q G_R + (G_Q - Q Q^T G_Q + Q M) R^-T
    A = Q [R1 R2] (m < n):     the square rule for A[:, :m] = Q R1 with G_Q + A[:, m:] G_R2^T,
                               and dA[:, m:] = Q G_R2
For a complex A the transposes are conjugate transposes, and M keeps half the (imaginary)
diagonal of its skew-Hermitian argument: R's diagonal is real (geqrf's), which fixes Q's phases.

Where a rule is undefined it raises rather than returning NaN: U and V gradients with repeated
singular values (F divides by zero), the columns of full_matrices=True that are only some basis
of a complement, and QR's R alone (mode='r') or complete Q of a tall matrix.
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function, nondiff
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module, lapack
from ._conj import cj
from .creation import tril, triu
from .decomp import kept_outputs, solve
from .diagonal import diag_embed, diagonal
from .elementwise import cast, fill_where
from .join import concat
from .linalg import matmul
from .shape import transpose

__all__ = ["qr", "svd", "svd_old", "svdvals"]


class SVDResult(NamedTuple):
    """``linalg.svd``'s result: A = U diag(S) Vh."""

    U: object  # noqa: N815 - PyTorch's field names
    S: object  # noqa: N815
    Vh: object  # noqa: N815


class SVDOldResult(NamedTuple):
    """``torch.svd``'s result: A = U diag(S) V^H (V, not its conjugate transpose)."""

    U: object  # noqa: N815
    S: object  # noqa: N815
    V: object  # noqa: N815


class QRResult(NamedTuple):
    """``linalg.qr``'s result: A = Q R."""

    Q: object  # noqa: N815
    R: object  # noqa: N815


def _t(x):
    return transpose(x, -1, -2)


def _h(x):
    return cj(transpose(x, -1, -2))


def _matrices(op, a, complex_ok=False):
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    if a.ndim < 2:
        raise ValueError(f"{op}: expected matrices (*, m, n), got shape {a.shape}")
    if a._data.dtype.kind != "f" and not (complex_ok and a._data.dtype.kind == "c"):
        kinds = "floating-point or complex" if complex_ok else "floating-point"
        raise TypeError(f"{op}: expected a {kinds} Tensor, got dtype {a.dtype}")


class SVD(Function):
    """U, S, Vh of each matrix; ``full`` keeps U (m, m) and Vh (n, n). A complex matrix's rule
    has conjugate transposes and PyTorch's phase term (``_phase_term``)."""

    complex_grad = True

    def forward(self, a):
        return lapack("svd", get_array_module(a).linalg.svd, a, full_matrices=self.full)

    def backward(self, g_u, g_s, g_vh):
        u, s, vh = kept_outputs(self)  # kept by svd() whenever the node is recorded
        k = s.shape[-1]
        if self.full:
            if g_u._data[..., k:].any() or g_vh._data[..., k:, :].any():
                raise ValueError(
                    "svd: the loss uses the columns of U (or rows of Vh) past min(m, n) = "
                    f"{k} of full_matrices=True, an arbitrary basis of a complement whose "
                    "gradient is not defined (PyTorch ignores it); use full_matrices=False")
            u, vh, g_u, g_vh = u[..., :k], vh[..., :k, :], g_u[..., :k], g_vh[..., :k, :]
        return svd_backward(u, s, vh, g_u, g_s, g_vh)


def svd_backward(u, s, vh, g_u, g_s, g_vh):
    """The gradient of the thin SVD (see the module's docstring)."""
    xp = get_array_module(s._data)
    k = s.shape[-1]
    row, col = s.reshape(s.shape[:-1] + (1, k)), s.reshape(s.shape + (1,))
    eye = Tensor(xp.eye(k, dtype=s._data.dtype))
    inner = g_s.reshape(g_s.shape + (1,)) * eye
    # A recorded cotangent (a function of others, as jvp's zero dummies make) keeps its term
    # even while it is 0: the gradient with respect to it is not 0.
    use_u = bool(g_u._data.any()) or g_u.requires_grad
    use_v = bool(g_vh._data.any()) or g_vh.requires_grad
    if use_u or use_v:
        gaps = row * row - col * col  # s_j^2 - s_i^2
        diag = xp.broadcast_to(xp.eye(k, dtype=bool), gaps.shape)
        if ((gaps._data == 0) & ~diag).any():
            raise ValueError("svd: the gradient through U or Vh is not defined for repeated "
                             "singular values (PyTorch gives NaN); a loss of S alone "
                             "(linalg.svdvals) has one")
        f = fill_where(diag, 0, 1 / fill_where(diag, 1, gaps))
        ju = matmul(_h(u), g_u) if use_u else None
        jv = matmul(vh, _h(g_vh)) if use_v else None
        if use_u:
            inner = inner + f * (ju - _h(ju)) * row
        if use_v:
            inner = inner + col * (f * (jv - _h(jv)))
        if u._data.dtype.kind == "c":
            inner = _phase_term(inner, ju, jv, s, xp)
    if inner._data.dtype.kind != u._data.dtype.kind:  # S's part only: real weights
        inner = cast(inner, u._data.dtype)
    grad = matmul(matmul(u, inner), vh)
    m, n = u.shape[-2], vh.shape[-1]
    extra_u, extra_v = use_u and m > k, use_v and n > k
    if (extra_u or extra_v) and (s._data == 0).any():
        raise ValueError("svd: the gradient through U or Vh of a non-square matrix is not "
                         "defined when a singular value is 0 (PyTorch gives inf or NaN)")
    if extra_u:
        grad = grad + matmul((g_u - matmul(u, matmul(_h(u), g_u))) / row, vh)
    if extra_v:
        grad = grad + matmul(u, (g_vh - matmul(matmul(g_vh, _h(vh)), vh)) / col)
    return grad


def _phase_term(inner, ju, jv, s, xp):
    """A complex SVD's columns of U (rows of Vh) are free up to e^(i phi): a loss that depends
    on phi (Im diag(U^H G_U) + Im diag(V^H G_V) != 0) is refused, as PyTorch's; otherwise the
    diagonal gets PyTorch's term i Im diag(U^H G_U) / s."""
    im = sum(xp.diagonal(j._data, 0, -2, -1).imag for j in (ju, jv) if j is not None)
    big = sum(xp.abs(j._data).max() for j in (ju, jv) if j is not None)
    if (xp.abs(im) > 1e-8 * (1 + big)).any():
        raise ValueError("svd: the loss depends on the phases of the complex singular vectors, "
                         "which are arbitrary (e^(i phi) u and e^(i phi) v are ones too), so its "
                         "gradient is not defined (PyTorch refuses it too)")
    if ju is None:
        return inner
    d = diagonal(ju, 0, -2, -1)
    return inner + diag_embed((d - cj(d)) * 0.5 / s)


def svd(A, full_matrices: bool = True, *, driver=None):  # noqa: N803 - PyTorch's argument name
    """``linalg.svd``: A = U diag(S) Vh with S descending, batched over leading axes.

    Args:
        A: matrices (*, m, n).
        full_matrices: U (*, m, m) and Vh (*, n, n) if True, else the thin (*, m, k), (*, k, n),
            k = min(m, n). Gradients through the columns past k are refused (not defined).

    Returns:
        ``SVDResult(U, S, Vh)``. U and Vh are unique up to the signs of paired columns/rows, as
        LAPACK (and PyTorch) computes them; gradients through U or Vh need distinct singular
        values.
    """
    _matrices("svd", A, complex_ok=True)
    if driver is not None:
        raise ValueError(f"svd: driver= names a CUDA (cuSOLVER) routine, got {driver!r}; "
                         "leave it None")
    u, s, vh = SVD.apply(A, full=bool(full_matrices))
    if s._ctx is not None:  # every output enters the gradient, even one the caller drops
        s._ctx.kept = (u, s, vh)
    return SVDResult(u, s, vh)


def svdvals(A, *, driver=None):  # noqa: N803
    """The singular values (descending) of each matrix of ``A`` (*, m, n); the gradient
    U diag(g) V^T is defined even where values repeat."""
    _matrices("svdvals", A, complex_ok=True)
    if A.requires_grad and is_grad_enabled():
        return svd(A, False, driver=driver).S
    return nondiff(lambda a: lapack("svdvals", get_array_module(a).linalg.svd, a,
                                    compute_uv=False), A)


def svd_old(input, some: bool = True, compute_uv: bool = True):  # noqa: A002 - PyTorch's name
    """PyTorch's older ``torch.svd``: (U, S, V) with V = Vh^T, thin unless ``some=False``.

    ``compute_uv=False`` gives S with zero-filled U (*, m, m) and V (*, n, n), as PyTorch.
    """
    _matrices("svd", input, complex_ok=True)
    if not compute_uv:
        xp = get_array_module(input._data)
        m, n = input.shape[-2:]
        batch = input.shape[:-2]
        return SVDOldResult(Tensor(xp.zeros(batch + (m, m), dtype=input._data.dtype)),
                            svdvals(input),
                            Tensor(xp.zeros(batch + (n, n), dtype=input._data.dtype)))
    u, s, vh = svd(input, not some)
    return SVDOldResult(u, s, _h(vh))  # V = Vh^H


class QR(Function):
    complex_grad = True  # R's diagonal is real (LAPACK's geqrf), which fixes Q's phases

    def forward(self, a):
        xp = get_array_module(a)
        if self.mode == "r":
            return xp.zeros((0,), dtype=a.dtype), xp.linalg.qr(a, mode="r")
        return tuple(xp.linalg.qr(a, mode=self.mode))

    def backward(self, g_q, g_r):
        a = self.inputs[0]
        m, n = a.shape[-2:]
        if self.mode == "r":
            raise ValueError("qr: the gradient depends on Q, which mode='r' does not compute; "
                             "use mode='reduced' to differentiate through qr")
        if self.mode == "complete" and m > n:
            raise ValueError(f"qr: mode='complete' of a tall matrix ({m} > {n} rows) has no "
                             "gradient (its last columns of Q are not unique); use "
                             "mode='reduced'")
        q, r = kept_outputs(self)  # kept by qr() whenever the node is recorded
        g_r = triu(g_r)  # R's lower triangle is 0 whatever A is
        if m >= n:
            return _qr_tall_backward(q, r, g_q, g_r)
        rest = a[..., m:]
        g_left = _qr_tall_backward(q, r[..., :m], g_q + matmul(rest, _h(g_r[..., m:])),
                                   g_r[..., :m])
        return concat([g_left, matmul(q, g_r[..., m:])], -1)


def _qr_tall_backward(q, r, g_q, g_r):
    qg = matmul(_h(q), g_q)
    rg = matmul(r, _h(g_r))
    skew = qg - _h(qg) + rg - _h(rg)
    m = tril(skew, -1)
    if skew._data.dtype.kind == "c":  # skew-Hermitian: its imaginary diagonal counts half
        m = m + 0.5 * diag_embed(diagonal(skew, 0, -2, -1))
    x = g_q - matmul(q, qg) + matmul(q, m)
    return matmul(q, g_r) + _h(solve(r, _h(x)))  # x R^-H


def qr(A, mode: str = "reduced"):  # noqa: N803 - PyTorch's argument name
    """``linalg.qr``: A = Q R with orthonormal Q and upper-triangular R, as LAPACK's geqrf
    (the signs PyTorch's CPU gives).

    Args:
        A: matrices (*, m, n); k = min(m, n).
        mode: 'reduced' (Q (*, m, k), R (*, k, n)), 'complete' (Q (*, m, m), R (*, m, n)) or
            'r' (R only; Q is an empty Tensor, and there is no gradient).

    Returns:
        ``QRResult(Q, R)``, differentiable except for mode='r' and 'complete' with m > n.
    """
    _matrices("qr", A, complex_ok=True)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    q, r = QR.apply(A, mode=mode)
    if r._ctx is not None:
        r._ctx.kept = (q, r)
    return QRResult(q, r)


def qr_old(input, some: bool = True):  # noqa: A002 - PyTorch's name
    """PyTorch's ``torch.qr``: ``linalg.qr`` with mode 'reduced' (``some=True``) or
    'complete'."""
    return qr(input, "reduced" if some else "complete")


def _svd_method(self, some=True, compute_uv=True):
    return svd_old(self, some, compute_uv)


def _qr_method(self, some=True):
    return qr_old(self, some)


Tensor.svd = _svd_method
Tensor.qr = _qr_method
