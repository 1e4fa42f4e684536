"""xlogy/xlog1py of a float tensor and an integer or bool one take the log in the float's
precision: NumPy's log of a uint8 or bool array is float16, so a float64 result carried a
relative error of about 1e-4 (found by fuzzing against PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

pytestmark = pytest.mark.kernel_free


def _the_log_of_an_integer_other_is_taken_in_the_floats_precision_case(name, fdtype, idtype):
    torch = pytest.importorskip("torch")
    x = np.array([1.5, 2.0, 0.0, -0.75, 3.0], dtype=fdtype)
    y = np.array([3, 117, 0, 1, 2]).astype(idtype)
    ours = getattr(cr.special, name)(cr.tensor(x), cr.tensor(y))
    theirs = getattr(torch.special, name)(torch.tensor(x), torch.tensor(y))
    assert ours.dtype == fdtype
    tol = 1e-15 if fdtype == np.float64 else 1e-7
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=tol, atol=0)


@pytest.mark.torch
def test_the_log_of_an_integer_other_is_taken_in_the_floats_precision():
    each_case(_the_log_of_an_integer_other_is_taken_in_the_floats_precision_case, grid(
        ("idtype", [np.uint8, np.int8, np.int16, np.bool_]),
        ("fdtype", [np.float64, np.float32]),
        ("name", ["xlogy", "xlog1py"]),
    ))


def test_the_gradient_of_x_uses_the_same_log():
    x = cr.tensor([1.5, -2.0], dtype=cr.float64, requires_grad=True)
    y = cr.tensor([117, 3], dtype=cr.uint8)
    cr.special.xlogy(x, y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.log([117.0, 3.0]), rtol=1e-15)
