"""The eigendecomposition of a general square matrix (PyTorch's ``linalg.eig`` and
``linalg.eigvals``): complex eigenvalues L and eigenvectors V with A V = V diag(L).

L and V are complex even for a real A (complex64 for float32 and complex64 input, complex128 for
float64 and complex128), as in PyTorch. Each column of V has norm 1 (LAPACK's normalisation, which
PyTorch and NumPy share), and is otherwise fixed only up to a phase e^(i phi): a loss should not
depend on it (|v|^2, v v^H, the eigenvalues do not; Re(v) does).

The gradient is PyTorch's (conventions of ``ops/complex.py``; ^H the conjugate transpose):

    G = V^H G_V,  G <- G - V^H V diag(Re diag G)        (the part that would change the norms)
    M_ij = G_ij / (conj(L_j) - conj(L_i)) for i != j,  M_ii = (G_L)_i
    G_A = V^-H M V^H                                   (its real part for a real A)

``Im diag(V^H G_V)`` is what the loss would change under a phase turn of each eigenvector: as in
PyTorch, a loss for which it is not 0 is refused. A gradient through the eigenvectors is not
defined where eigenvalues repeat (PyTorch gives inf or NaN): that is refused too.
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import asnumpy, get_array_module, lapack, numpy
from ._conj import Real, cj, complex_dtype
from .decomp import Solve, kept_outputs
from .linalg import matmul
from .shape import transpose

__all__ = ["eig", "eigvals"]

_DTYPES = ("float32", "float64", "complex64", "complex128")


def _h(x):
    return cj(transpose(x, -1, -2))


class Eig(Function):
    """Outputs (L (*, n), V (*, n, n)), complex, of square matrices A (*, n, n)."""

    complex_grad = True

    def forward(self, a):
        xp, dtype = get_array_module(a), complex_dtype(a.dtype)
        # LAPACK's geev on the host (CuPy has no general eigensolver; PyTorch's CUDA eig also
        # runs on the CPU).
        w, v = lapack("eig", numpy.linalg.eig, asnumpy(a))
        return xp.asarray(w.astype(dtype)), xp.asarray(v.astype(dtype))

    def backward(self, g_l, g_v):
        a = self.inputs[0]
        values, vectors = kept_outputs(self)  # kept by eig() whenever the node is recorded
        n = values.shape[-1]
        xp = get_array_module(values._data)
        eye = xp.eye(n, dtype=bool)
        ceye = Tensor(eye.astype(values._data.dtype))
        vh = _h(vectors)
        inner = g_l.reshape(g_l.shape[:-1] + (1, n)) * ceye
        # A recorded g_v (a function of other cotangents, as jvp's zero dummies make) keeps its
        # term even while it is 0: the gradient with respect to it is not 0.
        if bool(g_v._data.any()) or g_v.requires_grad:
            gram = matmul(vh, g_v)
            diag = (gram * ceye).sum(-2)  # diag(V^H G_V), (*, n)
            _check_phase_free(diag._data)
            gram = gram - matmul(vh, vectors * Real.apply(diag).reshape(diag.shape[:-1] + (1, n)))
            lc = cj(values)
            gaps = lc.reshape(lc.shape[:-1] + (1, n)) - lc.reshape(lc.shape + (1,))
            if ((gaps._data == 0) & ~eye).any():
                raise ValueError("eig: the gradient through the eigenvectors is not defined for "
                                 "repeated eigenvalues (PyTorch gives inf or NaN); a loss of the "
                                 "eigenvalues alone (linalg.eigvals) has one")
            inner = inner + gram / (gaps + ceye) * Tensor((~eye).astype(values._data.dtype))
        grad = Solve.apply(vh, matmul(inner, vh))
        return grad if a._data.dtype.kind == "c" else Real.apply(grad)


def _check_phase_free(diag):
    """Refuse a loss that depends on the eigenvectors' phases (PyTorch's check, scaled)."""
    xp = get_array_module(diag)
    scale = xp.maximum(1.0, xp.abs(diag).max(axis=-1, keepdims=True))
    if (xp.abs(diag.imag) > 1e-2 * scale).any():
        raise ValueError(
            "eig: the loss depends on the phases of the eigenvectors, which are defined only up "
            "to a factor e^(i phi) each, so its gradient is not defined (PyTorch refuses it "
            "too); use a phase-free function of them, such as |v|^2 or v v^H")


def _check(op, A):  # noqa: N803
    if not isinstance(A, Tensor):
        raise TypeError(f"{op}: A must be a Tensor, got {type(A).__name__}")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{op}: A must be square matrices (*, n, n), got shape {A.shape}")
    if A._data.dtype.name not in _DTYPES:
        raise TypeError(f"{op}: A must be float32, float64, complex64 or complex128, got dtype "
                        f"{A.dtype}")


class EigResult(NamedTuple):
    """``eig``'s result, PyTorch's ``torch.return_types.linalg_eig``."""

    eigenvalues: Tensor
    eigenvectors: Tensor


def eig(A):  # noqa: N803 - PyTorch's argument name
    """The eigenvalues and eigenvectors of general square matrices, PyTorch's ``linalg.eig``.

    Args:
        A: (*, n, n), real or complex.

    Returns:
        ``(eigenvalues (*, n), eigenvectors (*, n, n))``, complex, with A V = V diag(L) and each
        column of V of norm 1; differentiable (see the module's notes on the phase).
    """
    _check("linalg.eig", A)
    values, vectors = Eig.apply(A)
    if values._ctx is not None:  # backward reads both, even if one output is dropped
        values._ctx.kept = (values, vectors)
    return EigResult(values, vectors)


def eigvals(A):  # noqa: N803 - PyTorch's argument name
    """The eigenvalues (*, n) of general square matrices A (*, n, n), complex, in ``eig``'s
    order; their gradient needs the eigenvectors, so ``eig`` runs when A requires grad."""
    _check("linalg.eigvals", A)
    if A.requires_grad and is_grad_enabled():
        return eig(A)[0]
    w = lapack("eigvals", numpy.linalg.eigvals, asnumpy(A._data))
    return Tensor(get_array_module(A._data).asarray(w.astype(complex_dtype(A.dtype))))

