"""Fuzz wave 12: reductions' result dtypes and edge values against PyTorch: ``sum``/``prod``/
``cumsum`` of bool and small integer tensors (int64), ``any``/``all``, ``count_nonzero``,
``amax``/``amin``, ``std``/``var`` with ``correction=``/``unbiased=``, ``logsumexp`` with
``-inf``, and ``isclose``/``allclose``/``equal`` with NaN and infinities.

Before this wave:

* ``x.sum(())`` and ``x.mean([])`` (an empty ``dim`` given positionally) returned ``x``
  unchanged, NumPy's ``axis=()`` rule, where PyTorch reduces every dimension (only the keyword
  ``dim=()`` did).
* ``logsumexp`` over an axis of size 0 raised a ValueError (PyTorch: -inf, log of an empty
  sum), and ``logsumexp(x, ())`` returned ``x`` (PyTorch fails on it; an empty ``dim`` now
  reduces every dimension, as for ``sum``).
* ``isclose``/``allclose`` took a negative ``rtol`` or ``atol``; PyTorch refuses it.
* ``any``/``all`` with a list of dims (``x.any([0, 2])``, ``x.all([])``) raised a TypeError;
  PyTorch takes a list as a tuple.

Left out on purpose (deliberate differences): ``mean``/``std``/``var`` of integer tensors
compute (PyTorch raises), and ``mean`` over no elements or ``std``/``var`` without degrees of
freedom raise a ValueError (PyTorch: NaN with a warning).
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _array(rng, dtype, shape):
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.startswith("float"):
        return np.asarray(rng.standard_normal(shape)).astype(dtype)
    return np.asarray(rng.integers(0 if dtype == "uint8" else -5, 6, shape)).astype(dtype)


def _outcome(lib, fn, a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(lib, lib.tensor(a))
        except (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError) as e:
            return e


def _flat(out):
    return [o for x in out for o in _flat(x)] if isinstance(out, (tuple, list)) else [out]


def _same(fn, a, label, rtol=1e-6):
    t, c = _outcome(torch, fn, a), _outcome(cr, fn, a)
    if isinstance(t, Exception) or isinstance(c, Exception):
        assert isinstance(t, Exception) and isinstance(c, Exception), f"{label}: torch {t!r}, " \
            f"chainrule {c!r}"
        return
    for tv, cv in zip(_flat(t), _flat(c), strict=True):
        if not hasattr(tv, "dtype"):
            assert tv == cv, label
            continue
        assert str(cv.dtype) == str(tv.dtype).replace("torch.", ""), label
        assert tuple(cv.shape) == tuple(tv.shape), label
        np.testing.assert_allclose(np.asarray(cv.numpy(), np.float64),
                                   tv.double().numpy(), rtol=rtol, atol=rtol, err_msg=label)


@pytest.mark.parametrize("call", ["sum", "mean"])
@pytest.mark.parametrize("empty", [(), []])
def test_positional_empty_dim_reduces_everything(call, empty):
    a = np.arange(12.0).reshape(3, 4)
    for fn in (lambda L, x: getattr(x, call)(empty),
               lambda L, x: getattr(L, call)(x, empty),
               lambda L, x: getattr(L, call)(x, empty, True)):
        _same(fn, a, f"{call}({empty!r})")
    assert cr.tensor(a).sum(axis=()).shape == (3, 4)  # NumPy's name keeps NumPy's rule


REDUCTIONS = {
    "sum": lambda L, x: L.sum(x), "sum0": lambda L, x: L.sum(x, 0),
    "sumk": lambda L, x: x.sum(dim=(0, 1), keepdim=True), "prod": lambda L, x: L.prod(x),
    "prod1": lambda L, x: L.prod(x, 1), "cumsum": lambda L, x: L.cumsum(x, 0),
    "cumprod": lambda L, x: L.cumprod(x, 1), "nansum": lambda L, x: L.nansum(x),
    "any": lambda L, x: L.any(x), "any0": lambda L, x: L.any(x, 0), "all": lambda L, x: L.all(x),
    "all1": lambda L, x: x.all(1), "count_nonzero": lambda L, x: L.count_nonzero(x),
    "count_nonzero0": lambda L, x: L.count_nonzero(x, dim=0),
    "amax": lambda L, x: L.amax(x), "amax0": lambda L, x: L.amax(x, 0),
    "amin1": lambda L, x: L.amin(x, 1), "max": lambda L, x: L.max(x),
    "max0": lambda L, x: L.max(x, 0), "min1": lambda L, x: L.min(x, 1),
    "argmax": lambda L, x: L.argmax(x), "argmin0": lambda L, x: L.argmin(x, 0),
    "aminmax": lambda L, x: L.aminmax(x), "sum_dt": lambda L, x: L.sum(x, dtype=L.float64),
    "cumsum_dt": lambda L, x: L.cumsum(x, 0, dtype=L.int32), "cummax": lambda L, x: L.cummax(x, 0),
    "sum_empty": lambda L, x: x.sum(()), "sum_neg": lambda L, x: x.sum(-1),
}
FLOAT_REDUCTIONS = {
    "mean": lambda L, x: L.mean(x), "mean_dt": lambda L, x: L.mean(x, dtype=L.float64),
    "std": lambda L, x: L.std(x), "var0": lambda L, x: L.var(x, 0),
    "std_c0": lambda L, x: L.std(x, correction=0), "var_c2": lambda L, x: L.var(x, 1, correction=2),
    "var_unbiased": lambda L, x: L.var(x, 0, unbiased=False),
    "std_mean": lambda L, x: L.std_mean(x, 0), "var_mean": lambda L, x: L.var_mean(x, correction=0),
    "logsumexp": lambda L, x: L.logsumexp(x, 0),
    "logsumexp_all": lambda L, x: L.logsumexp(x, (0, 1)),
    "logsumexp_keep": lambda L, x: L.logsumexp(x, 1, keepdim=True),
    "norm": lambda L, x: L.norm(x), "nanmean": lambda L, x: L.nanmean(x),
    "logcumsumexp": lambda L, x: L.logcumsumexp(x, 0), "median": lambda L, x: L.median(x),
}


def _defined(name, dtype, shape):
    """Whether PyTorch defines ``name`` here, minus the deliberate differences (module doc)."""
    if dtype == "bool" and name in ("argmax", "argmin0"):
        return False  # PyTorch refuses bool; chainrule answers
    if shape == ():
        return name not in ("min1", "amin1", "prod1", "all1")  # refused by both
    return True


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 4), (1, 4), (0, 3), (3, 0), (1, 1), ()])
def test_reduction_dtypes_and_values(dtype, shape):
    rng = np.random.default_rng(len(dtype) * 7 + len(shape))
    a = _array(rng, dtype, shape)
    for name, fn in REDUCTIONS.items():
        if _defined(name, dtype, shape):
            _same(fn, a, f"{name} {dtype} {shape}", rtol=2e-3 if dtype == "float16" else 1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 4), (1, 4), (4, 2), (2, 3)])
def test_float_reductions(dtype, shape):
    rng = np.random.default_rng(len(shape) + shape[0])
    a = _array(rng, dtype, shape)
    for name, fn in FLOAT_REDUCTIONS.items():
        if shape[0] == 1 and name in ("std", "var0", "std_mean") or shape[1] <= 2 and \
                name == "var_c2":
            continue  # no degrees of freedom: PyTorch's NaN is chainrule's error
        _same(fn, a, f"{name} {dtype} {shape}")


SPECIAL = [[-np.inf, -np.inf], [-np.inf, 0.0], [np.inf, np.inf], [np.nan, 1.0], [np.inf, -np.inf],
           [-np.inf], [-np.inf, np.nan], [1e30, -1e30], [-1e30, 0.0]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("values", SPECIAL)
def test_reductions_of_infinities_and_nan(dtype, values):
    a = np.array(values, dtype=dtype)
    for name in ("logsumexp", "amax0", "max0", "sum", "mean", "nanmean", "logcumsumexp",
                 "cummax", "argmax", "nansum", "prod", "median", "amin1", "aminmax"):
        fn = {**REDUCTIONS, **FLOAT_REDUCTIONS}[name]
        if name == "amin1":
            fn = lambda L, x: L.amin(x, 0)  # noqa: E731 - one-dimensional here
        _same(fn, a, f"{name} {values}")
    _same(lambda L, x: L.logsumexp(x.reshape(1, -1), 1, keepdim=True), a, f"lse2d {values}")


@pytest.mark.parametrize("shape, dim", [((0,), 0), ((0, 3), 0), ((0, 3), (0, 1)), ((0, 3), 1),
                                        ((2, 0, 3), (1, 2)), ((2, 0), -1)])
def test_logsumexp_over_no_elements(shape, dim):
    for dtype in ("float32", "float64", "int64"):
        _same(lambda L, x: L.logsumexp(x, dim), np.zeros(shape, dtype), f"{shape} {dim}")
        _same(lambda L, x: L.logsumexp(x, dim, keepdim=True), np.zeros(shape, dtype), "keep")
    x = cr.zeros(shape, requires_grad=True)
    cr.logsumexp(x, dim).sum().backward()
    assert x.grad.shape == shape


def test_logsumexp_positional_empty_dim_reduces_everything():
    a = np.random.default_rng(0).standard_normal((3, 4))
    want = torch.logsumexp(torch.tensor(a), (0, 1)).item()
    for got in (cr.logsumexp(cr.tensor(a), ()), cr.tensor(a).logsumexp([]),
                cr.logsumexp(cr.tensor(a), dim=())):
        assert got.shape == () and abs(got.item() - want) < 1e-12
    assert cr.logsumexp(cr.tensor(a), axis=()).shape == (3, 4)  # NumPy's name and rule


A = [1.0, np.nan, np.inf, -np.inf, np.inf, 0.0, 1e-9, 1.0, 1e-300, 5.0]
B = [1.0 + 1e-6, np.nan, np.inf, np.inf, np.nan, -0.0, 0.0, 1.1, 0.0, 5.00001]
TOLERANCES = [{}, {"equal_nan": True}, {"rtol": 0, "atol": 0}, {"rtol": 0.2},
              {"atol": 1e-5, "equal_nan": True}, {"rtol": -1}, {"atol": -1e-9}, {"rtol": 1e-5,
                                                                                   "atol": 0}]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("kw", TOLERANCES)
def test_isclose_allclose_equal(dtype, kw):
    if dtype.startswith("float"):
        a, b = np.array(A, dtype), np.array(B, dtype)
    elif dtype == "int64":
        a, b = np.array([1, 2, 3, 4, 100]), np.array([1, 3, 3, 5, 101])
    else:
        a, b = np.array([True, False, True, True]), np.array([True, True, False, True])
    _same(lambda L, x: L.isclose(x, L.tensor(b), **kw), a, f"isclose {dtype} {kw}")
    _same(lambda L, x: L.tensor(L.allclose(x, L.tensor(b), **kw)), a, f"allclose {dtype} {kw}")
    _same(lambda L, x: L.tensor(L.allclose(x, x, **kw)), a, f"allclose self {dtype} {kw}")
    _same(lambda L, x: L.tensor(L.equal(x, L.tensor(b))), a, f"equal {dtype}")
    _same(lambda L, x: L.tensor(L.equal(x, x)), a, f"equal self {dtype}")  # NaN != NaN
    _same(lambda L, x: L.tensor(L.equal(x, x[:2])), a, f"equal shapes {dtype}")


DIMS = [0, -1, 2, (0, 1), (0, -1), (-1, 0), (1, 1), (0, 3), 3, -4, (), [], [2, 0]]
DIM_REDUCTIONS = {
    "sum": lambda L, x, d: x.sum(d), "sum_keep": lambda L, x, d: L.sum(x, d, keepdim=True),
    "mean": lambda L, x, d: L.mean(x, d), "amax": lambda L, x, d: L.amax(x, d),
    "amin_keep": lambda L, x, d: L.amin(x, d, True), "nansum": lambda L, x, d: L.nansum(x, d),
    "count_nonzero": lambda L, x, d: L.count_nonzero(x, d), "std": lambda L, x, d: L.std(x, d),
    "var_keep": lambda L, x, d: L.var(x, d, keepdim=True), "norm": lambda L, x, d: L.norm(x, dim=d),
    "logsumexp": lambda L, x, d: L.logsumexp(x, d), "prod": lambda L, x, d: L.prod(x, d),
    "any": lambda L, x, d: L.any(x, d), "all": lambda L, x, d: x.all(d),
    "argmax": lambda L, x, d: L.argmax(x, d), "max": lambda L, x, d: L.max(x, d),
    "cumsum": lambda L, x, d: L.cumsum(x, d), "var_mean": lambda L, x, d: L.var_mean(x, d),
    "nanmean": lambda L, x, d: L.nanmean(x, d),
    "vector_norm": lambda L, x, d: L.linalg.vector_norm(x, dim=d),
    "logcumsumexp": lambda L, x, d: L.logcumsumexp(x, d),
}
FLOAT_ONLY = ("mean", "std", "var_keep", "norm", "logsumexp", "var_mean", "nanmean",
              "vector_norm", "logcumsumexp")


@pytest.mark.parametrize("name", list(DIM_REDUCTIONS))
def test_reduction_dims(name):
    rng = np.random.default_rng(len(name))
    a = rng.integers(-3, 4, (2, 3, 4)).astype("float64")
    for x in (a, a.astype("int32"), a > 0):
        if x.dtype != np.float64 and name in FLOAT_ONLY or x.dtype == bool and name == "argmax":
            continue
        for d in DIMS:
            if name == "logsumexp" and d in ((), []):
                continue  # PyTorch fails on it (a shape error); chainrule reduces everything
            _same(lambda L, t: DIM_REDUCTIONS[name](L, t, d), x, f"{name} {x.dtype} {d!r}")
