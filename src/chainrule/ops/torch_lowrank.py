"""PyTorch's randomized low-rank factorizations ``svd_lowrank`` and ``pca_lowrank`` (Halko,
Martinsson & Tropp 2009, algorithms 4.4 and 5.1), and ``histogramdd``, ``nonzero_static``,
``igamma``/``igammac``.

``svd_lowrank`` projects ``A`` on an orthonormal basis ``Q`` of the range of ``A R`` (``R`` a
Gaussian n x q draw from the default generator, refined by ``niter`` power iterations), and takes
the exact SVD of the small ``Q^T A``. It is a composition of recorded ops (matmul, QR, SVD), so
it is differentiable; its draws are chainrule's, so only an exactly low-rank ``A`` (rank <= q)
gives PyTorch's factors (up to signs).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

from ..autograd.function import nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._histogram import check_dtype, check_edges, count, outer_edges, width_edges
from .creation import randn
from .special_inc import gammainc, gammaincc
from .svd import qr, svd
from .torch_names import no_out, tensor_input

__all__ = ["histogramdd", "igamma", "igammac", "nonzero_static", "pca_lowrank", "svd_lowrank"]

igamma, igammac = gammainc, gammaincc


def _mh(t: Tensor) -> Tensor:
    return t.transpose(-2, -1)


def _basis(A, q, niter, M):  # noqa: N803
    """An orthonormal (*, m, q) basis of the range of ``A - M`` (algorithm 4.4)."""

    def times(left, right):  # (left - M-part) @ right, with the left factor A or A^T
        return left(A) @ right if M is None else left(A) @ right - left(M) @ right

    def same(B):
        return B

    Q = qr(times(same, randn(A.shape[-1], q, dtype=A.dtype)))[0]
    for _ in range(niter):
        Q = qr(times(_mh, Q))[0]
        Q = qr(times(same, Q))[0]
    return Q


def _check(name, A, q, niter):  # noqa: N803
    if tensor_input(name, A, "A").ndim < 2 or A.dtype.kind != "f":
        raise ValueError(f"{name}: A must be floating-point matrices (*, m, n), got shape "
                         f"{tuple(A.shape)}, dtype {A.dtype}")
    for arg, v in (("q", q), ("niter", niter)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ValueError(f"{name}: {arg} must be a nonnegative int, got {v!r}")


def svd_lowrank(A, q=6, niter=2, M=None) -> tuple:  # noqa: N803 - PyTorch's names
    """``(U, S, V)`` with ``A - M ~ U diag(S) V^T`` of rank ``q`` (6 by default), by the randomized
    range finder with ``niter`` subspace iterations (2 by default)."""
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    _check("svd_lowrank", A, q, niter)
    if M is not None:
        M = tensor_input("svd_lowrank", M, "M").broadcast_to(tuple(A.shape))
    m, n = A.shape[-2:]
    if m < n:  # work on the tall one
        A, M = _mh(A), None if M is None else _mh(M)
    Q = _basis(A, q, niter, M)
    B = _mh(Q) @ A if M is None else _mh(Q) @ A - _mh(Q) @ M
    U, S, Vh = svd(B, full_matrices=False)
    U, V = Q @ U, _mh(Vh)
    return (V, S, U) if m < n else (U, S, V)


def pca_lowrank(A, q=None, center: bool = True, niter: int = 2) -> tuple:  # noqa: N803
    """``svd_lowrank`` of ``A`` with its column means removed (``center``): ``(U, S, V)``, the
    principal directions in ``V``; ``q`` defaults to ``min(6, m, n)``."""
    _check("pca_lowrank", A, 0 if q is None else q, niter)
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif q > min(m, n):
        raise ValueError(f"pca_lowrank: q(={q}) must be non-negative integer and not greater "
                         f"than min(m, n)={min(m, n)}")
    if center:
        A = A - A.mean(dim=-2, keepdim=True)
    return svd_lowrank(A, q, niter=niter)


class HistogramddResult(NamedTuple):
    """``histogramdd``'s (hist, bin_edges), as ``torch.return_types.histogramdd``."""

    hist: Tensor
    bin_edges: tuple


