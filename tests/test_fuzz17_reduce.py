"""Fuzz wave 17: reductions, scans and statistics against PyTorch (values, dtypes, shapes, errors
and float64 gradients through ``_fuzz12_check.check``), the cases earlier waves
(test_fuzz12_reduction_dtypes, test_fuzz12_ordering, test_fuzz13_stats) left out.

Before this wave:

* ``var_mean(x, True)``/``std_mean(x, False)`` (PyTorch's ``(input, unbiased)`` overload, which
  ``var``/``std`` already took) raised a TypeError from the mean: the bool went on as its dim.
* ``bucketize`` with 2-D (or 0-D) boundaries computed a row-wise search (searchsorted's rule);
  PyTorch refuses boundaries that are not 1-D.
* ``gradient`` of a complex tensor dropped the imaginary part (the input was cast to the default
  float dtype, as for integers) and returned float32 numbers; PyTorch keeps complex. Integer
  inputs were cast to float32 up front, so beside float64 coordinates the result had float32's
  rounding (PyTorch's ops promote the integers to float64 there), and integer coordinates were
  cast to the samples' dtype where PyTorch divides them in the default dtype. ``edge_order=2``
  doubled the samples with ``2.0 *`` where PyTorch's ``2 *`` keeps int8 (and wraps). A bool
  input failed inside NumPy; now a TypeError as PyTorch's refusal.
* float32 (and complex64) ``cumsum``/``cumprod``/``logcumsumexp`` (so ``cumulative_trapezoid``)
  rounded the running value at every step (NumPy's float32 accumulate): over 1e5 entries near
  1000 a running sum was 4e-4 relative off; PyTorch's CPU kernels carry it in float64 and round
  each output once. Only float16 was widened before (to float32).
* float32 ``var``/``std`` (so ``var_mean``/``std_mean``) along a dim came from NumPy's float32
  mean and squares: for values near 1e5 spread by 0.01 the variance was off by 200%. PyTorch's
  CPU Welford sums carry float64; so does chainrule now (complex64 in complex128), rounded once.
  (PyTorch's own float32 ``var`` over all elements, no dim, and its ``cov`` lose those digits;
  chainrule's no-dim ``var`` keeps them.)
* float32 ``sum``/``mean``/``nansum``/``nanmean`` along a leading axis (NumPy adds the rows one
  at a time; a 2-D column sum went through BLAS the same way): over 2e5 rows near 1e4 the
  results were 1e-3 relative off (PyTorch's cascade sums: 1e-7), ``cov``/``corrcoef`` built on
  them far more. Sums and means of more than 65536 float32 (complex64) elements now run in
  float64, rounded once (the traced reference paths are unchanged: their sums are smaller).

Checked and found equal: cumprod gradients with one and several zeros (and dtype=), cummax/
cummin with ties and NaN and their gradients, logcumsumexp at infinities, var/std/var_mean/
std_mean with float corrections, dim tuples and keepdim, one-element slices, complex inputs;
median/nanmedian/kthvalue/mode values, quantile/nanquantile in every interpolation with q a
number, a 0-D or 1-D tensor; histc/histogram (int bins, edges, range, weight, density),
bincount, unique/unique_consecutive (dim=, inverse, counts), searchsorted/bucketize (right,
side, sorter, out_int32, scalars), diff (n, prepend/append), gradient (spacing as a number, a
list or coordinates, edge_order), trapezoid/cumulative_trapezoid. Undefined in PyTorch and
compared only by value: kthvalue's index among tied entries (a selection, not a stable sort),
mode of a slice with NaN (its sort with ``<`` leaves NaNs anywhere).
"""

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz12_check import check

torch = pytest.importorskip("torch")

X = np.random.default_rng(17).standard_normal((3, 4))


@pytest.mark.parametrize("fn", ["var_mean", "std_mean"])
@pytest.mark.parametrize("unbiased", [True, False])
def test_var_mean_takes_unbiased_in_place_of_dim(fn, unbiased):
    out = check(torch, lambda L, a: getattr(L, fn)(a, unbiased), X, grad=(0,), label=fn)
    assert out[0].shape == () and out[1].shape == ()


@pytest.mark.parametrize("shape", [(2, 2), ()])
def test_bucketize_refuses_boundaries_not_1d(shape):
    check(torch, lambda L, v, b: L.bucketize(v, b), X, np.ones(shape), label="bucketize")
    with pytest.raises(ValueError, match="boundaries must be 1-D"):
        cr.bucketize(cr.tensor(X), cr.ones(shape))


SAMPLE_DTYPES = ["float64", "float32", "complex128", "complex64", "int64", "int8"]


def _samples(dtype, shape=(4, 5)):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) * 3
    if dtype.startswith("complex"):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _gradient_dtypes_with_coordinates_case(dtype, coords, edge_order):
    grad = (0,) if dtype in ("float64", "complex128") else ()
    p, q = np.array([0, 2, 3, 7]).astype(coords), np.array([0, 1, 3, 4, 7]).astype(coords)
    check(torch, lambda L, a, p, q: L.gradient(a, spacing=(p, q), edge_order=edge_order),
          _samples(dtype), p, q, grad=grad, label=f"gradient {dtype} {coords}")


def test_gradient_dtypes_with_coordinates():
    each_case(_gradient_dtypes_with_coordinates_case, grid(
        ("edge_order", [1, 2]),
        ("coords", ["int64", "int32", "float64", "float32"]),
        ("dtype", SAMPLE_DTYPES),
    ))


