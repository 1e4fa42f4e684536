"""chainrule.vision.ops.roi_align against torchvision's CPU kernel: a loop-for-loop copy of its
rule (roi_align_kernel.cpp: samples outside [-1, size] are 0, those in [-1, 0] read the border),
torchvision's own pure-PyTorch version where it imports, and float64 gradchecks."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck
from chainrule.vision import ops


def _corner(v, size):
    """The kernel's clamping of one sample coordinate: (low, high, position)."""
    v = max(v, 0.0)
    low = int(v)
    if low >= size - 1:
        return size - 1, size - 1, float(size - 1)
    return low, low + 1, v


def _reference(x, rois, ph_, pw_, scale, sr, aligned):
    """torchvision's CPU kernel, loop for loop, in float64."""
    _, c, h, w = x.shape
    out = np.zeros((len(rois), c, ph_, pw_))
    off = 0.5 if aligned else 0.0
    for k, r in enumerate(rois):
        b = int(r[0])
        sw, sh, ew, eh = (r[i] * scale - off for i in (1, 2, 3, 4))
        rw, rh = ew - sw, eh - sh
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph_, rw / pw_
        gh = sr if sr > 0 else math.ceil(rh / ph_)
        gw = sr if sr > 0 else math.ceil(rw / pw_)
        for p in range(ph_):
            for q in range(pw_):
                acc = np.zeros(c)
                for iy in range(gh):
                    y = sh + p * bh + (iy + .5) * bh / gh
                    for ix in range(gw):
                        xx = sw + q * bw + (ix + .5) * bw / gw
                        if y < -1.0 or y > h or xx < -1.0 or xx > w:
                            continue
                        (yl, yh, yy), (xl, xh, xq) = _corner(y, h), _corner(xx, w)
                        ly, lx = yy - yl, xq - xl
                        acc += ((1 - ly) * (1 - lx) * x[b, :, yl, xl]
                                + (1 - ly) * lx * x[b, :, yl, xh]
                                + ly * (1 - lx) * x[b, :, yh, xl] + ly * lx * x[b, :, yh, xh])
                out[k, :, p, q] = acc / max(gh * gw, 1)
    return out


def _case(rng, n=2):
    c, h, w = int(rng.integers(1, 4)), int(rng.integers(3, 10)), int(rng.integers(3, 10))
    x = rng.standard_normal((n, c, h, w))
    k = int(rng.integers(1, 5))
    xy = rng.uniform(-2, max(h, w), (k, 2))
    far = np.maximum(xy + rng.uniform(-1, 8, (k, 2)), xy + 0.01)  # some boxes leave the map
    rois = np.concatenate([rng.integers(0, n, (k, 1)), xy, far], 1)
    return x, rois


@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_is_torchvisions_kernel(aligned):
    rng = np.random.default_rng(0)
    for _ in range(25):
        x, rois = _case(rng)
        size = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        scale, ratio = float(rng.choice([1.0, 0.5])), int(rng.choice([-1, 0, 1, 2, 3]))
        ours = ops.roi_align(cr.tensor(x), cr.tensor(rois), size, scale, ratio, aligned)
        assert ours.shape == (len(rois), x.shape[1], *size) and ours.dtype == cr.float64
        np.testing.assert_allclose(ours.numpy(), _reference(x, rois, *size, scale, ratio,
                                                            aligned), rtol=1e-12, atol=1e-12)


