"""PyTorch's top-level matrix functions whose parameter names differ from ``torch.linalg``'s:
``mm(input, mat2)``, ``bmm(input, mat2)``, ``det(input)``, ``slogdet(input)`` and
``inverse(input)`` (``torch.linalg`` calls the matrix ``A``). Each checks what PyTorch checks and
hands over to the shared op."""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.tensor import Tensor
from ._layout import strided
from .decomp import Inv, SLogDet, _square
from .determinant import Det
from .linalg import matmul

__all__ = ["SignLogAbsDet", "bmm", "det", "inverse", "mm", "slogdet"]


class SignLogAbsDet(NamedTuple):
    """``slogdet``'s result: the sign of each determinant and the log of its absolute value."""

    sign: object
    logabsdet: object


def _ndim(op, ndim, **operands):
    for name, t in operands.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim != ndim:
            raise ValueError(f"{op}: {name} must be {ndim}-D, got shape {t.shape}")


def mm(input, mat2):  # noqa: A002 - PyTorch's names
    """The product of two matrices, (n, k) @ (k, m) -> (n, m) (PyTorch's ``mm``: both 2-D).
    A sparse ``input`` (chainrule.sparse) multiplies by its own ``mm``, as ``torch.sparse.mm``."""
    if type(input) is not Tensor and getattr(input, "layout", strided) is not strided:
        return input.mm(mat2)  # COO, CSR, CSC
    if type(mat2) is not Tensor and getattr(mat2, "layout", strided) is not strided:
        _ndim("mm", 2, input=input)
        return mat2.__rmatmul__(input, "mm")  # dense @ sparse (chainrule.sparse)
    _ndim("mm", 2, input=input, mat2=mat2)
    return matmul(input, mat2)


def bmm(input, mat2):  # noqa: A002 - PyTorch's names
    """Batched matrix product, (b, n, k) @ (b, k, m) -> (b, n, m); the batch sizes must agree
    (PyTorch's ``bmm`` does not broadcast); a sparse ``input`` multiplies by its own ``bmm``."""
    if type(input) is not Tensor and getattr(input, "layout", strided) is not strided:
        return input.bmm(mat2)  # COO (b, n, m) @ dense (b, m, k); CSR/CSC refused there
    _ndim("bmm", 3, input=input, mat2=mat2)
    if input.shape[0] != mat2.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: input has shape {input.shape}, mat2 "
                         f"{mat2.shape}")
    return matmul(input, mat2)


def det(input):  # noqa: A002 - PyTorch's name
    """The determinant of each square matrix of ``input`` (*, n, n) (``linalg.det``)."""
    _square("det", input, complex_ok=True)
    return Det.apply(input)


def inverse(input):  # noqa: A002 - PyTorch's name
    """The inverse of each square matrix of ``input`` (*, n, n) (``linalg.inv``)."""
    _square("inverse", input, complex_ok=True)
    return Inv.apply(input)


def slogdet(input):  # noqa: A002 - PyTorch's name
    """(sign, log|det|) of each square matrix of ``input``; only the log has a gradient."""
    _square("slogdet", input, complex_ok=True)
    return SignLogAbsDet(*SLogDet.apply(input))


Tensor.slogdet = slogdet  # (sign, logabsdet), named as PyTorch's method's
