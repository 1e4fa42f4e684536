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
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

ERRORS = (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError,
          ZeroDivisionError)


def _outcome(lib, fn, arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(lib, *[lib.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays])
        except ERRORS as e:
            return e


def _same(fn, *arrays, label="", rtol=0.0):
    """``fn(lib, *tensors)`` in both libraries: both raise, or equal dtypes, shapes and values
    (integers exactly; floats within ``rtol``, NaN where NaN)."""
    t, c = _outcome(torch, fn, arrays), _outcome(cr, fn, arrays)
    if isinstance(t, Exception) or isinstance(c, Exception):
        assert isinstance(t, Exception) and isinstance(c, Exception), f"{label}: torch {t!r}, " \
            f"chainrule {c!r}"
        return
    assert str(c.dtype) == str(t.dtype).replace("torch.", ""), f"{label}: {c.dtype}, {t.dtype}"
    assert tuple(c.shape) == tuple(t.shape), label
    cv, tv = np.asarray(c.numpy()), t.numpy()
    if tv.dtype.kind in "fc":
        np.testing.assert_allclose(cv, tv, rtol=rtol, atol=rtol, equal_nan=True, err_msg=label)
    else:
        np.testing.assert_array_equal(cv, tv, err_msg=label)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "bool"])
@pytest.mark.parametrize("decimals", [-2, -1, 1, 3])
def test_round_integers_with_decimals(dtype, decimals):
    a = np.array([15, 25, 0, 1, 104, 7]).astype(dtype)
    _same(lambda L, x: L.round(x, decimals=decimals), a, label=f"round {dtype} {decimals}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("decimals", [-3, -2, -1, 0, 1, 2, 3])
def test_round_floats_with_decimals(dtype, decimals):
    rng = np.random.default_rng(decimals + 10)
    a = np.concatenate([rng.standard_normal(40) * 10.0 ** rng.integers(-3, 31, 40),
                        [0.5, 1.5, 2.5, -0.5, -2.5, 0.25, 1.25, 125.0, 250.0, np.inf, -np.inf,
                         np.nan, -0.0]]).astype(dtype)
    _same(lambda L, x: L.round(x, decimals=decimals), a, label=f"round {dtype} {decimals}")


SPECIAL = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, np.inf, -np.inf, np.nan, 0.0, -0.0, 3.7, -3.2, 1e30]


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64",
                                   "float16", "float32", "float64"])
@pytest.mark.parametrize("name", ["sign", "sgn", "sign_", "trunc", "ceil", "floor", "round",
                                  "fix", "abs", "neg", "signbit", "isnan", "isfinite"])
def test_unary_on_every_dtype(dtype, name):
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


CLAMP_BOUNDS = [(-2, 3), (-2.5, 3.5), (3, -2), (2.5, -1.5), (1, None), (None, 2), (1.5, None),
                (None, -0.5), (0, 0), (float("nan"), None), (-1000, 1000)]


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64", "bool", "float16",
                                   "float32", "float64"])
@pytest.mark.parametrize("bounds", CLAMP_BOUNDS)
def test_clamp_bounds(dtype, bounds):
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
