"""Fuzz wave 25: ``number / tensor`` computed as PyTorch's ``reciprocal(tensor) * number``.

Before this wave only float16 took PyTorch's form; in float32, float64 and for integer
tensors ``2.5 / x`` was the correctly rounded quotient, an ulp from PyTorch's in about a
third of the values (``2.5 / tensor([3.])`` was 0.8333333134651184, PyTorch's
0.8333333730697632).
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool"])
@pytest.mark.parametrize("number", [2.5, -7, 1j, np.float64(0.3)])
def test_number_over_tensor_as_torch(dtype, number):
    values = [3, 7, 1, 11] if dtype != "bool" else [True, True]
    ours = number / cr.tensor(values, dtype=getattr(cr, dtype))
    theirs = number / torch.tensor(values, dtype=getattr(torch, dtype))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_number_over_tensor_gradient():
    x = cr.tensor([3.0, -0.7, 2.0], dtype="float64", requires_grad=True)
    assert cr.gradcheck(lambda a: (2.5 / a).sum(), (x,))
    t = torch.tensor([3.0, -0.7, 2.0], requires_grad=True)
    (theirs,) = torch.autograd.grad((2.5 / t).sum(), t)
    y = cr.tensor([3.0, -0.7, 2.0], requires_grad=True)
    (ours,) = cr.grad((2.5 / y).sum(), y)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
