"""Fuzz wave 13: statistics and distances against PyTorch (values, dtypes, shapes, errors and
float64 gradients through ``_fuzz12_check.check``): histograms, counts, quantiles, covariance,
distances, log-sum-exp and friends, moments, cumulative ops, closeness tests and clamps.

Before this wave:

* ``histogram``/``histogramdd`` with an int ``bins`` spaced their edges as NumPy does
  (``lo + i * step``); PyTorch's ``linspace`` counts the upper half of the edges down from the
  top, so an edge could sit an ulp away, and a value exactly on it (0.7 with ten bins over
  [0, 1]) was counted one bin off PyTorch's. ``histogram``'s ``bins`` had no default (PyTorch:
  100), and a ``range`` beside a tensor of edges was ignored (PyTorch refuses it).
* ``F.pairwise_distance`` and ``F.normalize`` refused p = 0 and negative p (PyTorch's ``norm``
  orders: the count of nonzeros, ``(sum |x|^p)^(1/p)``, -inf the smallest magnitude),
  ``pairwise_distance`` refused 0-D inputs and ``normalize`` a tuple of dims.
* ``diff(n=0, prepend=..., append=...)`` returned the joined tensor (NumPy's rule); PyTorch
  returns a copy of the input alone. ``diff(n=0)`` returned the input itself, not a copy.
* ``isclose``/``allclose`` of integer tensors went through NumPy's float64: with zero
  tolerances two int64 values past 2**53 that differ compared equal (PyTorch: an exact ``==``),
  and with tolerances the test was not PyTorch's (which compares in the default dtype, float32).
* ``clamp``/``clip``/``clamp_`` of a complex tensor (or with a complex bound) computed an
  arbitrary answer without a gradient asked for; PyTorch refuses complex clamps always.
* ``cdist``/``pdist`` with p = inf split the gradient among coordinates tied for the largest
  distance (``amax``'s rule); PyTorch's cdist/pdist give each of them the whole gradient
  (Chebyshev distances of points on a grid tie often).
* ``norm(x, p="nuc")`` (PyTorch's nuclear norm through its legacy ``norm``) was refused, and
  ``renorm`` of a complex tensor (PyTorch scales it by the norm of its magnitudes).
* ``histogram`` with an int ``bins`` over a range of a few ulps (data that barely varies) counted
  by a search of all the edges; PyTorch estimates the bin from the equal widths and searches only
  the edges beside it, and its linspace edges are then out of order, so the counts differed.
  ``histc`` over a range wider than the dtype holds (float32 [-1e38, 1e38]) failed with NumPy's
  "'list' argument must have no negative elements"; a ``range`` of three numbers was taken.
* ``linspace`` itself gave NumPy's values (``start + i * step``): in float32/float64 about a
  third of them an ulp off PyTorch's (``linspace(0, 1, 11)[7]`` was 0.7000000000000001, so
  ``== 0.7`` and bucket boundaries differed), and in integer dtypes off by one where the ends are
  not integers (PyTorch truncates the ends first). Now PyTorch's to the last bit.

Checked and found equal (seeded cases below): quantile/nanquantile (every interpolation, q a
number or tensor, NaN, infinities), median/nanmedian, logsumexp/logcumsumexp with infinities,
var/std/var_mean/std_mean (real and complex, correction, dim tuples), nansum/nanmean, cumsum/
cumprod (zeros, dtype=), cummax/cummin, renorm, count_nonzero, aminmax, cov/corrcoef (fweights,
aweights), trapezoid/cumulative_trapezoid, cosine_similarity (eps, broadcasting), bincount,
logaddexp/logaddexp2, xlogy/xlog1py, frexp/ldexp and nan_to_num at infinities and NaN, float64
gradients included. Left as they are (deliberate or undefined): dtype mixes PyTorch refuses
(isclose of int32 with int64, histogram weights of another dtype, clamp with one tensor and one
number bound) compute; quantile of an input empty along another dim gives an empty result
(PyTorch: error); nanmean's gradient over a slice of NaN only is 0 (PyTorch: NaN); std_mean's
mean of [x, -inf] is -inf (PyTorch's Welford update gives NaN); bincount of no entries with
weights keeps the weights' dtype (PyTorch: int64); gradients at ties of a flattened quantile
follow a stable sort (PyTorch's unstable sort picks another of the tied entries). NumPy's
floating-point RuntimeWarnings where PyTorch is silent: ``corrcoef`` of a constant row and
``quantile`` between two infinities are now quiet; arithmetic on infinities (``diff``, ``var``,
``trapezoid``, ``cumprod`` of inf and 0, ...) and NaN inputs of ``logaddexp``/``logcumsumexp``
still warn (the elementwise ops' policy, not this wave's to change).
"""

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz12_check import check

