"""The orthogonal polynomials of ``torch.special``: Chebyshev T, U, V, W (and their shifted forms
on [0, 1]), Hermite H (physicists') and He (probabilists'), Laguerre L and Legendre P, of degree
``n`` at ``x``, by their three-term recurrences (Abramowitz & Stegun 22.7; Mason & Handscomb,
"Chebyshev Polynomials", 1.2 for V and W)::

    T: T0 = 1, T1 = x          U: U1 = 2x      V: V1 = 2x - 1      W: W1 = 2x + 1
       Y(k+1) = 2x Y(k) - Y(k-1)                   (the four Chebyshev kinds)
    H: H1 = 2x,   H(k+1) = 2x H(k) - 2k H(k-1)
    He: He1 = x,  He(k+1) = x He(k) - k He(k-1)
    L: L1 = 1 - x,  L(k+1) = ((2k + 1 - x) L(k) - k L(k-1)) / (k + 1)
    P: P1 = x,    P(k+1) = ((2k + 1) x P(k) - k P(k-1)) / (k + 1)

and, as PyTorch computes them, for the Chebyshev kinds at |x| < 1 and degrees above 6 (T) or 8
(U, V, W) their trigonometric forms with theta = arccos x::

    T = cos(n theta)   U = sin((n+1) theta) / sin(theta)
    V = cos((n+1/2) theta) / cos(theta/2)      W = sin((n+1/2) theta) / sin(theta/2)

The shifted ones are T*(x) = T(2x - 1) and so on. As in PyTorch: ``n`` is truncated to an
integer (a float 2.5 is degree 2), a negative (or NaN) degree gives 0, and the results have no
gradient (PyTorch defines none; the result is a constant). The recurrence runs to the largest
degree it is asked for (stopping early where all that is left has become NaN), so its cost grows
with ``n``; degrees above 1e5 that need it (and do not turn NaN) raise a ValueError rather than
run for minutes.
"""

from __future__ import annotations

from ..autograd.function import nondiff
from ..autograd.promotion import result_type, true_divide_dtype
from ..autograd.tensor import Tensor
from ..backend import get_array_module

__all__ = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
           "chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
           "laguerre_polynomial_l", "legendre_polynomial_p", "shifted_chebyshev_polynomial_t",
           "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w"]

_INT64_LIMIT = 2.0**63
_MAX_DEGREE = 10**5
_NAN_HORIZON = 8192  # a degree above _MAX_DEGREE runs this far, to see whether it turns NaN


def _degrees(xp, n):
    """``n`` as int64, as a C cast gives it (truncated; NaN and out-of-range values: -1)."""
    if n.dtype.kind in "biu":
        return n.astype(xp.int64)
    ok = xp.isfinite(n) & (xp.abs(n) < _INT64_LIMIT)
    return xp.where(ok, xp.trunc(xp.where(ok, n, 0)), -1).astype(xp.int64)


def _recurrence(xp, x, n, first, step, skip=None):
    """Y(n) from Y0 = 1, Y1 = ``first`` and Y(k+1) = ``step(q, p, k)`` (q = Y(k), p = Y(k-1));
    where ``skip`` is True the caller has the value another way (no steps run for it)."""
    p, q = xp.ones_like(x), first
    out = xp.where(n == 0, p, q)
    todo = n if skip is None else xp.where(skip, 0, n)
    top = int(todo.max()) if todo.size else 0
    k = 0
    for k in range(1, top):
        r = step(q, p, k)
        p, q = q, r
        out = xp.where(n == k + 1, q, out)
        if k % 64 == 0:
            left = todo > k + 1
            if not left.any() or xp.isnan(q[left]).all():
                break  # done, or what is left is NaN (inf - inf) and stays NaN
            if top > _MAX_DEGREE and k >= _NAN_HORIZON:
                raise ValueError(f"degree n = {top} needs {top} steps of the recurrence; "
                                 f"degrees above {_MAX_DEGREE} are not supported")
    return xp.where(todo > k + 1, xp.nan, out)


