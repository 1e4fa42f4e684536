"""Volumetric (3-D) convolution and transposed convolution, composed from the 2-D ones.

A 3-D convolution of (N, C, D, H, W) with (O, C/groups, kD, kH, kW) filters is a 2-D one whose
channels are the (channel, depth tap) pairs: output depth p reads input depths p*s + i*d for the
kD taps i, so stacking those kD slices next to each channel gives (N * D_out, C * kD, H, W)
images, and the filters seen as (O, C/groups * kD, kH, kW) convolve them in one call (each group
keeps its own channels: the pairs of a group are contiguous). The transposed convolution is the
adjoint: a 2-D transposed convolution to (channel, tap) pairs, whose tap i of input depth q is
then added at output depth q*s + i*d - padding (``scatter_add_along``).

Both are compositions of differentiable ops, so their gradients (of every order) come from the
2-D convolutions' and need no Function here; they run the 2-D kernels, fast or (in
``chainrule.reference_mode()``) the plain references.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._unbatched import batch_optional
from ._windows import conv_setup, conv_transpose_setup
from .conv import _shape_and_dtype, conv2d, conv_transpose2d
from .indexing import scatter_add_along
from .join import pad, stack
from .repeat import index_select
from .shape import permute, reshape

__all__ = ["conv3d", "conv_transpose3d"]


@batch_optional(3)
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """3-D convolution (cross-correlation, as in PyTorch) of a batch of volumes.

    Args:
        input: the volumes ``x``, of shape (N, C_in, D, H, W).
        weight: filters of shape (C_out, C_in / groups, kD, kH, kW).
        bias: optional (C_out,) added to every voxel.
        stride, dilation: positive ints or (d, h, w) tuples.
        padding: an int, a (d, h, w) tuple, "valid" or "same" (stride 1 only; the extra zero of
            an odd total padding goes to the end of the axis, as PyTorch does).
        groups: split channels into this many independent groups.

    Returns:
        Tensor of shape (N, C_out, D_out, H_out, W_out) with
        D_out = (D + 2 * padding - dilation * (kD - 1) - 1) // stride + 1 (likewise H, W).

    >>> import chainrule as cr
    >>> x = cr.ones(1, 1, 2, 2, 2)
    >>> conv3d(x, cr.ones(1, 1, 2, 1, 1)).shape
    (1, 1, 1, 2, 2)
    """
    op, x = "conv3d", input
    geom, (d_out, h_out, w_out) = conv_setup(
        op, 3, *_shape_and_dtype(x, op), *_shape_and_dtype(weight, op, "weight"),
        _shape_and_dtype(bias, op, "bias"), stride, padding, dilation, groups)
    (front, back), pad_h, pad_w = geom.padding
    (sd, sh, sw), (dd, dh, dw) = geom.stride, geom.dilation
    if front or back:
        x = pad(x, ((0, 0), (0, 0), (front, back), (0, 0), (0, 0)))
    n, c, _, h, w = x.shape
    out_c, _, kd, kh, kw = weight.shape
    taps = [x[:, :, i * dd:i * dd + sd * (d_out - 1) + 1:sd] for i in range(kd)]
    cols = stack(taps, 2) if kd > 1 else reshape(taps[0], (n, c, 1, d_out, h, w))
    images = reshape(permute(cols, (0, 3, 1, 2, 4, 5)), (n * d_out, c * kd, h, w))
    filters = reshape(weight, (out_c, weight.shape[1] * kd, kh, kw))
    # The depth axis is padded already; H and W keep the padding PyTorch gives them.
    y = conv2d(images, filters, bias, (sh, sw), _pairs_as_padding(pad_h, pad_w), (dh, dw), groups)
    return permute(reshape(y, (n, d_out, out_c, h_out, w_out)), (0, 2, 1, 3, 4))


def _pairs_as_padding(pad_h, pad_w):
    """conv2d's ``padding`` for the (before, after) pairs of H and W: symmetric ints, or the
    "same" split (the extra one after), which conv2d computes alike for the same kernel."""
    if pad_h[0] == pad_h[1] and pad_w[0] == pad_w[1]:
        return (pad_h[0], pad_w[0])
    return "same"


@batch_optional(3)
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution (the adjoint of ``conv3d``), as in PyTorch.

    Args:
        input: the volumes ``x``, of shape (N, C_in, D, H, W).
        weight: filters of shape (C_in, C_out / groups, kD, kH, kW) (PyTorch's layout).
        bias: optional (C_out,).
        stride, padding, dilation, groups: those of the convolution this is the adjoint of
            (ints or (d, h, w) tuples).
        output_padding: extra planes at the end of each axis (smaller than stride or dilation).

    Returns:
        Tensor of shape (N, C_out, D_out, H_out, W_out), D_out = (D - 1) * stride - 2 * padding
        + dilation * (kD - 1) + output_padding + 1 (likewise H_out, W_out).

    >>> import chainrule as cr
    >>> conv_transpose3d(cr.ones(1, 1, 2, 1, 1), cr.ones(1, 1, 2, 1, 1)).tolist()
    [[[[[1.0]], [[2.0]], [[1.0]]]]]
    """
    op, x = "conv_transpose3d", input
    geom, (d_out, h_out, w_out) = conv_transpose_setup(
        op, 3, *_shape_and_dtype(x, op), *_shape_and_dtype(weight, op, "weight"),
        _shape_and_dtype(bias, op, "bias"), stride, padding, output_padding, groups, dilation)
    (front, _), (pad_h, _), (pad_w, _) = geom.padding
    (sd, sh, sw), (dd, dh, dw) = geom.stride, geom.dilation
    n, c_in, d_in, h, w = x.shape
    _, c_group, kd, kh, kw = weight.shape
    out_c = c_group * geom.groups
    extra = tuple(int(e) for e in output_padding) if isinstance(output_padding, (tuple, list)) \
        else (int(output_padding),) * 3
    images = reshape(permute(x, (0, 2, 1, 3, 4)), (n * d_in, c_in, h, w))
    filters = reshape(weight, (c_in, c_group * kd, kh, kw))
    # Output channels (group, channel, tap): (N * D, C_out * kD, H_out, W_out).
    z = conv_transpose2d(images, filters, None, (sh, sw), (pad_h, pad_w), extra[1:], groups,
                         (dh, dw))
    z = reshape(permute(reshape(z, (n, d_in, out_c, kd, h_out, w_out)), (0, 1, 3, 2, 4, 5)),
                (n, d_in * kd, out_c, h_out, w_out))
    xp = get_array_module(z._data)
    where = (xp.arange(d_in)[:, None] * sd + xp.arange(kd)[None, :] * dd - front).ravel()
    inside = (where >= 0) & (where < d_out)
    if not bool(inside.all()):  # taps that land in the cropped padding add nothing
        z = index_select(z, 1, xp.flatnonzero(inside))
        where = where[inside]
    index = xp.broadcast_to(where.reshape(1, -1, 1, 1, 1), z.shape)
    y = scatter_add_along(z, 1, Tensor(index), (n, d_out, out_c, h_out, w_out))
    y = permute(y, (0, 2, 1, 3, 4))
    if bias is not None:
        y = y + reshape(bias, (1, out_c, 1, 1, 1))
    return y
