"""chainrule.vision.ops' paired box losses, masks_to_boxes and stochastic_depth against
torchvision.ops (where it imports; else its formulas written in torch), with float64 gradchecks."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck
from chainrule.vision import ops

_LOSSES = ["generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss"]


def _pairs(rng, shape, dtype=np.float64):
    def one():
        xy = rng.uniform(-5, 10, (*shape, 2))
        return np.concatenate([xy, xy + rng.uniform(0.5, 8, (*shape, 2))], -1).astype(dtype)
    return one(), one()


def _torchvision_ops():
    try:  # a torchvision built for another torch fails with RuntimeError, not ImportError
        import torchvision.ops as tvo
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"torchvision does not import: {e!r}")
    return tvo


@pytest.mark.torch
def test_generalized_box_iou_loss_is_torchvisions_formula():
    torch = pytest.importorskip("torch")
    a, b = _pairs(np.random.default_rng(0), (6,))
    a[0] = b[0] + [20, 20, 20, 20]  # apart: no overlap
    ta = torch.tensor(a, requires_grad=True)
    tb = torch.tensor(b)
    lt, rb = torch.max(ta[:, :2], tb[:, :2]), torch.min(ta[:, 2:], tb[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = (ta[:, 2:] - ta[:, :2]).prod(-1) + (tb[:, 2:] - tb[:, :2]).prod(-1) - inter
    hull = (torch.max(ta[:, 2:], tb[:, 2:]) - torch.min(ta[:, :2], tb[:, :2])).prod(-1)
    theirs = (1 - (inter / (union + 1e-7) - (hull - union) / (hull + 1e-7))).mean()
    ca = cr.tensor(a, requires_grad=True)
    ours = ops.generalized_box_iou_loss(ca, cr.tensor(b), "mean")
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(ca.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", _LOSSES[:2])
def test_box_losses_pass_gradcheck(name):
    a, b = _pairs(np.random.default_rng(1), (2, 3))
    assert gradcheck(lambda x, y: getattr(ops, name)(x, y), (cr.tensor(a, requires_grad=True),
                                                            cr.tensor(b, requires_grad=True)))


@pytest.mark.torch
def test_box_losses_match_torchvision():
    torch = pytest.importorskip("torch")
    tvo = _torchvision_ops()
    rng = np.random.default_rng(2)
    for dtype in (np.float32, np.float64, np.int64):
        a, b = _pairs(rng, (5,), np.float64)
        a, b = (np.round(a), np.round(b)) if dtype == np.int64 else (a, b)
        a, b = a.astype(dtype), b.astype(dtype)
        for name in _LOSSES:
            for reduction in ("none", "mean", "sum"):
                theirs = getattr(tvo, name)(torch.tensor(a), torch.tensor(b), reduction)
                ours = getattr(ops, name)(cr.tensor(a), cr.tensor(b), reduction)
                assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
                np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)
    m = rng.random((3, 5, 6)) < 0.3
    m[:, 2, 3] = True
    np.testing.assert_array_equal(ops.masks_to_boxes(cr.tensor(m)).numpy(),
                                  tvo.masks_to_boxes(torch.tensor(m)).numpy())


def test_box_losses_reductions_and_errors():
    a, b = _pairs(np.random.default_rng(3), (4,))
    for name in _LOSSES:
        fn = getattr(ops, name)
        each = fn(cr.tensor(a), cr.tensor(b))
        assert each.shape == (4,) and float(each.min()) >= 0
        assert fn(cr.tensor(a), cr.tensor(b), "sum").item() == pytest.approx(each.numpy().sum())
        assert fn(cr.tensor(a), cr.tensor(a), "mean").item() == pytest.approx(0, abs=1e-6)
        empty = fn(cr.zeros(0, 4), cr.zeros(0, 4), "mean")
        assert empty.shape == () and empty.item() == 0.0
        with pytest.raises(ValueError, match="reduction must be 'none', 'mean' or 'sum'"):
            fn(cr.tensor(a), cr.tensor(b), "max")
        with pytest.raises(ValueError, match=r"boxes2 must be a Tensor of shape \(\.\.\., 4\)"):
            fn(cr.tensor(a), cr.zeros(4, 3))


def test_masks_to_boxes_by_hand():
    m = np.zeros((2, 4, 5), bool)
    m[0, 1:3, 2] = True
    m[1, 0, 0] = m[1, 3, 4] = True
    boxes = ops.masks_to_boxes(cr.tensor(m))
    assert boxes.dtype == cr.float32
    assert boxes.numpy().tolist() == [[2, 1, 2, 2], [0, 0, 4, 3]]
    with pytest.raises(ValueError, match="mask 0 is empty"):
        ops.masks_to_boxes(cr.zeros(1, 3, 3))


def test_stochastic_depth():
    x = cr.ones(2000, 3)
    out = ops.stochastic_depth(x, 0.25, "row", rng=np.random.default_rng(4)).numpy()
    rows = out[:, 0]
    np.testing.assert_allclose(np.unique(rows), [0.0, 1 / 0.75], rtol=1e-6)
    assert (out == out[:, :1]).all() and abs((rows == 0).mean() - 0.25) < 0.04
    batch = ops.stochastic_depth(x, 0.5, "batch", rng=np.random.default_rng(5)).numpy()
    assert len(np.unique(batch)) == 1
    assert ops.stochastic_depth(x, 0.9, "row", training=False) is x
    assert float(ops.stochastic_depth(x, 1.0, "batch").sum()) == 0.0
    xg = cr.tensor(np.ones((4, 2)), requires_grad=True)
    ops.stochastic_depth(xg, 0.5, "row", rng=np.random.default_rng(6)).sum().backward()
    assert set(xg.grad.numpy().ravel().tolist()) <= {0.0, 2.0}
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        ops.stochastic_depth(x, 1.5, "row")
    with pytest.raises(ValueError, match="either 'batch' or 'row', but got 'col'"):
        ops.stochastic_depth(x, 0.5, "col")
