"""chainrule.vision.ops.roi_pool, ps_roi_align and ps_roi_pool against torchvision's CPU kernels
(roi_pool_kernel.cpp, ps_roi_align_kernel.cpp, ps_roi_pool_kernel.cpp), copied loop for loop here
in PyTorch (torchvision's C ops do not load in this environment), values and gradients; float64
gradcheck/gradgradcheck."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck
from chainrule.vision import ops

FLT_MAX = float(np.finfo(np.float32).max)


def _c_round(v):
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def _clip(v, hi):
    return min(max(v, 0), hi)


def _torch_roi_pool(torch, x, rois, ph_, pw_, scale):
    _, c, h, w = x.shape
    out = []
    for r in rois:
        b = int(r[0])
        sw, sh, ew, eh = (_c_round(r[i] * scale) for i in (1, 2, 3, 4))
        bh, bw = max(eh - sh + 1, 1) / ph_, max(ew - sw + 1, 1) / pw_
        for p in range(ph_):
            for q in range(pw_):
                h0, h1 = _clip(math.floor(p * bh) + sh, h), _clip(math.ceil((p + 1) * bh) + sh, h)
                w0, w1 = _clip(math.floor(q * bw) + sw, w), _clip(math.ceil((q + 1) * bw) + sw, w)
                if h1 <= h0 or w1 <= w0:
                    out.append(torch.zeros(c, dtype=x.dtype))
                    continue
                best = x[b, :, h0:h1, w0:w1].reshape(c, -1).max(1).values
                out.append(torch.where(best > -FLT_MAX, best, torch.full_like(best, -FLT_MAX)))
    return torch.stack(out).reshape(len(rois), ph_, pw_, c).permute(0, 3, 1, 2)


def _torch_ps_roi_pool(torch, x, rois, ph_, pw_, scale):
    _, c, h, w = x.shape
    cout = c // (ph_ * pw_)
    out = [[[[None] * pw_ for _ in range(ph_)] for _ in range(cout)] for _ in rois]
    for k, r in enumerate(rois):
        b = int(r[0])
        sw, sh, ew, eh = (_c_round(r[i] * scale) for i in (1, 2, 3, 4))
        bh, bw = max(eh - sh, 1) / ph_, max(ew - sw, 1) / pw_
        for co in range(cout):
            for p in range(ph_):
                for q in range(pw_):
                    ci = (co * ph_ + p) * pw_ + q
                    h0 = _clip(math.floor(p * bh) + sh, h - 1)
                    h1 = _clip(math.ceil((p + 1) * bh) + sh, h - 1)
                    w0 = _clip(math.floor(q * bw) + sw, w - 1)
                    w1 = _clip(math.ceil((q + 1) * bw) + sw, w - 1)
                    if h1 <= h0 or w1 <= w0:
                        out[k][co][p][q] = torch.zeros((), dtype=x.dtype)
                    else:
                        out[k][co][p][q] = x[b, ci, h0:h1, w0:w1].sum() / ((h1 - h0) * (w1 - w0))
    return torch.stack([torch.stack([torch.stack([torch.stack(r) for r in c_]) for c_ in k_])
                        for k_ in out])


def _bilinear(x, y, xx, h, w):
    if not (-1.0 <= y <= h and -1.0 <= xx <= w):
        return 0.0 * x[0, 0]
    y, xx = max(y, 0.0), max(xx, 0.0)
    yl, xl = int(y), int(xx)
    if yl >= h - 1:
        yl = yh = h - 1
        y = float(yl)
    else:
        yh = yl + 1
    if xl >= w - 1:
        xl = xh = w - 1
        xx = float(xl)
    else:
        xh = xl + 1
    ly, lx = y - yl, xx - xl
    return ((1 - ly) * (1 - lx) * x[yl, xl] + (1 - ly) * lx * x[yl, xh]
            + ly * (1 - lx) * x[yh, xl] + ly * lx * x[yh, xh])


def _torch_ps_roi_align(torch, x, rois, ph_, pw_, scale, sr):
    _, c, h, w = x.shape
    cout = c // (ph_ * pw_)
    vals = []
    for r in rois:
        b = int(r[0])
        sw, sh, ew, eh = (r[i] * scale - 0.5 for i in (1, 2, 3, 4))
        rw, rh = ew - sw, eh - sh
        bh, bw = rh / ph_, rw / pw_
        gh = sr if sr > 0 else math.ceil(rh / ph_)
        gw = sr if sr > 0 else math.ceil(rw / pw_)
        for co in range(cout):
            for p in range(ph_):
                for q in range(pw_):
                    plane = x[b, (co * ph_ + p) * pw_ + q]
                    acc = 0.0 * plane[0, 0]
                    for iy in range(gh):
                        y = p * bh + sh + (iy + .5) * bh / gh
                        for ix in range(gw):
                            acc = acc + _bilinear(plane, y, q * bw + sw + (ix + .5) * bw / gw, h, w)
                    count = gh * gw
                    vals.append(acc / count if count else acc.detach() * math.nan)
    return torch.stack(vals).reshape(len(rois), cout, ph_, pw_)


def _case(rng, channels, n=2):
    h, w = int(rng.integers(3, 10)), int(rng.integers(3, 10))
    x = rng.standard_normal((n, channels, h, w))
    k = int(rng.integers(1, 4))
    xy = rng.uniform(-2, max(h, w), (k, 2))
    far = xy + rng.uniform(-1, 8, (k, 2))  # some boxes leave the map, some are reversed
    return x, np.concatenate([rng.integers(0, n, (k, 1)), xy, far], 1)


def _compare(torch, ours, theirs, xt, x_torch, rng):
    theirs_v = theirs.detach().numpy()
    np.testing.assert_allclose(ours.numpy(), theirs_v, rtol=1e-12, atol=1e-12)
    g = np.nan_to_num(rng.standard_normal(ours.shape) * np.isfinite(theirs_v))
    (cr.tensor(g) * ours).nan_to_num().sum().backward()
    if not theirs.requires_grad:  # every bin empty: no path to the input
        assert not xt.grad.numpy().any()
        return
    (torch.tensor(g) * theirs).nan_to_num().sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), x_torch.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["roi_pool", "ps_roi_pool", "ps_roi_align"])
def test_matches_torchvisions_kernel_in_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for _ in range(12):
        size = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        channels = int(rng.integers(1, 3)) * (size[0] * size[1] if name != "roi_pool" else 1)
        x, rois = _case(rng, channels)
        scale = float(rng.choice([1.0, 0.5, 0.25]))
        xt, x_torch = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        if name == "ps_roi_align":
            ratio = int(rng.choice([-1, 0, 1, 2]))
            ours = ops.ps_roi_align(xt, cr.tensor(rois), size, scale, ratio)
            theirs = _torch_ps_roi_align(torch, x_torch, rois, *size, scale, ratio)
        else:
            ours = getattr(ops, name)(xt, cr.tensor(rois), size, scale)
            reference = _torch_roi_pool if name == "roi_pool" else _torch_ps_roi_pool
            theirs = reference(torch, x_torch, rois, *size, scale)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == cr.float64
        _compare(torch, ours, theirs, xt, x_torch, rng)


def test_roi_pool_by_hand():
    x = cr.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    # box (0, 0)-(1, 1) is 2 x 2 pixels (end - start + 1): one bin, its maximum 5
    out = ops.roi_pool(x, cr.tensor([[0, 0, 0, 1, 1.]]), 1)
    assert out.numpy().ravel().tolist() == [5.0]
    out.sum().backward()
    assert x.grad.numpy().ravel().tolist() == [0.0] * 5 + [1.0] + [0.0] * 10
    # corners rounded half away from zero: 0.5 -> 1, 1.5 -> 2
    out = ops.roi_pool(x, cr.tensor([[0, 0.5, 0.5, 1.5, 1.5]]), 1)
    assert out.numpy().ravel().tolist() == [10.0]
    # a box beyond the map: empty bins are 0
    assert ops.roi_pool(x, cr.tensor([[0, 9, 9, 12, 12.]]), 2).numpy().ravel().tolist() == [0.0] * 4
    neg = cr.tensor(np.full((1, 1, 2, 2), -np.inf))  # nothing above -FLT_MAX: -FLT_MAX
    assert float(ops.roi_pool(neg, cr.tensor([[0, 0, 0, 1, 1.]]), 1).sum()) == -FLT_MAX
    boxes = [cr.tensor([[0, 0, 2, 2.]]), cr.tensor([[1, 1, 3, 3.]])]
    pair = cr.tensor(np.random.default_rng(3).standard_normal((2, 2, 4, 4)))
    rois = cr.tensor([[0, 0, 0, 2, 2.], [1, 1, 1, 3, 3]])
    np.testing.assert_array_equal(ops.roi_pool(pair, boxes, 2).numpy(),
                                  ops.roi_pool(pair, rois, 2).numpy())
    f32 = ops.roi_pool(pair.float(), rois, 2)
    assert f32.dtype == cr.float32


def test_position_sensitive_by_hand():
    # 4 channels, 2 x 2 bins: bin (ph, pw) reads channel 2 * ph + pw
    x = cr.tensor(np.stack([np.full((4, 4), float(c)) for c in range(4)])[None])
    for fn in (ops.ps_roi_pool, ops.ps_roi_align):
        out = fn(x, cr.tensor([[0, 0, 0, 3, 3.]]), 2)
        assert out.shape == (1, 1, 2, 2)
        np.testing.assert_allclose(out.numpy().ravel(), [0.0, 1.0, 2.0, 3.0])
    # a zero-sized box has no sample in ps_roi_align's adaptive grid: torchvision's 0 / 0
    assert np.isnan(ops.ps_roi_align(x, cr.tensor([[0, 1, 1, 1, 1.]]), 2).numpy()).all()


def test_gradients():
    rng = np.random.default_rng(1)
    x, rois = _case(rng, 4)
    xt, r = cr.tensor(x, requires_grad=True), cr.tensor(rois)
    for fn in (lambda t: ops.roi_pool(t, r, (2, 3), 0.5),
               lambda t: ops.ps_roi_pool(t, r, 2, 1.0),
               lambda t: ops.ps_roi_align(t, r, (1, 2), 0.5, 2)):
        assert gradcheck(fn, (xt,))
        assert gradgradcheck(fn, (xt,))
    rt = cr.tensor(rois, requires_grad=True)  # the boxes get no gradient, as torchvision's
    ops.roi_pool(xt, rt, 2).sum().backward()
    assert rt.grad is None and xt.grad.shape == x.shape


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"roi_pool: boxes must be a Tensor \(K, 5\)"):
        ops.roi_pool(cr.zeros(1, 1, 4, 4), cr.zeros(2, 4), 2)
    with pytest.raises(ValueError, match=r"ps_roi_pool: input must be a float Tensor"):
        ops.ps_roi_pool(cr.zeros(1, 4, 4), cr.zeros(2, 5), 2)
    with pytest.raises(ValueError, match="output_size must be a positive int"):
        ops.roi_pool(cr.zeros(1, 1, 4, 4), cr.zeros(2, 5), (0, 2))
    with pytest.raises(IndexError, match=r"batch indices must be in \[0, 0\], got \[3\]"):
        ops.roi_pool(cr.zeros(1, 1, 4, 4), cr.tensor([[3, 0, 0, 1, 1.]]), 2)
    with pytest.raises(ValueError, match=r"ps_roi_align: input channels must be a multiple of "
                                         r"output height \* width \(2 \* 2\), got 3"):
        ops.ps_roi_align(cr.zeros(1, 3, 4, 4), cr.zeros(1, 5), 2)
