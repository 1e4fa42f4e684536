"""Batch-last images: conv and pool outputs are (N, C, H, W) views of (C, H, W, N) memory.

The layout is an implementation detail: values, shapes and gradients must not depend on how an
input is stored, and the NaN rule of max pooling (the gradient goes to the NaN) must survive
the mask-based backward.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import F

from .._case_loop import each_case, grid, with_rng


def _batch_last(a):
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def _is_batch_last(a):
    return a.transpose(1, 2, 3, 0).flags.c_contiguous


OPS = {
    "conv2d": lambda x, w: F.conv2d(x, w, padding=1),
    "conv2d_stride": lambda x, w: F.conv2d(x, w, stride=2, padding=1),
    "conv_transpose2d": lambda x, w: F.conv_transpose2d(x, cr.ops.transpose(w, 0, 1), stride=2,
                                                        padding=1, output_padding=1),
    "max_pool2d": lambda x, w: F.max_pool2d(x, 2),
    "max_pool2d_overlap": lambda x, w: F.max_pool2d(x, 3, stride=1, padding=1),
    "avg_pool2d": lambda x, w: F.avg_pool2d(x, 2),
}


def _outputs_and_gradients_do_not_depend_on_the_input_layout_case(rng, name):
    xs = rng.standard_normal((5, 3, 8, 8))
    ws = rng.standard_normal((4, 3, 3, 3))
    results = []
    for layout in (np.ascontiguousarray, _batch_last):
        x = cr.tensor(layout(xs), requires_grad=True)
        w = cr.tensor(ws, requires_grad=True)
        y = OPS[name](x, w)
        g = rng.standard_normal(y.shape) if not results else results[0][1]
        y.backward(cr.tensor(g))
        results.append((y.numpy(), g, x.grad.numpy(), w.grad.numpy() if w.grad is not None else 0))
    for a, b in zip(results[0], results[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_outputs_and_gradients_do_not_depend_on_the_input_layout():
    each_case(with_rng(_outputs_and_gradients_do_not_depend_on_the_input_layout_case), grid(
        ("name", sorted(OPS)),
    ))


@pytest.mark.fast_kernels
@pytest.mark.parametrize("name", ["conv2d", "conv2d_stride", "conv_transpose2d", "max_pool2d"])
def test_image_outputs_are_stored_batch_last(rng, name):
    x = cr.tensor(rng.standard_normal((5, 3, 8, 8)).astype(np.float32))
    w = cr.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32))
    y = OPS[name](x, w)
    assert y.ndim == 4 and y.shape[0] == 5
    if name != "conv_transpose2d":  # a transposed convolution's output is a crop of its buffer
        assert _is_batch_last(y._data)


def test_flatten_of_one_pixel_maps_is_a_free_view(rng):
    x = cr.tensor(rng.standard_normal((6, 16, 5, 5)).astype(np.float32))
    y = F.conv2d(x, cr.tensor(rng.standard_normal((12, 16, 5, 5)).astype(np.float32)))
    flat = cr.nn.Flatten()(y)
    assert flat.shape == (6, 12)
    assert np.shares_memory(flat._data, y._data)


def test_max_pool_sends_the_gradient_to_the_last_nan():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    x[0, 0, 1, 0] = np.nan
    t = cr.tensor(x, requires_grad=True)
    y = F.max_pool2d(t, 2)
    assert np.isnan(y.numpy()[0, 0, 0, 0])
    y.sum().backward()
    expected = np.zeros((4, 4))
    expected[1, 0] = 1  # the last NaN of the window in row-major order, as PyTorch's scan
    expected[1, 3] = expected[3, 1] = expected[3, 3] = 1
    np.testing.assert_array_equal(t.grad.numpy()[0, 0], expected)


@pytest.mark.torch
def test_max_pool_nan_gradient_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6, 6))
    x[0, 1, 2, 3] = x[1, 2, 0, 0] = np.nan
    t = cr.tensor(x, requires_grad=True)
    F.max_pool2d(t, 2).sum().backward()
    tt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(tt, 2).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), tt.grad.numpy())
