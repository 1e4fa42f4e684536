"""The compiled convolution without columns (``kernels/convolution_skinny.py``) of a prediction
with few filters and taps over a big batch: the route is taken where it should be, and it gives
the reference's values (bit for bit with one input channel, where the sums are the same)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, models
from chainrule.backend import jit as _jit
from chainrule.kernels import convolution, convolution_skinny

from .._case_loop import each_case, grid, with_rng

pytestmark = pytest.mark.skipif(_jit.convolve_skinny is None,
                                reason="numba not installed or CHAINRULE_JIT=0")


@pytest.fixture
def taken(monkeypatch):
    """The list of the route's answers (True: it computed the output) during the test, with numba
    loaded (as after any training step), so that columns from 2 MiB take the route."""
    _jit.bias_relu(np.zeros((1, 1), np.float32), np.zeros(1, np.float32))  # loads the kernels
    assert _jit.loaded()
    answers = []
    route = convolution_skinny.skinny_convolve

    def spy(*args):
        y = route(*args)
        answers.append(y is not None)
        return y

    monkeypatch.setattr(convolution, "skinny_convolve", spy)
    return answers


def _conv(x, w, b, relu, **kw):
    args = [cr.tensor(x), cr.tensor(w), None if b is None else cr.tensor(b)]
    return (F.conv2d_relu if relu else F.conv2d)(*args, **kw).numpy()


CASES = [  # (N, C, O, k, image side, conv keywords): columns of 2 MiB and more in float32
    (120, 1, 6, 5, 28, {"padding": 2}),  # LeNet-5's C1
    (400, 2, 4, 3, 20, {"stride": 2, "dilation": 2, "padding": 1}),
    (320, 3, 5, 3, 9, {"padding": (0, 1)}),
    (1000, 1, 8, (2, 3), 16, {"stride": (1, 2)}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_route_gives_the_reference_values(rng, taken, dtype, bias, relu, case):
    n, c, o, k, side, kw = case
    k = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal((n, c, side, side)).astype(dtype)
    w = rng.standard_normal((o, c) + k).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    with cr.no_grad():
        y = _conv(x, w, b, relu, **kw)
    assert taken == [True]
    with cr.reference_mode():
        ref = _conv(x, w, b, relu, **kw)
    assert y.shape == ref.shape and y.dtype == dtype
    if c == 1:
        np.testing.assert_array_equal(y, ref)
    else:
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)


def test_route_not_taken_when_recording_wide_small_or_grouped(rng, taken):
    x = rng.standard_normal((120, 1, 28, 28)).astype(np.float32)
    w = rng.standard_normal((6, 1, 5, 5)).astype(np.float32)
    F.conv2d(cr.tensor(x), cr.tensor(w, requires_grad=True), padding=2)  # training: columns kept
    assert taken == []
    with cr.no_grad():
        F.conv2d(cr.tensor(x[:8]), cr.tensor(w), padding=2)  # columns under 2 MiB
        wide = rng.standard_normal((64, 1, 5, 5)).astype(np.float32)  # 64 x 25 > 1024
        F.conv2d(cr.tensor(x), cr.tensor(wide), padding=2)
        x2 = rng.standard_normal((120, 2, 28, 28)).astype(np.float32)
        F.conv2d(cr.tensor(x2), cr.tensor(rng.standard_normal((6, 1, 5, 5)).astype(np.float32)),
                 groups=2)
    assert taken == [False, False, False]


def test_numba_off_takes_the_columns(rng, taken):
    x = rng.standard_normal((120, 1, 28, 28)).astype(np.float32)
    w = rng.standard_normal((6, 1, 5, 5)).astype(np.float32)
    with cr.no_grad():
        fast = _conv(x, w, None, True, padding=2)
        cr.config.jit = False
        try:
            columns = _conv(x, w, None, True, padding=2)
        finally:
            cr.config.jit = True
    assert taken == [True, False]
    np.testing.assert_allclose(fast, columns, rtol=1e-5, atol=1e-5)  # BLAS sums in its own order


def test_nan_stays_nan_through_the_rectifier(rng):
    x = rng.standard_normal((120, 1, 28, 28)).astype(np.float32)
    x[3, 0, 10, 10] = np.nan
    w = rng.standard_normal((6, 1, 5, 5)).astype(np.float32)
    with cr.no_grad():
        y = _conv(x, w, np.zeros(6, np.float32), True, padding=2)
    assert np.isnan(y[3, :, 8:13, 8:13]).all()
    assert not np.isnan(np.delete(y, 3, axis=0)).any()
    assert (y[~np.isnan(y)] >= 0).all() and not np.signbit(y[~np.isnan(y)]).any()


def test_lenet5_predicts_the_same_as_in_reference_mode(rng, taken):
    model = models.LeNet5("modern", rng=rng).eval()
    x = cr.tensor(rng.random((64, 1, 28, 28), dtype=np.float32))
    with cr.no_grad():
        out = model(x).numpy()
        with cr.reference_mode():
            ref = model(x).numpy()
    assert True in taken
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_a_process_only_predicting_loads_numba_for_big_columns_only():
    """Without numba loaded, the route must save more than numba's ~110 MiB costs: 16 MiB of
    columns (LeNet-5's C1 from a batch of about 210); a batch of 100 keeps NumPy alone."""
    code = (
        "import sys, numpy as np, chainrule as cr\n"
        "model = cr.models.LeNet5(rng=np.random.default_rng(0)).eval()\n"
        "for n in (100, 300):\n"
        "    with cr.no_grad():\n"
        "        model(cr.tensor(np.zeros((n, 1, 28, 28), np.float32)))\n"
        "    print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "True"]


def test_an_output_larger_than_the_input_allows_is_an_error_not_a_read_out_of_bounds(rng):
    from chainrule.ops._windows import conv_setup

    x = rng.standard_normal((120, 1, 28, 28)).astype(np.float32)
    w = rng.standard_normal((6, 1, 5, 5)).astype(np.float32)
    geom, (ho, wo) = conv_setup("conv2d", 2, x.shape, x.dtype, w.shape, w.dtype, None, 1, 2, 1, 1)
    assert convolution_skinny.skinny_convolve(x, w, None, (ho, wo), geom, False) is not None
    with pytest.raises(ValueError, match=r"skinny_convolve: padded input \(32, 32\) too small"):
        convolution_skinny.skinny_convolve(x, w, None, (ho + 1, wo), geom, False)


def _sweep_adds_the_taps_one_by_one_in_order_case(rng, dtype, c, k, stride, dilation):
    """Four taps per statement (``backend/jit_images.py``) still add them one at a time, in the
    reference's order: equal bit for bit to accumulating tap after tap in NumPy, for tap counts
    (1, 12, 18, 25, 45) with and without a remainder of four."""
    n, o, side = 11, 3, 9
    x = rng.standard_normal((c, side, side, n)).astype(dtype)
    w = rng.standard_normal((o, c, k, k)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    ho = (side - (k - 1) * dilation - 1) // stride + 1
    y = np.empty((o, ho, ho, n), dtype)
    _jit.convolve_skinny(y, x, w, b, False, stride, stride, dilation, dilation)
    acc = np.zeros((o, ho, ho, n), dtype)
    for ci in range(c):
        for i in range(k):
            for j in range(k):
                rows = x[ci, i * dilation::stride][:ho, j * dilation::stride][:, :ho]
                acc = acc + w[:, ci, i, j, None, None, None] * rows
    np.testing.assert_array_equal(y, acc + b[:, None, None, None])


def test_sweep_adds_the_taps_one_by_one_in_order():
    each_case(with_rng(_sweep_adds_the_taps_one_by_one_in_order_case), grid(
        ("c, k, stride, dilation", [(1, 5, 1, 1), (2, 3, 2, 1), (3, 2, 1, 2),
                                    (1, 1, 1, 1), (5, 3, 1, 1)]),
        ("dtype", [np.float32, np.float64]),
    ))
