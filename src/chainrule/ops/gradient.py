"""``gradient``: PyTorch's (and NumPy's) finite-difference estimate of a sampled function's
derivatives, one tensor per dimension.

Inside, the second-order central difference, which for coordinates ``x`` with steps
``hl = x[i] - x[i-1]`` and ``hr = x[i+1] - x[i]`` is
``(-hr / (hl (hl + hr))) f[i-1] + ((hr - hl) / (hl hr)) f[i] + (hl / (hr (hl + hr))) f[i+1]``;
at the two ends one-sided differences of order ``edge_order`` (1 or 2). It is composed of
chainrule ops (slices, products, ``cat``), so it is differentiable in the values and in
coordinate tensors.
"""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from .join import concat
from .methods import narrow
from .shape import normalize_axis, reshape

__all__ = ["gradient"]


def _spacings(spacing, dims, ndim):
    """One entry per dim: a number (uniform step) or a 1-D coordinate Tensor."""
    if isinstance(spacing, (numbers.Real, Tensor)) and not (
            isinstance(spacing, Tensor) and spacing.ndim == 1):
        step = spacing.item() if isinstance(spacing, Tensor) else spacing
        return [step] * len(dims)
    if not isinstance(spacing, (list, tuple)):
        raise TypeError(f"gradient: spacing must be a number, a list of numbers or a list of 1-D "
                        f"coordinate tensors, got {type(spacing).__name__}")
    if len(spacing) != len(dims):
        raise ValueError(f"gradient: spacing must hold one entry per dimension differentiated "
                         f"({len(dims)}: " + ("dim was not given, so input.ndim" if len(dims) ==
                                             ndim else "the length of dim") +
                         f"), got {len(spacing)}")
    kinds = {isinstance(s, Tensor) for s in spacing}
    if len(kinds) > 1 or not all(isinstance(s, (numbers.Real, Tensor)) for s in spacing):
        raise TypeError(f"gradient: spacing's entries must be all numbers or all tensors, got "
                        f"{[type(s).__name__ for s in spacing]}")
    return list(spacing)


def _along(t, axis, start, length):
    return narrow(t, axis, start, length)


def _column(c, axis, ndim):
    """A 1-D tensor of coefficients shaped to broadcast along ``axis``."""
    return reshape(c, (-1,) + (1,) * (ndim - 1 - axis))


def _uniform(f, axis, h, n, edge_order):
    inner = (_along(f, axis, 2, n - 2) - _along(f, axis, 0, n - 2)) / (2.0 * h)
    f0, f1, fl, fm = (_along(f, axis, i, 1) for i in (0, 1, n - 1, n - 2))
    if edge_order == 1:
        first, last = (f1 - f0) / h, (fl - fm) / h
    else:
        f2, fk = _along(f, axis, 2, 1), _along(f, axis, n - 3, 1)
        first = (-1.5 * f0 + 2 * f1 - 0.5 * f2) / h  # 2 * int8 wraps, as in PyTorch
        last = (0.5 * fk - 2 * fm + 1.5 * fl) / h
    return concat([first, inner, last], axis)


def _coordinates(f, axis, x, n, edge_order):
    ndim = f.ndim  # integer coordinates: their quotients in the default dtype, as PyTorch's
    hl = x[1:-1] - x[:-2]
    hr = x[2:] - x[1:-1]
    a = _column(-hr / (hl * (hl + hr)), axis, ndim)
    b = _column((hr - hl) / (hl * hr), axis, ndim)
    c = _column(hl / (hr * (hl + hr)), axis, ndim)
    inner = a * _along(f, axis, 0, n - 2) + b * _along(f, axis, 1, n - 2) + c * _along(
        f, axis, 2, n - 2)
    f0, f1, fl, fm = (_along(f, axis, i, 1) for i in (0, 1, n - 1, n - 2))
    if edge_order == 1:
        first, last = (f1 - f0) / (x[1] - x[0]), (fl - fm) / (x[-1] - x[-2])
    else:
        f2, fk = _along(f, axis, 2, 1), _along(f, axis, n - 3, 1)
        d1, d2 = x[1] - x[0], x[2] - x[1]
        first = (-(2.0 * d1 + d2) / (d1 * (d1 + d2)) * f0 + (d1 + d2) / (d1 * d2) * f1
                 - d1 / (d2 * (d1 + d2)) * f2)
        d1, d2 = x[-2] - x[-3], x[-1] - x[-2]
        last = (d2 / (d1 * (d1 + d2)) * fk - (d1 + d2) / (d1 * d2) * fm
                + (2.0 * d2 + d1) / (d2 * (d1 + d2)) * fl)
    return concat([first, inner, last], axis)


def gradient(input, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:  # noqa: A002
    """The derivatives of the function sampled in ``input`` along each dimension of ``dim``
    (all, by default), as a tuple of tensors of ``input``'s shape.

    Args:
        input: the samples; an integer tensor is taken in the default float dtype (a complex
            one stays complex).
        spacing: the distance between samples: a number for every dimension, a list of numbers
            (one per dimension differentiated), or a list of 1-D tensors holding each dimension's
            coordinates (as long as that dimension).
        dim: an int or a list of ints; None differentiates along every dimension.
        edge_order: 1 or 2, the order of the one-sided differences at the ends (the inside is
            always second order).

    >>> import chainrule as cr
    >>> cr.gradient(cr.tensor([1.0, 2.0, 4.0, 8.0]))[0].tolist()
    [1.0, 1.5, 3.0, 4.0]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"gradient: input must be a Tensor, got {type(input).__name__}")
    if edge_order not in (1, 2) or isinstance(edge_order, bool):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order!r}")
    if input.dtype == "bool":  # PyTorch's differences of bools fail, too
        raise TypeError("gradient: input must be a number tensor, got a bool one")
    if input.ndim == 0:
        raise ValueError("gradient: input must have at least one dimension, got a 0-d tensor")
    f = input  # an integer one meets float steps in the ops, which promote as PyTorch's
    if dim is None:
        dims = list(range(f.ndim))
    else:
        given = list(dim) if isinstance(dim, (list, tuple)) else [dim]
        dims = [normalize_axis("gradient", d, f.ndim)[0] for d in given]
        if len(set(dims)) != len(dims):
            raise ValueError(f"gradient: dim {dim!r} names a dimension more than once")
    steps = _spacings(spacing, dims, f.ndim)
    out = []
    for axis, step in zip(dims, steps):
        n = f.shape[axis]
        if n < edge_order + 1:
            raise ValueError(f"gradient: every dimension differentiated must have at least "
                             f"edge_order + 1 = {edge_order + 1} samples, got size {n} along "
                             f"dimension {axis} (shape {tuple(f.shape)})")
        if isinstance(step, Tensor):
            if step.ndim != 1 or step.shape[0] != n:
                raise ValueError(f"gradient: the coordinates of dimension {axis} must be a 1-D "
                                 f"tensor of its length {n}, got shape {tuple(step.shape)}")
            out.append(_coordinates(f, axis, step, n, edge_order))
        else:
            out.append(_uniform(f, axis, float(step), n, edge_order))
    return tuple(out)
