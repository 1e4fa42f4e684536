"""torchvision.ops' paired box losses (``generalized_box_iou_loss``, ``distance_box_iou_loss``,
``complete_box_iou_loss``), ``masks_to_boxes`` and ``stochastic_depth``.

The losses compare ``boxes1[i]`` with ``boxes2[i]`` (same shape (..., 4), corners x1 y1 x2 y2),
integer boxes taken as float32, with torchvision's ``eps`` in the denominators; they are
recorded Tensor operations (complete_box_iou_loss's alpha without gradient, as torchvision's).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import asnumpy
from ..backend.random import resolve_rng

__all__ = ["complete_box_iou_loss", "distance_box_iou_loss", "generalized_box_iou_loss",
           "masks_to_boxes", "stochastic_depth"]


def _pair(who, boxes1, boxes2):
    for name, b in (("boxes1", boxes1), ("boxes2", boxes2)):
        if not isinstance(b, Tensor) or b.ndim < 1 or b.shape[-1] != 4:
            raise ValueError(f"{who}: {name} must be a Tensor of shape (..., 4), got "
                             f"{getattr(b, 'shape', type(b).__name__)}")
    # torchvision's _upcast_non_float: anything but float32/float64 as float32
    return [b if np.dtype(b.dtype) in (np.float32, np.float64) else b.float()
            for b in (boxes1, boxes2)]


def _corners(b):
    return b[..., 0], b[..., 1], b[..., 2], b[..., 3]


def _inter_union(boxes1, boxes2):
    x1, y1, x2, y2 = _corners(boxes1)
    x1g, y1g, x2g, y2g = _corners(boxes2)
    w = x2.minimum(x2g) - x1.maximum(x1g)
    h = y2.minimum(y2g) - y1.maximum(y1g)
    overlap = (w > 0) & (h > 0)
    inter = (w * h).where(overlap, 0.0)  # torchvision fills only the overlapping pairs
    return inter, (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter


def _reduce(who, loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{who}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def generalized_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none",
                             eps: float = 1e-7) -> Tensor:
    """1 - GIoU of each pair of boxes."""
    boxes1, boxes2 = _pair("generalized_box_iou_loss", boxes1, boxes2)
    inter, union = _inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    x1, y1, x2, y2 = _corners(boxes1)
    x1g, y1g, x2g, y2g = _corners(boxes2)
    area_c = (x2.maximum(x2g) - x1.minimum(x1g)) * (y2.maximum(y2g) - y1.minimum(y1g))
    loss = 1 - (iou - (area_c - union) / (area_c + eps))
    return _reduce("generalized_box_iou_loss", loss, reduction)


def _diou_loss(boxes1, boxes2, eps):
    inter, union = _inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    x1, y1, x2, y2 = _corners(boxes1)
    x1g, y1g, x2g, y2g = _corners(boxes2)
    diagonal = (x2.maximum(x2g) - x1.minimum(x1g)) ** 2 \
        + (y2.maximum(y2g) - y1.minimum(y1g)) ** 2 + eps
    centres = ((x2 + x1) / 2 - (x1g + x2g) / 2) ** 2 + ((y2 + y1) / 2 - (y1g + y2g) / 2) ** 2
    return 1 - iou + centres / diagonal, iou


def distance_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none",
                          eps: float = 1e-7) -> Tensor:
    """1 - IoU plus the squared distance of the centres over the enclosing box's squared
    diagonal, for each pair of boxes."""
    boxes1, boxes2 = _pair("distance_box_iou_loss", boxes1, boxes2)
    return _reduce("distance_box_iou_loss", _diou_loss(boxes1, boxes2, eps)[0], reduction)


def complete_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none",
                          eps: float = 1e-7) -> Tensor:
    """``distance_box_iou_loss`` plus alpha * v, v the squared difference of the aspect angles
    (alpha without gradient)."""
    boxes1, boxes2 = _pair("complete_box_iou_loss", boxes1, boxes2)
    diou, iou = _diou_loss(boxes1, boxes2, eps)
    x1, y1, x2, y2 = _corners(boxes1)
    x1g, y1g, x2g, y2g = _corners(boxes2)
    v = (4 / math.pi ** 2) * (((x2g - x1g) / (y2g - y1g)).arctan()
                              - ((x2 - x1) / (y2 - y1)).arctan()) ** 2
    alpha = (v / (1 - iou + v + eps)).detach()
    return _reduce("complete_box_iou_loss", diou + alpha * v, reduction)


def masks_to_boxes(masks: Tensor) -> Tensor:
    """The float32 (N, 4) x1 y1 x2 y2 box around the nonzero pixels of each (H, W) mask of
    ``masks`` (N, H, W) (pixel indices, inclusive)."""
    if not isinstance(masks, Tensor) or masks.ndim != 3:
        raise ValueError(f"masks_to_boxes: masks must be a Tensor (N, H, W), got "
                         f"{getattr(masks, 'shape', type(masks).__name__)}")
    m = asnumpy(masks._data) != 0
    boxes = np.zeros((m.shape[0], 4), np.float32)
    for i, mask in enumerate(m):
        ys, xs = np.nonzero(mask)
        if ys.size == 0:
            raise ValueError(f"masks_to_boxes: mask {i} is empty (torchvision fails on it too)")
        boxes[i] = xs.min(), ys.min(), xs.max(), ys.max()
    return Tensor(boxes)


def stochastic_depth(input: Tensor, p: float, mode: str, training: bool = True,  # noqa: A002
                     *, rng=None) -> Tensor:
    """Drop whole residual branches with probability ``p`` (Huang et al. 2016): ``mode="row"``
    one draw per sample of the batch, "batch" one for all; the kept ones scaled by 1 / (1 - p).
    Draws from ``rng`` or the default generator."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"stochastic_depth: drop probability has to be between 0 and 1, but got "
                         f"{p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"stochastic_depth: mode has to be either 'batch' or 'row', but got "
                         f"{mode!r}")
    if not training or p == 0.0:
        return input
    survival = 1.0 - p
    size = (input.shape[0],) + (1,) * (input.ndim - 1) if mode == "row" else (1,) * input.ndim
    keep = resolve_rng(rng, "stochastic_depth").random(size) < survival
    noise = keep.astype(np.dtype(input.dtype))
    if survival > 0.0:
        noise = noise / np.dtype(input.dtype).type(survival)
    return input * Tensor(noise)
