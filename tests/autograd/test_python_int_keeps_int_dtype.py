"""A Python int combined with an integer tensor keeps the tensor's dtype, as in PyTorch (and
NumPy 2): it was wrapped as an int64 array first, so ``uint8_image * 2`` was int64 (no wrap
around) and ``int32 + 1`` int64 (found by fuzzing against PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

CALLS = {
    "mul": lambda m, t: t * 2,
    "radd": lambda m, t: 1 + t,
    "sub": lambda m, t: t - 3,
    "add_alpha": lambda m, t: m.add(t, t, alpha=2),
    "floordiv": lambda m, t: t // 3,
    "remainder": lambda m, t: t % 7,
    "pow": lambda m, t: t ** 2,
    "rpow": lambda m, t: 2 ** t,
    "where": lambda m, t: m.where(t > 5, t, 0),
    "clamp": lambda m, t: t.clamp(2, 100),
}


def _matches_pytorchs_dtype_and_values_case(name, dtype):
    torch = pytest.importorskip("torch")
    data = np.array([0, 3, 9, 100, 127], dtype=dtype)
    ours = CALLS[name](cr, cr.tensor(data))
    theirs = CALLS[name](torch, torch.tensor(data))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (name, dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.torch
def test_matches_pytorchs_dtype_and_values():
    each_case(_matches_pytorchs_dtype_and_values_case, grid(
        ("name", sorted(CALLS)),
        ("dtype", ["uint8", "int8", "int16", "int32", "int64"]),
    ))


def test_an_int_that_does_not_fit_is_refused_naming_both():
    u = cr.tensor([1, 250], dtype=cr.uint8)
    with pytest.raises(OverflowError, match=r"300 does not fit the uint8 tensor it is combined "
                                            r"with \(0\.\.255\)"):
        u + 300
    assert (u > 300).tolist() == [False, False]  # comparisons do not convert the number
    assert (cr.tensor([True, False]) + 1).dtype == np.int64  # bool: PyTorch's int64, as before
