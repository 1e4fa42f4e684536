"""Fuzz wave 17: reductions, scans and statistics against PyTorch (values, dtypes, shapes, errors
and float64 gradients through ``_fuzz12_check.check``), the cases earlier waves
(test_fuzz12_reduction_dtypes, test_fuzz12_ordering, test_fuzz13_stats) left out.

Before this wave:

* ``var_mean(x, True)``/``std_mean(x, False)`` (PyTorch's ``(input, unbiased)`` overload, which
  ``var``/``std`` already took) raised a TypeError from the mean: the bool went on as its dim.
* ``bucketize`` with 2-D (or 0-D) boundaries computed a row-wise search (searchsorted's rule);
  PyTorch refuses boundaries that are not 1-D.

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
