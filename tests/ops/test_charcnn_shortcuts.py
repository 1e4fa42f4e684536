"""Two shortcuts of the char-CNN's step give exactly what the general paths give.

* Max pooling's compiled backward over the output of a layer fused with its ReLU applies the
  ReLU's mask in its own sweep (``pool._fused_relu_output``), and the layer's backward then skips
  it.
* A convolution whose input is not batch-last (the data itself) copies it to batch-last once
  before im2col (``conv._batch_last_input``) and keeps that copy for the filter gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, nn
from chainrule.backend import jit as _jit
from chainrule.ops import conv as conv_ops
from chainrule.ops import pool as pool_ops
from chainrule.ops.conv import _columns, convolution

needs_jit = pytest.mark.skipif(_jit.route_to_winners is None, reason="no compiled kernels")


def _count_masking(monkeypatch):
    """How often a fused layer's backward masked its gradient itself (not handed it back)."""
    calls = [0]
    mask = convolution.relu_masked

    def counted(g, y):
        out = mask(g, y)
        calls[0] += out is not g
        return out

    monkeypatch.setattr(convolution, "relu_masked", counted)
    return calls


def _grads(model, x, target, *, retain=False):
    out = model(cr.tensor(x))
    kept = []
    if retain:  # the ReLU output's own gradient must stay the unmasked one
        hidden = model[0](cr.tensor(x))
        hidden.retain_grad()
        out = model[1:](hidden)
        kept = [hidden]
    loss = F.cross_entropy(out, cr.tensor(target))
    model.zero_grad()
    loss.backward()
    grads = [p.grad.numpy().tobytes() for p in model.parameters()]
    return grads + [t.grad.numpy().tobytes() for t in kept]


def _pool_model(nd, kernel, stride, padding, dtype, seed=0):
    rng = np.random.default_rng(seed)
    conv, pool = (nn.Conv1d, nn.MaxPool1d) if nd == 1 else (nn.Conv2d, nn.MaxPool2d)
    layers = [conv(3, 8, 3, rng=rng), nn.ReLU(), pool(kernel, stride=stride, padding=padding),
              nn.Flatten()]
    model = nn.Sequential(*layers)
    shape = (32, 3, 40) if nd == 1 else (32, 3, 12, 12)
    with cr.no_grad():
        width = model(cr.tensor(np.zeros(shape, np.float32))).shape[1]
    model = nn.Sequential(*layers, nn.Linear(width, 5, rng=rng))
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    x[:, :, :4] = -5  # whole windows of ReLU zeros: ties at 0, which the mask must zero
    return model, x, np.arange(32) % 5


@needs_jit
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,kernel,stride,padding", [
    (1, 3, 3, 0),   # the char-CNN's: tiling windows
    (1, 3, 1, 1),   # overlapping and padded: the mask goes on after the sums
    (1, 2, 2, 1),
    (2, 2, 2, 0),
    (2, 3, 2, 1),
])
def test_pool_backward_masks_the_relu_exactly_as_the_layer_would(monkeypatch, dtype, nd, kernel,
                                                                  stride, padding):
    model, x, t = _pool_model(nd, kernel, stride, padding, dtype)
    calls = _count_masking(monkeypatch)
    fused = _grads(model, x, t)
    assert calls[0] == 0  # the layer's own mask was skipped
    monkeypatch.setattr(pool_ops, "_fused_relu_output", lambda x: None)
    general = _grads(model, x, t)
    assert calls[0] == 1
    assert fused == general  # bit for bit, signed zeros included


@needs_jit
def test_a_retained_relu_output_gradient_is_not_masked_by_the_pool(monkeypatch):
    model, x, t = _pool_model(1, 3, 3, 0, np.float32)
    fused = _grads(model, x, t, retain=True)
    monkeypatch.setattr(pool_ops, "_fused_relu_output", lambda x: None)
    assert fused == _grads(model, x, t, retain=True)


@needs_jit
@pytest.mark.parametrize("nd", [1, 2])
def test_grad_with_respect_to_a_relu_output_is_not_masked_by_the_pool(monkeypatch, rng, nd):
    """cr.grad(loss, h) for a fused layer's ReLU output h: pooling routes gradient to zeros of h
    (windows with nothing positive), which the ReLU mask would wrongly clear."""
    shape, wshape = ((32, 3, 30), (8, 3, 3)) if nd == 1 else ((32, 3, 10, 10), (8, 3, 3, 3))
    w = cr.tensor(rng.standard_normal(wshape).astype(np.float32), requires_grad=True)
    x = cr.tensor(rng.standard_normal(shape).astype(np.float32) - 1.0)  # many windows all <= 0
    conv_relu, pool = (F.conv1d_relu, F.max_pool1d) if nd == 1 else (F.conv2d_relu, F.max_pool2d)

    def grads():
        h = conv_relu(x, w)
        loss = (pool(h, 2) ** 2).sum() + pool(h, 2).sum()
        gh, gw = cr.grad(loss, [h, w])
        return h.numpy(), gh.numpy(), gw.numpy()

    h, fused_h, fused_w = grads()
    monkeypatch.setattr(pool_ops, "_fused_relu_output", lambda x: None)
    _, plain_h, plain_w = grads()
    assert ((h == 0) & (plain_h != 0)).any()  # the case that matters occurs
    np.testing.assert_array_equal(fused_h, plain_h)
    np.testing.assert_array_equal(fused_w, plain_w)