torch = pytest.importorskip("torch")


def _grid(dtype, n, lo, hi):
    return np.linspace(lo, hi, n).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n, lo, hi, bins", [(101, 0, 1, 10), (1001, -0.3, 1.1, 7),
                                              (57, -1, 1, 13), (300, 0.1, 0.7, 3),
                                              (41, -2.5, 7.5, 40)])
def test_histograms_count_values_on_edges_as_pytorch(dtype, n, lo, hi, bins):
    data = _grid(dtype, n, lo, hi)
    for label, fn in [
            ("auto range", lambda L, t: L.histogram(t, bins)),
            ("range", lambda L, t: L.histogram(t, bins, range=(lo, hi))),
            ("inner range", lambda L, t: L.histogram(t, bins, range=(lo + 0.05, hi - 0.05))),
            ("density", lambda L, t: L.histogram(t, bins, density=True)),
            ("histc", lambda L, t: L.histc(t, bins, min=lo, max=hi)),
            ("dd", lambda L, t: L.histogramdd(t[:, None], bins=[bins])),
            ("dd two", lambda L, t: L.histogramdd(L.stack([t, t.flip(0)], 1), bins=[bins, 3])),
            ("dd int", lambda L, t: L.histogramdd(L.stack([t, t * 2], 1), bins=bins))]:
        check(torch, fn, data, label=f"{label} {dtype} {n}")


def test_histogram_edges_of_ten_bins_hold_point_seven():
    x = cr.tensor([0.7, 0.3, 0.9], dtype=cr.float64)
    assert cr.histogram(x, 10, range=(0.0, 1.0)).hist.tolist() == [0, 0, 1, 0, 0, 0, 0, 1, 0, 1]


@pytest.mark.parametrize("seed", range(6))
def test_random_histograms(seed):
    rng = np.random.default_rng(seed)
    dtype = ["float32", "float64"][seed % 2]
    x = (rng.standard_normal(40) * 3).round(1).astype(dtype)
    w = rng.random(40).astype(dtype)
    bins = int(rng.integers(1, 30))
    edges = np.sort(rng.standard_normal(5)).astype(dtype)
    for label, fn, args in [
            ("default bins", lambda L, t: L.histogram(t), (x,)),
            ("method", lambda L, t: t.histogram(bins, range=(-2.0, 2.0)), (x,)),
            ("weight", lambda L, t, v: L.histogram(t, bins, weight=v, density=True), (x, w)),
            ("edges", lambda L, t, e: L.histogram(t, e, weight=t.abs()), (x, edges)),
            ("edges + range", lambda L, t, e: L.histogram(t, e, range=(0.0, 1.0)), (x, edges)),
            ("constant", lambda L, t: L.histogram(t * 0 + 2, bins), (x,)),
            ("bad range", lambda L, t: L.histogram(t, bins, range=(1.0, 0.0)), (x,)),
            ("dd range", lambda L, t: L.histogramdd(t.reshape(-1, 2), bins=[bins, 2],
                                                    range=[-1.0, 1.0, 0.0, 3.0]), (x,)),
            ("dd weight", lambda L, t, v: L.histogramdd(t.reshape(-1, 4), bins=3,
                                                        weight=v[:10], density=True), (x, w)),
            ("dd edges", lambda L, t, e: L.histogramdd(t.reshape(-1, 2), bins=[e, e]), (x, edges)),
            ("dd zero bins", lambda L, t: L.histogramdd(t.reshape(-1, 2), bins=[0, 2]), (x,)),
            ("histc", lambda L, t: L.histc(t, bins, min=-1, max=1), (x,))]:
        check(torch, fn, *args, label=f"{label} {seed}")


