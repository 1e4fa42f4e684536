"""torchvision.ops' box operations: ``nms``, ``batched_nms``, ``box_iou``, ``box_area``...

``from chainrule.vision import ops`` stands in for ``from torchvision import ops``. Boxes are
(N, 4) Tensors in (x1, y1, x2, y2) corners (``box_convert`` changes to and from (x, y, w, h)
and (cx, cy, w, h)). ``box_area``, ``box_iou``, ``generalized_box_iou``, ``distance_box_iou``,
``complete_box_iou``, ``box_convert``, ``clip_boxes_to_image`` and ``sigmoid_focal_loss`` are
recorded, so gradients pass through them (DETR's box losses); ``nms``, ``batched_nms`` and
``remove_small_boxes`` give int64 indices; ``roi_align`` pools boxes of a feature map (Mask
R-CNN's RoI Align), recorded for the feature map; ``roi_pool``, ``ps_roi_align`` and
``ps_roi_pool`` are in ``_roi_pool``. The paired losses (``generalized_box_iou_loss``
...), ``masks_to_boxes`` and ``stochastic_depth`` are in ``_box_loss``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import asnumpy
from ._box_loss import (
    complete_box_iou_loss,
    distance_box_iou_loss,
    generalized_box_iou_loss,
    masks_to_boxes,
    stochastic_depth,
)
from ._roi_align import roi_align
from ._roi_pool import ps_roi_align, ps_roi_pool, roi_pool

__all__ = ["batched_nms", "box_area", "box_convert", "box_iou", "clip_boxes_to_image",
           "complete_box_iou", "complete_box_iou_loss", "distance_box_iou",
           "distance_box_iou_loss", "generalized_box_iou", "generalized_box_iou_loss",
           "masks_to_boxes", "nms", "ps_roi_align", "ps_roi_pool", "remove_small_boxes",
           "roi_align", "roi_pool", "sigmoid_focal_loss", "stochastic_depth"]


def _boxes(who: str, boxes, name: str = "boxes") -> Tensor:
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{who}: {name} must be a Tensor, got {type(boxes).__name__}")
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{who}: {name} must have shape (N, 4), got {tuple(boxes.shape)}")
    return boxes


def _upcast(t: Tensor) -> Tensor:
    """torchvision's _upcast: float16 to float32 and small integers to int32, so that products
    of coordinates do not overflow."""
    kind = np.dtype(t.dtype).kind
    if kind == "f":
        return t if np.dtype(t.dtype).itemsize >= 4 else t.float()
    return t if np.dtype(t.dtype) in (np.int32, np.int64) else t.int()


def box_area(boxes: Tensor) -> Tensor:
    """(x2 - x1) * (y2 - y1) of each box (N,)."""
    boxes = _upcast(_boxes("box_area", boxes))
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _wide(t: Tensor) -> Tensor:
    """Integer boxes upcast before their corners are subtracted: torchvision subtracts uint8
    corners first and wraps around (disjoint boxes got an IoU of -1.00003); floats as they are."""
    return t if np.dtype(t.dtype).kind == "f" else _upcast(t)


def _inter_union(who, boxes1, boxes2):
    boxes1, boxes2 = _boxes(who, boxes1, "boxes1"), _boxes(who, boxes2, "boxes2")
    boxes1, boxes2 = _wide(boxes1), _wide(boxes2)
    area1, area2 = box_area(boxes1), box_area(boxes2)
    lt = boxes1[:, None, :2].maximum(boxes2[None, :, :2])
    rb = boxes1[:, None, 2:].minimum(boxes2[None, :, 2:])
    wh = _upcast(rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    return inter, area1[:, None] + area2[None, :] - inter


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """The (N, M) intersection over union of every pair of ``boxes1`` (N, 4) and ``boxes2``
    (M, 4)."""
    inter, union = _inter_union("box_iou", boxes1, boxes2)
    return inter / union


def _enclosing(boxes1, boxes2):
    boxes1, boxes2 = _wide(boxes1), _wide(boxes2)
    lti = boxes1[:, None, :2].minimum(boxes2[None, :, :2])
    rbi = boxes1[:, None, 2:].maximum(boxes2[None, :, 2:])
    return _upcast(rbi - lti).clamp(min=0)


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """IoU less the part of the smallest enclosing box that the union leaves empty (in
    [-1, 1]); (N, M)."""
    inter, union = _inter_union("generalized_box_iou", boxes1, boxes2)
    whi = _enclosing(boxes1, boxes2)
    areai = whi[:, :, 0] * whi[:, :, 1]
    return inter / union - (areai - union) / areai


def _diou(who, boxes1, boxes2, eps):
    inter, union = _inter_union(who, boxes1, boxes2)
    iou = inter / union
    whi = _enclosing(boxes1, boxes2)
    diagonal = whi[:, :, 0] ** 2 + whi[:, :, 1] ** 2 + eps
    b1, b2 = _upcast(boxes1), _upcast(boxes2)
    x1, y1 = (b1[:, 0] + b1[:, 2]) / 2, (b1[:, 1] + b1[:, 3]) / 2
    x2, y2 = (b2[:, 0] + b2[:, 2]) / 2, (b2[:, 1] + b2[:, 3]) / 2
    distance = (x1[:, None] - x2[None, :]) ** 2 + (y1[:, None] - y2[None, :]) ** 2
    return iou - distance / diagonal, iou


def distance_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """IoU less the squared distance of the centres over the enclosing box's squared diagonal;
    (N, M)."""
    return _diou("distance_box_iou", boxes1, boxes2, eps)[0]


def complete_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """``distance_box_iou`` less alpha * v, v the squared difference of the aspect angles;
    (N, M)."""
    diou, iou = _diou("complete_box_iou", boxes1, boxes2, eps)
    b1, b2 = _upcast(boxes1), _upcast(boxes2)
    w1, h1 = b1[:, None, 2] - b1[:, None, 0], b1[:, None, 3] - b1[:, None, 1]
    w2, h2 = b2[None, :, 2] - b2[None, :, 0], b2[None, :, 3] - b2[None, :, 1]
    v = (4 / math.pi ** 2) * ((w2 / h2).arctan() - (w1 / h1).arctan()) ** 2
    alpha = (v / (1 - iou + v + eps)).detach()  # torchvision: under no_grad
    return diou - alpha * v


_FORMATS = ("xyxy", "xywh", "cxcywh")


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Boxes from ``in_fmt`` to ``out_fmt``: "xyxy" (corners), "xywh" (top-left corner and
    size) or "cxcywh" (centre and size)."""
    if in_fmt not in _FORMATS or out_fmt not in _FORMATS:
        raise ValueError(f"box_convert: in_fmt and out_fmt must be one of {list(_FORMATS)}, got "
                         f"{in_fmt!r} and {out_fmt!r}")
    if not isinstance(boxes, Tensor) or boxes.ndim < 1 or boxes.shape[-1] != 4:
        raise ValueError(f"box_convert: boxes must be a Tensor of shape (..., 4), got "
                         f"{getattr(boxes, 'shape', type(boxes).__name__)}")
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = (boxes[..., i] for i in range(4))
    if in_fmt == "xywh":
        a, b, c, d = a, b, a + c, b + d
    elif in_fmt == "cxcywh":
        a, b, c, d = a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d
    if out_fmt == "xywh":
        a, b, c, d = a, b, c - a, d - b
    elif out_fmt == "cxcywh":
        a, b, c, d = (a + c) / 2, (b + d) / 2, c - a, d - b
    return _stack_last([a, b, c, d])