@needs_jit
def test_a_relu_output_used_twice_sums_and_masks_as_usual(monkeypatch, rng):
    w = cr.tensor(rng.standard_normal((8, 3, 3)).astype(np.float32), requires_grad=True)
    x = cr.tensor(rng.standard_normal((32, 3, 30)).astype(np.float32))

    def grad():
        h = F.conv1d_relu(x, w)
        loss = (F.max_pool1d(h, 3) ** 2).sum() + (h * 0.5).sum()
        w.grad = None
        loss.backward()
        return w.grad.numpy().tobytes()

    fused = grad()
    monkeypatch.setattr(pool_ops, "_fused_relu_output", lambda x: None)
    assert fused == grad()


@needs_jit
def test_second_order_gradients_through_pool_and_relu_are_unchanged(monkeypatch, rng):
    w = cr.tensor(rng.standard_normal((8, 3, 3)), requires_grad=True)
    x = cr.tensor(rng.standard_normal((32, 3, 30)))

    def grads():
        y = F.max_pool1d(F.conv1d_relu(x, w), 3)
        (gw,) = cr.grad((y ** 2).sum(), [w], create_graph=True)
        (ggw,) = cr.grad((gw ** 2).sum(), [w])
        return gw.numpy().tobytes(), ggw.numpy().tobytes()

    fused = grads()
    monkeypatch.setattr(pool_ops, "_fused_relu_output", lambda x: None)
    assert fused == grads()


def test_route_kernel_with_mask_equals_route_then_mask(rng):
    if _jit.route_to_winners is None:
        pytest.skip("no compiled kernels")
    for dtype in (np.float32, np.float64):
        for kh, kw, sh, sw in ((1, 3, 1, 3), (2, 2, 2, 2), (3, 3, 1, 1), (2, 3, 2, 2)):
            xpad = np.maximum(rng.standard_normal((4, 9, 10, 16)), 0).astype(dtype)
            xpad[0, :3] = 0  # ties at zero
            xpad[1, 2, 3, 5] = np.nan
            ho, wo = (9 - kh) // sh + 1, (10 - kw) // sw + 1
            y = np.full((4, ho, wo, 16), -np.inf, dtype)
            for i in range(kh):
                for j in range(kw):
                    part = xpad[:, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
                    y = np.where(np.isnan(part) | (part > y), part, y)
            g = rng.standard_normal(y.shape).astype(dtype)
            plain, masked = np.empty_like(xpad), np.empty_like(xpad)
            _jit.route_to_winners(xpad, y, g, plain, kh, kw, sh, sw, False)
            _jit.route_to_winners(xpad, y, g, masked, kh, kw, sh, sw, True)
            assert masked.tobytes() == (plain * (xpad > 0)).tobytes()


def _conv_grads(fn, x, w, b, g, x_grad):
    xt = cr.tensor(x, requires_grad=x_grad)
    wt, bt = cr.tensor(w, requires_grad=True), cr.tensor(b, requires_grad=True)
    y = fn(xt, wt, bt)
    y.backward(cr.tensor(g))
    out = [y.numpy().tobytes(), wt.grad.numpy().tobytes(), bt.grad.numpy().tobytes()]
    return out + ([xt.grad.numpy().tobytes()] if x_grad else [])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op,shape,wshape,padding", [
    (F.conv1d, (32, 20, 300), (16, 20, 7), 0),        # the char-CNN's first layer, smaller
    (F.conv1d_relu, (32, 20, 300), (16, 20, 5), 0),
    (F.conv1d, (32, 20, 300), (16, 20, 7), 2),        # padded: _pad makes the batch-last copy
    (F.conv2d_relu, (16, 6, 24, 24), (8, 6, 3, 3), 0),
])
@pytest.mark.parametrize("x_grad", [False, True])
def test_a_batch_last_copy_of_the_input_changes_nothing(monkeypatch, rng, dtype, op, shape,
                                                         wshape, padding, x_grad):
    x = rng.standard_normal(shape).astype(dtype)  # (N, C, ...) in memory: not batch-last
    w = (rng.standard_normal(wshape) / np.sqrt(np.prod(wshape[1:]))).astype(dtype)
    b = rng.standard_normal(wshape[0]).astype(dtype)
    with cr.no_grad():
        out_shape = op(cr.tensor(x), cr.tensor(w), padding=padding).shape
    g = rng.standard_normal(out_shape).astype(dtype)

    def run():
        return _conv_grads(lambda *a: op(*a, padding=padding), x, w, b, g, x_grad)

    copied = run()
    monkeypatch.setattr(_columns, "_DENSE_FROM", float("inf"))
    assert copied == run()


def test_the_batch_last_copy_is_made_only_where_im2col_would_read_single_floats(rng):
    geom = conv_ops.conv_setup("conv1d", 1, (32, 20, 300), np.dtype(np.float32), (16, 20, 7),
                               np.dtype(np.float32), None, 1, 0, 1, 1)[0]
    x = rng.standard_normal((32, 20, 1, 300)).astype(np.float32)
    dense = conv_ops._batch_last_input(x, (1, 7), geom)
    assert dense is not x and np.array_equal(dense, x) and dense.strides[0] == 4
    assert conv_ops._batch_last_input(dense, (1, 7), geom) is dense  # already batch-last
    assert conv_ops._batch_last_input(x, (1, 1), geom) is x  # 1 x 1: im2col is one copy anyway
    one = x[:1]
    assert conv_ops._batch_last_input(one, (1, 7), geom) is one  # one sample: nothing to gain
    small = x[:, :2, :, :100]
    assert conv_ops._batch_last_input(small, (1, 7), geom) is small  # under 128 KiB
