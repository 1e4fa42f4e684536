"""Strings, bytes, dates and durations are not numbers: tensor(), as_tensor(), asarray() and
from_numpy() of such an array refuse it with a TypeError naming its dtype, as PyTorch's refuse it.
They returned a Tensor of strings (or datetime64), which printed and indexed like one and failed
only later, inside the first op that computed on it."""

import re

import numpy as np
import pytest

import chainrule as cr

ARRAYS = [np.array(["a", "b"]), np.array([b"x"]), np.array(["2020-01-01"], dtype="datetime64[D]"),
          np.array([3], dtype="timedelta64[s]")]


@pytest.mark.parametrize("make", [cr.tensor, cr.as_tensor, cr.asarray, cr.from_numpy],
                         ids=["tensor", "as_tensor", "asarray", "from_numpy"])
@pytest.mark.parametrize("array", ARRAYS, ids=["str", "bytes", "datetime", "timedelta"])
def test_non_numeric_arrays_are_refused(make, array):
    with pytest.raises(TypeError, match="numeric tensor from .*" + re.escape(str(array.dtype))):
        make(array)


def test_a_list_of_strings_and_numbers_still_work():
    with pytest.raises(TypeError, match="cannot make a numeric tensor from list"):
        cr.tensor(["a", "b"])
    assert cr.tensor(np.array([1, 2], dtype=np.uint8)).dtype == np.uint8
    assert cr.as_tensor(np.array([True])).dtype == np.bool_
    assert cr.asarray(np.array([1 + 2j])).dtype == np.complex128
