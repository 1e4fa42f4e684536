"""PyTorch's statistics, integration and legacy linear-algebra names: ``cov``, ``corrcoef``,
``renorm``, ``trapezoid``/``trapz``/``cumulative_trapezoid``, ``unravel_index``,
``nuclear_norm``, ``frobenius_norm``, and the deprecated ``torch.lu``/``torch.lu_solve``.

The differentiable ones are compositions of recorded ops (so differentiable to any order); their
formulas are PyTorch's, so the values and gradients agree with it in float64.
"""

from __future__ import annotations

import numbers
import warnings

from ..autograd.function import nondiff
from ..autograd.tensor import Tensor
from ..backend import config, get_array_module, numpy, quiet
from ._conj import cj, real_dtype
from .complex import complex as complex_
from .elementwise import cast, clip, sqrt, where
from .linalg_norms import matrix_norm
from .lu import lu_factor_ex
from .lu import lu_solve as _lu_solve
from .rearrange import cumsum
from .reduce import sum as _sum
from .shape import _one_axis, getitem, normalize_axis, reshape
from .stats import norm as _vector_norm
from .torch_names import no_out, tensor_input

__all__ = [
    "corrcoef", "cov", "cumulative_trapezoid", "frobenius_norm", "lu", "lu_solve",
    "nuclear_norm", "renorm", "trapezoid", "trapz", "unravel_index",
]


def _floating(x: Tensor) -> Tensor:
    return x if x.dtype.kind in "fc" else cast(x, config.default_dtype)  # complex stays complex


def _weights(name, w, n, kind):
    if w is None:
        return None
    if tensor_input("cov", w, name).ndim != 1 or w.shape[0] != n:
        raise ValueError(f"cov: {name} must be 1-D with one entry per observation ({n}), got "
                         f"shape {tuple(w.shape)}")
    if w.dtype.kind not in kind:
        raise TypeError(f"cov: {name} must be {'integer' if kind == 'iu' else 'floating point'}"
                        f", got dtype {w.dtype}")
    if bool((w._data < 0).any()):
        raise ValueError(f"cov: {name} must be nonnegative, got {w._data.min()}")
    return w


