"""Fuzz wave 12: the ordering reductions (sort stable and descending, argsort, msort, topk,
kthvalue, median/nanmedian, mode, max/min/amax/amin/argmax/argmin, cummax/cummin, unique and
unique_consecutive with return_inverse/counts/dim, searchsorted/bucketize) against PyTorch, with
ties and NaN: values, dtypes, shapes, float64 gradients and error versus no error. Where
PyTorch leaves the indices of ties undefined (an unstable sort, topk, kthvalue, median, mode)
only the values are compared.

Before this wave:

* ``max(x, dim)`` and ``min(x, dim)`` shared the gradient evenly among tied entries; PyTorch's
  goes to the returned index (the first of them, or the first NaN).
* ``searchsorted`` refused ``sorter=`` (PyTorch takes it), and failed with NumPy's reshape or
  stack errors when the sequence or the values had an empty dimension (PyTorch gives an empty
  or zero result).
* Under ``cr.trace``, ``median``, ``nanmedian``, ``kthvalue``, ``mode`` (values and indices) and
  ``searchsorted``/``bucketize`` replayed the first call's positions: they were found from the
  values outside any op, so the trace kept them as constants.
"""

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz12_check import check

torch = pytest.importorskip("torch")

DTYPES = ["float64", "float64", "float32", "float16", "int64", "int32", "uint8", "bool"]


def _case(seed):
    """``(rng, x, dtype, ties, dim, keepdim)``: ``x`` of 1 to 3 dims (some empty), drawn with
    ties (small integers, NaN among floats) or without."""
    rng = np.random.default_rng(seed)
    s = tuple(int(v) for v in rng.integers(0 if rng.random() < 0.2 else 1, 5,
                                           int(rng.integers(1, 4))))
    dtype = str(rng.choice(DTYPES))
    ties = rng.random() < 0.5 or not dtype.startswith("float") or dtype == "float16"
    x = rng.integers(-2, 3, s).astype(np.float64) if ties else rng.standard_normal(s)
    if ties and dtype.startswith("float") and rng.random() < 0.3 and x.size:
        x.flat[rng.integers(0, x.size, 2)] = np.nan
    x = x > 0 if dtype == "bool" else np.abs(x).astype(dtype) if dtype == "uint8" else \
        x.astype(dtype)
    dim = int(rng.integers(-len(s), len(s)))
    return rng, x, dtype, ties, dim, bool(rng.random() < 0.5)


def _grad(dtype, ties):
    return (0,) if dtype == "float64" and not ties else ()


def _sort_argsort_msort_case(seed):
    rng, x, dtype, ties, dim, _ = _case(seed)
    desc, g = bool(rng.random() < 0.5), _grad(dtype, ties)
    label = f"{seed} {dtype} {x.shape} dim={dim} descending={desc}"
    check(torch, lambda lib, t: lib.sort(t, dim=dim, descending=desc, stable=True), x, grad=g,
          label=label)
    check(torch, lambda lib, t: t.sort(dim, desc), x, grad=g, skip=(1,) if ties else (),
          label=label)
    check(torch, lambda lib, t: lib.argsort(t, dim=dim, descending=desc, stable=True), x,
          label=label)
    check(torch, lambda lib, t: lib.msort(t), x, grad=g, label=label)


def test_sort_argsort_msort():
    each_case(_sort_argsort_msort_case, grid(("seed", range(80))))


def _topk_and_kthvalue_case(seed):
    rng, x, dtype, ties, dim, keepdim = _case(seed)
    if dtype == "bool":  # PyTorch has no bool topk or kthvalue (chainrule computes them)
        return
    n, g = x.shape[dim], _grad(dtype, ties)
    k, j = int(rng.integers(0, n + 2)), int(rng.integers(0, n + 2))
    largest, ordered = bool(rng.random() < 0.5), bool(rng.random() < 0.7)
    label = f"{seed} {dtype} {x.shape} dim={dim} k={k} largest={largest} j={j}"
    if ordered:
        check(torch, lambda lib, t: lib.topk(t, k, dim=dim, largest=largest), x, grad=g,
              skip=(1,) if ties else (), label=label)
    else:  # the order is not defined: the values compared sorted
        check(torch, lambda lib, t: lib.sort(lib.topk(t, k, dim, largest, False).values,
                                             dim).values, x, grad=g, label=label)
    check(torch, lambda lib, t: lib.kthvalue(t, j, dim, keepdim), x, grad=g,
          skip=(1,) if ties else (), label=label)


