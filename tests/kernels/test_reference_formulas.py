"""The convolution and pooling references as the lecture writes them, checked three ways.

On random geometries (stride > 1, dilation > 1, groups > 1, the asymmetric padding of "same"
with an even kernel, 1-D sequences in 2-D form): against a loop over every output position (the
definition), against the fast kernels, and, for the transposed convolution and the filter
gradient, as adjoints of the forward (<conv(x, w), g> = <x, conv_transpose(g, w)> =
<w, filter_gradient(x, g)>). Pools: ties, NaN, infinities and integer inputs, the gradient to the
first winner of each window in row-major order (PyTorch's rule); average pooling with its padding
counted or not.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.kernels import convolution, layout, pooling
from chainrule.ops import _windows


def _random_conv(rng):
    """A random 2-D (or 1-D in 2-D form) convolution: shapes, geometry and its output size."""
    groups = int(rng.choice([1, 1, 2, 3]))
    c, o = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    one_row = rng.random() < 0.25
    k = (1 if one_row else int(rng.integers(1, 4)), int(rng.integers(1, 5)))
    dilation = (1, 1) if one_row else tuple(int(d) for d in rng.integers(1, 3, 2))
    if rng.random() < 0.3:
        stride, padding = 1, "same"  # an even kernel pads one more after than before
    else:
        stride = (1, 1) if one_row else tuple(int(s) for s in rng.integers(1, 4, 2))
        padding = (0, int(rng.integers(0, 3))) if one_row else tuple(
            int(p) for p in rng.integers(0, 3, 2))
    span = [d * (kk - 1) + 1 for d, kk in zip(dilation, k)]
    size = (1 if one_row else span[0] + int(rng.integers(0, 5)), span[1] + int(rng.integers(0, 6)))
    xs, ws = (int(rng.integers(1, 4)), c) + size, (o, c // groups) + k
    geom, out_size = _windows.conv_setup("conv2d", 2, xs, np.dtype(np.float64), ws,
                                         np.dtype(np.float64), None, stride, padding, dilation,
                                         groups)
    return xs, ws, geom, out_size


def _by_definition(x, w, b, geom, out_size):
    """y[n, o, p, q] = b[o] + sum of w[o] times the window at (p, q), one position at a time."""
    (pt, pb), (pl, pr) = geom.padding
    xpad = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    y = np.empty((x.shape[0], o) + tuple(out_size))
    for f in range(o):
        group = f // (o // geom.groups)
        for p in range(out_size[0]):
            for q in range(out_size[1]):
                window = xpad[:, group * cg:(group + 1) * cg,
                              p * sh:p * sh + dh * (kh - 1) + 1:dh,
                              q * sw:q * sw + dw * (kw - 1) + 1:dw]
                y[:, f, p, q] = (window * w[f]).sum(axis=(1, 2, 3)) + b[f]
    return y


def test_convolution_references_are_the_definition_and_its_adjoints(rng):
    for _ in range(40):
        xs, ws, geom, out_size = _random_conv(rng)
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        b = rng.standard_normal(ws[0])
        y, kept = convolution.convolve_reference(x, w, b, out_size, geom)
        assert kept is None and y.flags.c_contiguous and y.dtype == x.dtype
        np.testing.assert_allclose(y, _by_definition(x, w, b, geom, out_size),
                                   rtol=1e-12, atol=1e-12)
        relu, _ = convolution.convolve_reference(x, w, b, out_size, geom, relu=True)
        np.testing.assert_array_equal(relu, np.maximum(y, 0))
        g = rng.standard_normal(y.shape)
        gx = convolution.convolve_transpose_reference(g, w, None, xs[2:], geom)
        gw = convolution.filter_gradient_reference(x, g, geom, ws)
        assert gx.shape == xs and gx.flags.c_contiguous and gw.shape == ws
        linear, _ = convolution.convolve_reference(x, w, None, out_size, geom)
        assert np.isclose(np.vdot(linear, g), np.vdot(x, gx), rtol=1e-10, atol=1e-12)
        assert np.isclose(np.vdot(linear, g), np.vdot(w, gw), rtol=1e-10, atol=1e-12)
        c = rng.standard_normal(xs[1])  # the transposed convolution's bias, per input channel
        np.testing.assert_allclose(
            convolution.convolve_transpose_reference(g, w, c, xs[2:], geom),
            gx + c.reshape(-1, 1, 1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_convolution_references_equal_the_fast_kernels(rng, dtype):
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for _ in range(25):
        xs, ws, geom, out_size = _random_conv(rng)
        x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[0]).astype(dtype)
        expected, _ = convolution.convolve_reference(x, w, b, out_size, geom)
        y, reuse = convolution.convolve(x, w, b, out_size, geom, keep=True, recording=True)
        np.testing.assert_allclose(y, expected, rtol=tol, atol=tol * 10)
        g = rng.standard_normal(expected.shape).astype(dtype)
        np.testing.assert_allclose(convolution.filter_gradient(x, g, geom, ws, reuse),
                                   convolution.filter_gradient_reference(x, g, geom, ws),
                                   rtol=tol, atol=tol * 100)
        np.testing.assert_allclose(convolution.convolve_transpose(g, w, None, xs[2:], geom),
                                   convolution.convolve_transpose_reference(g, w, None, xs[2:],
                                                                            geom),
                                   rtol=tol, atol=tol * 10)


def test_transposed_convolution_reference_with_output_padding_equals_the_fast_kernel(rng):
    """A transposed convolution whose output is longer than the forward reads (output_padding):
    the extra rows and columns get nothing but the bias."""
    g = rng.standard_normal((2, 4, 3, 4))
    w = rng.standard_normal((4, 3, 3, 2))  # (in, out / groups, kh, kw), groups 2
    geom, size = _windows.conv_transpose_setup(
        "conv_transpose2d", 2, g.shape, g.dtype, w.shape, w.dtype, None, (3, 2), (1, 0), (2, 1),
        2, (1, 2))
    b = rng.standard_normal(6)
    expected = convolution.convolve_transpose_reference(g, w, b, size, geom)
    assert expected.shape == (2, 6) + size
    np.testing.assert_allclose(convolution.convolve_transpose(g, w, b, size, geom), expected,
                               rtol=1e-12, atol=1e-12)


def _random_pool(rng, dtype):
    one_row = rng.random() < 0.25
    kernel = (1 if one_row else int(rng.integers(1, 4)), int(rng.integers(1, 5)))
    stride = (1 if one_row else int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    size = (1 if one_row else kernel[0] + int(rng.integers(0, 5)),
            kernel[1] + int(rng.integers(0, 6)))
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) + size
    geom = _windows.pool_setup("max_pool2d", 2, False, shape, np.dtype(dtype), False, kernel,
                               stride, padding)
    x = rng.integers(-2, 3, shape).astype(dtype)  # many ties
    if np.dtype(dtype).kind == "f":
        flat = x.reshape(-1)
        flat[rng.random(flat.size) < 0.1] = np.nan
        flat[rng.random(flat.size) < 0.1] = np.inf * rng.choice([-1, 1])
    return x, geom


def _pool_by_definition(x, g, geom, largest):
    """Each window's extremum and the gradient routed to its first winner, one window at a time
    (padding skipped; a NaN wins over everything, a later NaN over earlier ones)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = geom.kernel, geom.stride, geom.padding, geom.out_size
    y = np.empty((n, c, ho, wo), x.dtype)
    gx = np.zeros(x.shape)
    for b in range(n):
        for f in range(c):
            for p in range(ho):
                for q in range(wo):
                    best = where = None
                    for i in range(kh):
                        for j in range(kw):
                            r, s = p * sh + i - ph, q * sw + j - pw
                            if not (0 <= r < h and 0 <= s < w):
                                continue
                            v = x[b, f, r, s]
                            # PyTorch's scan: a later value wins if it is better or NaN.
                            if best is not None and not (
                                    np.isnan(v) or (v > best if largest else v < best)):
                                continue
                            best, where = v, (r, s)
                    y[b, f, p, q] = best
                    gx[b, f][where] += g[b, f, p, q]
    return y, gx