def _stack_last(parts):
    """The Tensors ``parts`` stacked on a new last axis (recorded: gradients reach each)."""
    dtypes = [np.dtype(p.dtype) for p in parts]
    floats = [d for d in dtypes if d.kind == "f"]  # PyTorch's promotion: a float wins
    dtype = np.result_type(*floats) if floats else np.result_type(*dtypes)
    out = parts[0].new_zeros((*parts[0].shape, len(parts)), dtype=dtype)
    for i, p in enumerate(parts):
        out = out.select_scatter(p.to(dtype), -1, i)
    return out


def clip_boxes_to_image(boxes: Tensor, size) -> Tensor:
    """Boxes with x clamped to [0, width] and y to [0, height], ``size`` = (height, width)."""
    if not isinstance(boxes, Tensor) or boxes.ndim < 1 or boxes.shape[-1] != 4:
        raise ValueError(f"clip_boxes_to_image: boxes must be a Tensor of shape (..., 4), got "
                         f"{getattr(boxes, 'shape', type(boxes).__name__)}")
    height, width = size
    x = boxes[..., 0::2].clamp(min=0, max=width)
    y = boxes[..., 1::2].clamp(min=0, max=height)
    return _stack_last([x[..., 0], y[..., 0], x[..., 1], y[..., 1]])