def test_topk_and_kthvalue():
    each_case(_topk_and_kthvalue_case, grid(("seed", range(80))))


def _median_nanmedian_mode_case(seed):
    rng, x, dtype, ties, dim, keepdim = _case(seed)
    if dtype == "bool" or x.size == 0:  # PyTorch: no bool median; NaN for an empty one
        return
    g, label = _grad(dtype, ties), f"{seed} {dtype} {x.shape} dim={dim}"
    check(torch, lambda lib, t: lib.median(t, dim, keepdim), x, grad=g,
          skip=(1,) if ties else (), label=label)
    check(torch, lambda lib, t: lib.nanmedian(t, dim, keepdim), x, grad=g,
          skip=(1,) if ties else (), label=label)
    check(torch, lambda lib, t: lib.median(t), x, grad=g, label=label)
    check(torch, lambda lib, t: lib.nanmedian(t), x, grad=g, label=label)
    if not np.isnan(np.asarray(x, np.float64)).any():  # PyTorch's mode orders NaN arbitrarily
        check(torch, lambda lib, t: lib.mode(t, dim, keepdim), x, grad=g,
              skip=(1,) if ties else (), label=label)


def test_median_nanmedian_mode():
    each_case(_median_nanmedian_mode_case, grid(("seed", range(80))))


@pytest.mark.parametrize("seed", range(80))
def test_max_min_family(seed):
    """``max(x, dim)`` returns the first of tied (or NaN) entries, and its gradient goes there,
    so ties are compared with gradients too; ``amax`` shares it (NaN: PyTorch's 0/0)."""
    _, x, dtype, ties, dim, keepdim = _case(seed)
    f64 = dtype == "float64"
    nan = bool(np.isnan(np.asarray(x, np.float64)).any())
    label = f"{seed} {dtype} {x.shape} dim={dim}"
    for name in ("max", "min"):
        check(torch, lambda lib, t: getattr(lib, name)(t, dim, keepdim), x,
              grad=(0,) if f64 else (), label=label)
        check(torch, lambda lib, t: getattr(lib, name)(t), x, grad=_grad(dtype, ties),
              label=label)
        check(torch, lambda lib, t: getattr(lib, "a" + name)(t, dim, keepdim), x,
              grad=(0,) if f64 and not nan else (), label=label)
        check(torch, lambda lib, t: getattr(lib, "cum" + name)(t, dim), x,
              grad=(0,) if f64 else (), label=label)
        if dtype != "bool":  # PyTorch has no bool argmax (chainrule computes it)
            check(torch, lambda lib, t: getattr(lib, "arg" + name)(t, dim, keepdim), x,
                  label=label)
            check(torch, lambda lib, t: getattr(lib, "arg" + name)(t), x, label=label)
    check(torch, lambda lib, t: lib.aminmax(t, dim=dim, keepdim=keepdim), x, label=label)


def test_max_along_dim_gradient_goes_to_the_returned_index():
    nan = float("nan")
    x = np.array([[1.0, nan, 3.0, nan], [2.0, 5.0, 5.0, -1.0], [4.0, 4.0, 4.0, 4.0]])
    for dim in (0, 1, -1):
        for keepdim in (False, True):
            check(torch, lambda lib, t: t.max(dim, keepdim), x, grad=(0,))
            check(torch, lambda lib, t: lib.min(t, dim=dim, keepdim=keepdim), x, grad=(0,))
    assert cr.tensor([[3.0, 3.0]]).max(1).indices.tolist() == [0]


