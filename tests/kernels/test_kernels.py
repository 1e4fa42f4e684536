"""Each kernel's fast routes against its plain reference (chainrule.kernels), and reference mode."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.kernels import gemm, relu

from .._case_loop import each_case, grid, with_rng


def _orders(a):
    """``a`` row-major, column-major (a batch-last view) and as a strided view."""
    return [np.ascontiguousarray(a), np.asfortranarray(a), np.repeat(a, 2, axis=0)[::2]]


def _matmul_routes_equal_the_reference_case(rng, m, k, n, dtype):
    a0 = rng.standard_normal((m, k)).astype(dtype)
    b0 = rng.standard_normal((k, n)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a in _orders(a0):
        for b in _orders(b0):
            out = gemm.matmul(a, b)
            assert out.dtype == dtype and out.shape == (m, n)
            np.testing.assert_allclose(out, gemm.matmul_reference(a, b), rtol=tol, atol=tol * k)


def test_matmul_routes_equal_the_reference():
    each_case(with_rng(_matmul_routes_equal_the_reference_case), grid(
        ("dtype", [np.float32, np.float64]),
        ("m,k,n", [(128, 784, 256), (256, 128, 10), (10, 1, 128), (1, 50, 84),
                   (6, 40, 40), (40, 33, 40)]),
    ))


def test_matmul_batch_last_is_the_product_laid_out_batch_last(rng):
    g = np.asfortranarray(rng.standard_normal((128, 10)).astype(np.float32))  # (N, out) batch-last
    w = rng.standard_normal((10, 84)).astype(np.float32)
    out = gemm.matmul_batch_last(g, w)
    assert out.flags.f_contiguous and not out.flags.c_contiguous
    np.testing.assert_allclose(out, g @ w, rtol=1e-5, atol=1e-5)
    with cr.reference_mode():
        assert gemm.matmul_batch_last(g, w).flags.c_contiguous  # plain a @ b


@pytest.mark.parametrize("shape", [(128, 256), (3, 5), (1000, 2)])
def test_column_sums_equal_the_reference(rng, shape):
    a = rng.standard_normal(shape).astype(np.float32)
    for v in _orders(a):
        np.testing.assert_allclose(gemm.column_sums(v), gemm.column_sums_reference(v), rtol=1e-5,
                                   atol=1e-4)


@pytest.mark.parametrize("shape", [(128, 784), (5, 3), (2, 3, 40, 40)])
def test_affine_equals_the_reference_and_is_batch_last(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((7, shape[-1])).astype(np.float32)
    b = rng.standard_normal(7).astype(np.float32)
    y = gemm.affine(x, w, b)
    np.testing.assert_allclose(y, gemm.affine_reference(x, w, b), rtol=1e-5, atol=1e-4)
    if len(shape) == 2 and shape[0] > 1:
        assert y.flags.f_contiguous


@pytest.mark.parametrize("shape", [(1, 1000), (6, 784), (3, 4000), (16, 100), (64, 8, 12, 12)])
def test_relu_equals_the_reference_bit_for_bit(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    x.flat[:3] = [np.nan, -0.0, 0.0]
    expected = relu.relu_reference(x.copy())
    for v in (x.copy(), np.asfortranarray(x)):
        y = relu.relu(v)
        np.testing.assert_array_equal(y, expected)
        assert np.array_equal(np.signbit(y), np.signbit(expected))
    v = x.copy()
    assert relu.relu(v, inplace=True) is v
    np.testing.assert_array_equal(v, expected)


@pytest.mark.parametrize("order", ["C", "F", "batch_last_4d"])
def test_relu_grad_equals_the_reference_bit_for_bit(rng, order):
    shape = (32, 6, 12, 12) if order == "batch_last_4d" else (128, 84)
    g = rng.standard_normal(shape).astype(np.float32)
    y = np.maximum(rng.standard_normal(shape).astype(np.float32), 0)
    g.flat[:2] = [np.inf, np.nan]
    if order == "F":
        g, y = np.asfortranarray(g), np.asfortranarray(y)
    elif order == "batch_last_4d":
        g = np.ascontiguousarray(g.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
        y = np.ascontiguousarray(y.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    with np.errstate(invalid="ignore"):  # inf * 0 is nan on both routes
        np.testing.assert_array_equal(relu.relu_grad(g, y), relu.relu_grad_reference(g, y))


def test_bias_relu_columns_equals_the_reference(rng):
    y = rng.standard_normal((84, 128)).astype(np.float32)
    b = rng.standard_normal(84).astype(np.float32)
    expected = np.maximum(y + b[:, None], 0)
    np.testing.assert_array_equal(relu.bias_relu_columns(y.copy(), b), expected)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("shape,bias", [((64, 300), True), ((64, 300), False), ((3, 5, 40), True)])
def test_affine_relu_equals_the_reference(rng, compiled, shape, bias):
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((50, shape[-1])).astype(np.float32)
    b = rng.standard_normal(50).astype(np.float32) if bias else None
    y = relu.affine_relu(x, w, b, compiled=compiled)
    ref = relu.affine_relu_reference(x, w, b)
    assert y.shape == shape[:-1] + (50,) and (y >= 0).all()
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-4)


def test_reference_mode_is_a_setting_that_comes_back():
    assert cr.config.reference_mode is False
    with cr.reference_mode():
        assert cr.config.reference_mode is True
        with cr.reference_mode(False):
            assert cr.config.reference_mode is False
        assert cr.config.reference_mode is True
    assert cr.config.reference_mode is False
    cr.set_reference_mode(True)
    try:
        assert cr.config.reference_mode is True
    finally:
        cr.set_reference_mode(False)
    with pytest.raises(ValueError, match="reference_mode"):
        cr.config.reference_mode = "yes"


def test_malloc_tuning_applies_and_reverts():
    from chainrule.backend import memory

    took = memory.apply_malloc_tuning(True)
    assert took == (memory._glibc() is not None)
    assert memory.apply_malloc_tuning(False) == took
    memory.apply_malloc_tuning(cr.config.malloc_tuning)