ORDERS = [0, -1, -0.5, -np.inf, 0.5, 1, 2, 3, np.inf]


@pytest.mark.parametrize("p", ORDERS)
def test_pairwise_distance_and_normalize_take_every_order(p):
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    a[0, 1] = 0.0
    grad = (0, 1) if p != 0 else ()
    for label, fn, args in [
            ("pwd", lambda L, x, y: L.nn.functional.pairwise_distance(x, y, p=p), (a, b)),
            ("pwd keep", lambda L, x, y: L.pairwise_distance(x, y, p, 0.0, True), (a, b)),
            ("pwd same", lambda L, x, y: L.nn.functional.pairwise_distance(x, x, p=p), (a, b)),
            ("pwd 0-d", lambda L, x, y: L.nn.functional.pairwise_distance(x[0, 0], y[0, 0], p=p),
             (a, b)),
            ("module", lambda L, x, y: L.nn.PairwiseDistance(p, keepdim=True)(x[0], y), (a, b)),
            ("normalize", lambda L, x, y: L.nn.functional.normalize(x, p=p), (a, b)),
            ("normalize dim 0", lambda L, x, y: L.nn.functional.normalize(x * y, p, 0), (a, b)),
            ("normalize dims", lambda L, x, y: L.nn.functional.normalize(x, p, (0, 1)), (a, b)),
            ("normalize dims list", lambda L, x, y: L.nn.functional.normalize(
                x.reshape(2, 2, 5), p, [-1, 0], eps=0.5), (a, b))]:
        check(torch, fn, *args, grad=grad, label=f"{label} p={p}")


@pytest.mark.parametrize("n", [0, 1, 2, 5, 6])
@pytest.mark.parametrize("dim", [0, -1])
def test_diff_with_prepend_and_append(n, dim):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((3, 4))
    side = (2, 4) if dim == 0 else (3, 2)
    pre, app = rng.standard_normal(side), rng.standard_normal(side[:dim] + (1,) if dim else (1, 4))
    for label, fn, args in [
            ("plain", lambda L, t: L.diff(t, n, dim), (x,)),
            ("prepend", lambda L, t, p: L.diff(t, n, dim, prepend=p), (x, pre)),
            ("append", lambda L, t, p: t.diff(n, dim, append=p), (x, pre)),
            ("both", lambda L, t, p, a: L.diff(t, n=n, dim=dim, prepend=p, append=a),
             (x, pre, app)),
            ("bad prepend", lambda L, t, p: L.diff(t, n, dim, prepend=p.T), (x, pre))]:
        check(torch, fn, *args, grad=tuple(range(len(args))), label=f"{label} n={n} dim={dim}")


def test_diff_of_order_zero_is_a_copy():
    x = cr.tensor([1.0, 2.0, 4.0])
    y = cr.diff(x, 0)
    y.add_(1.0)
    assert x.tolist() == [1.0, 2.0, 4.0]


INTS = [([2**62 + 1, 2**63 - 1, -2**63, 16777217, 5], [2**62, -2**63, 2**63 - 1, 16777216, 5]),
        ([1, 2, 250, 0, 127], [2, 1, 5, 0, 126])]


def _isclose_of_integers_case(dtype, kw):
    for a, b in INTS:
        x, y = np.array(a).astype(dtype), np.array(b).astype(dtype)
        check(torch, lambda L, s, t: L.isclose(s, t, **kw), x, y, label=f"isclose {a[0]}")
        check(torch, lambda L, s, t: s.isclose(t, **kw), x, y, label=f"method {a[0]}")
        check(torch, lambda L, s, t: L.tensor(L.allclose(s, t, **kw)), x, y, label=f"all {a[0]}")