def _chebyshev(kind: str, xp, x, n):
    """The Chebyshev polynomial of ``kind`` ("t", "u", "v", "w") at ``x`` (float64)."""
    two_x = x + x
    first = {"t": x, "u": two_x, "v": two_x - 1, "w": two_x + 1}[kind]
    trig_ok = (n > (6 if kind == "t" else 8)) & (xp.abs(x) < 1)
    out = _recurrence(xp, x, n, first, lambda q, p, k: two_x * q - p,
                      skip=trig_ok | (xp.abs(x) == 1))
    with xp.errstate(all="ignore"):
        theta = xp.arccos(xp.clip(x, -1.0, 1.0))
        m = n.astype(x.dtype)
        trig = {"t": lambda: xp.cos(m * theta),
                "u": lambda: xp.sin((m + 1) * theta) / xp.sin(theta),
                "v": lambda: xp.cos((m + 0.5) * theta) / xp.cos(theta / 2),
                "w": lambda: xp.sin((m + 0.5) * theta) / xp.sin(theta / 2)}[kind]()
    out = xp.where(trig_ok, trig, out)
    # At x = +-1 the values are exact integers: T, U, V, W(1) = 1, n + 1, 1, 2n + 1, and
    # (-1)^n times 1, n + 1, 2n + 1, 1 at x = -1.
    sign = xp.where(n % 2 == 0, 1.0, -1.0)
    at_one = {"t": 1.0, "u": m + 1, "v": 1.0, "w": 2 * m + 1}[kind]
    at_minus = sign * {"t": 1.0, "u": m + 1, "v": 2 * m + 1, "w": 1.0}[kind]
    out = xp.where(x == 1, at_one, xp.where(x == -1, at_minus, out))
    return out


def _hermite_h(xp, x, n):
    two_x = x + x
    return _recurrence(xp, x, n, two_x, lambda q, p, k: two_x * q - (2 * k) * p)


def _hermite_he(xp, x, n):
    return _recurrence(xp, x, n, x, lambda q, p, k: x * q - k * p)


def _laguerre(xp, x, n):
    one_minus = 1 - x
    out = _recurrence(xp, x, n, one_minus,
                      lambda q, p, k: ((k + k + one_minus) * q - k * p) / (k + 1))
    return xp.where(x == 0, 1.0, out)


def _legendre(xp, x, n):
    out = _recurrence(xp, x, n, x, lambda q, p, k: ((k + k + 1) * x * q - k * p) / (k + 1))
    sign = xp.where(n % 2 == 0, 1.0, -1.0)
    return xp.where(x == 1, 1.0, xp.where(x == -1, sign, out))


def _polynomial(op: str, kernel, x, n, shifted: bool = False):
    if not isinstance(x, Tensor) and not isinstance(n, Tensor):
        raise TypeError(f"{op}: expected at least one Tensor among input and n, got "
                        f"{type(x).__name__} and {type(n).__name__}")
    for name, value in (("input", x), ("n", n)):
        if not isinstance(value, Tensor) and (isinstance(value, bool) or
                                              not isinstance(value, (int, float))):
            raise TypeError(f"{op}: {name} must be a Tensor or a number, got "
                            f"{type(value).__name__}")
    xp = get_array_module(*[t._data for t in (x, n) if isinstance(t, Tensor)])
    dtype = true_divide_dtype(result_type(x, n))  # PyTorch's promotion; integers: float32
    x, n = (t if isinstance(t, Tensor) else Tensor(xp.asarray(t)) for t in (x, n))
    if n.dtype.kind not in "biuf" or x.dtype.kind not in "biuf":
        raise TypeError(f"{op}: input and n must be real numbers, got dtypes {x.dtype} and "
                        f"{n.dtype}")
    try:
        xp.broadcast_shapes(x.shape, n.shape)
    except ValueError:
        raise ValueError(f"{op}: input of shape {x.shape} and n of shape {n.shape} do not "
                         "broadcast") from None

    def compute(xa, na):
        shape = xp.broadcast_shapes(xa.shape, na.shape)
        xa = xp.broadcast_to(xa.astype(xp.float64), shape)
        degrees = xp.broadcast_to(_degrees(xp, na), shape)
        if shifted:
            xa = xa + xa - 1
        with xp.errstate(all="ignore"):
            try:
                out = kernel(xp, xa, degrees)
            except ValueError as error:
                raise ValueError(f"{op}: {error}") from None
        return xp.where(degrees < 0, 0.0, out).astype(dtype)

    return nondiff(compute, x, n)


