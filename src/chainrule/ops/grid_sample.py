"""``affine_grid`` and ``grid_sample`` (spatial transformers), PyTorch's functions for 4-D input.

Both are compositions of recorded ops: ``affine_grid`` is a matrix product of a fixed base grid
with ``theta``; ``grid_sample`` picks the corner values by index (``gather``, whose gradient adds
up the copies) and weights them by the fractional positions, which are recorded functions of
``grid``, so the input and the grid both get gradients, to any order.
"""

from __future__ import annotations

import warnings

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .activation import _float_input
from .elementwise import where
from .indexing import gather
from .linalg import matmul
from .shape import getitem, reshape, transpose, unsqueeze

__all__ = ["affine_grid", "grid_sample"]


def _default_align(align_corners):
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                      "old behavior is desired. See the documentation of grid_sample for details.",
                      UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _line(xp, n, align_corners, dtype):
    """PyTorch's base coordinates of ``n`` pixels in [-1, 1] (pixel centres unless aligned)."""
    if n <= 1:
        return xp.zeros(max(n, 0), dtype=dtype)
    line = xp.linspace(-1.0, 1.0, n).astype(dtype)
    return line if align_corners else line * dtype.type((n - 1) / n)


def affine_grid(theta, size, align_corners=None) -> Tensor:
    """The (N, H, W, 2) sampling grid of the affine maps ``theta`` (N, 2, 3) for an output of
    ``size`` (N, C, H, W): each output pixel's (x, y) in [-1, 1] mapped by theta."""
    t = _float_input("affine_grid", theta)
    align_corners = _default_align(align_corners)
    if not isinstance(size, (tuple, list)) or len(size) != 4:
        raise ValueError(f"affine_grid: size must be (N, C, H, W) (4-D only), got {size!r}")
    n, _, h, w = (int(s) for s in size)
    if tuple(t.shape) != (n, 2, 3):
        raise ValueError(f"affine_grid: theta must have shape (N, 2, 3) = ({n}, 2, 3) for size "
                         f"{tuple(size)}, got {tuple(t.shape)}")
    if align_corners and min(h, w) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids "
                      "when align_corners=True. This is not an intended use case of affine_grid. "
                      "See the documentation of affine_grid for details.", UserWarning,
                      stacklevel=2)
    xp = get_array_module(t._data)
    dt = t._data.dtype
    xs, ys = _line(xp, w, align_corners, dt), _line(xp, h, align_corners, dt)
    base = xp.stack([xp.broadcast_to(xs[None, :], (h, w)), xp.broadcast_to(ys[:, None], (h, w)),
                     xp.ones((h, w), dtype=dt)], axis=-1).reshape(1, h * w, 3)
    return reshape(matmul(Tensor(base), transpose(t, 1, 2)), (n, h, w, 2))


def _source(coord, size, align_corners, padding_mode):
    if align_corners:
        pos = (coord + 1.0) / 2.0 * (size - 1)
    else:
        pos = ((coord + 1.0) * size - 1.0) / 2.0
    if padding_mode != "border":
        return pos
    # PyTorch counts the borders themselves as outside: the clipped position's gradient is 1
    # strictly inside (0, size - 1) only, 0 on and beyond the borders.
    # An infinite position clips to its edge and a NaN to 0, as in PyTorch's CPU kernel.
    xp = get_array_module(pos._data)
    inside = (pos._data > 0) & (pos._data < size - 1)
    edge = xp.clip(xp.where(xp.isnan(pos._data), 0, pos._data), 0, size - 1)
    return where(inside, pos, Tensor(edge.astype(pos._data.dtype)))


def grid_sample(input, grid, mode: str = "bilinear", padding_mode: str = "zeros",  # noqa: A002
                align_corners=None) -> Tensor:
    """Sample (N, C, H, W) ``input`` at the (N, Ho, Wo, 2) ``grid`` of (x, y) positions in
    [-1, 1]: (N, C, Ho, Wo). Modes "bilinear" and "nearest"; padding "zeros" (outside reads 0)
    or "border" (outside reads the edge). ``align_corners`` as in ``interpolate`` (None: False,
    with PyTorch's warning). With mode "nearest" the grid gets no gradient (None; PyTorch's zeros).
    """
    x, g = _float_input("grid_sample", input), _float_input("grid_sample", grid)
    align_corners = _default_align(align_corners)
    if mode not in ("bilinear", "nearest"):
        raise NotImplementedError(f"grid_sample: mode {mode!r} is not supported; chainrule has "
                                  "'bilinear' and 'nearest'")
    if padding_mode not in ("zeros", "border"):
        raise NotImplementedError(f"grid_sample: padding_mode {padding_mode!r} is not supported; "
                                  "chainrule has 'zeros' and 'border'")
    if x.ndim != 4 or g.ndim != 4 or g.shape[-1] != 2 or g.shape[0] != x.shape[0]:
        raise ValueError(f"grid_sample: input must be (N, C, H, W) and grid (N, Ho, Wo, 2) with "
                         f"the same N (4-D only), got {tuple(x.shape)} and {tuple(g.shape)}")
    if x.dtype != g.dtype:
        raise TypeError(f"grid_sample: input and grid must have the same dtype, got {x.dtype} "
                        f"and {g.dtype}")
    n, c, h, w = x.shape
    _, ho, wo, _ = g.shape
    xp = get_array_module(x._data, g._data)
    ix = _source(getitem(g, (Ellipsis, 0)), w, align_corners, padding_mode)
    iy = _source(getitem(g, (Ellipsis, 1)), h, align_corners, padding_mode)
    flat = reshape(x, (n, c, h * w))

    def pick(yi, xi):
        """The input at integer (yi, xi) of shape (N, Ho, Wo), 0 outside; and the mask."""
        valid = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        lin = xp.where(valid, yi * w + xi, 0).astype(xp.int64).reshape(n, 1, ho * wo)
        lin = xp.ascontiguousarray(xp.broadcast_to(lin, (n, c, ho * wo)))
        vals = reshape(gather(flat, 2, Tensor(lin)), (n, c, ho, wo))
        return vals, Tensor(valid[:, None].astype(x._data.dtype))

    if mode == "nearest":
        vals, valid = pick(xp.rint(iy._data).astype(xp.int64), xp.rint(ix._data).astype(xp.int64))
        return vals * valid
    x0 = xp.floor(ix._data)
    y0 = xp.floor(iy._data)
    wx1, wy1 = unsqueeze(ix - Tensor(x0), 1), unsqueeze(iy - Tensor(y0), 1)
    wx0, wy0 = unsqueeze(Tensor(x0 + 1) - ix, 1), unsqueeze(Tensor(y0 + 1) - iy, 1)
    x0, y0 = x0.astype(xp.int64), y0.astype(xp.int64)
    out = None
    for yi, xi, weight in ((y0, x0, wx0 * wy0), (y0, x0 + 1, wx1 * wy0),
                           (y0 + 1, x0, wx0 * wy1), (y0 + 1, x0 + 1, wx1 * wy1)):
        vals, valid = pick(yi, xi)
        term = vals * (weight * valid)
        out = term if out is None else out + term
    return out
