"""The convolution and pooling kernels' fast routes against their plain references.

im2col, col2im, max/min pooling and the routing of its gradient move values without arithmetic
(col2im adds the offsets in the references' order), so their routes are bit-equal to the
references; the GEMMs and means sum in other orders and agree to float rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import jit as _jit
from chainrule.kernels import convolution, im2col, layout, pooling
from chainrule.ops import _windows

from .._case_loop import each_case, grid, with_rng

F32, F64 = np.float32, np.float64

# (x shape, w shape, stride, padding, dilation, groups)
CONVS = [
    ((3, 4, 9, 8), (6, 4, 3, 3), 1, 1, 1, 1),
    ((2, 4, 11, 10), (6, 2, 3, 2), 2, (2, 1), 2, 2),
    ((5, 3, 7, 7), (4, 3, 1, 1), 1, 0, 1, 1),
    ((1, 2, 6, 5), (3, 2, 6, 5), 1, 0, 1, 1),  # the kernel covers the whole image
    ((4, 3, 1, 40), (5, 3, 1, 7), (1, 3), 0, 1, 1),  # a sequence in 2-D form
    ((6, 1, 10, 10), (4, 1, 3, 3), 2, 1, 1, 1),  # one channel (an autoencoder's image)
]


def _batch_last_copy(x):
    return layout.batch_last(np.ascontiguousarray(layout.memory_order(x)))


def _conv(case, rng, dtype=F32):
    xs, ws, stride, padding, dilation, groups = case
    geom, out_size = _windows.conv_setup("conv2d", 2, xs, np.dtype(dtype), ws, np.dtype(dtype),
                                         None, stride, padding, dilation, groups)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    return x, w, geom, out_size


def _fast_to_reference_order(cols, c, k, out_size, n):
    """Fast columns (positions Ho, Wo, N) reordered as the reference's (positions N, Ho, Wo)."""
    g = cols.shape[0]
    six = cols.reshape(c, *k, *out_size, n).transpose(0, 1, 2, 5, 3, 4)
    return six.reshape(g, -1, n * out_size[0] * out_size[1])


@pytest.mark.parametrize("case", CONVS)
def test_im2col_and_col2im_equal_their_references_bit_for_bit(rng, monkeypatch, case):
    x, w, geom, out_size = _conv(case, rng)
    n, c = x.shape[:2]
    k = w.shape[2:]
    ref = im2col.im2col_reference(x, k, out_size, geom)
    # numba's direct sweep reads a batch-last input (padding written as zeros), the strided view
    # copy any other, and either when the direct kernel is off
    for direct in ([_jit.im2col, None] if _jit.im2col is not None else [None]):
        monkeypatch.setattr(_jit, "im2col", direct)
        for layout_of_x in (x, _batch_last_copy(x)):
            fast = im2col.im2col(layout_of_x, k, out_size, geom)
            assert _fast_to_reference_order(fast, c, k, out_size, n).tobytes() == ref.tobytes()
    cols = rng.standard_normal(ref.shape).astype(F32)
    fast_cols = np.ascontiguousarray(
        cols.reshape(c, *k, n, *out_size).transpose(0, 1, 2, 4, 5, 3)).reshape(ref.shape)
    expected = im2col.col2im_reference(cols, x.shape[2:], k, out_size, geom)
    assert expected.flags.c_contiguous and expected.shape == x.shape
    bias = rng.standard_normal(c).astype(F32)
    with_bias = expected + bias.reshape(-1, 1, 1)  # the order of convolve_transpose_reference
    # (numba's col2im into the unpadded image, its col2im into the padded one, NumPy's)
    routes = [(None, None)] + ([(None, _jit.col2im), (_jit.col2im_crop, _jit.col2im)]
                               if _jit.col2im is not None else [])
    for crop, compiled in routes:
        monkeypatch.setattr(_jit, "col2im_crop", crop)
        monkeypatch.setattr(_jit, "col2im", compiled)
        got = im2col.col2im(fast_cols, x.shape[2:], k, out_size, geom)
        np.testing.assert_array_equal(got, expected)
        got = im2col.col2im(fast_cols, x.shape[2:], k, out_size, geom, bias=bias)
        assert got.tobytes() == np.ascontiguousarray(with_bias).tobytes()
        if crop is not None:  # dense batch-last memory, no padding around it
            assert layout.memory_order(got).flags.c_contiguous


def test_col2im_is_the_adjoint_of_im2col(rng):
    x, w, geom, out_size = _conv(CONVS[1], rng, F64)
    cols = im2col.im2col_reference(x, w.shape[2:], out_size, geom)
    other = rng.standard_normal(cols.shape)
    back = im2col.col2im_reference(other, x.shape[2:], w.shape[2:], out_size, geom)
    assert np.isclose(np.vdot(cols, other), np.vdot(x, back), rtol=1e-12)


