"""Fuzz wave 17 (strict): inputs PyTorch refuses that chainrule computed something for, silently.

* Complex tensors to the ordering ops (sort, argsort, msort, topk, max/min, argmax/argmin,
  amax/amin, aminmax, median, nanmedian, mode, kthvalue, unique, unique_consecutive,
  searchsorted, bucketize, cummax/cummin, maximum/minimum, fmax/fmin, isin, and ``<``, ``<=``,
  ``>``, ``>=``): chainrule gave NumPy's lexicographic order (real part, then imaginary part),
  a plausible but meaningless answer; PyTorch refuses every one. Each now raises PyTorch's error
  type (``RuntimeError`` or ``NotImplementedError``) naming the op and the dtype (max/min along a
  dim: ``NotImplementedError``, a subclass of PyTorch's ``RuntimeError`` there).
"""

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz12_check import check

torch = pytest.importorskip("torch")

_B = np.array([1.0, 2.0])

ORDERING = {
    "sort": lambda L, x: L.sort(x, dim=1),
    "sort method": lambda L, x: x.sort(descending=True),
    "argsort": lambda L, x: L.argsort(x, dim=1),
    "msort": lambda L, x: L.msort(x),
    "topk": lambda L, x: L.topk(x, 2),
    "max all": lambda L, x: L.max(x),
    "max dim": lambda L, x: L.max(x, dim=1),
    "max method": lambda L, x: x.max(0),
    "min all": lambda L, x: L.min(x),
    "min dim": lambda L, x: L.min(x, 1, keepdim=True),
    "max other": lambda L, x: L.max(x, x * 2),
    "argmax": lambda L, x: L.argmax(x),
    "argmin dim": lambda L, x: L.argmin(x, dim=1),
    "amax": lambda L, x: L.amax(x, dim=1),
    "amin": lambda L, x: L.amin(x),
    "aminmax": lambda L, x: L.aminmax(x),
    "median": lambda L, x: L.median(x),
    "median dim": lambda L, x: L.median(x, dim=1),
    "nanmedian": lambda L, x: L.nanmedian(x),
    "nanmedian dim": lambda L, x: L.nanmedian(x, 0),
    "mode": lambda L, x: L.mode(x, dim=1),
    "kthvalue": lambda L, x: L.kthvalue(x, 2, dim=1),
    "unique": lambda L, x: L.unique(x),
    "unique dim": lambda L, x: L.unique(x, dim=0),
    "unique_consecutive": lambda L, x: L.unique_consecutive(x),
    "unique_consecutive dim": lambda L, x: L.unique_consecutive(x, dim=1),
    "searchsorted seq": lambda L, x: L.searchsorted(L.sort(x[0]).values, x),
    "searchsorted values": lambda L, x: L.searchsorted(L.tensor(_B), x),
    "bucketize": lambda L, x: L.bucketize(x, L.tensor(_B)),
    "cummax": lambda L, x: L.cummax(x, 1),
    "cummin": lambda L, x: L.cummin(x, 0),
    "maximum": lambda L, x: L.maximum(x, x * 2),
    "minimum real other": lambda L, x: L.minimum(x.real, x),
    "fmax": lambda L, x: L.fmax(x, x * 2),
    "fmin": lambda L, x: L.fmin(x, x * 2),
    "isin": lambda L, x: L.isin(x, x),
    "lt": lambda L, x: L.lt(x, x * 2),
    "gt operator": lambda L, x: x > 0,
    "le operator": lambda L, x: x <= x,
    "ge": lambda L, x: L.ge(x, 1),
    "less": lambda L, x: L.less(x, 1),
    "greater_equal": lambda L, x: L.greater_equal(x, 1),
    "real < complex": lambda L, x: x.real < x,
    "clamp": lambda L, x: L.clamp(x, -1, 1),
}


_DIM_EXTREMES = {"max dim", "max method", "min dim"}