def chebyshev_polynomial_t(input, n, *, out=None):  # noqa: A002 - PyTorch's names
    """The Chebyshev polynomial of the first kind T_n(x) (no gradient, as PyTorch's)."""
    _no_out("chebyshev_polynomial_t", out)
    return _polynomial("chebyshev_polynomial_t", _kind("t"), input, n)


def chebyshev_polynomial_u(input, n, *, out=None):  # noqa: A002
    """The Chebyshev polynomial of the second kind U_n(x) (no gradient)."""
    _no_out("chebyshev_polynomial_u", out)
    return _polynomial("chebyshev_polynomial_u", _kind("u"), input, n)


def chebyshev_polynomial_v(input, n, *, out=None):  # noqa: A002
    """The Chebyshev polynomial of the third kind V_n(x) (no gradient)."""
    _no_out("chebyshev_polynomial_v", out)
    return _polynomial("chebyshev_polynomial_v", _kind("v"), input, n)


def chebyshev_polynomial_w(input, n, *, out=None):  # noqa: A002
    """The Chebyshev polynomial of the fourth kind W_n(x) (no gradient)."""
    _no_out("chebyshev_polynomial_w", out)
    return _polynomial("chebyshev_polynomial_w", _kind("w"), input, n)


def shifted_chebyshev_polynomial_t(input, n, *, out=None):  # noqa: A002
    """T*_n(x) = T_n(2x - 1), the first kind on [0, 1] (no gradient)."""
    _no_out("shifted_chebyshev_polynomial_t", out)
    return _polynomial("shifted_chebyshev_polynomial_t", _kind("t"), input, n, shifted=True)


def shifted_chebyshev_polynomial_u(input, n, *, out=None):  # noqa: A002
    """U*_n(x) = U_n(2x - 1) (no gradient)."""
    _no_out("shifted_chebyshev_polynomial_u", out)
    return _polynomial("shifted_chebyshev_polynomial_u", _kind("u"), input, n, shifted=True)


def shifted_chebyshev_polynomial_v(input, n, *, out=None):  # noqa: A002
    """V*_n(x) = V_n(2x - 1) (no gradient)."""
    _no_out("shifted_chebyshev_polynomial_v", out)
    return _polynomial("shifted_chebyshev_polynomial_v", _kind("v"), input, n, shifted=True)


def shifted_chebyshev_polynomial_w(input, n, *, out=None):  # noqa: A002
    """W*_n(x) = W_n(2x - 1) (no gradient)."""
    _no_out("shifted_chebyshev_polynomial_w", out)
    return _polynomial("shifted_chebyshev_polynomial_w", _kind("w"), input, n, shifted=True)


def hermite_polynomial_h(input, n, *, out=None):  # noqa: A002
    """The physicists' Hermite polynomial H_n(x) (no gradient)."""
    _no_out("hermite_polynomial_h", out)
    return _polynomial("hermite_polynomial_h", _hermite_h, input, n)


def hermite_polynomial_he(input, n, *, out=None):  # noqa: A002
    """The probabilists' Hermite polynomial He_n(x) (no gradient)."""
    _no_out("hermite_polynomial_he", out)
    return _polynomial("hermite_polynomial_he", _hermite_he, input, n)


def laguerre_polynomial_l(input, n, *, out=None):  # noqa: A002
    """The Laguerre polynomial L_n(x) (no gradient)."""
    _no_out("laguerre_polynomial_l", out)
    return _polynomial("laguerre_polynomial_l", _laguerre, input, n)


def legendre_polynomial_p(input, n, *, out=None):  # noqa: A002
    """The Legendre polynomial P_n(x) (no gradient)."""
    _no_out("legendre_polynomial_p", out)
    return _polynomial("legendre_polynomial_p", _legendre, input, n)


def _kind(kind: str):
    return lambda xp, x, n: _chebyshev(kind, xp, x, n)


def _no_out(op: str, out) -> None:
    if out is not None:
        raise TypeError(f"{op}: out= is not supported; use the returned tensor")
