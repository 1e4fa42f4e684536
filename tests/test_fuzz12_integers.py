"""Fuzz wave 12: integer and bitwise semantics against PyTorch: floor_divide, div with
``rounding_mode``, remainder and fmod with negative operands and mixed int/float, integer
division by zero, bitwise and/or/xor/not and shifts (negative and oversized), wrap-around,
integer powers, abs/neg of the smallest int, clamp, round (half to even, ``decimals=``),
trunc/ceil/floor of ints, sign/sgn, and bool arithmetic.

Compared where PyTorch defines the result. Left out on purpose (docs/pytorch.md): a Python int
outside an integer tensor's range (``uint8 - 1``) is an OverflowError here where PyTorch wraps
it, and subtraction with a bool operand counts True as 1 here where PyTorch raises.

Before this wave:

* ``round(int_tensor, decimals=-1)`` returned the tensor unchanged (15 stayed 15); PyTorch
  refuses integer tensors with ``decimals``. A float ``round`` with negative ``decimals``
  multiplied by 10 ** decimals, where PyTorch divides by 10 ** -decimals (a last-bit
  difference in float32).
* ``sign``/``sgn``/``sign_`` of NaN was NaN (NumPy's); PyTorch's is 0.
* ``clamp(x, min, max)`` with Python bounds ``min > max`` raised a ValueError; PyTorch's
  documented result is ``max`` everywhere (as with tensor bounds).
* ``2.5 << int_tensor`` (a float on the left of a shift) truncated the float to the tensor's
  dtype and shifted it; PyTorch refuses float shifts. A bool operand beside an integer one in a
  shift or ``gcd``/``lcm`` was refused, where PyTorch counts it as 0 or 1.
* ``div_`` took no ``rounding_mode``, and ``divide_(rounding_mode=)`` rounded the true quotient:
  an integer tensor was refused (a float result) and floats floored ``x / y``, not Python's
  ``x // y`` (``1.0 // 0.1`` is 9, ``floor(1.0 / 0.1)`` 10).
* ``bitwise_and/or/xor``, the shift functions and ``div`` refused a Python number as their
  first argument (``torch.bitwise_and(3, t)``, ``torch.div(3, t)``), which PyTorch takes.
"""


import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz12_check import outcome, same_outcome

torch = pytest.importorskip("torch")

ERRORS = (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError,
          ZeroDivisionError)


def _outcome(lib, fn, arrays):
    return outcome(lib, fn, arrays, ERRORS)


def _same(fn, *arrays, label="", rtol=0.0):
    """``fn(lib, *tensors)`` in both libraries: both raise, or equal dtypes, shapes and values
    (integers exactly; floats within ``rtol``, NaN where NaN)."""
    same_outcome(torch, fn, arrays, label=label, rtol=rtol, errors=ERRORS)


def _round_integers_with_decimals_case(dtype, decimals):
    a = np.array([15, 25, 0, 1, 104, 7]).astype(dtype)
    _same(lambda L, x: L.round(x, decimals=decimals), a, label=f"round {dtype} {decimals}")


def test_round_integers_with_decimals():
    each_case(_round_integers_with_decimals_case, grid(
        ("decimals", [-2, -1, 1, 3]),
        ("dtype", ["int8", "int16", "int32", "int64", "uint8", "bool"]),
    ))


def _round_floats_with_decimals_case(dtype, decimals):
    rng = np.random.default_rng(decimals + 10)
    a = np.concatenate([rng.standard_normal(40) * 10.0 ** rng.integers(-3, 31, 40),
                        [0.5, 1.5, 2.5, -0.5, -2.5, 0.25, 1.25, 125.0, 250.0, np.inf, -np.inf,
                         np.nan, -0.0]]).astype(dtype)
    _same(lambda L, x: L.round(x, decimals=decimals), a, label=f"round {dtype} {decimals}")


def test_round_floats_with_decimals():
    each_case(_round_floats_with_decimals_case, grid(
        ("decimals", [-3, -2, -1, 0, 1, 2, 3]),
        ("dtype", ["float32", "float64"]),
    ))


