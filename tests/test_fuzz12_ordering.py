"""Fuzz wave 12: the ordering reductions (sort stable and descending, argsort, msort, topk,
kthvalue, median/nanmedian, mode, max/min/amax/amin/argmax/argmin, cummax/cummin, unique and
unique_consecutive with return_inverse/counts/dim, searchsorted/bucketize) against PyTorch, with
ties and NaN: values, dtypes, shapes, float64 gradients and error versus no error. Where
PyTorch leaves the indices of ties undefined (an unstable sort, topk, kthvalue, median, mode)
only the values are compared.

Before this wave:

* ``max(x, dim)`` and ``min(x, dim)`` shared the gradient evenly among tied entries; PyTorch's
  goes to the returned index (the first of them, or the first NaN).
"""

import numpy as np
import pytest

import chainrule as cr

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


@pytest.mark.parametrize("seed", range(80))
def test_sort_argsort_msort(seed):
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


@pytest.mark.parametrize("seed", range(80))
def test_topk_and_kthvalue(seed):
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


@pytest.mark.parametrize("seed", range(80))
def test_median_nanmedian_mode(seed):
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