def remove_small_boxes(boxes: Tensor, min_size: float) -> Tensor:
    """The int64 indices of the boxes at least ``min_size`` wide and high."""
    b = asnumpy(_boxes("remove_small_boxes", boxes)._data)
    keep = ((b[:, 2] - b[:, 0]) >= min_size) & ((b[:, 3] - b[:, 1]) >= min_size)
    return Tensor(np.nonzero(keep)[0].astype(np.int64))


def _by_score(scores: np.ndarray) -> np.ndarray:
    """Positions by decreasing score as PyTorch's descending sort: NaN first (it counts as the
    largest), ties by position (stable)."""
    nan = np.isnan(scores)
    return np.lexsort((-np.where(nan, 0, scores), ~nan))


def _greedy_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by torchvision's CPU kernel: highest score first (a stable sort), each box
    dropping the later ones whose IoU with it is above the threshold."""
    order = _by_score(scores)
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    areas = (x2 - x1) * (y2 - y1)
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for pos, i in enumerate(order):
        if suppressed[pos]:
            continue
        keep.append(i)
        rest = order[pos + 1:]
        w = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0)
        h = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0)
        inter = w * h
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = inter / (areas[i] + areas[rest] - inter)
        suppressed[pos + 1:] |= iou.astype(np.float64) > iou_threshold  # C++'s float < double
    return np.asarray(keep, dtype=np.int64)


def _nms_arrays(who, boxes, scores, iou_threshold):
    _boxes(who, boxes)
    if not isinstance(scores, Tensor) or scores.ndim != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"{who}: scores must be a Tensor of shape ({boxes.shape[0]},), one per "
                         f"box, got {getattr(scores, 'shape', type(scores).__name__)}")
    if not isinstance(iou_threshold, numbers.Real):
        raise TypeError(f"{who}: iou_threshold must be a number, got {iou_threshold!r}")
    b, s = asnumpy(boxes._data), asnumpy(scores._data)
    if b.dtype.kind != "f" or b.dtype != s.dtype:
        raise TypeError(f"{who}: boxes and scores must be float Tensors of the same dtype (as "
                        f"torchvision's kernel), got {b.dtype} and {s.dtype}")
    return b, s


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Non-maximum suppression: the int64 indices of the boxes kept, by decreasing score; a box
    is dropped when its IoU with a kept, higher-scoring box is above ``iou_threshold``."""
    b, s = _nms_arrays("nms", boxes, scores, iou_threshold)
    return Tensor(_greedy_nms(b, s, float(iou_threshold)))


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """``nms`` within each category ``idxs`` (boxes of different categories never suppress each
    other); the kept indices by decreasing score."""
    b, s = _nms_arrays("batched_nms", boxes, scores, iou_threshold)
    if not isinstance(idxs, Tensor) or tuple(idxs.shape) != (b.shape[0],):
        raise ValueError(f"batched_nms: idxs must be a Tensor of shape ({b.shape[0]},), one "
                         f"category per box, got {getattr(idxs, 'shape', type(idxs).__name__)}")
    categories = asnumpy(idxs._data)
    kept = [np.nonzero(categories == c)[0][_greedy_nms(b[categories == c], s[categories == c],
                                                      float(iou_threshold))]
            for c in np.unique(categories)]
    # in index order before the stable sort: equal scores by index, not by category
    kept = np.sort(np.concatenate(kept)) if kept else np.zeros(0, np.int64)
    return Tensor(kept[_by_score(s[kept])].astype(np.int64))


def sigmoid_focal_loss(inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2,
                       reduction: str = "none") -> Tensor:
    """RetinaNet's focal loss of logits ``inputs`` against 0/1 ``targets`` (the same shape):
    binary cross-entropy weighted by (1 - p_t) ** gamma and, for alpha >= 0, by alpha for the
    positives and 1 - alpha for the negatives."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"sigmoid_focal_loss: reduction must be 'none', 'mean' or 'sum', got "
                         f"{reduction!r}")
    p = inputs.sigmoid()
    # binary_cross_entropy_with_logits, written out: max(x, 0) - x t + log(1 + exp(-|x|))
    ce = inputs.clamp(min=0) - inputs * targets + (-inputs.abs()).exp().log1p()
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss
