"""``affine_grid`` and ``grid_sample`` (spatial transformers), PyTorch's functions for 4-D and
5-D input, with its three modes and three paddings.

Both are compositions of recorded ops: ``affine_grid`` is a matrix product of a fixed base grid
with ``theta``; ``grid_sample`` picks the corner values by index (``gather``, whose gradient adds
up the copies) and weights them by the fractional positions, which are recorded functions of
``grid``, so the input and the grid both get gradients, to any order.
"""

from __future__ import annotations

import warnings

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._linspace import torch_linspace
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
    """PyTorch's base coordinates of ``n`` pixels in [-1, 1] (pixel centres unless aligned), to
    the last bit: its linspace, then ``* (n - 1) / n`` as two roundings. A centre that lands an
    ulp off its pixel moves ``floor`` to the next cell, and so the one-sided gradients."""
    if n <= 1:
        return xp.zeros(max(n, 0), dtype=dtype)
    line = torch_linspace(-1.0, 1.0, n, dtype)  # None for float16
    line = xp.linspace(-1.0, 1.0, n).astype(dtype) if line is None else xp.asarray(line)
    return line if align_corners else line * dtype.type(n - 1) / dtype.type(n)


def affine_grid(theta, size, align_corners=None) -> Tensor:
    """The sampling grid of the affine maps ``theta`` for an output of ``size``: (N, H, W, 2)
    for theta (N, 2, 3) and size (N, C, H, W), or (N, D, H, W, 3) for theta (N, 3, 4) and size
    (N, C, D, H, W): each output pixel's (x, y[, z]) in [-1, 1] mapped by theta."""
    t = _float_input("affine_grid", theta)
    align_corners = _default_align(align_corners)
    if not isinstance(size, (tuple, list)) or len(size) not in (4, 5):
        raise ValueError(f"affine_grid: size must be (N, C, H, W) or (N, C, D, H, W), got "
                         f"{size!r}")
    n, _, *spatial = (int(s) for s in size)
    k = len(spatial)  # 2 or 3 coordinates
    if tuple(t.shape) != (n, k, k + 1):
        raise ValueError(f"affine_grid: theta must have shape (N, {k}, {k + 1}) = ({n}, {k}, "
                         f"{k + 1}) for size {tuple(size)}, got {tuple(t.shape)}")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids "
                      "when align_corners=True. This is not an intended use case of affine_grid. "
                      "See the documentation of affine_grid for details.", UserWarning,
                      stacklevel=2)
    elif min(n, *size[1:]) <= 0:  # PyTorch's check, skipped (as there) after that warning
        raise ValueError(f"affine_grid: size must be positive, got {tuple(size)}")
    xp = get_array_module(t._data)
    dt = t._data.dtype
    lines = [_line(xp, m, align_corners, dt) for m in spatial]  # (D,) H, W
    mesh = xp.meshgrid(*lines, indexing="ij")
    base = xp.stack([*mesh[::-1], xp.ones(tuple(spatial), dtype=dt)], axis=-1)  # x, y[, z], 1
    base = base.reshape(1, -1, k + 1)
    return reshape(matmul(Tensor(base), transpose(t, 1, 2)), (n, *spatial, k))


def _unnormalize(coord, size, align_corners):
    if align_corners:
        return (coord + 1.0) / 2.0 * (size - 1)
    return ((coord + 1.0) * size - 1.0) / 2.0


def _clip(pos, size):
    # PyTorch counts the borders themselves as outside: the clipped position's gradient is 1
    # strictly inside (0, size - 1) only, 0 on and beyond the borders.
    # An infinite position clips to its edge and a NaN to 0, as in PyTorch's CPU kernel.
    xp = get_array_module(pos._data)
    inside = (pos._data > 0) & (pos._data < size - 1)
    edge = xp.clip(xp.where(xp.isnan(pos._data), 0, pos._data), 0, size - 1)
    return where(inside, pos, Tensor(edge.astype(pos._data.dtype)))


def _mirror(xp, p, size, align_corners):
    """Positions ``p`` (an array) mirrored into [0, size - 1] (about the border pixels' centres
    when aligned, about their outer edges otherwise), as PyTorch's reflect_coordinates, and the
    sign (+-1) of the map there; None where there is no room (one pixel, aligned)."""
    span2 = 2.0 * (size - 1) if align_corners else 2.0 * size
    if span2 == 0:
        return None
    shift = 0.0 if align_corners else 0.5
    t = p + shift
    mag = xp.abs(t)
    extra = mag - xp.trunc(mag / span2) * span2
    flip = extra > span2 - extra
    mirrored = xp.where(flip, span2 - extra, extra) - shift
    return mirrored.astype(p.dtype), xp.where(flip ^ (t < 0), -1.0, 1.0).astype(p.dtype)


def _reflect(pos, size, align_corners):
    """The mirrored position as a recorded function of ``pos``: piecewise ``+-pos + c``."""
    xp = get_array_module(pos._data)
    found = _mirror(xp, pos._data, size, align_corners)
    if found is None:  # 0, still a function of the grid (its gradient is 0, not None)
        return where(Tensor(xp.zeros(pos._data.shape, dtype=bool)), pos,
                     Tensor(xp.zeros_like(pos._data)))
    mirrored, sign = found
    return pos * Tensor(sign) + Tensor(mirrored - sign * pos._data)


def _tap(xp, index, size, align_corners, padding_mode):
    """An integer tap position (array of floats) moved in range by ``padding_mode`` (zeros:
    left as is, to read 0 outside), as PyTorch's bicubic reads its 4 x 4 neighbours."""
    if padding_mode == "reflection":
        found = _mirror(xp, index, size, align_corners)
        index = xp.zeros_like(index) if found is None else found[0]
    if padding_mode != "zeros":
        index = xp.clip(index, 0, size - 1)
    return index.astype(xp.int64)


def _cubic_weights(t):
    """The weights of the neighbours at -1, 0, 1, 2 for a fraction ``t`` (a Tensor): PyTorch's
    cubic convolution with A = -0.75."""
    a = -0.75

    def near(d):
        return ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0

    def far(d):
        return ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a

    return [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]


def _source(coord, size, align_corners, padding_mode):
    pos = _unnormalize(coord, size, align_corners)
    if padding_mode == "reflection":
        return _clip(_reflect(pos, size, align_corners), size)
    return _clip(pos, size) if padding_mode == "border" else pos