SPECIAL = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, np.inf, -np.inf, np.nan, 0.0, -0.0, 3.7, -3.2, 1e30]


def _unary_on_every_dtype_case(dtype, name):
    if dtype.startswith("float"):
        a = np.array(SPECIAL[:-1] + ([1e30] if dtype != "float16" else [6e4]), dtype=dtype)
    elif dtype == "bool":
        a = np.array([True, False, True])
    else:
        info = np.iinfo(dtype)
        a = np.array([info.min, info.max, 0, 1, info.min + 1, 5, 7 % (info.max + 1)], dtype=dtype)
    if dtype == "bool" and name in ("trunc", "ceil", "floor", "round", "fix", "abs"):
        pytest.skip("PyTorch refuses these for bool; chainrule returns the tensor")
    if name == "round" and dtype.startswith("int") or (name, dtype) == ("round", "uint8"):
        pytest.skip("PyTorch's round of an integer tensor fails or not by its size (vml path)")
    _same(lambda L, x: getattr(x.clone(), name)(), a, label=f"{name} {dtype}")


def test_unary_on_every_dtype():
    each_case(_unary_on_every_dtype_case, grid(
        ("name", ["sign", "sgn", "sign_", "trunc", "ceil", "floor", "round",
                  "fix", "abs", "neg", "signbit", "isnan", "isfinite"]),
        ("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64",
                   "float16", "float32", "float64"]),
    ))


CLAMP_BOUNDS = [(-2, 3), (-2.5, 3.5), (3, -2), (2.5, -1.5), (1, None), (None, 2), (1.5, None),
                (None, -0.5), (0, 0), (float("nan"), None), (-1000, 1000)]


def _clamp_bounds_case(dtype, bounds):
    lo, hi = bounds
    if dtype == "uint8" and any(isinstance(b, int) and b < 0 for b in bounds):
        pytest.skip("a negative Python int bound of a uint8 tensor: PyTorch wraps it to 254")
    if dtype in ("int8", "uint8") and -1000 in bounds:
        pytest.skip("PyTorch refuses an int bound outside int8; chainrule clamps")
    rng = np.random.default_rng(len(dtype))
    a = (rng.standard_normal(12) * 4).astype(dtype) if dtype.startswith("float") else \
        rng.integers(0 if dtype == "uint8" else -5, 6, 12).astype(dtype)
    if dtype.startswith("float"):
        a[:3] = [np.nan, np.inf, -np.inf]
    _same(lambda L, x: L.clamp(x, lo, hi), a, label=f"clamp {dtype} {bounds}")
    _same(lambda L, x: x.clip(min=lo, max=hi), a, label=f"clip {dtype} {bounds}")
    if None not in bounds:
        _same(lambda L, x: L.clamp(x, L.tensor(lo), L.tensor(hi)), a, label=f"tensor {bounds}")


def test_clamp_bounds():
    each_case(_clamp_bounds_case, grid(
        ("bounds", CLAMP_BOUNDS),
        ("dtype", ["uint8", "int8", "int32", "int64", "bool", "float16",
                   "float32", "float64"]),
    ))


@pytest.mark.parametrize("bounds", [(-1.0, 2.0), (2.0, -1.0), (0.5, 0.5)])
def test_clamp_gradient(bounds):
    a = np.linspace(-3, 3, 11) + 0.05
    for lib in (torch, cr):
        x = lib.tensor(a, requires_grad=True)
        lib.clamp(x, *bounds).sum().backward()
        if lib is torch:
            expected = x.grad.numpy()
        else:
            np.testing.assert_array_equal(x.grad.numpy(), expected)


