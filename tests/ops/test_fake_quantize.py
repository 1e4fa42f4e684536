"""``fake_quantize_per_tensor_affine`` / ``fake_quantize_per_channel_affine`` agree with PyTorch's
bit for bit (values and straight-through gradients, float16/32/64, integer and float zero points,
halves rounded to even, clamped ends) and refuse what PyTorch refuses.

The straight-through gradient is not the function's derivative (a staircase has slope 0), so
finite differences cannot check it (PyTorch's gradcheck cannot either); the backward pass is
linear in the incoming gradient, and its own gradient (double backward) is that mask again."""

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

_DTYPES = ["float16", "float32", "float64"]


def _both(fn, x, weights):
    out = []
    for lib in (cr, torch):
        t = lib.tensor(x, requires_grad=True)
        y = fn(lib, t)
        (y * lib.tensor(weights)).sum().backward()
        out.append((y.detach().numpy(), t.grad.numpy(), str(y.dtype).split(".")[-1]))
    return out


def _data(dtype, shape=(3, 4, 5), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 1.5
    x.flat[:6] = [0.05, 0.15, 0.25, -0.35, 2.5, -2.5]  # halves of the step: rounded to even
    return x.astype(dtype), rng.uniform(-1, 1, shape).astype(dtype)


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize(
    ("scale", "zero_point", "qmin", "qmax"),
    [(0.1, 3, 0, 15), (1 / 3, 0, -8, 7), (0.05, 120, 0, 255)],
)
def test_per_tensor_matches_pytorch_bit_for_bit(dtype, scale, zero_point, qmin, qmax):
    x, w = _data(dtype)
    ours, theirs = _both(
        lambda lib, t: lib.fake_quantize_per_tensor_affine(t, scale, zero_point, qmin, qmax), x, w
    )
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    tensor_qparams = cr.fake_quantize_per_tensor_affine(
        cr.tensor(x), cr.tensor(scale, dtype=cr.float32), cr.tensor(zero_point), qmin, qmax
    )
    np.testing.assert_array_equal(tensor_qparams.numpy(), ours[0])


@pytest.mark.parametrize(
    ("dtype", "axis", "zp_dtype"),
    [
        ("float64", 0, "int32"),
        ("float32", 1, "float32"),
        ("float16", 2, "int32"),
        ("float64", 2, "float16"),
    ],
)
def test_per_channel_matches_pytorch_bit_for_bit(dtype, axis, zp_dtype):
    x, w = _data(dtype, seed=axis)
    rng = np.random.default_rng(7)
    n = x.shape[axis]
    scale = rng.uniform(0.05, 0.5, n).astype(np.float32)
    zp = rng.integers(-8, 8, n) if zp_dtype == "int32" else rng.uniform(-8, 7, n)
    zp = zp.astype(zp_dtype)
    ours, theirs = _both(
        lambda lib, t: lib.fake_quantize_per_channel_affine(
            t, lib.tensor(scale), lib.tensor(zp), axis, -8, 7
        ),
        x,
        w,
    )
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_straight_through_gradient_and_its_double_backward():
    x = cr.tensor([-2.0, -0.26, 0.0, 0.31, 0.74, 3.0], dtype="float64", requires_grad=True)
    y = cr.fake_quantize_per_tensor_affine(x, 0.25, 2, 0, 5)  # codes 0..5 cover [-0.5, 0.75]
    np.testing.assert_array_equal(y.detach().numpy(), [-0.5, -0.25, 0.0, 0.25, 0.75, 0.75])
    g = cr.tensor(np.arange(1.0, 7.0), requires_grad=True)
    (gx,) = cr.autograd.grad(y, x, g, create_graph=True)
    np.testing.assert_array_equal(gx.detach().numpy(), [0, 2, 3, 4, 5, 0])
    c = cr.tensor(np.linspace(-1.0, 1.0, 6))
    (gg,) = cr.autograd.grad((gx * c).sum(), g)  # the backward is linear in g: its mask again
    np.testing.assert_array_equal(gg.numpy(), c.numpy() * [0, 1, 1, 1, 1, 0])


def test_edge_values_empty_and_strided_input():
    x = cr.tensor([[0.5, 1.5], [2.5, -0.5]]).t()  # a transposed view
    np.testing.assert_array_equal(
        cr.fake_quantize_per_tensor_affine(x, 1.0, 0, -10, 10).numpy(), [[0, 2], [2, 0]]
    )
    assert cr.fake_quantize_per_tensor_affine(cr.zeros(0, 3), 1.0, 0, 0, 3).shape == (0, 3)
    y = cr.fake_quantize_per_tensor_affine(cr.tensor([np.inf, -np.inf, np.nan]), 1.0, 0, -4, 4)
    np.testing.assert_array_equal(y.numpy()[:2], [4, -4])
    assert np.isnan(y.numpy()[2])  # PyTorch's would give quant_min's value


_REFUSALS_NAME_THE_ARGUMENT = [
        (
            lambda: cr.fake_quantize_per_tensor_affine(cr.ones(2), 0.1, 3, 5, 2),
            ValueError,
            "quant_min must be less than or equal to quant_max",
        ),
        (
            lambda: cr.fake_quantize_per_tensor_affine(cr.ones(2), 0.1, 20, 0, 15),
            ValueError,
            "zero_point must be between quant_min and quant_max",
        ),
        (
            lambda: cr.fake_quantize_per_tensor_affine(cr.ones(2), 0.0, 0, 0, 15),
            ValueError,
            "scale must hold positive finite numbers",
        ),
        (
            lambda: cr.fake_quantize_per_tensor_affine(cr.ones(2), -0.1, 0, 0, 15),
            ValueError,
            "got -0.1",
        ),
        (
            lambda: cr.fake_quantize_per_tensor_affine(cr.tensor([1, 2]), 0.1, 0, 0, 15),
            TypeError,
            "float16, float32 or float64 Tensor, got int64",
        ),
        (
            lambda: cr.fake_quantize_per_tensor_affine(cr.ones(2), cr.tensor([0.1, 0.2]), 0, 0, 15),
            TypeError,
            "scale must be a number or a one-element Tensor",
        ),
        (
            lambda: cr.fake_quantize_per_tensor_affine(
                cr.ones(2), cr.tensor(0.1, requires_grad=True), 0, 0, 15
            ),
            RuntimeError,
            "not differentiable with respect to argument 'scale'",
        ),
        (
            lambda: cr.fake_quantize_per_channel_affine(
                cr.ones(2, 3), cr.ones(3, dtype=cr.float64), cr.zeros(3, dtype=cr.int32), 1, 0, 15
            ),
            TypeError,
            "scale must be a float32 Tensor",
        ),
        (
            lambda: cr.fake_quantize_per_channel_affine(
                cr.ones(2, 3), cr.ones(3), cr.zeros(3, dtype=cr.int64), 1, 0, 15
            ),
            TypeError,
            "zero_point must be an int32, float32 or float16 Tensor",
        ),
        (
            lambda: cr.fake_quantize_per_channel_affine(
                cr.ones(2, 3), cr.ones(3), cr.zeros(3, dtype=cr.int32), -1, 0, 15
            ),
            IndexError,
            "axis must be an int in",
        ),
        (
            lambda: cr.fake_quantize_per_channel_affine(
                cr.ones(2, 3), cr.ones(3), cr.zeros(3, dtype=cr.int32), 0, 0, 15
            ),
            ValueError,
            "one value per index along axis 0",
        ),
        (
            lambda: cr.fake_quantize_per_channel_affine(
                cr.ones(2, 3), cr.ones(3), cr.tensor([0, 3, 99], dtype=cr.int32), 1, 0, 15
            ),
            ValueError,
            "zero_point must be between quant_min and quant_max",
        ),
    ]


def _refusals_name_the_argument_case(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_refusals_name_the_argument():
    each_case(_refusals_name_the_argument_case, grid(
        (("call", "error", "match"), _REFUSALS_NAME_THE_ARGUMENT),
    ))
