"""torchvision.ops.roi_pool, ps_roi_align and ps_roi_pool as torchvision's CPU kernels compute them.

``roi_pool`` (Fast R-CNN): box corners scaled and rounded half away from zero, a box of
``end - start + 1`` pixels (at least 1) cut into ``floor``/``ceil`` bins clipped to the map; each
bin's maximum (the first one in row-major order; an empty bin is 0, a bin with nothing above
``-FLT_MAX`` is ``-FLT_MAX``). The gradient goes to the maximum's pixel, recorded as a gather
whose gradient is the scatter and back, so the double backward works.

``ps_roi_align`` / ``ps_roi_pool`` (R-FCN, position-sensitive): the input has ``C * PH * PW``
channels and output bin (c, ph, pw) reads channel ``(c * PH + ph) * PW + pw`` only.
``ps_roi_align`` samples as ``roi_align(aligned=True)`` (a zero-sized box's adaptive grid has no
sample: NaN, as torchvision's 0 / 0); ``ps_roi_pool`` averages integer bins of a box rounded as
``roi_pool``'s but ``end - start`` pixels wide, its bins clipped to ``size - 1`` (so the last row
and column of the map are never read, as torchvision's forward). The boxes get no gradient.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import asnumpy
from ._roi_align import _check, _RoIPool, roi_align

__all__ = ["ps_roi_align", "ps_roi_pool", "roi_pool"]

_FLT_MAX = float(np.finfo(np.float32).max)


class _Gather(Function):
    """x -> x.flat[index] (``fill`` where index is -1); ``adjoint``: the scatter-add back."""

    def forward(self, x):
        if not self.adjoint:
            flat = x.reshape(-1)
            return np.where(self.index >= 0, flat[np.maximum(self.index, 0)],
                            self.fill).astype(x.dtype)
        out = np.zeros(int(np.prod(self.shape)), x.dtype)
        keep = self.index >= 0
        np.add.at(out, self.index[keep], x[keep])
        return out.reshape(self.shape)

    def backward(self, g):
        return _Gather.apply(g, index=self.index, fill=0, shape=self.shape,
                             adjoint=not self.adjoint)


def _round(v):
    """C's round: half away from zero (numpy's rounds half to even)."""
    whole = np.trunc(v)
    return int(whole + np.sign(v) * (abs(v - whole) >= 0.5))


def _bins(start: int, length: int, pooled: int, limit: int, dtype) -> list[tuple[int, int]]:
    """Each bin's [start, end) along one axis, clipped to [0, limit]."""
    size = dtype.type(length) / dtype.type(pooled)
    out = []
    for p in range(pooled):
        lo = int(np.floor(dtype.type(p) * size)) + start
        hi = int(np.ceil(dtype.type(p + 1) * size)) + start
        out.append((min(max(lo, 0), limit), min(max(hi, 0), limit)))
    return out


def _corners(roi, scale):
    return [_round(roi[i] * scale) for i in (1, 2, 3, 4)]


def roi_pool(input: Tensor, boxes, output_size, spatial_scale: float = 1.0) -> Tensor:  # noqa: A002
    """Max pooling of each box of ``input`` (N, C, H, W) to ``output_size``; (K, C, PH, PW).
    ``boxes`` as ``roi_align``'s: (K, 5) with the batch index first, or a list of (L, 4)."""
    (ph_, pw_), dtype, rois, batch = _check("roi_pool", input, output_size, boxes)
    x = asnumpy(input._data)
    n, c, height, width = x.shape
    scale = dtype.type(spatial_scale)
    index = np.full((len(rois), c, ph_, pw_), -1, np.int64)
    fill = np.zeros(index.shape, dtype)
    for k, roi in enumerate(rois):
        x1, y1, x2, y2 = _corners(roi, scale)
        rows = _bins(y1, max(y2 - y1 + 1, 1), ph_, height, dtype)
        cols = _bins(x1, max(x2 - x1 + 1, 1), pw_, width, dtype)
        base = (batch[k] * c + np.arange(c)) * height * width
        for p, (h0, h1) in enumerate(rows):
            for q, (w0, w1) in enumerate(cols):
                if h1 <= h0 or w1 <= w0:
                    continue  # empty: 0, no gradient
                part = x[batch[k], :, h0:h1, w0:w1].reshape(c, -1)
                best = np.where(np.isnan(part), -np.inf, part).argmax(1)
                found = part[np.arange(c), best] > -_FLT_MAX
                hh, ww = np.divmod(best, w1 - w0)
                index[k, :, p, q] = np.where(found, base + (hh + h0) * width + ww + w0, -1)
                fill[k, :, p, q] = np.where(found, 0, -_FLT_MAX)
    return _Gather.apply(input, index=index, fill=fill, shape=x.shape, adjoint=False)


