"""Casts of values the target dtype cannot hold (ops/cast.py): a NaN or infinite float to an
int, a float64 beyond float32's range; PyTorch's values, and no NumPy RuntimeWarning (the tests
run with warnings as errors; PyTorch is silent there). The gradient is the cast's own (checked
in test_elementwise)."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

VALUES = [float("-inf"), float("inf"), float("nan"), 1e30, -1e30, 3.7, -3.7, 300.0, -5.0]


@pytest.mark.torch
@pytest.mark.parametrize("name", ["int64", "int32", "int16", "int8", "uint8"])
def test_non_finite_and_huge_floats_to_ints_give_pytorchs_values_quietly(name):
    # T5's bucket math casts log(0) = -inf .to(torch.long) (then discards it): a RuntimeWarning
    # ("invalid value encountered in cast") stopped the program
    torch = pytest.importorskip("torch")
    for dt in ("float64", "float32"):
        ours = cr.tensor(VALUES, dtype=getattr(cr, dt)).to(getattr(cr, name))
        theirs = torch.tensor(VALUES, dtype=getattr(torch, dt)).to(getattr(torch, name))
        assert ours.tolist() == theirs.tolist()
    x = cr.tensor(VALUES, dtype=cr.float64, requires_grad=True)  # nondiff path, quiet too
    assert x.long().tolist() == torch.tensor(VALUES).long().tolist()


@pytest.mark.torch
def test_float64_beyond_float32_saturates_to_inf_quietly_and_differentiates():
    # a float64 attention mask of finfo(float64).min taken to float32 (HF's scores.float())
    torch = pytest.importorskip("torch")
    big = [np.finfo(np.float64).min, 1e300, 2.0]
    out = {}
    for L in (cr, torch):
        x = L.tensor(big, dtype=L.float64, requires_grad=True)
        y = x.float()
        (y[2:] * 3).sum().backward()
        out[L.__name__] = (y.detach().numpy(), x.grad.numpy())
    np.testing.assert_array_equal(out["chainrule"][0], out["torch"][0])
    np.testing.assert_array_equal(out["chainrule"][1], out["torch"][1])