@pytest.mark.parametrize("case", CONVS)
@pytest.mark.parametrize("dtype", [F32, F64])
def test_the_three_products_equal_their_references(rng, case, dtype):
    x, w, geom, out_size = _conv(case, rng, dtype)
    b = rng.standard_normal(w.shape[0]).astype(dtype)
    tol = 2e-5 if dtype == F32 else 1e-12
    for relu in (False, True):
        expected, _ = convolution.convolve_reference(x, w, b, out_size, geom, relu)
        assert expected.flags.c_contiguous
        for recording, keep in ((False, False), (True, False), (True, True)):
            y, reuse = convolution.convolve(x, w, b, out_size, geom, relu=relu, keep=keep,
                                            recording=recording)
            np.testing.assert_allclose(y, expected, rtol=tol, atol=tol * 10)
    g = rng.standard_normal(expected.shape).astype(dtype)
    gw = convolution.filter_gradient(x, g, geom, w.shape, reuse)
    assert gw.shape == w.shape and gw.flags.c_contiguous
    np.testing.assert_allclose(gw, convolution.filter_gradient_reference(x, g, geom, w.shape),
                               rtol=tol, atol=tol * 100)
    gx = convolution.convolve_transpose(g, w, b[:x.shape[1]], x.shape[2:], geom)
    np.testing.assert_allclose(
        gx, convolution.convolve_transpose_reference(g, w, b[:x.shape[1]], x.shape[2:], geom),
        rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(convolution.channel_sums(_batch_last_copy(g)),
                               convolution.channel_sums_reference(g), rtol=tol, atol=tol * 100)


def test_row_blocks_and_chunks_equal_the_references(rng, monkeypatch):
    """LeNet-5's C1 at batch 64: columns built and multiplied a few output rows at a time, the
    filter gradient summed in chunks."""
    case = ((64, 1, 28, 28), (6, 1, 5, 5), 1, 2, 1, 1)
    x, w, geom, out_size = _conv(case, rng)
    x = _batch_last_copy(x)
    view = im2col.im2col_view(x, (5, 5), out_size, geom)
    assert 1 <= convolution._row_blocks(view, 6) < out_size[0]
    y, reuse = convolution.convolve(x, w, None, out_size, geom, keep=True, recording=True)
    assert reuse is None  # blocked: no columns kept
    np.testing.assert_allclose(y, convolution.convolve_reference(x, w, None, out_size, geom)[0],
                               rtol=1e-5, atol=1e-5)
    g = rng.standard_normal(y.shape).astype(F32)
    np.testing.assert_allclose(convolution.filter_gradient(x, g, geom, w.shape),
                               convolution.filter_gradient_reference(x, g, geom, w.shape),
                               rtol=1e-4, atol=1e-3)


POOLS = [  # kernel, stride, padding, input shape
    ((2, 2), (2, 2), (0, 0), (17, 3, 9, 10)),
    ((3, 3), (2, 2), (1, 1), (17, 2, 9, 10)),
    ((2, 3), (1, 2), (1, 0), (3, 2, 7, 8)),
    ((4, 4), (4, 4), (0, 0), (2, 3, 9, 13)),  # tiled: reshaped into one axis
    ((1, 3), (1, 2), (0, 1), (20, 4, 1, 31)),  # a sequence in 2-D form
]


def _pool(case, rng, dtype):
    kernel, stride, padding, shape = case
    geom = _windows.pool_setup("max_pool2d", 2, False, shape, np.dtype(dtype), False, kernel,
                               stride, padding)
    x = np.round(rng.standard_normal(shape) * 2).astype(dtype)  # ties
    x.reshape(-1)[::23] = np.nan
    return x, geom


def _jit_routes(monkeypatch, name):
    """The compiled kernel ``name`` on, then off (when numba is there)."""
    kernel = getattr(_jit, name)
    for compiled in ([kernel] if kernel is not None else []) + [None]:
        monkeypatch.setattr(_jit, name, compiled)
        yield compiled


@pytest.mark.parametrize("case", POOLS)
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("largest", [True, False])
def test_extremum_pool_and_routing_equal_their_references(rng, monkeypatch, case, dtype,
                                                          largest):
    x, geom = _pool(case, rng, dtype)
    y = pooling.extremum_pool_reference(x, geom, largest)
    assert y.flags.c_contiguous and np.isnan(y).any()
    for _ in _jit_routes(monkeypatch, "pool"):
        for xl in (x, _batch_last_copy(x)):
            got = pooling.extremum_pool(xl, geom, largest, compiled=True)
            np.testing.assert_array_equal(got, y)
    g = rng.standard_normal(y.shape).astype(dtype)
    expected = pooling.route_to_winners_reference(g, x, y, geom, largest)
    assert expected.flags.c_contiguous and expected.shape == x.shape
    for compiled in _jit_routes(monkeypatch, "route_to_winners"):
        got = pooling.route_to_winners(_batch_last_copy(g), _batch_last_copy(x),
                                       _batch_last_copy(y), geom, largest)
        if geom.disjoint or compiled is None:  # each sum in the reference's order
            np.testing.assert_array_equal(got, expected)
        else:  # overlapping windows summed window by window: another order
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    # the gather is the adjoint of the routing
    v = rng.standard_normal(x.shape).astype(F64)
    gathered = pooling.gather_at_winners(v, x, y, geom, largest)
    assert np.isclose(np.vdot(gathered, g), np.vdot(v, expected.astype(F64)), rtol=1e-6)


def _average_pool_and_its_adjoint_equal_their_references_case(rng, case, count_include_pad):
    kernel, stride, padding, shape = case
    geom = _windows.pool_setup("avg_pool2d", 2, True, shape, np.dtype(F32), False, kernel,
                               stride, padding)
    x = rng.standard_normal(shape).astype(F32)
    y = pooling.average_pool_reference(x, geom, count_include_pad)
    np.testing.assert_allclose(pooling.average_pool(_batch_last_copy(x), geom, count_include_pad),
                               y, rtol=1e-6, atol=1e-6)
    g = rng.standard_normal(y.shape).astype(F32)
    np.testing.assert_allclose(pooling.spread_over_windows(g, geom, count_include_pad),
                               pooling.spread_over_windows_reference(g, geom, count_include_pad),
                               rtol=1e-6, atol=1e-6)


def test_average_pool_and_its_adjoint_equal_their_references():
    each_case(with_rng(_average_pool_and_its_adjoint_equal_their_references_case), grid(
        ("count_include_pad", [True, False]),
        ("case", POOLS),
    ))


def _forbid(monkeypatch, module, names):
    def refuse(*args):
        raise AssertionError("a fast route ran in reference mode")

    for name in names:
        if getattr(module, name) is not None:
            monkeypatch.setattr(module, name, refuse)


def test_reference_mode_takes_only_the_references(rng, monkeypatch):
    """No compiled kernel runs, and every result is a contiguous (N, C, H, W) array."""
    _forbid(monkeypatch, _jit, ["col2im", "route_to_winners", "pool", "bias_relu", "relu_grad"])
    for name in ("_small_convolve", "_convolve", "_row_blocks", "_gemm_nt", "_filter_gradient"):
        _forbid(monkeypatch, convolution, [name])
    monkeypatch.setattr(pooling, "_tiles", None)
    x, w, geom, out_size = _conv(CONVS[1], rng)
    xp, pgeom = _pool(POOLS[1], rng, F32)
    b = np.ones(w.shape[0], F32)
    with cr.reference_mode():
        y, reuse = convolution.convolve(x, w, b, out_size, geom, relu=True, keep=True,
                                        recording=True)
        g = np.ones_like(y)
        pooled = pooling.extremum_pool(xp, pgeom, True, compiled=True)
        outs = [y, convolution.filter_gradient(x, g, geom, w.shape, reuse),
                convolution.convolve_transpose(g, w, None, x.shape[2:], geom),
                im2col.im2col(x, w.shape[2:], out_size, geom), layout.pad(x, ((1, 1), (2, 2))),
                pooled, pooling.route_to_winners(np.ones_like(pooled), xp, pooled, pgeom, True)]
        assert reuse is None and convolution.columns_of(x, w.shape[2:], out_size, geom) is None
    assert all(a.flags.c_contiguous for a in outs)


def test_device_routes_equal_the_host_references(xp, rng):
    """On a GPU: the fast routes (CuPy's col2im and routing launches) against the NumPy
    references, given the same values."""
    if xp is np:
        pytest.skip("the host routes are tested above")
    x, w, geom, out_size = _conv(CONVS[1], rng)
    n, c = x.shape[:2]
    k = w.shape[2:]
    cols = rng.standard_normal(im2col.im2col_reference(x, k, out_size, geom).shape).astype(F32)
    fast_cols = np.ascontiguousarray(
        cols.reshape(c, *k, n, *out_size).transpose(0, 1, 2, 4, 5, 3)).reshape(cols.shape)
    got = im2col.col2im(xp.asarray(fast_cols), x.shape[2:], k, out_size, geom)
    np.testing.assert_array_equal(xp.asnumpy(got),
                                  im2col.col2im_reference(cols, x.shape[2:], k, out_size, geom))
    xpool, pgeom = _pool(POOLS[1], rng, F32)
    y = pooling.extremum_pool_reference(xpool, pgeom, True)
    g = rng.standard_normal(y.shape).astype(F32)
    np.testing.assert_array_equal(xp.asnumpy(pooling.extremum_pool(xp.asarray(xpool), pgeom, True)),
                                  y)
    got = pooling.route_to_winners(xp.asarray(g), xp.asarray(xpool), xp.asarray(y), pgeom, True)
    np.testing.assert_allclose(xp.asnumpy(got),
                               pooling.route_to_winners_reference(g, xpool, y, pgeom, True),
                               rtol=1e-6, atol=1e-6)  # overlapping windows add atomically