def _position_sensitive(full, pooled):
    """Bin (c, ph, pw) of ``full`` (K, C * PH * PW, PH, PW) from channel (c * PH + ph) * PW + pw."""
    ph_, pw_ = pooled
    k = full.shape[0]
    out = full.reshape(k, full.shape[1] // (ph_ * pw_), ph_, pw_, ph_, pw_)
    i, j = np.arange(ph_)[:, None], np.arange(pw_)[None, :]
    return out[:, :, i, j, i, j]


def _ps_channels(who, input, pooled):  # noqa: A002
    if input.shape[1] % (pooled[0] * pooled[1]):
        raise ValueError(f"{who}: input channels must be a multiple of output height * width "
                         f"({pooled[0]} * {pooled[1]}), got {input.shape[1]}")


def ps_roi_align(input: Tensor, boxes, output_size, spatial_scale: float = 1.0,  # noqa: A002
                 sampling_ratio: int = -1) -> Tensor:
    """Position-sensitive RoI Align (R-FCN): (K, C / (PH * PW), PH, PW)."""
    pooled, dtype, rois, _ = _check("ps_roi_align", input, output_size, boxes)
    _ps_channels("ps_roi_align", input, pooled)
    full = roi_align(input, boxes, pooled, spatial_scale, sampling_ratio, aligned=True)
    out = _position_sensitive(full, pooled)
    if sampling_ratio <= 0 and len(rois):  # no sample in a bin: torchvision's 0 / 0
        scale, half = dtype.type(spatial_scale), dtype.type(0.5)
        span = (rois[:, 3:5] * scale - half) - (rois[:, 1:3] * scale - half)
        grid = np.ceil(span / np.array([pooled[1], pooled[0]], dtype))
        empty = (grid[:, 0] * grid[:, 1]) == 0
        if empty.any():
            out = out + Tensor(np.where(empty, np.nan, 0).astype(dtype)[:, None, None, None])
    return out


def ps_roi_pool(input: Tensor, boxes, output_size, spatial_scale: float = 1.0) -> Tensor:  # noqa: A002
    """Position-sensitive RoI average pooling (R-FCN): (K, C / (PH * PW), PH, PW)."""
    pooled, dtype, rois, batch = _check("ps_roi_pool", input, output_size, boxes)
    _ps_channels("ps_roi_pool", input, pooled)
    _, _, height, width = input.shape
    scale = dtype.type(spatial_scale)
    weights = []
    for k, roi in enumerate(rois):
        x1, y1, x2, y2 = _corners(roi, scale)
        mats = []
        for start, length, count, size in ((y1, y2 - y1, pooled[0], height),
                                           (x1, x2 - x1, pooled[1], width)):
            mat = np.zeros((count, size), dtype)
            for p, (lo, hi) in enumerate(_bins(start, max(length, 1), count, size - 1, dtype)):
                if hi > lo:
                    mat[p, lo:hi] = dtype.type(1) / dtype.type(hi - lo)
            mats.append(mat)
        weights.append((int(batch[k]), mats[0], mats[1]))
    full = _RoIPool.apply(input, boxes=weights, pooled=pooled, shape=tuple(input.shape),
                          adjoint=False)
    return _position_sensitive(full, pooled)