def _complex(seed):
    rng = np.random.default_rng(seed)
    dtype = np.complex128 if seed % 2 else np.complex64
    return (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(dtype)


def _ordering_ops_refuse_complex_as_pytorch_case(name):
    fn = ORDERING[name]
    for seed in range(2):
        z = _complex(seed)
        with pytest.raises((RuntimeError, NotImplementedError)) as expected:
            fn(torch, torch.tensor(z))
        with pytest.raises(type(expected.value)) as got:
            fn(cr, cr.tensor(z))
        # the same type as PyTorch's, and a message naming the dtype; max/min along a dim give
        # the NotImplementedError of the whole-tensor max/min, a RuntimeError as PyTorch's
        if name not in _DIM_EXTREMES:
            assert type(got.value) is type(expected.value), (name, got.value, expected.value)
        assert "complex" in str(got.value) and str(z.dtype) in str(got.value)


def test_ordering_ops_refuse_complex_as_pytorch():
    each_case(_ordering_ops_refuse_complex_as_pytorch_case, grid(("name", sorted(ORDERING))))


def _ordering_ops_still_agree_on_real_input_case(name):
    rng = np.random.default_rng(len(name))
    for dtype in (np.float64, np.float32, np.int64):
        x = rng.integers(-3, 4, (3, 4)).astype(dtype)
        if dtype == np.float64:
            x = x + rng.standard_normal((3, 4))
        # the index PyTorch's mode and topk name among tied entries is not defined
        check(torch, ORDERING[name], x, skip=(1,) if name in ("mode", "topk") else (),
              label=f"{name} {dtype.__name__}")


def test_ordering_ops_still_agree_on_real_input():
    each_case(_ordering_ops_still_agree_on_real_input_case, grid(
        ("name", sorted(set(ORDERING) - {"real < complex",
                                         "minimum real other"})),
    ))


def test_complex_ordering_message_names_the_op():
    with pytest.raises(RuntimeError, match=r"^sort: does not support complex input \(got dtype "
                                           r"complex128\)"):
        cr.sort(cr.tensor(np.array([1 + 1j, 0j])))
    with pytest.raises(NotImplementedError, match=r"^lt: .*complex128"):
        _ = cr.tensor(np.array([1 + 1j])) < cr.tensor(np.array([2.0]))
    # equality is defined for complex numbers, in both libraries
    assert (cr.tensor(np.array([1 + 1j])) == cr.tensor(np.array([1 + 1j]))).item()
    assert cr.tensor(np.array([1 + 1j])).ne(cr.tensor(np.array([1 - 1j]))).item()


# * ``histc``/``histogram``/``histogramdd`` over a range near the dtype's maximum: the edges
#   overflowed, NaN edges and empty counts silently (PyTorch's own counts are wrong there: both
#   entries of [9e307, 1.8e308] in its first bin). Refused now.
_BIG = np.finfo(np.float64).max


@pytest.mark.parametrize("values", [[-_BIG, _BIG], [_BIG / 2, _BIG], [0.0, _BIG], [-_BIG, -1.0]])
def test_histograms_refuse_a_range_whose_width_overflows(values):
    x = cr.tensor(np.array(values))
    for fn in (lambda: cr.histc(x, bins=4), lambda: cr.histogram(x, bins=4),
               lambda: cr.histogramdd(x[:, None], bins=[4])):
        with pytest.raises(ValueError, match=r"cannot split the range .* into 4 equal bins "
                                             r"in float64"):
            fn()
    with pytest.raises((ValueError, RuntimeError)):  # float32 ends beyond its range: PyTorch too
        torch.histogram(torch.tensor(np.array([0.0, 1.0], np.float32)), bins=3,
                        range=(-_BIG, _BIG))
    with pytest.raises(ValueError):
        cr.histogram(cr.tensor(np.array([0.0, 1.0], np.float32)), bins=3, range=(-_BIG, _BIG))


@pytest.mark.parametrize("seed", range(6))
def test_histograms_of_ordinary_ranges_still_match_pytorch(seed):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.integers(-3, 300)
    x = rng.standard_normal(50) * scale
    for dtype in (np.float64, np.float32):
        if dtype == np.float32 and scale > 1e30:
            continue
        a = x.astype(dtype)
        check(torch, lambda L, t: L.histc(t, bins=7), a, label=f"histc {scale:g}")
        check(torch, lambda L, t: L.histogram(t, bins=5), a, label=f"histogram {scale:g}")


# * bool and integer tensors PyTorch refuses, computed here: abs/floor/ceil/round/trunc/fix of a
#   bool tensor (the mask back), frac of an integer tensor (zeros), logaddexp of two integer
#   tensors (float32), cumsum/cumprod(dtype=bool) (an int64 result: not even the dtype asked
#   for), median/nanmedian/kthvalue of bool, topk of bool, special.round of an integer tensor
#   (round takes one, in both). Each now raises PyTorch's error type.
#   Kept as documented differences (docs/pytorch.md, "Type promotion"): mean/std/var of integer
#   tensors, hypot/lerp of integer tensors.
_I = np.array([[1, -2, 3], [4, 5, -6]])
_M = np.array([[True, False, True], [False, False, True]])

INTEGER_REFUSALS = {
    "abs bool": (lambda L, x: L.abs(x), _M),
    "abs method bool": (lambda L, x: x.abs(), _M),
    "absolute bool": (lambda L, x: L.absolute(x), _M),
    "floor bool": (lambda L, x: L.floor(x), _M),
    "ceil bool": (lambda L, x: L.ceil(x), _M),
    "round bool": (lambda L, x: L.round(x), _M),
    "trunc bool": (lambda L, x: L.trunc(x), _M),
    "fix bool": (lambda L, x: L.fix(x), _M),
    "frac int": (lambda L, x: L.frac(x), _I),
    "frac int32": (lambda L, x: x.frac(), _I.astype(np.int32)),
    "logaddexp int": (lambda L, x: L.logaddexp(x, x), _I),
    "logaddexp bool int": (lambda L, x: L.logaddexp(x > 0, x), _I),
    "cumsum dtype bool": (lambda L, x: L.cumsum(x, 0, dtype=L.bool), _I),
    "cumsum method dtype bool": (lambda L, x: x.cumsum(1, dtype=L.bool), _M),
    "cumprod dtype bool": (lambda L, x: L.cumprod(x, 1, dtype=L.bool), _I),
    "median bool": (lambda L, x: L.median(x), _M),
    "median dim bool": (lambda L, x: L.median(x, 0), _M),
    "nanmedian bool": (lambda L, x: L.nanmedian(x), _M),
    "kthvalue bool": (lambda L, x: L.kthvalue(x, 1), _M),
    "topk bool": (lambda L, x: L.topk(x, 1), _M),
    "special.round int": (lambda L, x: L.special.round(x), _I),
    "special.round bool": (lambda L, x: L.special.round(x, decimals=1), _M),
}


def _integer_and_bool_inputs_pytorch_refuses_case(name):
    fn, x = INTEGER_REFUSALS[name]
    with pytest.raises(RuntimeError) as expected:
        fn(torch, torch.tensor(x))
    with pytest.raises(type(expected.value)) as got:
        fn(cr, cr.tensor(x))
    assert type(got.value) is type(expected.value), (name, got.value, expected.value)
    assert "bool" in str(got.value) or "int" in str(got.value)


def test_integer_and_bool_inputs_pytorch_refuses():
    each_case(_integer_and_bool_inputs_pytorch_refuses_case, grid(
        ("name", sorted(INTEGER_REFUSALS)),
    ))


MIXED_STILL_COMPUTED = {
    "abs int": (lambda L, x: L.abs(x), _I),
    "floor int": (lambda L, x: L.floor(x), _I),
    "round int": (lambda L, x: L.round(x), _I),
    "trunc int": (lambda L, x: L.trunc(x), _I),
    "frac float": (lambda L, x: L.frac(x * 0.7), _I.astype(np.float64)),
    "logaddexp int float": (lambda L, x: L.logaddexp(x, x * 0.5), _I),
    "cumsum bool": (lambda L, x: L.cumsum(x, 0), _M),
    "cumsum dtype float": (lambda L, x: L.cumsum(x, 0, dtype=L.float32), _M),
    "cumprod int32": (lambda L, x: L.cumprod(x, 1, dtype=L.int32), _I),
    "sort bool": (lambda L, x: L.sort(x, stable=True), _M),
    "mode bool": (lambda L, x: L.mode(x, 0).values, _M),
    "median int": (lambda L, x: L.median(x), _I),
    "kthvalue int": (lambda L, x: L.kthvalue(x, 2).values, _I),
    "sign bool": (lambda L, x: L.sign(x), _M),
    "special.round float": (lambda L, x: L.special.round(x * 0.37, decimals=1),
                            _I.astype(np.float64)),
}


def _integer_and_bool_inputs_pytorch_computes_still_agree_case(name):
    fn, x = MIXED_STILL_COMPUTED[name]
    check(torch, fn, x, label=name)


def test_integer_and_bool_inputs_pytorch_computes_still_agree():
    each_case(_integer_and_bool_inputs_pytorch_computes_still_agree_case, grid(
        ("name", sorted(MIXED_STILL_COMPUTED)),
    ))


# * Products of two tensors of different dtypes: dot, vdot, inner, mv, tensordot, cdist,
#   linalg.vecdot, linalg.cross and cross computed in the promoted dtype; PyTorch refuses every
#   pair (float32/float64, float/complex, float/int, complex64/complex128). Now its RuntimeError.
#   Still promoted, as docs/pytorch.md says: einsum, linalg.solve, cholesky_solve, lerp.
_V = np.array([0.5, -1.25, 2.0])
_A = np.array([[1.0, 0.5, -2.0], [0.25, 3.0, 1.0], [-1.0, 2.0, 0.75]])

PRODUCTS = {
    "dot": lambda L, a, b: L.dot(a[0], b[0]),
    "vdot": lambda L, a, b: L.vdot(a[0], b[0]),
    "inner": lambda L, a, b: L.inner(a, b),
    "inner 0-d": lambda L, a, b: L.inner(a[0, 0], b),
    "mv": lambda L, a, b: L.mv(a, b[0]),
    "tensordot": lambda L, a, b: L.tensordot(a, b, dims=1),
    "cdist": lambda L, a, b: L.cdist(a, b),
    "linalg.vecdot": lambda L, a, b: L.linalg.vecdot(a, b),
    "linalg.cross": lambda L, a, b: L.linalg.cross(a, b),
    "cross": lambda L, a, b: L.cross(a, b, dim=1),
    "outer": lambda L, a, b: L.outer(a[0], b[0]),
    "matmul": lambda L, a, b: L.matmul(a, b),
}
_PAIRS = [("float32", "float64"), ("float64", "float32"), ("float64", "complex128"),
          ("float32", "complex64"), ("complex64", "complex128"), ("float64", "int64"),
          ("int64", "float32"), ("float64", "float64"), ("float32", "float32")]


def _products_of_mixed_dtypes_as_pytorch_case(name):
    for da, db in _PAIRS:
        a, b = _A.astype(da), (_A[::-1] * 0.5).astype(db)
        check(torch, lambda L, x, y: PRODUCTS[name](L, x, y), a, b, rtol=1e-6,
              label=f"{name} {da} {db}")
    if name in ("inner 0-d", "outer", "matmul"):  # a product with a number and outer promote
        return
    with pytest.raises(RuntimeError, match=rf"{name.replace('linalg.cross', 'cross')}: expected .* "
                                           r"the same dtype, got "
                                           r"float32 and float64"):
        PRODUCTS[name](cr, cr.tensor(_A.astype("float32")), cr.tensor(_A))


def test_products_of_mixed_dtypes_as_pytorch():
    each_case(_products_of_mixed_dtypes_as_pytorch_case, grid(("name", sorted(PRODUCTS))))