def cov(input, *, correction=1, fweights=None, aweights=None) -> Tensor:  # noqa: A002
    """The covariance matrix of the variables in the rows of ``input`` (one variable, a 1-D
    ``input`` or a single row, gives a 0-d result), observations in the columns, with integer
    frequency weights ``fweights``, float observation weights ``aweights`` and ``correction``
    (1: Bessel's). Fewer degrees of freedom than 1 give inf/NaN with PyTorch's warning; weights
    that sum to 0 are refused.

    >>> import chainrule as cr
    >>> cr.cov(cr.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    if tensor_input("cov", input).ndim > 2:
        raise ValueError(f"cov: input must be 1-D or 2-D (variables, observations), got shape "
                         f"{tuple(input.shape)}")
    x = _floating(input)
    x = reshape(x, (1, -1)) if x.ndim < 2 else x
    n = x.shape[1]
    fw = _weights("fweights", fweights, n, "iu")
    aw = _weights("aweights", aweights, n, "f")
    w = None if fw is None else cast(fw, x.dtype)
    if aw is not None:
        w = aw if w is None else w * aw
    if w is None:
        mean = _sum(x, 1, keepdim=True) / n
        dof = Tensor(get_array_module(x._data).asarray(n - correction, dtype=real_dtype(x.dtype)))
    else:
        total = _sum(w)
        if not bool(total._data):
            raise ValueError("cov: the weights sum to 0, so they cannot be normalized")
        mean = _sum(x * w, 1, keepdim=True) / total
        dof = total - (correction if aw is None else correction * _sum(w * aw) / total)
    if bool(dof._data <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        dof = Tensor(get_array_module(x._data).zeros((), dtype=dof.dtype))  # PyTorch's: inf, NaN
    centered = x - mean
    weighted = centered if w is None else centered * w
    with numpy.errstate(divide="ignore", invalid="ignore"):
        out = (centered @ cj(weighted).transpose(0, 1)) / dof  # conj: complex variables
    return reshape(out, ()) if out.shape[0] == 1 else out  # one variable: 0-d, as PyTorch's


def corrcoef(input) -> Tensor:  # noqa: A002
    """Pearson's correlation coefficients of the rows of ``input`` (``cov`` over the outer
    product of the standard deviations), clipped to [-1, 1] as PyTorch clips them (a complex
    one's real and imaginary parts apart)."""
    c = cov(input)
    with quiet(get_array_module(c._data)):  # a constant row: 0 / 0, NaN without a warning
        if c.ndim == 0:
            return c / c
        d = c.diagonal()
        d = sqrt(d.real if d.dtype.kind == "c" else d)
        c = (c / d[:, None]) / d[None, :]
    if c.dtype.kind == "c":
        return complex_(clip(c.real, -1.0, 1.0), clip(c.imag, -1.0, 1.0))
    return clip(c, -1.0, 1.0)


def renorm(input, p, dim: int, maxnorm, *, out=None) -> Tensor:  # noqa: A002
    """Each slice of ``input`` along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to
    that norm (PyTorch's factor ``maxnorm / (norm + 1e-7)``); the others unchanged."""
    no_out("renorm", out)
    if tensor_input("renorm", input).dtype.kind not in "fc":  # complex: scaled by |x|'s norm
        raise TypeError(f"renorm: input must be floating point or complex, got dtype "
                        f"{input.dtype}")
    if not isinstance(p, numbers.Real) or p <= 0:
        raise ValueError(f"renorm: p must be a positive number, got {p!r}")
    if not isinstance(maxnorm, numbers.Real) or maxnorm < 0:
        raise ValueError(f"renorm: maxnorm must be a nonnegative number, got {maxnorm!r}")
    if input.ndim < 2:  # PyTorch refuses these too
        raise ValueError(f"renorm: input needs at least 2 dimensions, got shape "
                         f"{tuple(input.shape)}")
    axis = _one_axis("renorm", dim, input.ndim)
    others = tuple(a for a in range(input.ndim) if a != axis)
    norms = _vector_norm(input, p, others, True)
    factor = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * cast(factor, input.dtype)


def _spacing(name, y, x, dx, axis):
    """The widths of the intervals along ``axis``: ``diff(x)`` (1-D ``x`` along the axis, or
    ``x`` broadcasting with ``y``), or the constant ``dx`` (1 by default)."""
    if x is None:
        if isinstance(dx, Tensor) and dx.ndim == 0 and dx.dtype.kind in "iuf":
            dx = dx.item()  # PyTorch's dx is a number (a 0-d tensor is read as one)
        if isinstance(dx, (bool, complex)) or not isinstance(dx, numbers.Real | None):
            raise TypeError(f"{name}: dx must be a real number, got {dx!r}")
        return 1.0 if dx is None else dx
    if dx is not None:
        raise TypeError(f"{name}: pass x or dx, not both")
    if tensor_input(name, x, "x").dtype.kind == "b":
        raise TypeError(f"{name}: x must not be bool (PyTorch's), got dtype {x.dtype}")
    x = _floating(x)
    if x.ndim == 1:
        if x.shape[0] != y.shape[axis]:
            raise ValueError(f"{name}: x has {x.shape[0]} points, y has {y.shape[axis]} along "
                             f"dim {axis}")
        d = x[1:] - x[:-1]
        return reshape(d, (-1,) + (1,) * (y.ndim - 1 - axis))
    lo, hi = _ends(x, x.ndim + axis - y.ndim)
    return hi - lo


def _ends(t, axis):
    """``t`` without its last and without its first entry along ``axis``."""
    head = (slice(None),) * axis
    return getitem(t, head + (slice(None, -1),)), getitem(t, head + (slice(1, None),))


def _samples(name, y, dim):
    if tensor_input(name, y, "y").ndim == 0:
        raise ValueError(f"{name}: y must have at least one dimension, got a 0-d tensor")
    return _one_axis(name, dim, y.ndim)


def _floating_samples(name, y):
    if y.dtype.kind == "b":
        raise TypeError(f"{name}: y must not be bool (PyTorch's), got dtype {y.dtype}")
    return _floating(y)


def trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: the integral of ``y`` sampled at ``x`` (or at the
    constant spacing ``dx``, 1 by default). PyTorch's arithmetic: with a constant spacing,
    ``(sum(y) - (y_first + y_last) / 2) dx``; no samples integrate to zeros of y's dtype."""
    axis = _samples("trapezoid", y, dim)
    if y.shape[axis] == 0:
        return y.sum(axis).astype(y.dtype)
    y = _floating_samples("trapezoid", y)
    spacing = _spacing("trapezoid", y, x, dx, axis)
    if isinstance(spacing, Tensor):
        lo, hi = _ends(y, axis)
        return _sum((lo + hi) * spacing, axis) / 2.0
    ends = getitem(y, (slice(None),) * axis + ([0, -1],))
    return (_sum(y, axis) - _sum(ends, axis) * 0.5) * spacing


def trapz(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """``trapezoid`` (PyTorch's older name)."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one entry fewer than ``y``)."""
    axis = _samples("cumulative_trapezoid", y, dim)
    y = _floating_samples("cumulative_trapezoid", y)
    lo, hi = _ends(y, axis)
    return cumsum((lo + hi) * _spacing("cumulative_trapezoid", y, x, dx, axis) / 2.0, axis)


def unravel_index(indices, shape) -> tuple:
    """The coordinates (int64 tensors, one per axis of ``shape``) of the flat ``indices``
    (negative ones count from the end, as in PyTorch); not differentiable."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"unravel_index: indices must be a Tensor, got {type(indices).__name__}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: indices must hold integers, got dtype {indices.dtype}")
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0 for s in shape):
        raise ValueError(f"unravel_index: shape must hold nonnegative ints, got {shape}")
    total = int(numpy.prod(shape))
    xp = get_array_module(indices._data)
    idx = indices._data
    if idx.size and (int(idx.min()) < -total or int(idx.max()) >= total):
        raise IndexError(f"unravel_index: indices hold {int(idx.min())}..{int(idx.max())}, out of "
                         f"range for shape {shape} of {total} elements")
    flat = xp.where(idx < 0, idx + total, idx).astype(xp.int64)
    coords = xp.unravel_index(flat, shape) if shape else ()
    return tuple(nondiff(lambda c=c: xp.asarray(c, dtype=xp.int64)) for c in coords)


def nuclear_norm(input, dim=None, keepdim: bool = False, *, out=None) -> Tensor:  # noqa: A002
    """``torch.nuclear_norm`` (deprecated there): ``linalg.matrix_norm(input, "nuc", dim)``, over
    the last two axes of a matrix by default."""
    no_out("nuclear_norm", out)
    if isinstance(dim, bool):  # the (input, keepdim) overload
        dim, keepdim = None, dim
    if dim is None and tensor_input("nuclear_norm", input).ndim != 2:
        raise ValueError(f"nuclear_norm: input must be a matrix without dim, got shape "
                         f"{tuple(input.shape)}")
    return matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim)


def frobenius_norm(input, dim=(), keepdim: bool = False, *, out=None) -> Tensor:  # noqa: A002
    """``torch.frobenius_norm`` (deprecated there): the 2-norm of all entries over ``dim``."""
    no_out("frobenius_norm", out)
    axes = normalize_axis("frobenius_norm", dim if dim != () else None,
                          tensor_input("frobenius_norm", input).ndim)
    return _vector_norm(input, 2, axes, keepdim)


def lu(A, pivot: bool = True, get_infos: bool = False, *, out=None):  # noqa: N803
    """``torch.lu`` (deprecated there): ``(LU, pivots)`` as ``linalg.lu_factor``, and ``infos``
    (0, or the first zero pivot's 1-based position) with ``get_infos``; a singular matrix is
    factorized, not refused."""
    no_out("lu", out)
    packed, pivots, info = lu_factor_ex(A, pivot=pivot)
    return (packed, pivots, info) if get_infos else (packed, pivots)


def lu_solve(input, LU_data, LU_pivots, *, out=None) -> Tensor:  # noqa: A002, N803
    """``torch.lu_solve`` (deprecated there): X with A X = ``input`` from ``torch.lu``'s
    factors; ``linalg.lu_solve(LU_data, LU_pivots, input)``. PyTorch's keyword is ``input`` (its
    docstring says ``b``)."""
    no_out("lu_solve", out)
    return _lu_solve(LU_data, LU_pivots, input)


for _name, _fn in {"cov": lambda self, *, correction=1, fweights=None, aweights=None: cov(
        self, correction=correction, fweights=fweights, aweights=aweights),
        "corrcoef": corrcoef, "renorm": renorm, "lu": lu,
        "lu_solve": lambda self, LU_data, LU_pivots: lu_solve(self, LU_data, LU_pivots),  # noqa: N803
        }.items():
    setattr(Tensor, _name, _fn)
