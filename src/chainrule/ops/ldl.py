"""PyTorch's ``linalg.ldl_factor``, ``ldl_factor_ex`` and ``ldl_solve``: A = L D L^T for
symmetric, possibly indefinite A, with Bunch-Kaufman pivoting (LAPACK's ``sytf2``, lower; for
complex A, ``zsytf2``'s: entries sized by |Re| + |Im|; A = L D L^H with ``hermitian=True``,
``zhetf2``'s: a real diagonal, conjugates in the updates and solves).

D is block diagonal with 1x1 and 2x2 blocks; L is unit lower-triangular up to the interchanges.
Both are packed into LD as LAPACK's ``sytrf`` packs them: D's blocks on the diagonal (a 2x2
block's off-diagonal entry just below it), L's multipliers below. ``pivots`` (int32, 1-based)
says, for step k, ``p > 0``: a 1x1 block, rows and columns k and p were swapped; ``-p`` at k and
k+1: a 2x2 block, rows and columns k+1 and p were swapped. Only the lower triangle of A is read.
The interchanges of a step apply to the rows still to be factored, not to L's earlier columns, so
L is ``P_1 L_1 P_2 L_2 ...``, as in LAPACK. ``ldl_solve`` undoes them in LAPACK's order
(``sytrs``). There is no gradient, as in PyTorch (where backward raises too).
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import asnumpy, get_array_module, numpy
from .shape import broadcast_to

__all__ = ["ldl_factor", "ldl_factor_ex", "ldl_solve"]

_ALPHA = (1 + 17 ** 0.5) / 8  # Bunch-Kaufman's threshold: it bounds the growth of the entries


class LDLFactorResult(NamedTuple):
    LD: object  # noqa: N815 - PyTorch's field names
    pivots: object


class LDLFactorExResult(NamedTuple):
    LD: object  # noqa: N815
    pivots: object
    info: object


def _swap(w, i, j) -> None:
    """Swap rows and columns i and j of the symmetric working block ``w``."""
    w[[i, j]] = w[[j, i]]
    w[:, [i, j]] = w[:, [j, i]]


def _size(x):
    """LAPACK's size of an entry: |x|, |Re x| + |Im x| for a complex one (zsytf2's CABS1)."""
    return numpy.abs(x.real) + numpy.abs(x.imag) if numpy.iscomplexobj(x) else numpy.abs(x)


def _pivot(w, k, n, herm=False):
    """Bunch-Kaufman's choice at step k (0-based): (block size, row to swap in, zero pivot)."""
    absakk = abs(w[k, k].real) if herm else _size(w[k, k])
    imax = k + 1 + int(numpy.argmax(_size(w[k + 1:, k]))) if k + 1 < n else k
    colmax = _size(w[imax, k]) if k + 1 < n else 0.0
    if max(absakk, colmax) == 0 or numpy.isnan(absakk):
        return 1, k, True
    if absakk >= _ALPHA * colmax:
        return 1, k, False
    others = _size(numpy.concatenate([w[imax, k:imax], w[imax + 1:, imax]]))
    rowmax = others.max()
    if absakk >= _ALPHA * colmax * (colmax / rowmax):
        return 1, k, False
    if (abs(w[imax, imax].real) if herm else _size(w[imax, imax])) >= _ALPHA * rowmax:
        return 1, imax, False
    return 2, imax, False


