"""``max_pool2d_relu`` (and 1-D): ReLU then max pooling as one op equals the two ops in turn."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import F

from .._case_loop import each_case, grid, with_rng

CASES = [  # kernel, stride, padding, input shape
    (2, None, 0, (17, 3, 8, 10)),  # LeNet's: disjoint windows, a batch the compiled kernels take
    (3, 2, 1, (4, 3, 9, 10)),      # overlapping and padded
    (4, None, 0, (2, 2, 8, 12)),   # large tiles
    ((2, 3), (1, 2), (1, 0), (3, 2, 7, 8)),
]


def _grads(fn, x, g):
    t = cr.tensor(x, requires_grad=True)
    y = fn(t)
    y.backward(cr.tensor(g))
    return y.numpy(), t.grad.numpy()


def _equals_relu_then_max_pool_bit_for_bit_case(rng, case, dtype, reference):
    kernel, stride, padding, shape = case
    x = np.round(rng.standard_normal(shape) * 2).astype(dtype)  # ties, zeros, negative windows
    x[0, 0] = -1  # a channel whose windows are all negative
    with cr.no_grad():
        out_shape = F.max_pool2d(cr.tensor(x), kernel, stride, padding).shape
    g = rng.standard_normal(out_shape).astype(dtype)
    with cr.reference_mode(reference):
        fused = _grads(lambda t: F.max_pool2d_relu(t, kernel, stride, padding), x, g)
        plain = _grads(lambda t: F.max_pool2d(F.relu(t), kernel, stride, padding), x, g)
    assert (fused[0] == 0).any() and (fused[0] > 0).any()
    for a, b in zip(fused, plain, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_equals_relu_then_max_pool_bit_for_bit():
    each_case(with_rng(_equals_relu_then_max_pool_bit_for_bit_case), grid(
        ("reference", [False, True]),
        ("dtype", [np.float32, np.float64]),
        ("case", CASES),
    ))


def test_one_dimensional_version_equals_relu_then_max_pool(rng):
    x = rng.standard_normal((16, 3, 21))
    g = rng.standard_normal((16, 3, 10))
    fused = _grads(lambda t: F.max_pool1d_relu(t, 3, 2), x, g)
    plain = _grads(lambda t: F.max_pool1d(F.relu(t), 3, 2), x, g)
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("reference", [False, True])
def test_gradcheck_and_second_order(rng, reference):
    # away from the kink at 0 and from ties in the max
    x = rng.standard_normal((2, 2, 6, 6))
    x = np.where(np.abs(x) < 0.1, 0.3, x) + np.arange(x.size).reshape(x.shape) * 1e-3
    t = cr.tensor(x, requires_grad=True)
    with cr.reference_mode(reference):
        assert cr.gradcheck(lambda a: F.max_pool2d_relu(a, 3, 2, 1), (t,))
        assert cr.gradgradcheck(lambda a: F.max_pool2d_relu(a, 3, 2, 1) ** 2, (t,))
        assert cr.gradcheck(lambda a: F.max_pool1d_relu(a[:, :, 0], 2), (t,))


def test_second_derivatives_equal_those_of_relu_then_max_pool(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    v = rng.standard_normal((2, 3, 3, 3))

    def hessian_vector(fn):
        t = cr.tensor(x, requires_grad=True)
        (gx,) = cr.grad((fn(t) ** 2 * cr.tensor(v)).sum(), [t], create_graph=True)
        (hx,) = cr.grad((gx * gx).sum(), [t])
        return gx.numpy(), hx.numpy()

    fused = hessian_vector(lambda t: F.max_pool2d_relu(t, 2))
    plain = hessian_vector(lambda t: F.max_pool2d(F.relu(t), 2))
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.kernel_free
def test_bad_arguments_name_the_op():
    with pytest.raises(ValueError, match="max_pool2d_relu: input must be 3-D .* or 4-D"):
        F.max_pool2d_relu(cr.tensor(np.ones((3, 4))), 2)
    with pytest.raises(ValueError, match="max_pool2d_relu: padding"):
        F.max_pool2d_relu(cr.tensor(np.ones((1, 1, 4, 4))), 2, padding=2)