def histogramdd(input, bins, *, range=None, weight=None, density: bool = False,  # noqa: A002
                out=None):
    """The D-dimensional histogram of the points in the rows of ``input`` (*, D): ``bins`` an int,
    one int per dimension, or one 1-D tensor of edges per dimension; ``range`` the flat
    ``[min_0, max_0, min_1, ...]``; optional ``weight`` per point; ``density`` normalizes.
    Not differentiable."""
    no_out("histogramdd", out)
    if tensor_input("histogramdd", input).ndim < 1 or input.dtype.kind != "f":
        raise ValueError(f"histogramdd: input must be floating point (*, D), got shape "
                         f"{tuple(input.shape)}, dtype {input.dtype}")
    d = input.shape[-1]
    points = input._data.reshape(-1, d)
    xp = get_array_module(points)
    bins = list(bins) if isinstance(bins, (list, tuple)) else [bins] * d
    if len(bins) != d:
        raise ValueError(f"histogramdd: bins must give one entry per dimension ({d}), got "
                         f"{len(bins)}")
    pairs = [None] * d
    if range is not None:
        if len(range) != 2 * d:
            raise ValueError(f"histogramdd: range must hold 2 * {d} numbers (min, max per "
                             f"dimension), got {len(range)}")
        pairs = list(zip(map(float, range[0::2]), map(float, range[1::2]), strict=True))
    searches = ["local"] * d
    for k, b in enumerate(bins):
        if isinstance(b, Tensor):
            bins[k], searches[k] = b._data, "edges"
            check_edges("histogramdd", bins[k])
            check_dtype("histogramdd", f"bins[{k}]", bins[k], input.dtype)
        elif isinstance(b, numbers.Integral) and not isinstance(b, bool) and b > 0:
            lo, hi = outer_edges("histogramdd", points[:, k], pairs[k])
            bins[k] = xp.asarray(width_edges("histogramdd", lo, hi, int(b), points.dtype))
        else:
            raise ValueError(f"histogramdd: bins must be positive ints or 1-D tensors of "
                             f"edges, got {b!r} for dimension {k}")
    w = None
    if weight is not None:
        if tuple(tensor_input("histogramdd", weight, "weight").shape) != tuple(input.shape[:-1]):
            raise ValueError(f"histogramdd: weight must have shape {tuple(input.shape[:-1])}, "
                             f"got {tuple(weight.shape)}")
        w = weight._data.reshape(-1)
        check_dtype("histogramdd", "weight", w, input.dtype)
    bins = [b.astype(input.dtype) for b in bins]
    hist = count(xp, points, bins, w, bool(density), input.dtype, searches)
    return HistogramddResult(Tensor(hist), tuple(Tensor(e) for e in bins))


def nonzero_static(input, *, size: int, fill_value: int = -1) -> Tensor:  # noqa: A002
    """``nonzero(input)`` cut or padded (with ``fill_value`` rows) to exactly ``size`` rows."""
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 0:
        raise ValueError(f"nonzero_static: size must be a nonnegative int, got {size!r}")
    xp = get_array_module(tensor_input("nonzero_static", input)._data)

    def pick(a):
        found = xp.stack(xp.nonzero(a), axis=1)[:size] if a.ndim else xp.zeros(
            (int(a != 0), 0), xp.int64)[:size]
        pad = xp.full((size - found.shape[0], a.ndim), fill_value, xp.int64)
        return xp.concatenate([found.astype(xp.int64), pad])

    return nondiff(pick, input)


Tensor.nonzero_static = lambda self, *, size, fill_value=-1: nonzero_static(
    self, size=size, fill_value=fill_value)
Tensor.igamma = lambda self, other: gammainc(self, other)
Tensor.igammac = lambda self, other: gammaincc(self, other)