INT_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64"]
ALL_DTYPES = INT_DTYPES + ["float16", "float32", "float64"]
BINARY = {
    "floor_divide": lambda L, a, b: L.floor_divide(a, b),
    "div_floor": lambda L, a, b: L.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda L, a, b: L.div(a, b, rounding_mode="trunc"),
    "div": lambda L, a, b: L.div(a, b),
    "truediv": lambda L, a, b: a / b,
    "floordiv": lambda L, a, b: a // b,
    "remainder": lambda L, a, b: L.remainder(a, b),
    "mod": lambda L, a, b: a % b,
    "fmod": lambda L, a, b: L.fmod(a, b),
    "and": lambda L, a, b: L.bitwise_and(a, b),
    "or": lambda L, a, b: a | b,
    "xor": lambda L, a, b: a ^ b,
    "lshift": lambda L, a, b: L.bitwise_left_shift(a, b),
    "rshift": lambda L, a, b: a >> b,
    "pow": lambda L, a, b: L.pow(a, b),
    "add": lambda L, a, b: a + b,
    "mul": lambda L, a, b: a * b,
    "sub": lambda L, a, b: a - b,
    "gcd": lambda L, a, b: L.gcd(a, b),
    "lcm": lambda L, a, b: L.lcm(a, b),
}
SCALARS = [-3, 0, 2, 7, 70, -1, -2.5, 0.0, 0.5, True, False]


def _ints(rng, dtype, n, lo=-9, hi=9):
    if dtype == "bool":
        return rng.random(n) < 0.5
    if dtype.startswith("float"):
        return (rng.standard_normal(n) * 4).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, lo), min(info.max, hi) + 1, n).astype(dtype)


def _documented_difference(name, a, b):
    """A case docs/pytorch.md lists as a deliberate difference."""
    kinds = [x.dtype.kind if isinstance(x, np.ndarray) else type(x).__name__ for x in (a, b)]
    if name == "sub" and ("b" in kinds or "bool" in kinds):
        return True  # subtraction with a bool counts True as 1 here
    dts = [x.dtype for x in (a, b) if isinstance(x, np.ndarray)]
    negative_int = any(isinstance(x, int) and x < 0 for x in (a, b))
    return negative_int and any(d == np.uint8 for d in dts)  # uint8 - 1: OverflowError here


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_tensor_tensor(name):
    rng = np.random.default_rng(len(name))
    for da in ALL_DTYPES:
        for db in ALL_DTYPES:
            a, b = _ints(rng, da, 6), _ints(rng, db, 6)
            if _documented_difference(name, a, b):
                continue
            rtol = 2e-3 if "float16" in (da, db) else 1e-6
            _same(BINARY[name], a, b, label=f"{name} {da} {db}", rtol=rtol)


@pytest.mark.parametrize("name", [n for n in BINARY if n not in ("gcd", "lcm")])
def test_binary_tensor_scalar(name):
    rng = np.random.default_rng(len(name) + 100)
    for da in ALL_DTYPES:
        for s in SCALARS:
            a = _ints(rng, da, 6)
            if _documented_difference(name, a, s):
                continue
            rtol = 2e-3 if da == "float16" else 1e-6
            _same(BINARY[name], a, s, label=f"{name} {da} {s!r}", rtol=rtol)
            if name in ("truediv", "floordiv", "mod", "rshift", "or", "xor", "add", "mul",
                        "sub"):  # the reflected operator
                _same(lambda L, x: BINARY[name](L, s, x), a, label=f"{name} {s!r} {da}",
                      rtol=rtol)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64"])
