"""The eager path's shortcuts (small-batch inference) give the results of the general code."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, nn
from chainrule.kernels import convolution, layout
from chainrule.ops import _windows


def test_setup_cache_is_skipped_for_hyperparameters_that_are_not_plain():
    """A bool equals the int 1 (and hashes alike), so it must not reach the cached int entry."""
    x = cr.tensor(np.ones((1, 1, 4, 4), np.float32))
    w = cr.tensor(np.ones((1, 1, 2, 2), np.float32))
    F.conv2d(x, w, stride=1)  # cached
    for stride in (True, (1, True), 1.0):
        with pytest.raises(TypeError, match="stride must be an int"):
            F.conv2d(x, w, stride=stride)
    np.testing.assert_array_equal(F.conv2d(x, w, stride=np.int64(1))._data, F.conv2d(x, w)._data)
    F.max_pool2d(x, 2)  # cached
    with pytest.raises(TypeError, match="kernel_size must be an int"):
        F.max_pool2d(x, True)


@pytest.mark.kernel_free
def test_pool_windows_are_those_of_each_offset():
    geom = _windows.pool_setup("max_pool2d", 2, False, (1, 2, 7, 7), np.dtype(np.float32), False, 3,
                               2, 1)
    assert geom.windows() == [geom.window(o) for o in geom.offsets()]
    assert geom.padded


def test_lenet_inference_without_recording_equals_the_recorded_forward(rng):
    """No-grad shortcuts (pad, relu, pool windows) give bit-identical outputs at batch 1 and 16."""
    model = cr.models.LeNet5("modern", rng=np.random.default_rng(0)).eval()
    for n in (1, 16):
        x = cr.tensor(rng.standard_normal((n, 1, 28, 28)).astype(np.float32), requires_grad=True)
        recorded = model(x)
        assert recorded.requires_grad
        with cr.no_grad():
            plain = model(x)
        np.testing.assert_array_equal(plain._data, recorded._data)


@pytest.mark.kernel_free
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3), (1, 120, 1, 1)])
def test_flatten_default_matches_explicit_axes(rng, shape):
    x = cr.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    fast, general = nn.Flatten()(x), nn.Flatten(1, len(shape) - 1)(x)
    assert fast.shape == general.shape == (shape[0], int(np.prod(shape[1:])))
    np.testing.assert_array_equal(fast._data, general._data)
    if len(shape) == 2:
        assert fast is x  # nothing to merge: the input itself, as reshape returns it
    fast.sum().backward()
    np.testing.assert_array_equal(x.grad._data, np.ones(shape, np.float32))


def test_padded_input_of_a_convolution_is_zero_outside(rng):
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    expected = np.pad(x, ((0, 0), (0, 0), (2, 1), (0, 3)))
    np.testing.assert_array_equal(layout.pad(x, ((2, 1), (0, 3))), expected)
    np.testing.assert_array_equal(layout.pad_reference(x, ((2, 1), (0, 3))), expected)


def _bits_equal(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,c,size,o,kernel,kwargs,small", [
    (1, 1, (28, 28), 6, 5, {"padding": 2}, np.float32),  # LeNet-5's C1 (float64: 156 KiB columns)
    (1, 6, (14, 14), 16, 5, {}, True),                               # C3
    (1, 16, (5, 5), 120, 5, {}, True),                               # C5: the columns are the input
    (1, 8, (6, 7), 4, 1, {}, True),                                  # 1 x 1: no copy either
    (1, 1, (5, 5), 3, 1, {}, True),                                  # one input per output: no GEMM
    (2, 3, (9, 8), 5, (3, 2), {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2)}, True),
    (3, 4, (6, 6), 4, 3, {"padding": "same", "bias": False}, True),
    (2, 4, (7, 7), 6, 3, {"groups": 2}, False),                       # the general path
    (64, 16, (12, 12), 32, 3, {}, False),                            # too big: the general path
])
@pytest.mark.fast_kernels
@pytest.mark.parametrize("fused", [False, True])
def test_small_unrecorded_convolution_equals_the_recorded_one(rng, monkeypatch, dtype, n, c, size,
                                                               o, kernel, kwargs, small, fused):
    """``convolution._small_convolve`` (no_grad, small arrays) gives the general path's bits."""
    kwargs = dict(kwargs)
    groups = kwargs.get("groups", 1)
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    x = rng.standard_normal((n, c, *size)).astype(dtype)
    x.flat[:4] = [np.nan, -0.0, 0.0, np.inf]
    w = cr.tensor(rng.standard_normal((o, c // groups, *k)).astype(dtype), requires_grad=True)
    b = None if kwargs.pop("bias", True) is False else cr.tensor(
        rng.standard_normal(o).astype(dtype), requires_grad=True)
    op = F.conv2d_relu if fused else F.conv2d
    recorded = op(cr.tensor(x, requires_grad=True), w, b, **kwargs)
    assert recorded.requires_grad
    taken = []
    small_conv = convolution._small_convolve
    monkeypatch.setattr(convolution, "_small_convolve",
                        lambda *a: taken.append(small_conv(*a) is not None) or small_conv(*a))
    with cr.no_grad():
        plain = op(cr.tensor(x), w, b, **kwargs)
    small = small is True or small is dtype
    assert taken == [small]  # the lean path ran where it should, and only there
    assert _bits_equal(plain._data, recorded._data)


def test_small_convolution_of_an_input_not_batch_last_and_of_sequences(rng):
    x = rng.standard_normal((3, 4, 6, 5)).astype(np.float32)  # (N, C, H, W) in memory
    w = cr.tensor(rng.standard_normal((5, 4, 2, 2)).astype(np.float32), requires_grad=True)
    seq = rng.standard_normal((1, 4, 9)).astype(np.float64)
    w1 = cr.tensor(rng.standard_normal((3, 4, 3)), requires_grad=True)
    recorded = F.conv2d(cr.tensor(x, requires_grad=True), w)
    recorded1 = F.conv1d_relu(cr.tensor(seq, requires_grad=True), w1, padding=1)
    with cr.no_grad():
        assert _bits_equal(F.conv2d(cr.tensor(x), w)._data, recorded._data)
        assert _bits_equal(F.conv1d_relu(cr.tensor(seq), w1, padding=1)._data, recorded1._data)
