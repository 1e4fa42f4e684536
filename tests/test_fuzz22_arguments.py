"""chainrule.data.arguments: the argument checks every package shares, tested directly.

Each validator accepts Python and NumPy numbers alike and refuses bool, NaN, infinities and
strings with a message naming the function, the argument, the value and what was expected.
"""

import math
import re

import numpy as np
import pytest

from chainrule.data.arguments import (
    check_bounds,
    check_choice,
    check_finite,
    check_int,
    check_number,
    check_probability,
    check_within,
)


@pytest.mark.parametrize("value", [3, np.int64(3), np.int8(3), np.uint16(3)])
def test_check_int_accepts_python_and_numpy_integers(value):
    out = check_int("f", "n", value, low=0)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [True, False, 2.0, np.float64(2.0), "2", None, 1 + 0j])
def test_check_int_refuses_non_integers(value):
    message = f"f: n must be an int >= 0, got {re.escape(repr(value))}$"
    with pytest.raises(ValueError, match=message) as info:
        check_int("f", "n", value, low=0)
    assert type(info.value) is ValueError  # the name PyTorch's Python-level checks raise
    with pytest.raises(TypeError, match=message):
        check_int("f", "n", value, low=0, type_error=TypeError)


@pytest.mark.parametrize(
    ("kwargs", "value", "rule"),
    [
        ({}, 0, ">= 1"),
        ({"low": 2}, np.int64(1), ">= 2"),
        ({"low": 0, "high": 6}, 7, r"in \[0, 6\]"),
        ({"low": None, "high": 6}, 7, "<= 6"),
    ],
)
def test_check_int_refuses_out_of_range_with_the_rule(kwargs, value, rule):
    with pytest.raises(
        ValueError, match=rf"g: k must be an int {rule}, got {re.escape(repr(value))}$"
    ):
        check_int("g", "k", value, **kwargs)
    assert check_int("g", "k", -5, low=None) == -5
    assert check_int("g", "k", 0, 0) == 0  # low may be given by position (bayes' curves do)


@pytest.mark.parametrize("value", [0.5, 1, np.float32(0.5), np.float16(0.5), np.int32(1)])
def test_check_number_accepts_python_and_numpy_reals(value):
    out = check_number("h", "x", value, low=0, high=1)
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize(
    ("kwargs", "value", "message"),
    [
        ({}, math.nan, "must be a finite number, got nan"),
        ({}, math.inf, "must be a finite number, got inf"),
        ({"low": 0}, -1e-9, "must be a finite number >= 0, got -1e-09"),
        ({"above": 0}, 0.0, "must be a finite number > 0, got 0.0"),
        ({"high": 2.5}, 3, "must be a finite number <= 2.5, got 3"),
        ({"low": 0, "below": 1}, 1.0, r"must be a number in \[0, 1\), got 1.0"),
        ({"above": 0, "high": 1}, np.float32(0), r"must be a number in \(0, 1\], got .*0\.0\)"),
        ({"low": 0, "below": 1}, -math.inf, r"must be a number in \[0, 1\), got -inf"),
        ({"low": 0, "what": "a share"}, -1, "must be a share, a finite number >= 0, got -1"),
        ({"allow_none": True}, math.nan, "must be None or a finite number, got nan"),
    ],
)
def test_check_number_refuses_out_of_range_and_nonfinite(kwargs, value, message):
    with pytest.raises(ValueError, match=rf"^h: x {message}$"):
        check_number("h", "x", value, **kwargs)


@pytest.mark.parametrize("value", [True, np.bool_(False), "0.5", None, [0.5], 1j])
def test_check_number_refuses_non_numbers(value):
    message = f"h: x must be a finite number, got {re.escape(repr(value))}$"
    with pytest.raises(ValueError, match=message):
        check_number("h", "x", value)
    with pytest.raises(TypeError, match=message):
        check_number("h", "x", value, type_error=TypeError)


def test_check_number_allow_none_and_probability():
    assert check_number("h", "x", None, allow_none=True) is None
    assert check_probability("p", "q", np.float32(1.0)) == 1.0
    assert check_probability("p", "q", 0) == 0.0
    with pytest.raises(ValueError, match=r"p: q must be a number in \[0, 1\], got 1.5"):
        check_probability("p", "q", 1.5)


def test_check_choice():
    assert check_choice("m", "mode", "min", ("auto", "min", "max")) == "min"
    assert check_choice("m", "mode", np.str_("max"), ("auto", "min", "max")) == "max"
    for bad in ("MIN", None, 1, True, ["min"]):
        with pytest.raises(ValueError, match="m: mode must be 'auto', 'min' or 'max', got "):
            check_choice("m", "mode", bad, ("auto", "min", "max"))
    with pytest.raises(ValueError, match="m: flag must be 1, got True"):
        check_choice("m", "flag", True, (1,))  # a bool is not the int it equals


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "complex64"])
def test_check_finite_counts_nan_and_inf(dtype):
    x = np.array([[0.0, np.nan], [np.inf, 1.0]], dtype=dtype)[:, ::-1]  # a strided view
    with pytest.raises(ValueError, match="^v: data must be finite, got 2 NaN or infinite values$"):
        check_finite("v", "data", x)
    good = np.ones((2, 0), dtype)
    assert check_finite("v", "data", good) is good
    ints = np.array([1, 2], dtype="int64")
    assert check_finite("v", "data", ints) is ints


def test_check_within_reports_the_range_found():
    x = np.array([[0.0, 255.0]], dtype="float32").T
    with pytest.raises(
        ValueError,
        match=r"^w: images must have values in \[0, 1\] \(scale by 1/255\), "
        r"got values in \[0, 255\]$",
    ):
        check_within("w", "images", x, 0, 1, why="scale by 1/255")
    with pytest.raises(ValueError, match=r"got values in \[nan, nan\]"):  # NaN fails
        check_within("w", "x", np.array([np.nan, 0.5]), 0, 1)
    assert check_within("w", "x", np.zeros((0, 3)) + 7, 0, 1).shape == (0, 3)  # empty passes
    y = np.array([-1 - 1e-7, 1 + 1e-7])
    assert check_within("w", "x", y, -1, 1, slack=1e-6) is y
    with pytest.raises(ValueError, match=r"must have values in \[-1, 1\]"):
        check_within("w", "x", y, -1, 1)


def test_check_bounds():
    assert check_bounds("b", "bounds", (np.int8(0), np.float32(1))) == (0.0, 1.0)
    assert check_bounds("b", "bounds", None, allow_none=True) is None
    for bad in (None, 1.0, (0, 1, 2), (True, 2), ("0", "1")):
        with pytest.raises(ValueError, match=r"^b: bounds must be a pair of numbers \(low, "):
            check_bounds("b", "bounds", bad)
    for bad in ((1, 0), (0, 0), (0, math.inf), (math.nan, 1)):
        with pytest.raises(ValueError, match=r"^b: bounds must be finite with low < high, got "):
            check_bounds("b", "bounds", bad)


def test_check_number_says_why():
    with pytest.raises(
        ValueError, match=r"^c: m must be a number in \[0, 0.7\] \(a reason\), got 1$"
    ):
        check_number("c", "m", 1, low=0, high=0.7, why="a reason")


def test_check_int_says_why():
    with pytest.raises(ValueError, match=r"^t: k must be an int >= 2 \(bins\), got 1$"):
        check_int("t", "k", 1, 2, why="bins")