def _factor(a, herm=False):
    """(LD, pivots, info) of one matrix (a NumPy array), from its lower triangle; ``herm``: of a
    complex Hermitian one (zhetf2: a real diagonal, conjugates in the updates)."""
    n = a.shape[-1]
    cj = numpy.conj if herm else (lambda v: v)
    w = numpy.tril(a) + cj(numpy.tril(a, -1).T)  # the interchanges are row+column swaps
    if herm:
        w[range(n), range(n)] = w.diagonal().real
    ipiv = numpy.zeros(n, dtype=numpy.int32)
    info, k = 0, 0
    while k < n:
        step, p, zero = _pivot(w, k, n, herm)
        if zero and not info:
            info = k + 1
        last = k + step - 1
        if p != last:
            _swap(w[k:, k:], last - k, p - k)
        if zero:
            pass
        elif step == 1 and k + 1 < n:
            x = w[k + 1:, k] / w[k, k]
            w[k + 1:, k + 1:] -= numpy.outer(w[k + 1:, k], cj(x))
            w[k + 1:, k] = x
        elif step == 2 and k + 2 < n:
            d21 = abs(w[k + 1, k]) if herm else w[k + 1, k]
            d11, d22 = w[k + 1, k + 1] / d21, w[k, k] / d21
            t = 1 / (d11 * d22 - 1) / d21
            u = w[k + 1, k] / d21  # 1, or zhetf2's phase of the off-diagonal entry
            ck, ck1 = w[k + 2:, k].copy(), w[k + 2:, k + 1].copy()
            wk, wk1 = t * (d11 * ck - u * ck1), t * (d22 * ck1 - cj(u) * ck)
            w[k + 2:, k + 2:] -= numpy.outer(ck, cj(wk)) + numpy.outer(ck1, cj(wk1))
            if herm:
                w[range(k + 2, n), range(k + 2, n)] = w.diagonal()[k + 2:].real
            w[k + 2:, k], w[k + 2:, k + 1] = wk, wk1
        ipiv[k:k + step] = p + 1 if step == 1 else -(p + 1)
        k += step
    return numpy.tril(w), ipiv, numpy.int32(info)


