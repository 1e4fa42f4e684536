"""chainrule.vision.ops against torchvision.ops: the box operations (values, dtypes, float64
gradients) against PyTorch (torchvision's own where it imports, else its formulas written in
torch), and nms / batched_nms against a greedy reference and hand-worked cases."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck
from chainrule.vision import ops


def _boxes(rng, n, dtype=np.float64):
    xy = rng.uniform(-5, 20, (n, 2))
    wh = rng.uniform(0.5, 10, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(dtype)


def _torchvision_ops():
    try:  # a torchvision built for another torch fails with RuntimeError, not ImportError
        import torchvision.ops as tvo
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"torchvision does not import: {e!r}")
    return tvo


def _torch_reference(torch):
    """torchvision.ops' formulas for the pairwise IoUs, written in torch."""
    def inter_union(b1, b2):
        area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
        area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
        lt, rb = torch.max(b1[:, None, :2], b2[:, :2]), torch.min(b1[:, None, 2:], b2[:, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[:, :, 0] * wh[:, :, 1]
        return inter, area1[:, None] + area2 - inter

    def giou(b1, b2):
        inter, union = inter_union(b1, b2)
        wh = (torch.max(b1[:, None, 2:], b2[:, 2:]) - torch.min(b1[:, None, :2], b2[:, :2]))
        areai = wh.clamp(min=0).prod(-1)
        return inter / union - (areai - union) / areai

    def ciou(b1, b2):
        inter, union = inter_union(b1, b2)
        iou = inter / union
        wh = (torch.max(b1[:, None, 2:], b2[:, 2:]) - torch.min(b1[:, None, :2], b2[:, :2]))
        diagonal = (wh.clamp(min=0) ** 2).sum(-1) + 1e-7
        c1, c2 = (b1[:, :2] + b1[:, 2:]) / 2, (b2[:, :2] + b2[:, 2:]) / 2
        diou = iou - ((c1[:, None] - c2[None]) ** 2).sum(-1) / diagonal
        w1, h1 = b1[:, None, 2] - b1[:, None, 0], b1[:, None, 3] - b1[:, None, 1]
        w2, h2 = b2[None, :, 2] - b2[None, :, 0], b2[None, :, 3] - b2[None, :, 1]
        v = (4 / torch.pi ** 2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)) ** 2
        with torch.no_grad():
            alpha = v / (1 - iou + v + 1e-7)
        return diou - alpha * v

    return {"box_iou": lambda b1, b2: inter_union(b1, b2)[0] / inter_union(b1, b2)[1],
            "generalized_box_iou": giou, "complete_box_iou": ciou}


@pytest.mark.torch
@pytest.mark.parametrize("name", ["box_iou", "generalized_box_iou", "complete_box_iou"])
def test_pairwise_ious_match_torchvisions_formulas_with_gradients(name):
    torch = pytest.importorskip("torch")
    reference = _torch_reference(torch)[name]
    rng = np.random.default_rng(0)
    for n, m in [(3, 4), (1, 1), (5, 2)]:
        a, b = _boxes(rng, n), _boxes(rng, m)
        a[0] = b[0]  # one identical pair: IoU 1
        ca, cb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
        ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        ours, theirs = getattr(ops, name)(ca, cb), reference(ta, tb)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
        weights = rng.standard_normal((n, m))
        (ours * cr.tensor(weights)).sum().backward()
        (theirs * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(ca.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(cb.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["box_area", "box_iou", "generalized_box_iou",
                                  "distance_box_iou"])
def test_box_functions_pass_gradcheck(name):
    # (complete_box_iou's alpha is computed without gradient, as torchvision's: its gradient
    # is compared with PyTorch's below, not with finite differences)
    rng = np.random.default_rng(1)
    a = cr.tensor(_boxes(rng, 3), requires_grad=True)
    b = cr.tensor(_boxes(rng, 2), requires_grad=True)
    fn = getattr(ops, name)
    assert gradcheck(fn, (a,) if name == "box_area" else (a, b))


@pytest.mark.parametrize("fmt", [("xyxy", "cxcywh"), ("cxcywh", "xywh"), ("xywh", "xyxy")])
def test_box_convert_and_clip_pass_gradcheck(fmt):
    a = cr.tensor(_boxes(np.random.default_rng(2), 4), requires_grad=True)
    assert gradcheck(lambda t: ops.box_convert(t, *fmt), (a,))
    assert gradcheck(lambda t: ops.clip_boxes_to_image(t, (9, 12)), (a,))


@pytest.mark.torch
def test_box_operations_match_torchvision():
    torch = pytest.importorskip("torch")
    tvo = _torchvision_ops()
    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64, np.int64, np.int32, np.int16):
        a, b = _boxes(rng, 5), _boxes(rng, 3)
        if np.dtype(dtype).kind == "i":
            a, b = np.round(a), np.round(b)
        a, b = a.astype(dtype), b.astype(dtype)
        calls = [("box_area", (a,), ()), ("box_iou", (a, b), ()),
                 ("generalized_box_iou", (a, b), ()), ("distance_box_iou", (a, b), ()),
                 ("complete_box_iou", (a, b), ()), ("clip_boxes_to_image", (a,), ((6, 9),)),
                 ("remove_small_boxes", (a,), (4.0,))]
        calls += [("box_convert", (a,), (i, o)) for i in ("xyxy", "xywh", "cxcywh")
                  for o in ("xyxy", "xywh", "cxcywh")]
        for name, arrays, extra in calls:
            theirs = getattr(tvo, name)(*[torch.tensor(x) for x in arrays], *extra)
            ours = getattr(ops, name)(*[cr.tensor(x) for x in arrays], *extra)
            assert (str(ours.dtype), ours.shape) == (str(theirs.dtype).replace("torch.", ""),
                                                     tuple(theirs.shape)), (name, dtype)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6,
                                       err_msg=f"{name} {np.dtype(dtype)}")


@pytest.mark.torch
def test_sigmoid_focal_loss_matches_torchvisions_formula():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal((4, 3)), (rng.random((4, 3)) < 0.4).astype(np.float64)
    for alpha, gamma, reduction in [(0.25, 2, "none"), (-1, 0, "mean"), (0.5, 1.5, "sum")]:
        tx = torch.tensor(x, requires_grad=True)
        p = torch.sigmoid(tx)
        ce = torch.nn.functional.binary_cross_entropy_with_logits(tx, torch.tensor(t),
                                                                  reduction="none")
        p_t = p * torch.tensor(t) + (1 - p) * (1 - torch.tensor(t))
        theirs = ce * (1 - p_t) ** gamma
        if alpha >= 0:
            theirs = (alpha * torch.tensor(t) + (1 - alpha) * (1 - torch.tensor(t))) * theirs
        theirs = {"none": theirs, "mean": theirs.mean(), "sum": theirs.sum()}[reduction]
        cx = cr.tensor(x, requires_grad=True)
        ours = ops.sigmoid_focal_loss(cx, cr.tensor(t), alpha, gamma, reduction)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert gradcheck(lambda v: ops.sigmoid_focal_loss(v, cr.tensor(t)),
                     (cr.tensor(x, requires_grad=True),))


def _reference_nms(boxes, scores, threshold):
    """The greedy rule written plainly: visit by score (ties by index), keep a box unless a kept
    one overlaps it by more than ``threshold``."""
    keep = []
    for i in sorted(range(len(scores)), key=lambda k: (-scores[k], k)):
        if all(_iou(boxes[i], boxes[j]) <= threshold for j in keep):
            keep.append(i)
    return keep


def _iou(a, b):
    w = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    h = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_nms_keeps_torchvisions_boxes_in_score_order():
    boxes = cr.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10.]])
    scores = cr.tensor([0.9, 0.8, 0.7, 0.95])
    # box 3 (0.95) suppresses 0 (IoU 1) and 1 (IoU 81/119 = 0.68 > 0.5); 2 is apart
    kept = ops.nms(boxes, scores, 0.5)
    assert kept.dtype == cr.int64 and kept.tolist() == [3, 2]
    assert ops.nms(boxes, scores, 0.7).tolist() == [3, 1, 2]
    # equal scores: the lower index first (torchvision's stable sort)
    assert ops.nms(boxes, cr.tensor([0.5, 0.5, 0.5, 0.5]), 0.99).tolist() == [0, 1, 2]
    empty = ops.nms(cr.zeros(0, 4), cr.zeros(0), 0.5)
    assert empty.dtype == cr.int64 and empty.shape == (0,)
    rng = np.random.default_rng(5)
    for _ in range(30):
        n = int(rng.integers(1, 25))
        b = _boxes(rng, n, np.float32)
        s = rng.random(n).astype(np.float32)
        s[rng.integers(0, n, n // 3)] = 0.5  # some ties
        threshold = float(rng.uniform(0.1, 0.9))
        assert ops.nms(cr.tensor(b), cr.tensor(s), threshold).tolist() == \
            _reference_nms(b.astype(np.float64), s, threshold)


def test_batched_nms_suppresses_only_within_a_category():
    boxes = cr.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10.], [50, 50, 60, 60]])
    scores = cr.tensor([0.9, 0.8, 0.7, 0.6])
    assert ops.batched_nms(boxes, scores, cr.tensor([0, 0, 1, 1]), 0.5).tolist() == [0, 2, 3]
    assert ops.batched_nms(boxes, scores, cr.tensor([0, 0, 0, 0]), 0.5).tolist() == [0, 3]
    rng = np.random.default_rng(6)
    for _ in range(20):
        n = int(rng.integers(1, 20))
        b, s = _boxes(rng, n, np.float32), rng.random(n).astype(np.float32)
        idxs = rng.integers(0, 3, n)
        expected = [i for c in range(3) for i in np.nonzero(idxs == c)[0][
            _reference_nms(b[idxs == c].astype(np.float64), s[idxs == c], 0.4)]]
        expected.sort(key=lambda k: -s[k])
        assert ops.batched_nms(cr.tensor(b), cr.tensor(s), cr.tensor(idxs), 0.4).tolist() == \
            expected


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"nms: boxes must have shape \(N, 4\), got \(3, 3\)"):
        ops.nms(cr.zeros(3, 3), cr.zeros(3), 0.5)
    with pytest.raises(ValueError, match=r"scores must be a Tensor of shape \(3,\)"):
        ops.nms(cr.zeros(3, 4), cr.zeros(2), 0.5)
    with pytest.raises(TypeError, match="same dtype .*got float64 and float32"):
        ops.nms(cr.zeros(3, 4, dtype=cr.float64), cr.zeros(3), 0.5)
    with pytest.raises(ValueError, match=r"idxs must be a Tensor of shape \(3,\)"):
        ops.batched_nms(cr.zeros(3, 4), cr.zeros(3), cr.zeros(2, dtype=cr.int64), 0.5)
    with pytest.raises(ValueError, match="in_fmt and out_fmt must be one of"):
        ops.box_convert(cr.zeros(2, 4), "xyxy", "yxyx")
    with pytest.raises(ValueError, match="reduction must be 'none', 'mean' or 'sum'"):
        ops.sigmoid_focal_loss(cr.zeros(2), cr.zeros(2), reduction="max")