@pytest.mark.parametrize("largest", [True, False])
def test_pooling_references_are_the_definition_and_equal_the_fast_kernels(rng, largest):
    for dtype in (np.float64, np.float32, np.int32):
        for _ in range(12):
            x, geom = _random_pool(rng, dtype)
            y = pooling.extremum_pool_reference(x, geom, largest)
            assert y.dtype == x.dtype and y.flags.c_contiguous
            g = rng.standard_normal(y.shape)
            y_def, gx_def = _pool_by_definition(x, g, geom, largest)
            np.testing.assert_array_equal(y, y_def)
            fast_x = layout.batch_last(np.ascontiguousarray(layout.memory_order(x)))
            np.testing.assert_array_equal(pooling.extremum_pool(fast_x, geom, largest), y)
            if np.dtype(dtype).kind != "f":
                continue  # integers have no gradient
            g = g.astype(dtype)
            gx = pooling.route_to_winners_reference(g, x, y, geom, largest)
            assert gx.shape == x.shape and gx.flags.c_contiguous
            np.testing.assert_allclose(gx, gx_def, rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(pooling.route_to_winners(g, x, y, geom, largest), gx,
                                       rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_average_pool_references_are_the_definition_its_adjoint_and_the_fast_kernels(
        rng, count_include_pad):
    for _ in range(12):
        x, geom = _random_pool(rng, np.float64)
        x = rng.standard_normal(x.shape)
        y = pooling.average_pool_reference(x, geom, count_include_pad)
        (kh, kw), (sh, sw), (ph, pw) = geom.kernel, geom.stride, geom.padding
        xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        inside = np.pad(np.ones(x.shape[2:]), ((ph, ph), (pw, pw)))
        for p in range(y.shape[2]):
            for q in range(y.shape[3]):
                rows, cols = slice(p * sh, p * sh + kh), slice(q * sw, q * sw + kw)
                count = kh * kw if count_include_pad else inside[rows, cols].sum()
                np.testing.assert_allclose(y[:, :, p, q],
                                           xpad[:, :, rows, cols].sum(axis=(2, 3)) / count,
                                           rtol=1e-12, atol=1e-12)
        g = rng.standard_normal(y.shape)
        gx = pooling.spread_over_windows_reference(g, geom, count_include_pad)
        assert gx.shape == x.shape and gx.flags.c_contiguous
        assert np.isclose(np.vdot(y, g), np.vdot(x, gx), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(pooling.average_pool(x, geom, count_include_pad), y,
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(pooling.spread_over_windows(g, geom, count_include_pad), gx,
                                   rtol=1e-12, atol=1e-12)