def test_isclose_of_integers():
    each_case(_isclose_of_integers_case, grid(
        ("kw", [{}, {"rtol": 0, "atol": 0}, {"atol": 1}, {"rtol": 0.6},
                {"atol": 0.5, "rtol": 0}, {"rtol": 1e-9, "atol": 0},
                {"equal_nan": True, "rtol": 0, "atol": 0}]),
        ("dtype", ["int64", "int32", "int16", "int8", "uint8", "bool"]),
    ))


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
def test_isclose_of_floats_with_zero_tolerances(dtype):
    x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30]).astype(dtype)
    y = np.array([1.0000001, np.nan, np.inf, np.inf, -0.0, 1e-40, 0.0]).astype(dtype)
    for kw in [{"rtol": 0, "atol": 0}, {"equal_nan": True, "rtol": 0, "atol": 0}]:
        check(torch, lambda L, s, t: L.isclose(s, t, **kw), x, y, label=f"{kw}")


NAN_BOUNDS = (np.array([-2.0, -0.5, 0.0, 0.5, 2.0, np.nan, np.inf, -np.inf, 1.0]),
              np.array([-1.0, np.nan, 0.0, 1.0, -np.inf, 0.0, 0.0, 0.0, 1.0]),
              np.array([1.0, 0.0, np.nan, 0.0, np.inf, 1.0, 5.0, 1.0, 1.0]))


@pytest.mark.parametrize("name", ["clamp", "clip"])
def test_clamp_with_tensor_bounds_and_nan(name):
    x, lo, hi = NAN_BOUNDS
    f = lambda L: getattr(L, name)  # noqa: E731
    for label, fn, args in [
            ("both", lambda L, t, a, b: f(L)(t, a, b), (x, lo, hi)),
            ("swapped", lambda L, t, a, b: f(L)(t, b, a), (x, lo, hi)),
            ("min", lambda L, t, a, b: f(L)(t, min=a), (x, lo, hi)),
            ("max", lambda L, t, a, b: f(L)(t, max=b), (x, lo, hi)),
            ("nan number", lambda L, t, a, b: f(L)(t, np.nan, 1.0), (x, lo, hi)),
            ("broadcast", lambda L, t, a, b: f(L)(t.reshape(3, 3), a[:3], b[:3, None]),
             (x, lo, hi))]:
        check(torch, fn, *args, grad=(0, 1, 2), label=f"{name} {label}")
    z = x + 1j
    for fn in (lambda: cr.clamp(cr.tensor(z), 0, 1), lambda: cr.clip(cr.tensor(z), max=1.0),
               lambda: cr.clamp(cr.tensor(x), cr.tensor(lo + 1j)),
               lambda: cr.tensor(z).clamp_(0, 1), lambda: cr.tensor(z).clamp_min(0)):
        with pytest.raises(NotImplementedError, match="complex numbers have no order"):
            fn()


@pytest.mark.parametrize("seed", range(8))
def test_cdist_and_pdist_on_a_grid(seed):
    rng = np.random.default_rng(seed)
    batch = tuple(int(s) for s in rng.integers(1, 3, seed % 3))
    a = rng.integers(-2, 3, batch + (4, 3)).astype(float)
    b = rng.integers(-2, 3, batch + (5, 3)).astype(float)
    b[..., 0, :] = a[..., 0, :]  # a zero distance too
    for p in [np.inf, 1.0, 2.0, 0.5, 3.0, 0.0]:
        grad = (0, 1) if p else ()
        check(torch, lambda L, x, y: L.cdist(x, y, p), a, b, grad=grad, label=f"cdist p={p}")
        check(torch, lambda L, x: L.pdist(x, p), a[(0,) * len(batch)], grad=grad[:1],
              label=f"pdist p={p}")


@pytest.mark.parametrize("kw", [{}, {"dim": (1, 2)}, {"dim": (0, 2), "keepdim": True},
                                {"dim": 1}, {"dim": [-1, -2]}])
def test_norm_nuclear(kw):
    rng = np.random.default_rng(13)
    for x in (rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4)),
              rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))):
        check(torch, lambda L, t: L.norm(t, p="nuc", **kw), x, grad=(0,), label=f"{x.shape}")
        check(torch, lambda L, t: t.norm("nuc", **kw), x, grad=(0,), label=f"method {x.shape}")
    check(torch, lambda L, t: L.norm(t, "nuc", dtype=L.float64), rng.standard_normal((3, 4))
          .astype("float32"), label="dtype")
    check(torch, lambda L, t: L.norm(t, "spectral"), rng.standard_normal((3, 4)), label="other")


TINY = [(1.0, 1.0 + 1e-7), (0.0, 1e-44), (-1e-30, 1e-30), (0.1, 0.1 + 3e-8), (-1e38, 1e38)]


@pytest.mark.parametrize("lo, hi", TINY)
@pytest.mark.parametrize("bins", [1, 3, 10, 100])
def test_histograms_over_ranges_of_a_few_ulps(lo, hi, bins):
    x = np.array([-3e38, -1.0, 0.0, -0.0, 1e-45, 1.0, 1.0000001, 0.1, 0.10000001, 3e38], "float32")
    for label, fn in [("histogram", lambda L, t: L.histogram(t, bins, range=(lo, hi))),
                      ("weighted", lambda L, t: L.histogram(t, bins, range=(lo, hi), weight=t)),
                      ("dd", lambda L, t: L.histogramdd(t[:, None], [bins], range=[lo, hi]))]:
        check(torch, fn, x, label=f"{label} float32")
        check(torch, fn, x.astype("float64"), label=f"{label} float64")
    data = np.float32(lo) + np.arange(6, dtype="float32") * np.float32(1e-7)
    check(torch, lambda L, t: L.histogram(t, bins), data, label="own range")
    check(torch, lambda L, t: L.histc(t, bins, lo, hi), x[1:-1], label="histc")


def test_histc_over_a_range_wider_than_float32():
    x = cr.tensor(np.array([-3e38, -1.0, 0.0, 1.0, 3e38], "float32"))
    # PyTorch's counts here are undefined (all 0); chainrule's edges overflowed to NaN: refused
    with pytest.raises(ValueError, match=r"histc: cannot split the range .* overflow"):
        cr.histc(x, 10, -0.0, 0.0)
    with pytest.raises(ValueError, match=r"histogram: range must be \(min, max\)"):
        cr.histogram(x, 3, range=(0.0, 1.0, 2.0))


INTERPOLATIONS = ["linear", "lower", "higher", "nearest", "midpoint"]


def _messy(rng, shape):
    x = rng.standard_normal(shape)
    spot = rng.random()
    if spot < 0.45:
        x.flat[rng.integers(0, x.size)] = [np.nan, np.inf, -np.inf][int(spot * 10) % 3]
    return x


# NumPy's floating-point warnings on inf - inf, 0 * inf and NaN inputs (chainrule's arithmetic
# gives them where PyTorch is silent: library policy, module docstring), and PyTorch's own
# cov() warning of no degrees of freedom, are not what these cases compare.
QUIET = [pytest.mark.filterwarnings("ignore::RuntimeWarning"),
         pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.mark.parametrize("seed", range(24))
@QUIET[0]
@QUIET[1]
def test_seeded_reductions(seed):
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(1, 4))
    shape = tuple(int(s) for s in rng.integers(1, 5, nd))
    x = _messy(rng, shape)
    g = (0,) if np.isfinite(x).all() else ()
    dim, keep, how = int(rng.integers(-nd, nd)), bool(seed % 2), INTERPOLATIONS[seed % 5]
    dims = tuple(sorted({int(d) for d in rng.integers(0, nd, int(rng.integers(1, nd + 1)))}))
    corr = 0 if int(np.prod([shape[d] for d in dims])) < 3 else int(rng.integers(0, 3))
    q, qs = float(rng.random()), np.sort(rng.random(3))
    zeros = np.where(rng.random(shape) < 0.3, 0.0, x)
    for label, fn, args, grad in [
            ("quantile", lambda L, t: L.quantile(t, q, dim, keep, interpolation=how), (x,), g),
            ("quantiles", lambda L, t, u: L.nanquantile(t, u, dim, keep, interpolation=how),
             (x, qs), g),
            ("nanmedian", lambda L, t: L.nanmedian(t, dim, keep), (x,), g),
            ("logsumexp", lambda L, t: L.logsumexp(t, dims, keep), (x,), (0,)),
            ("logcumsumexp", lambda L, t: L.logcumsumexp(t, dim), (x,), (0,)),
            ("cumprod", lambda L, t: L.cumprod(t, dim), (zeros,), g),
            ("var", lambda L, t: L.var(t, dims, correction=corr, keepdim=keep), (x,), g),
            ("std_mean", lambda L, t: L.std_mean(t, dims, correction=corr), (x,), g),
            ("nansum", lambda L, t: L.nansum(t, dims, keep), (x,), (0,)),
            ("nanmean", lambda L, t: L.nanmean(t, dims, keep), (x,), ()),
            ("aminmax", lambda L, t: L.aminmax(t, dim=dim, keepdim=keep), (x,), ()),
            ("cummax", lambda L, t: L.cummax(t, dim), (x,), g),
            ("count_nonzero", lambda L, t: L.count_nonzero(t, dims), (zeros,), ())]:
        if label == "std_mean" and not g:
            continue  # PyTorch's Welford mean of infinities (module docstring)
        check(torch, fn, *args, grad=grad, label=f"{label} {seed}")


