"""Twenty-fourth fuzz wave, chainrule.vision.ops: what the differential fuzzing found wrong in
the box operations, against torchvision's rules written in torch (torchvision does not install
here): nms's order (PyTorch's descending sort puts NaN first; batched_nms keeps equal scores in
index order, as torchvision's single nms over offset boxes does) and integer boxes, whose corners
torchvision subtracts before widening them (uint8 wraps around: chainrule widens first)."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.vision import ops  # noqa: E402


def _torch_nms(boxes, scores, threshold):
    """torchvision's CPU nms kernel, loop for loop, in torch."""
    order = torch.sort(scores, dim=0, descending=True, stable=True).indices.tolist()
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    suppressed, keep = set(), []
    for pos, i in enumerate(order):
        if i in suppressed:
            continue
        keep.append(i)
        for j in order[pos + 1 :]:
            wh = torch.min(boxes[i, 2:], boxes[j, 2:]) - torch.max(boxes[i, :2], boxes[j, :2])
            inter = wh.clamp(min=0).prod()
            if inter / (area[i] + area[j] - inter) > threshold:
                suppressed.add(j)
    return keep


def _torch_batched_nms(boxes, scores, idxs, threshold):
    """torchvision's batched_nms for a few boxes: one nms over boxes moved apart by category."""
    offsets = idxs.to(boxes) * (boxes.max() + 1)
    return _torch_nms(boxes + offsets[:, None], scores, threshold)


def _case(rng, n):
    xy = rng.integers(0, 12, (n, 2)).astype(np.float32)  # whole numbers: many equal boxes
    boxes = np.concatenate([xy, xy + rng.integers(1, 6, (n, 2))], 1).astype(np.float32)
    scores = rng.choice(np.array([0.25, 0.5, 0.75, np.nan], np.float32), n)  # ties and NaN
    return boxes, scores


def test_nms_orders_nan_and_equal_scores_as_pytorchs_sort():
    # a NaN score sorted last kept the other box of a pair: PyTorch's sort puts NaN first
    pair = cr.tensor([[0, 0, 2, 2], [0, 0, 2, 2.0]])
    assert ops.nms(pair, cr.tensor([float("nan"), 1.0]), 0.5).tolist() == [0]
    rng = np.random.default_rng(24)
    for _ in range(12):
        boxes, scores = _case(rng, int(rng.integers(1, 12)))
        threshold = float(rng.choice([0.0, 0.3, 0.7]))
        assert ops.nms(cr.tensor(boxes), cr.tensor(scores), threshold).tolist() == _torch_nms(
            torch.tensor(boxes), torch.tensor(scores), threshold
        )


def test_batched_nms_keeps_equal_scores_in_index_order_across_categories():
    # kept boxes were gathered category by category, so equal scores came out by category
    boxes = cr.tensor([[0, 0, 2, 2], [0, 0, 2, 2], [5, 5, 6, 6.0]])
    kept = ops.batched_nms(boxes, cr.tensor([1.0, 1.0, 1.0]), cr.tensor([1, 0, 0]), 0.5)
    assert kept.tolist() == [0, 1, 2]
    rng = np.random.default_rng(240)
    for _ in range(12):
        n = int(rng.integers(1, 12))
        boxes, scores = _case(rng, n)
        scores = np.where(np.isnan(scores), np.float32(1), scores)  # NaN moves torch's offsets
        idxs = rng.integers(0, 3, n)
        ours = ops.batched_nms(cr.tensor(boxes), cr.tensor(scores), cr.tensor(idxs), 0.5)
        assert ours.tolist() == _torch_batched_nms(
            torch.tensor(boxes), torch.tensor(scores), torch.tensor(idxs), 0.5
        )


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64])
@pytest.mark.parametrize(
    "name", ["box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou"]
)
def test_integer_boxes_give_the_float_boxes_values(dtype, name):
    # uint8 corners subtracted before widening wrapped around: two disjoint boxes had an IoU of
    # -1.00003 and a GIoU of -4034 (torchvision's own result; deliberately not followed)
    rng = np.random.default_rng(7)
    xy = rng.integers(0, 200, (6, 2))
    boxes = np.concatenate([xy, xy + rng.integers(1, 50, (6, 2))], 1)
    a, b = boxes[:4], boxes[4:]
    ours = getattr(ops, name)(cr.tensor(a.astype(dtype)), cr.tensor(b.astype(dtype)))
    exact = getattr(ops, name)(cr.tensor(a.astype(np.float64)), cr.tensor(b.astype(np.float64)))
    assert ours.dtype == cr.float32
    np.testing.assert_allclose(ours.numpy(), exact.numpy(), rtol=1e-5, atol=1e-6)
    if name == "box_iou":
        assert (ours.numpy() >= 0).all()
