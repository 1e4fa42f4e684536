"""batch_norm and layer_norm: forward against NumPy, gradients, second order, torch parity."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import batch_norm, layer_norm

pytestmark = pytest.mark.kernel_free

BN_SHAPES = [(5, 3), (4, 3, 5), (3, 2, 3, 4)]
LN_CASES = [((4, 6), (6,)), ((3, 4, 5), (5,)), ((2, 3, 4), (3, 4)), ((2, 2, 3, 2), (2, 3, 2))]


def _param(rng, shape, dtype="float64"):
    return cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)


def _bn_reference(x, mean, var, w, b, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(
        shape
    ) + b.reshape(shape)


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_training_forward_and_running_stats(rng, shape, dtype):
    x = rng.standard_normal(shape).astype(dtype) * 3 + 1
    c = shape[1]
    w, b = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    rm, rv = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    rm0, rv0 = rm.copy(), rv.copy()
    y = batch_norm(cr.tensor(x), rm, rv, cr.tensor(w), cr.tensor(b), training=True, momentum=0.3)
    axes = (0,) + tuple(range(2, x.ndim))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    tol = 1e-5 if dtype == "float32" else 1e-12
    assert y.dtype == dtype
    np.testing.assert_allclose(y._data, _bn_reference(x, mean, var, w, b, 1e-5), rtol=tol, atol=tol)
    n = x.size // c
    np.testing.assert_allclose(rm, 0.7 * rm0 + 0.3 * mean, rtol=tol, atol=tol)
    np.testing.assert_allclose(rv, 0.7 * rv0 + 0.3 * var * n / (n - 1), rtol=tol, atol=tol)


def test_batch_norm_updates_buffer_tensors_in_place_even_without_grad(rng):
    x = cr.tensor(rng.standard_normal((8, 2)))
    rm, rv = cr.tensor(np.zeros(2)), cr.tensor(np.ones(2))
    data_before = rm._data
    with cr.no_grad():
        batch_norm(x, rm, rv, training=True, momentum=1.0)
    assert rm._data is data_before
    np.testing.assert_allclose(rm._data, x._data.mean(axis=0))
    np.testing.assert_allclose(rv._data, x._data.var(axis=0, ddof=1))


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_eval_uses_running_stats(rng, shape):
    x = rng.standard_normal(shape)
    c = shape[1]
    w, b, rm = rng.standard_normal(c), rng.standard_normal(c), rng.standard_normal(c)
    rv = rng.uniform(0.5, 2, c)
    y = batch_norm(cr.tensor(x), rm, rv, cr.tensor(w), cr.tensor(b), training=False, eps=1e-3)
    np.testing.assert_allclose(y._data, _bn_reference(x, rm, rv, w, b, 1e-3), rtol=1e-12)
    y = batch_norm(cr.tensor(x), rm, rv, eps=1e-3)
    ones, zeros = np.ones(c), np.zeros(c)
    np.testing.assert_allclose(y._data, _bn_reference(x, rm, rv, ones, zeros, 1e-3), rtol=1e-12)


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_batch_norm_training_gradcheck_and_gradgradcheck(rng, shape, affine):
    x = _param(rng, shape)
    w = _param(rng, shape[1]) if affine in ("both", "weight") else None
    b = _param(rng, shape[1]) if affine in ("both", "bias") else None
    params = [t for t in (w, b) if t is not None]

    def f(x, *ps):
        it = iter(ps)
        return batch_norm(x, None, None, next(it) if w is not None else None,
                          next(it) if b is not None else None, training=True)

    assert cr.gradcheck(f, [x, *params])
    assert cr.gradgradcheck(f, [x, *params])


def test_batch_norm_gradients_only_for_what_requires_grad(rng):
    x = cr.tensor(rng.standard_normal((4, 3)))
    w = _param(rng, 3)
    b = cr.tensor(rng.standard_normal(3))
    assert cr.gradcheck(lambda w: batch_norm(x, None, None, w, b, training=True), [w])
    assert cr.gradgradcheck(lambda w: batch_norm(x, None, None, w, b, training=True), [w])


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_eval_gradcheck_and_gradgradcheck(rng, shape):
    c = shape[1]
    x, w, b = _param(rng, shape), _param(rng, c), _param(rng, c)
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2, c)

    def f(x, w, b):
        return batch_norm(x, rm, rv, w, b, training=False)

    assert cr.gradcheck(f, [x, w, b])
    assert cr.gradgradcheck(f, [x, w, b])


@pytest.mark.parametrize(("shape", "normalized"), LN_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_norm_forward(rng, shape, normalized, dtype):
    x = (rng.standard_normal(shape) * 2 - 1).astype(dtype)
    w = rng.standard_normal(normalized).astype(dtype)
    b = rng.standard_normal(normalized).astype(dtype)
    y = layer_norm(cr.tensor(x), normalized, cr.tensor(w), cr.tensor(b))
    axes = tuple(range(x.ndim - len(normalized), x.ndim))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    tol = 1e-5 if dtype == "float32" else 1e-12
    assert y.dtype == dtype
    want = (x - mean) / np.sqrt(var + 1e-5) * w + b
    np.testing.assert_allclose(y.numpy(), want, rtol=tol, atol=tol)


@pytest.mark.parametrize(("shape", "normalized"), LN_CASES)
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm_gradcheck_and_gradgradcheck(rng, shape, normalized, affine):
    x = _param(rng, shape)
    w = _param(rng, normalized) if affine in ("both", "weight") else None
    b = _param(rng, normalized) if affine in ("both", "bias") else None
    params = [t for t in (w, b) if t is not None]

    def f(x, *ps):
        it = iter(ps)
        return layer_norm(x, normalized, next(it) if w is not None else None,
                          next(it) if b is not None else None)

    assert cr.gradcheck(f, [x, *params])
    assert cr.gradgradcheck(f, [x, *params])


def test_layer_norm_accepts_int_normalized_shape(rng):
    x = cr.tensor(rng.standard_normal((3, 4)))
    np.testing.assert_array_equal(layer_norm(x, 4)._data, layer_norm(x, (4,))._data)


@pytest.mark.torch
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_matches_torch(rng, shape):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    c = shape[1]
    x, w, b = _param(rng, shape), _param(rng, c), _param(rng, c)
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    tx, tw, tb = (torch.tensor(t._data, requires_grad=True) for t in (x, w, b))
    g = rng.standard_normal(shape)
    for training in (True, False, True):
        for t in (x, w, b):
            t.grad = None
        for t in (tx, tw, tb):
            t.grad = None
        y = batch_norm(x, rm, rv, w, b, training=training, momentum=0.2, eps=1e-4)
        ty = tf.batch_norm(tx, trm, trv, tw, tb, training=training, momentum=0.2, eps=1e-4)
        y.backward(g)
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-10, atol=1e-12)
        for t, tt in ((x, tx), (w, tw), (b, tb)):
            np.testing.assert_allclose(t.grad._data, tt.grad.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize(("shape", "normalized"), LN_CASES)
def test_layer_norm_matches_torch_including_second_order(rng, shape, normalized):
    torch = pytest.importorskip("torch")
    x, w, b = _param(rng, shape), _param(rng, normalized), _param(rng, normalized)
    tx, tw, tb = (torch.tensor(t._data, requires_grad=True) for t in (x, w, b))
    g = rng.standard_normal(shape)
    y = layer_norm(x, normalized, w, b, eps=1e-3)
    ty = torch.nn.functional.layer_norm(tx, normalized, tw, tb, eps=1e-3)
    np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    grads = cr.grad(y, [x, w, b], cr.tensor(g), create_graph=True)
    tgrads = torch.autograd.grad(ty, [tx, tw, tb], torch.tensor(g), create_graph=True)
    for ours, theirs in zip(grads, tgrads, strict=True):
        np.testing.assert_allclose(ours._data, theirs.detach().numpy(), rtol=1e-9, atol=1e-10)
    # Second order: d/d(x, w) of the squared input gradient.
    sum((gi * gi).sum() for gi in grads[:2]).backward()
    sum((gi * gi).sum() for gi in tgrads[:2]).backward()
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(w.grad._data, tw.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_batch_norm_errors(rng):
    x = cr.tensor(rng.standard_normal((4, 3)))
    with pytest.raises(ValueError, match=r"batch_norm: x must have shape \(N, C\).*\(4,\)"):
        batch_norm(cr.tensor(np.ones(4)), training=True)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\), got shape \(4,\)"):
        batch_norm(x, None, None, cr.tensor(np.ones(4)), training=True)
    with pytest.raises(TypeError, match="batch_norm: bias has dtype float32 but the input has"):
        batch_norm(x, None, None, None, cr.tensor(np.ones(3, "float32")), training=True)
    with pytest.raises(ValueError, match="more than 1 value per channel when training.*\\(1, 3\\)"):
        batch_norm(cr.tensor(np.ones((1, 3))), training=True)
    with pytest.raises(ValueError, match="running_mean and running_var are required"):
        batch_norm(x, training=False)
    with pytest.raises(ValueError, match="give both running_mean and running_var"):
        batch_norm(x, np.zeros(3), None, training=True)
    with pytest.raises(ValueError, match=r"running_var must have shape \(3,\), got shape \(2,\)"):
        batch_norm(x, np.zeros(3), np.ones(2), training=True)
    with pytest.raises(ValueError, match="momentum must be a number in \\[0, 1\\], got 1.5"):
        batch_norm(x, np.zeros(3), np.ones(3), training=True, momentum=1.5)
    with pytest.raises(TypeError, match="x must have a floating-point dtype, got int64"):
        batch_norm(cr.tensor(np.ones((2, 3), dtype="int64")), training=True)


def test_layer_norm_errors(rng):
    x = cr.tensor(rng.standard_normal((4, 3)))
    with pytest.raises(ValueError, match=r"x must have normalized_shape \(4,\).*\(4, 3\)"):
        layer_norm(x, 4)
    with pytest.raises(ValueError, match=r"normalized_shape must be a positive int.*got \(\)"):
        layer_norm(x, ())
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\), got shape \(4,"):
        layer_norm(x, 3, cr.tensor(np.ones((4, 3))))
    with pytest.raises(TypeError, match="layer_norm: x must be a Tensor, got ndarray"):
        layer_norm(np.ones((2, 3)), 3)