@pytest.mark.parametrize("seed", range(24))
@QUIET[0]
@QUIET[1]
def test_seeded_distances_and_moments(seed):
    rng = np.random.default_rng(100 + seed)
    batch = tuple(int(s) for s in rng.integers(1, 3, seed % 3))
    p_rows, r_rows, m = (int(v) for v in rng.integers(1, 6, 3))
    a, b = rng.standard_normal(batch + (p_rows, m)), rng.standard_normal(batch + (r_rows, m))
    if seed % 3 == 0:
        a, b = np.round(a), np.round(b)
    eps, dim = float(rng.choice([1e-8, 1e-3, 0.5])), int(rng.integers(-1, 1))
    x = rng.standard_normal((int(rng.integers(1, 4)), int(rng.integers(2, 7))))
    fw, aw = rng.integers(0, 3, x.shape[1]), rng.random(x.shape[1])
    z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    y, xs = rng.standard_normal(batch + (p_rows, m)), np.sort(rng.standard_normal(m))
    for label, fn, args, grad in [
            ("cosine", lambda L, s, t: L.nn.functional.cosine_similarity(s[..., :1, :], t, dim,
                                                                         eps), (a, b), (0, 1)),
            ("cov", lambda L, s, f, w: L.cov(s, correction=seed % 3, fweights=f, aweights=w),
             (x, fw, aw), (0, 2)),
            ("corrcoef", lambda L, s: L.corrcoef(s), (x,), (0,)),
            ("complex var", lambda L, s: L.var(s, seed % 2, correction=seed % 2), (z,), (0,)),
            ("complex std_mean", lambda L, s: L.std_mean(s, (0, 1), keepdim=True), (z,), (0,)),
            ("trapezoid", lambda L, s, t: L.trapezoid(s, t), (y, xs), (0, 1)),
            ("cumulative", lambda L, s, t: L.cumulative_trapezoid(s, t), (y, xs), (0, 1)),
            ("cumulative dx", lambda L, s: L.cumulative_trapezoid(s, dx=0.3, dim=0), (y,), (0,)),
            ("logaddexp", lambda L, s, t: L.logaddexp(s[..., :1, :], t), (_messy(rng, a.shape),
                                                                          b), (0, 1)),
            ("xlogy", lambda L, s, t: L.xlogy(s, t.abs()), (np.round(a), b), (0, 1))]:
        check(torch, fn, *args, grad=grad, label=f"{label} {seed}")


def test_corrcoef_of_a_constant_row_and_quantile_of_infinities_are_quiet():
    # pytest turns warnings into errors: NumPy's 0 / 0 and inf - inf warnings failed these
    rows = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    check(torch, lambda L, t: L.corrcoef(t), rows, grad=(0,), label="constant row")
    infs = np.array([[np.inf, -np.inf, 1.0, 2.0], [np.inf, np.inf, 1.0, 2.0]])
    for how in INTERPOLATIONS:
        check(torch, lambda L, t: L.quantile(t, 0.5, dim=1, interpolation=how), infs,
              label=how)