def _unique_and_unique_consecutive_case(seed):
    rng, _, dtype, _, dim, _ = _case(seed)
    x = rng.integers(-2, 3, tuple(int(v) for v in rng.integers(1, 5, int(rng.integers(1, 4)))))
    dim = int(rng.integers(-x.ndim, x.ndim))
    if dtype.startswith("float"):
        x = x.astype(dtype)
        if rng.random() < 0.3:  # PyTorch orders NaN arbitrarily when comparing slices (dim=)
            x.flat[0] = np.nan
    nan = bool(np.isnan(np.asarray(x, np.float64)).any())
    inverse, counts = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    kw = {"return_inverse": inverse, "return_counts": counts}
    label = f"{seed} {x.dtype} {x.shape} dim={dim} {kw}"
    check(torch, lambda lib, t: lib.unique(t, sorted=True, **kw), x, label=label)
    check(torch, lambda lib, t: lib.unique_consecutive(t, **kw), x, label=label)
    check(torch, lambda lib, t: lib.unique_consecutive(t, dim=dim, **kw), x, label=label)
    if not nan:
        check(torch, lambda lib, t: lib.unique(t, sorted=True, dim=dim, **kw), x, label=label)


def test_unique_and_unique_consecutive():
    each_case(_unique_and_unique_consecutive_case, grid(("seed", range(60))))


def _searchsorted_and_bucketize_case(seed):
    rng = np.random.default_rng(seed)
    dtype = str(rng.choice(["float64", "float32", "int64", "int32"]))
    lead = tuple(int(v) for v in rng.integers(0, 4, int(rng.integers(0, 3))))
    b = np.sort(rng.integers(-3, 4, lead + (int(rng.integers(0, 6)),)), axis=-1).astype(dtype)
    vs = lead + (int(rng.integers(0, 4)),) if lead else tuple(
        int(v) for v in rng.integers(0, 4, int(rng.integers(0, 3))))
    v = rng.integers(-4, 5, vs).astype(dtype)
    if rng.random() < 0.3:
        v = (rng.integers(-8, 9, vs) / 2).astype("float64" if dtype[0] == "i" else dtype)
    right, side, i32 = bool(rng.random() < 0.5), str(rng.choice(["left", "right"])), \
        bool(rng.random() < 0.3)
    label = f"{seed} {b.shape} {b.dtype} {v.shape} {v.dtype} right={right} side={side}"
    check(torch, lambda lib, s, t: lib.searchsorted(s, t, right=right, out_int32=i32), b, v,
          label=label)
    check(torch, lambda lib, s, t: lib.searchsorted(s, t, side=side), b, v, label=label)
    order = np.argsort(rng.random(b.shape), axis=-1)  # shuffled, with the sorter undoing it
    check(torch, lambda lib, s, t, o: lib.searchsorted(s, t, sorter=o, side=side),
          np.take_along_axis(b, order, -1), v, np.argsort(order, axis=-1), label=label)
    if b.ndim == 1:
        check(torch, lambda lib, t, s: lib.bucketize(t, s, right=right, out_int32=i32), v, b,
              label=label)
        check(torch, lambda lib, s: lib.searchsorted(s, 1, right=right), b, label=label)
        check(torch, lambda lib, s: lib.bucketize(1.5, s, right=right), b, label=label)


def test_searchsorted_and_bucketize():
    each_case(_searchsorted_and_bucketize_case, grid(("seed", range(80))))


def test_trace_finds_the_picked_positions_again():
    def f(x):
        outs = [x.median(), x.nanmedian(), x.median(1).values, x.median(1).indices,
                x.nanmedian(1, True).values, x.kthvalue(2, 1).values, x.kthvalue(2, 1).indices,
                x.mode(0).values, cr.searchsorted(x.sort(1).values, x),
                cr.searchsorted(x, x, sorter=x.argsort(1)), cr.bucketize(x, cr.tensor([0.5, 4]))]
        return cr.cat([o.double().reshape(-1) for o in outs])
    first = cr.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]])
    traced = cr.trace(f, first)
    for other in ([[9.0, 5.0, 2.0], [7.0, 0.0, 8.0]], [[3.0, 3.0, 1.0], [2.0, 6.0, 2.0]]):
        other = cr.tensor(other)
        assert traced(other).tolist() == f(other).tolist()
