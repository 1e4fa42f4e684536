"""torchvision.ops.roi_align: RoI Align (Mask R-CNN) as torchvision's CPU kernel computes it.

Each box's bin averages ``sampling_ratio`` x ``sampling_ratio`` bilinear samples (adaptive:
``ceil(box size / output size)`` per axis when ``sampling_ratio <= 0``); a sample more than one
pixel outside the feature map counts as 0, one between -1 and 0 reads the border. The samples of
one axis do not depend on the other axis, so each box is two weight matrices, (PH, H) and (PW, W),
and its output ``rows @ features @ cols.T``: the gradient is the transposed product, recorded as
an op of its own, so the double backward is the forward again. The boxes get no gradient (as
torchvision's).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import asnumpy

__all__ = ["roi_align"]


def _axis_weights(start, bin_size, grid: int, pooled: int, size: int, dtype) -> np.ndarray:
    """(pooled, size): each bin's mean bilinear weights over its ``grid`` samples."""
    weights = np.zeros((pooled, size), np.float64)
    if grid <= 0:  # an empty box (aligned): no samples, 0
        return weights
    bins = np.arange(pooled, dtype=dtype)[:, None]
    offsets = (np.arange(grid, dtype=dtype) + dtype.type(0.5))[None, :]
    pos = start + bins * bin_size + offsets * bin_size / dtype.type(grid)  # in the input's dtype
    valid = (pos >= -1.0) & (pos <= size)
    pos = np.maximum(pos, 0).astype(np.float64)
    low = np.floor(pos).astype(np.int64)
    edge = low >= size - 1
    low = np.where(edge, size - 1, low)
    high = np.where(edge, size - 1, low + 1)
    frac = np.where(edge, 0.0, pos - low)
    rows = np.broadcast_to(np.arange(pooled)[:, None], pos.shape)
    np.add.at(weights, (rows[valid], low[valid]), 1.0 - frac[valid])
    np.add.at(weights, (rows[valid], high[valid]), frac[valid])
    return weights / grid


class _RoIPool(Function):
    """x (N, C, H, W) -> (K, C, PH, PW) through each box's weights (``adjoint``: back)."""

    def forward(self, x):
        if not self.adjoint:
            out = np.zeros((len(self.boxes), x.shape[1], *self.pooled), x.dtype)
            for k, (b, rows, cols) in enumerate(self.boxes):
                out[k] = rows @ x[b] @ cols.T
            return out
        out = np.zeros(self.shape, x.dtype)
        for k, (b, rows, cols) in enumerate(self.boxes):
            out[b] += rows.T @ x[k] @ cols
        return out

    def backward(self, g):
        return _RoIPool.apply(g, boxes=self.boxes, pooled=self.pooled, shape=self.shape,
                              adjoint=not self.adjoint)


def _rois(boxes, who: str) -> np.ndarray:
    if isinstance(boxes, (list, tuple)):
        parts = []
        for i, b in enumerate(boxes):
            a = asnumpy(b._data if isinstance(b, Tensor) else np.asarray(b))
            if a.ndim != 2 or a.shape[1] != 4:
                raise ValueError(f"{who}: each Tensor of a boxes list must be (L, 4), got "
                                 f"{a.shape} at {i}")
            parts.append(np.concatenate([np.full((len(a), 1), i, a.dtype), a], 1))
        return np.concatenate(parts) if parts else np.zeros((0, 5))
    if not isinstance(boxes, Tensor) or boxes.ndim != 2 or boxes.shape[1] != 5:
        raise ValueError(f"{who}: boxes must be a Tensor (K, 5) of (batch index, x1, y1, x2, y2) "
                         f"or a list of (L, 4) Tensors, one per image, got "
                         f"{getattr(boxes, 'shape', type(boxes).__name__)}")
    return asnumpy(boxes._data)


def _check(who: str, input, output_size, boxes):  # noqa: A002
    if not isinstance(input, Tensor) or input.ndim != 4 or np.dtype(input.dtype).kind != "f":
        raise ValueError(f"{who}: input must be a float Tensor (N, C, H, W), got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    pooled = (output_size, output_size) if isinstance(output_size, numbers.Integral) \
        else tuple(output_size)
    if len(pooled) != 2 or not all(isinstance(p, numbers.Integral) and p > 0 for p in pooled):
        raise ValueError(f"{who}: output_size must be a positive int or (height, width), "
                         f"got {output_size!r}")
    dtype = np.dtype(input.dtype)
    rois = _rois(boxes, who).astype(dtype)
    bad = np.nonzero(~np.isfinite(rois).all(1))[0]
    if len(bad):  # a NaN box failed in int(ceil(nan)) ("cannot convert float NaN to integer")
        raise ValueError(f"{who}: boxes must be finite, got NaN or infinity in box "
                         f"{int(bad[0])}: {rois[bad[0]].tolist()}")
    batch = rois[:, 0].astype(np.int64)
    if len(batch) and (batch.min() < 0 or batch.max() >= input.shape[0]):
        raise IndexError(f"{who}: box batch indices must be in [0, {input.shape[0] - 1}], got "
                         f"{sorted(set(batch.tolist()))}")
    return (int(pooled[0]), int(pooled[1])), dtype, rois, batch


def roi_align(input: Tensor, boxes, output_size, spatial_scale: float = 1.0,  # noqa: A002
              sampling_ratio: int = -1, aligned: bool = False) -> Tensor:
    """RoI Align of ``input`` (N, C, H, W) over ``boxes`` ((K, 5) with the batch index first,
    or a list of (L, 4) per image), each pooled to ``output_size`` (PH, PW); (K, C, PH, PW)."""
    pooled, dtype, rois, batch = _check("roi_align", input, output_size, boxes)
    height, width = input.shape[2:]
    offset = dtype.type(0.5 if aligned else 0.0)
    scale = dtype.type(spatial_scale)
    weights = []
    for k in range(len(rois)):
        x1, y1, x2, y2 = (rois[k, i] * scale - offset for i in range(1, 5))
        w, h = x2 - x1, y2 - y1
        if not aligned:
            w, h = max(w, dtype.type(1)), max(h, dtype.type(1))
        bin_h, bin_w = h / dtype.type(pooled[0]), w / dtype.type(pooled[1])
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(h / pooled[0])
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(w / pooled[1])
        rows = _axis_weights(y1, bin_h, int(grid_h), pooled[0], height, dtype)
        cols = _axis_weights(x1, bin_w, int(grid_w), pooled[1], width, dtype)
        weights.append((int(batch[k]), rows.astype(dtype), cols.astype(dtype)))
    return _RoIPool.apply(input, boxes=weights, pooled=pooled, shape=tuple(input.shape),
                          adjoint=False)
