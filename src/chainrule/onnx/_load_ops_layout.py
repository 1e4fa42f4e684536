"""ONNX operators that move entries around: DepthToSpace (which PyTorch's ``pixel_shuffle``
exports as) and SpaceToDepth (``pixel_unshuffle``), Col2Im (``nn.Fold``), OneHot, NonZero, and
LpNormalization."""

from __future__ import annotations

from .. import ops
from ..autograd.function import nondiff
from ..backend import get_array_module
from ..ops.fold import fold
from ._load_ops import ints, is_float, op, scalar

__all__: list[str] = []


def _blocks(x, attrs, who):
    if x.ndim != 4:
        raise ValueError(f"{who}: input must be 4-D (N, C, H, W), got shape {tuple(x.shape)}")
    b = int(attrs["blocksize"])
    if b < 1:
        raise ValueError(f"{who}: blocksize must be positive, got {b}")
    return b


def _depth_to_space_check(attrs, n_inputs, used, opset):
    mode = attrs.get("mode", "DCR")
    return None if mode in ("DCR", "CRD") else f"DepthToSpace mode={mode!r}"


@op("DepthToSpace", check=_depth_to_space_check)
def _depth_to_space(ctx, attrs, x):
    """(N, C, H, W) -> (N, C / b^2, H b, W b); DCR: the channel's block position comes first
    (depth, column, row), CRD: last (PyTorch's pixel_shuffle)."""
    b = _blocks(x, attrs, "DepthToSpace")
    n, c, h, w = x.shape
    if c % (b * b):
        raise ValueError(f"DepthToSpace: {c} channels do not divide by blocksize^2 = {b * b}")
    if attrs.get("mode", "DCR") == "DCR":
        y = ops.permute(ops.reshape(x, (n, b, b, c // (b * b), h, w)), (0, 3, 4, 1, 5, 2))
    else:
        y = ops.permute(ops.reshape(x, (n, c // (b * b), b, b, h, w)), (0, 1, 4, 2, 5, 3))
    return ops.reshape(y, (n, c // (b * b), h * b, w * b))


@op("SpaceToDepth")
def _space_to_depth(ctx, attrs, x):
    """(N, C, H, W) -> (N, C b^2, H / b, W / b), the block position first in the channels."""
    b = _blocks(x, attrs, "SpaceToDepth")
    n, c, h, w = x.shape
    if h % b or w % b:
        raise ValueError(f"SpaceToDepth: spatial size {(h, w)} does not divide by blocksize {b}")
    y = ops.permute(ops.reshape(x, (n, c, h // b, b, w // b, b)), (0, 3, 5, 1, 2, 4))
    return ops.reshape(y, (n, c * b * b, h // b, w // b))


@op("OneHot", const=(0, 1))
def _one_hot(ctx, attrs, indices, depth, values):
    """``values[1]`` where the new axis' position equals the index (negative ones count from
    the end), ``values[0]`` elsewhere; an index outside [-depth, depth) marks nothing."""
    d = int(scalar(depth))
    rank = indices.ndim + 1
    axis = attrs.get("axis", -1)
    if not -rank <= axis < rank:
        raise ValueError(f"OneHot: axis {axis} is out of range for an output of rank {rank}")
    axis %= rank

    def mask(idx):
        xp = get_array_module(idx)
        idx = idx.astype(xp.int64) if idx.dtype.kind == "f" else idx
        idx = xp.where(idx < 0, idx + d, idx)
        shape = [1] * rank
        shape[axis] = d
        return xp.expand_dims(idx, axis) == xp.arange(d).reshape(shape)

    hit = nondiff(mask, indices)
    off, on = values[0], values[1]
    if not is_float(values):
        return nondiff(lambda m, v: get_array_module(v).where(m, v[1], v[0]), hit, values)
    return ops.where(hit, ops.broadcast_to(on, hit.shape), ops.broadcast_to(off, hit.shape))


@op("NonZero", const=(0,))
def _non_zero(ctx, attrs, x):
    """The positions of the non-zero entries, (rank, count) int64 in row-major order (what
    PyTorch exports boolean-mask indexing and masked_select through)."""
    def where(a):
        xp = get_array_module(a)
        return xp.stack(xp.nonzero(a.reshape(1) if a.ndim == 0 else a)).astype(xp.int64)
    return nondiff(where, x)


@op("LpNormalization")
def _lp_normalization(ctx, attrs, x):
    """x divided by its L1 or L2 norm along ``axis`` (no epsilon, as ONNX's); a slice whose
    norm is 0 gives zeros, as onnxruntime and ONNX's reference do (not 0 / 0)."""
    p, axis = attrs.get("p", 2), attrs.get("axis", -1)
    if p not in (1, 2):
        raise ValueError(f"LpNormalization: p must be 1 or 2, got {p}")
    total = ops.sum(ops.abs(x) if p == 1 else x * x, axis=axis, keepdims=True)
    # dividing such a slice by 1 keeps its gradient finite too (sqrt's is infinite at 0)
    total = ops.where(nondiff(lambda t: t == 0, total), ops.ones_like(total), total)
    return x / (total if p == 1 else ops.sqrt(total))


@op("Col2Im", const=(1, 2))
def _col2im(ctx, attrs, x, image_shape, block_shape):
    """Columns (N, C * prod(block), L) summed back into images: ``F.fold`` (2-D images with a
    padding equal at both ends of each axis, which is what PyTorch's Fold exports)."""
    size, block = ints(image_shape), ints(block_shape)
    if len(size) != 2:
        raise ValueError(f"Col2Im: only 2-D images are supported, got image_shape {size}")
    pads = attrs.get("pads") or (0, 0, 0, 0)
    if tuple(pads[:2]) != tuple(pads[2:]):
        raise ValueError(f"Col2Im: pads {tuple(pads)} differ at the two ends of an axis")
    return fold(x, size, block, dilation=tuple(attrs.get("dilations") or (1, 1)),
                    padding=tuple(pads[:2]), stride=tuple(attrs.get("strides") or (1, 1)))