def test_roi_align_by_hand_and_with_a_list_of_boxes():
    x = cr.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    # box (0, 0)-(2, 2), one bin, 2 x 2 samples at 0.5 and 1.5: their mean, the value at (1, 1)
    out = ops.roi_align(x, cr.tensor([[0, 0, 0, 2, 2.]]), 1, sampling_ratio=2)
    assert out.numpy().ravel().tolist() == [5.0]
    # aligned shifts by half a pixel: samples at 0 and 1, mean 2.5
    out = ops.roi_align(x, cr.tensor([[0, 0, 0, 2, 2.]]), 1, sampling_ratio=2, aligned=True)
    assert out.numpy().ravel().tolist() == [2.5]
    boxes = [cr.tensor([[0, 0, 2, 2.]]), cr.tensor([[1, 1, 3, 3.], [0, 0, 4, 4.]])]
    pair = cr.tensor(np.stack([np.arange(16.0).reshape(1, 4, 4)] * 2))
    listed = ops.roi_align(pair, boxes, (2, 2))
    rois = cr.tensor([[0, 0, 0, 2, 2.], [1, 1, 1, 3, 3], [1, 0, 0, 4, 4]])
    np.testing.assert_array_equal(listed.numpy(), ops.roi_align(pair, rois, (2, 2)).numpy())


def test_roi_align_gradients():
    rng = np.random.default_rng(1)
    x, rois = _case(rng)
    xt = cr.tensor(x, requires_grad=True)
    for ratio, aligned in [(-1, False), (2, True)]:
        assert gradcheck(lambda t: ops.roi_align(t, cr.tensor(rois), (2, 3), 0.5, ratio,
                                                 aligned), (xt,))
        assert gradgradcheck(lambda t: ops.roi_align(t, cr.tensor(rois), (2, 2), 1.0, ratio,
                                                     aligned), (xt,))
    rt = cr.tensor(rois, requires_grad=True)  # the boxes get no gradient, as torchvision's
    ops.roi_align(xt, rt, 2).sum().backward()
    assert rt.grad is None and xt.grad.shape == x.shape


@pytest.mark.torch
def test_roi_align_matches_torchvisions_pytorch_version():
    torch = pytest.importorskip("torch")
    try:
        import importlib

        module = importlib.import_module("torchvision.ops.roi_align")
    except Exception as e:  # noqa: BLE001 - a torchvision built for another torch
        pytest.skip(f"torchvision does not import: {e!r}")
    reference = getattr(module._roi_align, "__wrapped__", module._roi_align)
    rng = np.random.default_rng(2)
    for _ in range(10):  # boxes inside the map: where its PyTorch version and kernel agree
        x = rng.standard_normal((2, 2, 9, 11))
        xy = rng.uniform(0, 5, (3, 2))
        rois = np.concatenate([rng.integers(0, 2, (3, 1)), xy, xy + rng.uniform(1, 3, (3, 2))], 1)
        size, ratio = (2, 3), int(rng.choice([-1, 2]))
        theirs = reference(torch.tensor(x), torch.tensor(rois), 1.0, *size, ratio, False)
        np.testing.assert_allclose(ops.roi_align(cr.tensor(x), cr.tensor(rois), size, 1.0,
                                                 ratio).numpy(), theirs.numpy(), rtol=1e-12)


def test_roi_align_bad_arguments():
    with pytest.raises(ValueError, match=r"boxes must be a Tensor \(K, 5\)"):
        ops.roi_align(cr.zeros(1, 1, 4, 4), cr.zeros(2, 4), 2)
    with pytest.raises(ValueError, match=r"input must be a float Tensor \(N, C, H, W\)"):
        ops.roi_align(cr.zeros(1, 4, 4), cr.zeros(2, 5), 2)
    with pytest.raises(ValueError, match="output_size must be a positive int"):
        ops.roi_align(cr.zeros(1, 1, 4, 4), cr.zeros(2, 5), (0, 2))
    with pytest.raises(IndexError, match=r"batch indices must be in \[0, 0\], got \[3\]"):
        ops.roi_align(cr.zeros(1, 1, 4, 4), cr.tensor([[3, 0, 0, 1, 1.]]), 2)
    assert math.isfinite(float(ops.roi_align(cr.zeros(1, 1, 4, 4),
                                             cr.tensor([[0, 2, 2, 2, 2.]]), 2, aligned=True).sum()))