def _solve(ld, ipiv, b, herm=False):
    """X with A X = B from one matrix's (LD, pivots), as LAPACK's sytrs (hetrs for ``herm``)."""
    n, x = ld.shape[-1], b.copy()
    cj = numpy.conj if herm else (lambda v: v)
    k = 0
    while k < n:  # L D Y = B, interchanges first
        p = abs(int(ipiv[k])) - 1
        if ipiv[k] > 0:
            x[[k, p]] = x[[p, k]]
            x[k + 1:] -= numpy.outer(ld[k + 1:, k], x[k])
            x[k] /= ld[k, k]
            k += 1
            continue
        x[[k + 1, p]] = x[[p, k + 1]]
        x[k + 2:] -= numpy.outer(ld[k + 2:, k], x[k]) + numpy.outer(ld[k + 2:, k + 1], x[k + 1])
        off = ld[k + 1, k]
        akm1, ak = ld[k, k] / cj(off), ld[k + 1, k + 1] / off
        bkm1, bk = x[k] / cj(off), x[k + 1] / off
        denom = akm1 * ak - 1
        x[k], x[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
        k += 2
    k = n - 1
    while k >= 0:  # L^T X = Y, interchanges last
        step = 1 if ipiv[k] > 0 else 2
        for j in range(k, k - step, -1):
            x[j] -= cj(ld[k + 1:, j]) @ x[k + 1:]
        p = abs(int(ipiv[k])) - 1
        x[[k, p]] = x[[p, k]]
        k -= step
    return x


class _LDL(Function):
    """``kernel`` (``_factor`` or ``_solve``) on every matrix of a batch, on the host; no
    gradient (PyTorch's neither: its backward raises too)."""

    def forward(self, *arrays):
        xp = get_array_module(*arrays)
        host = [asnumpy(a) for a in arrays]
        outs = None
        for idx in numpy.ndindex(*host[0].shape[:-2]):
            got = self.kernel(*[h[idx] for h in host])
            got = got if isinstance(got, tuple) else (got,)
            if outs is None:
                outs = [numpy.empty(host[0].shape[:-2] + numpy.shape(g), numpy.asarray(g).dtype)
                        for g in got]
            for o, g in zip(outs, got):
                o[idx] = g
        outs = tuple(xp.asarray(o) for o in outs)
        return outs if len(outs) > 1 else outs[0]

    def backward(self, *grads):
        raise NotImplementedError(f"{self.op}: the gradient is not implemented (nor is it in "
                                  f"PyTorch); detach its inputs, or use linalg.solve, which has "
                                  f"one")


def _empty_batch(*tensors) -> bool:
    return any(0 in t.shape[:-2] for t in tensors)


def _check(op, name, t, hermitian):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise ValueError(f"{op}: {name} must be square matrices (*, n, n), got shape {t.shape}")
    if t.dtype.kind not in "fc":
        raise TypeError(f"{op}: {name} must be floating point or complex, got dtype {t.dtype}")
    if not isinstance(hermitian, bool):
        raise TypeError(f"{op}: hermitian must be a bool, got {hermitian!r}")


def ldl_factor_ex(A, *, hermitian: bool = False, check_errors: bool = False):  # noqa: N803
    """(LD, pivots, info) of each symmetric matrix of ``A`` (*, n, n), read from its lower
    triangle (``hermitian`` changes nothing for real matrices). ``info`` is the first step
    (1-based) whose block of D is zero (0: none); ``check_errors`` raises for it."""
    _check("ldl_factor_ex", "A", A, hermitian)
    if _empty_batch(A):  # no matrix to factor: empty results of the right shapes
        xp = get_array_module(A._data)
        return LDLFactorExResult(A.detach() * 0, Tensor(xp.zeros(A.shape[:-1], xp.int32)),
                                 Tensor(xp.zeros(A.shape[:-2], xp.int32)))
    herm = hermitian and A.dtype.kind == "c"
    ld, pivots, info = _LDL.apply(A, kernel=lambda a: _factor(a, herm), op="ldl_factor")
    if check_errors and bool((info._data != 0).any()):
        raise ValueError(f"ldl_factor_ex: D's block at step {int(info._data.max())} is zero: the "
                         "matrix is singular")
    return LDLFactorExResult(ld, pivots, info)


def ldl_factor(A, *, hermitian: bool = False):  # noqa: N803
    """(LD, pivots) as ``ldl_factor_ex``; a singular matrix (a zero block of D, on which
    ``ldl_solve`` would divide by zero) raises ValueError (``ldl_factor_ex`` factorizes it)."""
    ld, pivots, info = ldl_factor_ex(A, hermitian=hermitian)
    if bool((info._data != 0).any()):
        raise ValueError(f"ldl_factor: D's block at step {int(info._data.max())} is zero: the "
                         "matrix is singular (ldl_factor_ex factorizes it anyway)")
    return LDLFactorResult(ld, pivots)


def ldl_solve(LD, pivots, B, *, hermitian: bool = False):  # noqa: N803
    """X with A X = B from ``ldl_factor``'s (LD, pivots) of A; B is (*, n, k), its batch axes
    broadcast with LD's.

    >>> import chainrule as cr
    >>> a = cr.tensor([[0.0, 1.0], [1.0, 0.0]])  # indefinite: a 2x2 block of D
    >>> ld, pivots = cr.linalg.ldl_factor(a)
    >>> pivots.tolist(), ldl_solve(ld, pivots, cr.tensor([[2.0], [3.0]])).tolist()
    ([-2, -2], [[3.0], [2.0]])
    """
    _check("ldl_solve", "LD", LD, hermitian)
    n = LD.shape[-1]
    if not isinstance(pivots, Tensor) or pivots.dtype.kind not in "iu" or (
            pivots.shape != LD.shape[:-1]):
        raise ValueError(f"ldl_solve: pivots must be an integer Tensor of shape "
                         f"{LD.shape[:-1]} (ldl_factor's), got "
                         f"{getattr(pivots, 'shape', type(pivots).__name__)}")
    piv = asnumpy(pivots._data).astype(numpy.int64)
    if ((piv == 0) | (abs(piv) > n)).any():
        raise ValueError(f"ldl_solve: pivots must lie in [-{n}, -1] or [1, {n}], got "
                         f"{sorted(set(piv.ravel().tolist()))}")
    if not isinstance(B, Tensor) or B.ndim < 2 or B.shape[-2] != n:
        raise ValueError(f"ldl_solve: B must be (*, {n}, k) for LD of shape {LD.shape}, got "
                         f"{getattr(B, 'shape', type(B).__name__)}")
    if B.dtype != LD.dtype:
        raise TypeError(f"ldl_solve: B's dtype {B.dtype} differs from LD's {LD.dtype}")
    try:
        batch = numpy.broadcast_shapes(LD.shape[:-2], B.shape[:-2])
    except ValueError:
        raise ValueError(f"ldl_solve: the batch shapes of LD {LD.shape} and B {B.shape} do not "
                         "broadcast") from None
    xp = get_array_module(LD._data)
    pv = Tensor(xp.broadcast_to(pivots._data, batch + (n,)))
    ld, b = broadcast_to(LD, batch + (n, n)), broadcast_to(B, batch + B.shape[-2:])
    if _empty_batch(ld, b):
        return b.detach() * 0
    herm = hermitian and LD.dtype.kind == "c"
    return _LDL.apply(ld, pv, b, kernel=lambda *m: _solve(*m, herm), op="ldl_solve")
