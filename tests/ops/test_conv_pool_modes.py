"""Convolutions, pools and the models built from them agree in default and reference mode.

Reference mode (``cr.reference_mode()``) runs the plain kernels on contiguous (N, C, H, W)
arrays; the default mode the fast routes. Values and gradients agree to float32 rounding, and
the gradients pass a float64 finite-difference check in both modes.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, models, optim

from .._case_loop import each_case, grid, with_rng

OPS = {  # name: (function of x and w, x shape, w shape or None)
    "conv1d": (lambda x, w: F.conv1d(x, w, padding=2, stride=2), (17, 3, 20), (4, 3, 5)),
    "conv2d": (lambda x, w: F.conv2d(x, w, padding=1, dilation=(1, 2)), (17, 4, 9, 8),
               (6, 4, 3, 3)),
    "conv2d_groups": (lambda x, w: F.conv2d(x, w, bias=cr.tensor(np.ones(6, x.dtype)), groups=2),
                      (16, 4, 6, 7), (6, 2, 2, 3)),
    "conv2d_relu": (lambda x, w: F.conv2d_relu(x, w, stride=2), (16, 4, 9, 8), (6, 4, 3, 3)),
    "conv_transpose1d": (lambda x, w: F.conv_transpose1d(x, w, stride=3, padding=1),
                         (16, 4, 7), (4, 3, 4)),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1,
                                                         output_padding=1, groups=2),
                         (16, 4, 5, 6), (4, 3, 3, 3)),
    "max_pool1d": (lambda x, w: F.max_pool1d(x, 3, 2, 1), (17, 3, 20), None),
    "max_pool2d": (lambda x, w: F.max_pool2d(x, 2), (17, 3, 8, 10), None),
    "max_pool2d_overlapping": (lambda x, w: F.max_pool2d(x, 3, 1, 1), (17, 3, 8, 10), None),
    "max_pool2d_tiled": (lambda x, w: F.max_pool2d(x, 4), (3, 3, 8, 12), None),
    "min_pool2d": (lambda x, w: F.min_pool2d(x, (2, 3), (1, 2)), (17, 3, 8, 10), None),
    "max_pool2d_relu": (lambda x, w: F.max_pool2d_relu(x, 3, 2, 1), (17, 3, 8, 10), None),
    "avg_pool2d": (lambda x, w: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                   (17, 3, 8, 10), None),
    "avg_pool1d_tiled": (lambda x, w: F.avg_pool1d(x, 4), (3, 3, 16), None),
    "adaptive_max_pool2d": (lambda x, w: F.adaptive_max_pool2d(x, (2, 5)), (5, 3, 8, 10), None),
}


def _inputs(name, rng, dtype, n=None):
    fn, xs, ws = OPS[name]
    if n is not None:
        xs = (n,) + xs[1:]
    x = rng.standard_normal(xs).astype(dtype)
    w = None if ws is None else rng.standard_normal(ws).astype(dtype)
    return fn, x, w


def _run(fn, x, w, g):
    xt = cr.tensor(x, requires_grad=True)
    wt = None if w is None else cr.tensor(w, requires_grad=True)
    y = fn(xt, wt)
    y.backward(cr.tensor(g))
    grads = [xt.grad.numpy()] + ([] if w is None else [wt.grad.numpy()])
    return y.numpy(), grads, y._data


def _default_and_reference_mode_agree_case(rng, name):
    fn, x, w = _inputs(name, rng, np.float32)
    with cr.no_grad():
        shape = fn(cr.tensor(x), None if w is None else cr.tensor(w)).shape
    g = rng.standard_normal(shape).astype(np.float32)
    y, grads, _ = _run(fn, x, w, g)
    with cr.reference_mode():
        y_ref, grads_ref, raw = _run(fn, x, w, g)
    assert raw.flags.c_contiguous  # plain (N, C, H, W) arrays in reference mode
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    for a, b in zip(grads, grads_ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


def test_default_and_reference_mode_agree():
    each_case(with_rng(_default_and_reference_mode_agree_case), grid(
        ("name", OPS),
    ))


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("reference", [False, True])
def test_gradcheck_in_both_modes(rng, name, reference):
    fn, x, w = _inputs(name, rng, np.float64, n=2)
    x = x + np.arange(x.size).reshape(x.shape) * 1e-3  # no ties in max
    inputs = [cr.tensor(x, requires_grad=True)]
    if w is not None:
        inputs.append(cr.tensor(w, requires_grad=True))
    with cr.reference_mode(reference):
        assert cr.gradcheck(lambda *a: fn(*a) if w is not None else fn(a[0], None), inputs)


def test_second_order_in_reference_mode(rng):
    x = cr.tensor(rng.standard_normal((2, 2, 6, 6)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((2, 3, 3, 3)), requires_grad=True)
    w2 = cr.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    with cr.reference_mode():
        assert cr.gradgradcheck(lambda a, b: F.conv_transpose2d(a, b, stride=2), (x, w))
        assert cr.gradgradcheck(lambda a, b: F.conv2d(a, b, padding=1), (x, w2))
        assert cr.gradgradcheck(lambda a: F.max_pool2d(a, 3, 2, 1), (x,))


def _one_step(make, x, target, loss_fn, reference):
    model = make(np.random.default_rng(3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    with cr.reference_mode(reference):
        loss = loss_fn(model(cr.tensor(x)), target)
        loss.backward()
        opt.step()
    return loss.item(), [p.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("name", ["lenet5", "conv_autoencoder"])
def test_a_training_step_agrees_in_both_modes(rng, name):
    x = rng.random((16, 1, 28, 28)).astype(np.float32)
    if name == "lenet5":
        def make(r):
            return models.LeNet5(rng=r)
        target = cr.tensor(rng.integers(0, 10, 16))
        loss_fn = F.cross_entropy
    else:
        def make(r):
            return models.ConvAutoencoder(rng=r)
        target = cr.tensor(x)
        loss_fn = F.mse_loss
    loss, params = _one_step(make, x, target, loss_fn, False)
    loss_ref, params_ref = _one_step(make, x, target, loss_fn, True)
    assert abs(loss - loss_ref) <= 1e-5 * abs(loss)
    assert any(not np.array_equal(p, q) for p, q in
               zip(params, [p.numpy() for p in make(np.random.default_rng(3)).parameters()]))
    for p, q in zip(params, params_ref, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-5)