@pytest.mark.parametrize("dtype", SAMPLE_DTYPES)
@pytest.mark.parametrize("spacing", [1, 0.5, 2, [2.0, 0.25]])
@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_dtypes_with_steps(dtype, spacing, edge_order):
    grad = (0,) if dtype in ("float64", "complex128") else ()
    check(torch, lambda L, a: L.gradient(a, spacing=spacing, edge_order=edge_order),
          _samples(dtype), grad=grad, label=f"gradient {dtype} {spacing}")
    check(torch, lambda L, a: L.gradient(a, spacing=[spacing] if isinstance(spacing, (int, float))
                                         else spacing[:1], dim=1, edge_order=edge_order),
          _samples(dtype), grad=grad, label=f"gradient {dtype} {spacing} dim=1")


def test_gradient_keeps_complex_and_refuses_bool():
    out = cr.gradient(cr.tensor([0, 1j, 2 + 2j]))[0]
    assert out.dtype == cr.complex64 and out.tolist() == [1j, 1 + 1j, 2 + 1j]
    with pytest.raises(TypeError, match="bool"):
        cr.gradient(cr.tensor([True, False, True]))


SCANS = {"cumsum": lambda L, a: L.cumsum(a, 0),
         "cumsum_dtype": lambda L, a: L.cumsum(a, 0, dtype=L.float32),
         "cumsum_": lambda L, a: a.clone().cumsum_(0),
         "cumprod": lambda L, a: L.cumprod(a / 1000, 0),
         "logcumsumexp": lambda L, a: L.logcumsumexp(a, 0),
         "cumulative_trapezoid": lambda L, a: L.cumulative_trapezoid(a, dim=0),
         "complex64": lambda L, a: L.cumsum(a.to(L.complex64) * (1 - 2j), 0)}


@pytest.mark.parametrize("name", list(SCANS))
def test_float32_scans_accumulate_as_pytorch(name):
    """PyTorch's CPU scans keep float32's running value in float64 (float16's in float32) and
    round each output once; a float32 running sum drifted by 4e-4 relative over 1e5 entries
    near 1000. Now equal to the last bit."""
    a = (np.random.default_rng(3).random((20000, 2)) + 1000).astype("float32")
    if name == "cumprod":
        a = a[:60]
    t, c = SCANS[name](torch, torch.tensor(a)).numpy(), SCANS[name](cr, cr.tensor(a)).numpy()
    assert c.dtype == t.dtype
    np.testing.assert_array_equal(c, t)


@pytest.mark.parametrize("dtype", ["float32", "complex64"])
def test_float32_scan_gradients(dtype):
    a = (np.random.default_rng(4).standard_normal((300, 3)) * 0.01 + 1000).astype(dtype)
    # (logcumsumexp's float32 gradient is left out: PyTorch's composed backward rounds in
    # float32 and is further from the float64 gradient than chainrule's)
    for name in ("cumsum", "cumprod"):
        check(torch, SCANS[name], a, grad=(0,), rtol=1e-5, label=f"{name} {dtype}")


def _float32_variance_accumulates_in_float64_case(dim, fn, dtype):
    rng = np.random.default_rng(6)
    a = (rng.random((400, 50)) * 0.01 + 1e5).astype("float32")
    if dtype == "complex64":
        a = (a + 1j * (rng.random((400, 50)) * 0.01 - 3e4)).astype("complex64")
    wide = a.astype("float64" if dtype == "float32" else "complex128")
    exact = getattr(torch, fn)(torch.tensor(wide), dim)
    exact = exact[0] if isinstance(exact, tuple) else exact
    c = getattr(cr, fn)(cr.tensor(a), dim)
    c = c[0] if isinstance(c, tuple) else c
    assert str(c.dtype) == "float32"
    np.testing.assert_allclose(c.numpy(), exact.numpy(), rtol=2e-7)
    if dim != (0, 1):  # (PyTorch's float32 variance over every element loses them itself)
        check(torch, lambda L, x: getattr(L, fn)(x, dim), a, rtol=2e-7, label=fn)


def test_float32_variance_accumulates_in_float64():
    each_case(_float32_variance_accumulates_in_float64_case, grid(
        ("dtype", ["float32", "complex64"]),
        ("fn", ["var", "std", "var_mean", "std_mean"]),
        ("dim", [0, 1, (0, 1)]),
    ))


SUMS = {"sum": lambda L, a: L.sum(a, 0), "mean": lambda L, a: L.mean(a, 0),
        "nansum": lambda L, a: L.nansum(a, 0), "nanmean": lambda L, a: L.nanmean(a, 0),
        "mean_keep": lambda L, a: a.mean((0,), keepdim=True),
        "trapezoid": lambda L, a: L.trapezoid(a, dim=0),
        "complex64": lambda L, a: L.sum(a.to(L.complex64) * (1 + 1j), 0)}


@pytest.mark.parametrize("name", list(SUMS))
def test_float32_column_sums_of_many_rows(name):
    a = (np.random.default_rng(7).random((200000, 3)) + 1e4).astype("float32")
    exact = SUMS[name](torch, torch.tensor(a.astype("float64"))).numpy()
    c = SUMS[name](cr, cr.tensor(a))
    assert str(c.dtype) in ("float32", "complex64")
    np.testing.assert_allclose(c.numpy(), exact, rtol=1.2e-7)
    check(torch, SUMS[name], a, rtol=2.4e-7, label=name)  # PyTorch's own is as close to exact