def test_wrap_around_and_extremes(dtype):
    info = np.iinfo(dtype)
    a = np.array([info.min, info.max, info.max - 1, info.min + 1, 0, 1, 3], dtype=dtype)
    b = np.array([info.max, 1, 2, info.min, info.min, info.max, 3], dtype=dtype)
    for name in ("add", "mul", "sub", "floor_divide", "remainder", "fmod", "and", "or", "xor",
                 "pow", "div_trunc", "div_floor", "lshift", "rshift"):
        if name in ("floor_divide", "remainder", "fmod", "div_trunc", "div_floor"):
            bb = np.where(b == 0, 1, b).astype(dtype)
        else:
            bb = b if name not in ("pow", "lshift", "rshift") else np.abs(b % 9).astype(dtype)
        _same(BINARY[name], a, bb, label=f"{name} {dtype}")
    for name in ("neg", "abs", "bitwise_not", "square", "sign"):
        if dtype == "uint8" and name in ("neg", "abs"):
            continue
        _same(lambda L, x: getattr(x, name)(), a, label=f"{name} {dtype}")
    _same(lambda L, x: x.sum(), a, label=f"sum {dtype}")
    _same(lambda L, x: x.cumsum(0), a, label=f"cumsum {dtype}")
    _same(lambda L, x: x.prod(), a[4:], label=f"prod {dtype}")


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64"])
def test_integer_powers(dtype):
    base = np.array([-3, -2, -1, 0, 1, 2, 3], dtype="int64")
    base = (np.abs(base) if dtype == "uint8" else base).astype(dtype)
    for e in (0, 1, 2, 3, 7, -1, -2, 0.5, -0.5, 2.0, True):
        _same(lambda L, x: x ** e, base, label=f"{dtype} ** {e!r}", rtol=1e-6)
        _same(lambda L, x: L.pow(x, e), base, label=f"pow {dtype} {e!r}", rtol=1e-6)
    exps = np.array([-3, -2, -1, 0, 1, 2, 3]).astype("int64" if dtype != "uint8" else "uint8")
    _same(lambda L, x, y: x ** y, base, exps, label=f"{dtype} ** tensor")
    _same(lambda L, x: 2 ** x, np.abs(base).astype(dtype), label=f"2 ** {dtype}")
    _same(lambda L, x: 2.5 ** x, base, label=f"2.5 ** {dtype}", rtol=1e-6)


IN_PLACE = {
    "ifloordiv": lambda x, y: x.__ifloordiv__(y), "imod": lambda x, y: x.__imod__(y),
    "iand": lambda x, y: x.__iand__(y), "ior": lambda x, y: x.__ior__(y),
    "ilshift": lambda x, y: x.__ilshift__(y), "irshift": lambda x, y: x.__irshift__(y),
    "ipow": lambda x, y: x.__ipow__(y), "iadd": lambda x, y: x.__iadd__(y),
    "imul": lambda x, y: x.__imul__(y), "itruediv": lambda x, y: x.__itruediv__(y),
    "div_floor_": lambda x, y: x.div_(y, rounding_mode="floor"),
    "div_trunc_": lambda x, y: x.div_(y, rounding_mode="trunc"),
    "divide_floor_": lambda x, y: x.divide_(y, rounding_mode="floor"),
    "fmod_": lambda x, y: x.fmod_(y), "remainder_": lambda x, y: x.remainder_(y),
    "bitwise_xor_": lambda x, y: x.bitwise_xor_(y),
}


@pytest.mark.parametrize("name", list(IN_PLACE))
def test_in_place_integer_ops(name):
    rng = np.random.default_rng(len(name) + 7)
    for da in ALL_DTYPES:
        for db in ALL_DTYPES + [2, -2.5, True, 0, 0.1]:
            a = _ints(rng, da, 6)
            b = _ints(rng, db, 6) if isinstance(db, str) else db
            if isinstance(b, float) and da == "uint8" and b < 0:
                continue
            _same(lambda L, x: (lambda t: (IN_PLACE[name](t, L.tensor(b) if isinstance(
                b, np.ndarray) else b), t)[1])(x.clone()), a, label=f"{name} {da} {db}",
                rtol=2e-3 if "float16" in (da, db) else 1e-6)


SCALAR_FIRST = ["remainder", "fmod", "floor_divide", "pow", "bitwise_and", "bitwise_or",
                "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "add", "sub", "mul",
                "div", "true_divide", "float_power"]


@pytest.mark.parametrize("name", SCALAR_FIRST)
def test_number_as_first_argument(name):
    rng = np.random.default_rng(len(name) + 3)
    for da in ALL_DTYPES:
        a = _ints(rng, da, 6)
        for s in (3, -2, 2.5, True):
            if _documented_difference(name, s, a) or isinstance(
                    _outcome(torch, lambda L, x: getattr(L, name)(s, x), [a]), TypeError):
                continue  # PyTorch's signature takes no number first: chainrule may
            _same(lambda L, x: getattr(L, name)(s, x), a, label=f"{name}({s!r}, {da})",
                  rtol=2e-3 if da == "float16" else 1e-6)
    for mode in ("floor", "trunc"):
        _same(lambda L, x: L.div(7, x, rounding_mode=mode), np.array([2, -3, 4]), label=mode)