@pytest.mark.parametrize("p", [1, 2, 3, 0.5, np.inf])
def test_renorm_of_complex(p):
    rng = np.random.default_rng(17)
    z = rng.standard_normal((3, 4, 2)) + 1j * rng.standard_normal((3, 4, 2))
    for dim in (0, -1):
        check(torch, lambda L, t: L.renorm(t, p, dim, 1.0), z, grad=(0,), label=f"dim {dim}")
        check(torch, lambda L, t: t.clone().renorm_(p, dim, 2.0), z, label=f"in place {dim}")
    check(torch, lambda L, t: L.renorm(t, p, 1, 1.0), z.astype("complex64"), rtol=1e-6,
          label="complex64")  # the float32 rounding the oracle allows float32


SPECIALS = np.array([0.0, -0.0, 1.0, -1.5, 1e-310, 3e38, np.inf, -np.inf, np.nan, 0.75, 2.0**-20])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@QUIET[0]
def test_special_values(dtype):
    x = SPECIALS.astype(dtype)
    y = np.roll(SPECIALS, 3).astype(dtype)
    e = np.array([0, 1, -1, 10, -10, 100, 1, 2, 3, -1000, 1000])
    counts = np.array([1, 3, 3, 0, 7, 2])
    grad = (0, 1) if dtype == "float64" else ()
    for label, fn, args, g in [
            ("frexp", lambda L, t: L.frexp(t), (x,), ()),
            ("ldexp", lambda L, t, k: t.ldexp(k), (x, e), ()),
            ("nan_to_num", lambda L, t: L.nan_to_num(t, nan=0.5, posinf=9.0), (x,), grad[:1]),
            ("nan_to_num default", lambda L, t: t.nan_to_num(), (x,), grad[:1]),
            ("logaddexp", lambda L, t, u: L.logaddexp(t, u), (x, y), grad),
            ("logaddexp2", lambda L, t, u: L.logaddexp2(t, u), (x, y), grad),
            ("xlogy", lambda L, t, u: L.xlogy(t, u), (x, y), grad),
            ("xlog1py", lambda L, t, u: L.special.xlog1py(t, u), (x, y), grad),
            ("clamp", lambda L, t, u: L.clamp(t, u, 1.5 * u), (x, y), grad),
            ("count_nonzero", lambda L, t: L.count_nonzero(t), (x,), ()),
            ("histc", lambda L, t: L.histc(t, 4, -2, 2), (x,), ()),
            ("bincount", lambda L, k, w: L.bincount(k, w[:6], minlength=9), (counts, x), ())]:
        check(torch, fn, *args, grad=g, label=f"{label} {dtype}")


@pytest.mark.parametrize("dtype", [None, "float32", "float64", "int64", "int32", "int16",
                                   "uint8"])
def test_linspace_gives_pytorchs_values_to_the_last_bit(dtype):
    rng = np.random.default_rng(len(str(dtype)))
    cases = [(0, 1, 11), (0.0, 1.0, 101), (-0.3, 1.1, 8), (1, -1, 9), (2.7, 9.3, 5), (3, 3, 4),
             (0, 1, 1), (0, 1, 0), (-3e38, 3e38, 4)]
    cases += [(float(rng.uniform(0, 50)), float(rng.uniform(0, 200)), int(rng.integers(2, 3000)))
              for _ in range(12)]
    for start, end, steps in cases:
        def run(L, *_, start=start, end=end, steps=steps):
            return L.linspace(start, end, steps, dtype=None if dtype is None else
                              getattr(L, dtype))
        check(torch, run, rtol=0, label=f"linspace({start}, {end}, {steps})")
        check(torch, lambda L, *_: L.linspace(L.tensor(start), L.tensor(end), steps), rtol=0,
              label="tensor ends")
    assert cr.linspace(0, 1, 11, dtype=cr.float64)[7].item() == 0.7
    with pytest.raises(ValueError, match="can't be converted to int64"):
        cr.linspace(0, float("inf"), 3, dtype=cr.int64)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_linspace_ends_outside_a_small_integer_dtype(dtype):
    for start, end in [(1, -1), (0, 300), (-1, 5), (2.5, -0.5), (0, 255.9), (-1.5, 3),
                       (100, -200), (-129, 0), (0, 127.5), (-255, 0), (-256, 0)]:
        check(torch, lambda L, *_: L.linspace(start, end, 9, dtype=getattr(L, dtype)), rtol=0,
              label=f"linspace({start}, {end})")