def grid_sample(input, grid, mode: str = "bilinear", padding_mode: str = "zeros",  # noqa: A002
                align_corners=None) -> Tensor:
    """Sample (N, C, H, W) ``input`` at the (N, Ho, Wo, 2) ``grid`` of (x, y) positions in
    [-1, 1]: (N, C, Ho, Wo); or (N, C, D, H, W) input at an (N, Do, Ho, Wo, 3) grid of (x, y, z)
    (VoxelMorph's spatial transformer; "bilinear" is then trilinear, as in PyTorch). Modes
    "bilinear", "nearest" and (4-D only) "bicubic" (PyTorch's cubic convolution, A = -0.75, on
    the 4 x 4 neighbours); padding "zeros" (outside reads 0), "border" (outside reads the edge)
    or "reflection" (positions mirrored back inside, about the border pixels' centres when
    ``align_corners``, else their outer edges). ``align_corners`` as in ``interpolate`` (None:
    False, with PyTorch's warning). With mode "nearest" the grid's gradient is zeros, as
    PyTorch's.
    """
    x, g = _float_input("grid_sample", input), _float_input("grid_sample", grid)
    align_corners = _default_align(align_corners)
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"grid_sample: mode must be 'bilinear', 'nearest' or 'bicubic', got "
                         f"{mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"grid_sample: padding_mode must be 'zeros', 'border' or 'reflection', "
                         f"got {padding_mode!r}")
    nd = x.ndim - 2
    if (x.ndim not in (4, 5) or g.ndim != x.ndim or g.shape[-1] != nd
            or g.shape[0] != x.shape[0]):
        raise ValueError(f"grid_sample: input must be (N, C, H, W) with grid (N, Ho, Wo, 2), or "
                         f"(N, C, D, H, W) with grid (N, Do, Ho, Wo, 3), the same N; got "
                         f"{tuple(x.shape)} and {tuple(g.shape)}")
    if mode == "bicubic" and nd != 2:
        raise ValueError(f"grid_sample: mode 'bicubic' takes 4-D input (N, C, H, W) only, got "
                         f"{tuple(x.shape)}")
    if x.dtype != g.dtype:
        raise TypeError(f"grid_sample: input and grid must have the same dtype, got {x.dtype} "
                        f"and {g.dtype}")
    n, c, *sizes = x.shape
    out = tuple(g.shape[1:-1])
    m = 1
    for o in out:
        m *= o
    xp = get_array_module(x._data, g._data)
    # positions along the input's axes (D,) H, W: grid component nd - 1 - axis
    pos = [_source(getitem(g, (Ellipsis, nd - 1 - a)), sizes[a], align_corners, padding_mode)
           for a in range(nd)]
    total = 1
    for size in sizes:
        total *= size
    flat = reshape(x, (n, c, total))

    def pick(idx):
        """The input at the integer positions ``idx`` (one array per axis), 0 outside; and the
        mask."""
        valid = xp.ones(idx[0].shape, dtype=bool)
        lin = xp.zeros(idx[0].shape, dtype=xp.int64)
        for i, size in zip(idx, sizes):
            valid &= (i >= 0) & (i < size)
            lin = lin * size + i
        lin = xp.where(valid, lin, 0).astype(xp.int64).reshape(n, 1, m)
        lin = xp.ascontiguousarray(xp.broadcast_to(lin, (n, c, m)))
        vals = reshape(gather(flat, 2, Tensor(lin)), (n, c, *out))
        # 0 outside, not the stand-in pixel times 0: an inf or NaN there must not leak (PyTorch
        # skips the taps outside)
        inside = valid.reshape(n, 1, *out)
        if not inside.all():
            vals = where(Tensor(inside), vals, 0.0)
        return vals, Tensor(valid[:, None].astype(x._data.dtype))

    if mode == "nearest":
        vals, valid = pick([xp.rint(p._data).astype(xp.int64) for p in pos])
        return _Nearest.apply(vals, valid, g)
    if mode == "bicubic":
        return _bicubic(g, sizes, align_corners, padding_mode, pick)
    lows = [xp.floor(p._data) for p in pos]
    # per axis, the weights of the low and the high neighbour; PyTorch multiplies them x first
    weights = [(unsqueeze(Tensor(lo + 1) - p, 1), unsqueeze(p - Tensor(lo), 1))
               for p, lo in zip(pos, lows)]
    lows = [lo.astype(xp.int64) for lo in lows]
    result = None
    for corner in range(2 ** nd):  # PyTorch's order: z outermost, x innermost
        bits = [(corner >> (nd - 1 - a)) & 1 for a in range(nd)]
        weight = None
        for a in reversed(range(nd)):
            w = weights[a][bits[a]]
            weight = w if weight is None else weight * w
        vals, valid = pick([lo + b for lo, b in zip(lows, bits)])
        term = vals * (weight * valid)
        result = term if result is None else result + term
    return result


class _Nearest(Function):
    """The nearest pixels' values ``vals`` times the mask ``valid`` (0 outside); the grid, an
    input too, gets PyTorch's gradient of the rounded positions: zeros."""

    def forward(self, vals, valid, grid):
        return vals * valid

    def backward(self, g):
        valid, grid = self.inputs[1], self.inputs[2]
        zeros = None
        if self.needs_input_grad[2]:
            zeros = Tensor(get_array_module(g._data).zeros(grid.shape, grid._data.dtype))
        return g * valid if self.needs_input_grad[0] else None, None, zeros


def _bicubic(g, sizes, align_corners, padding_mode, pick):
    """4 x 4 neighbours of the unclipped position (y, x), each moved in range by the padding,
    weighted along x first, then y, as PyTorch's kernel."""
    xp = get_array_module(g._data)
    raw = [_unnormalize(getitem(g, (Ellipsis, 1 - a)), sizes[a], align_corners)
           for a in range(2)]
    lows = [xp.floor(p._data) for p in raw]
    wy, wx = ([unsqueeze(w, 1) for w in _cubic_weights(p - Tensor(lo))]
              for p, lo in zip(raw, lows))
    result = None
    for i in range(4):
        iy = _tap(xp, lows[0] + (i - 1), sizes[0], align_corners, padding_mode)
        row = None
        for j in range(4):
            ix = _tap(xp, lows[1] + (j - 1), sizes[1], align_corners, padding_mode)
            vals, valid = pick([iy, ix])
            term = vals * (wx[j] * valid)
            row = term if row is None else row + term
        result = row * wy[i] if result is None else result + row * wy[i]
    return result
