"""Wave 25, chainrule.onnx.load against onnxruntime: LpNormalization of a slice whose norm is 0
(NaN, where ONNX gives zeros) and Pow of an integer base by a float or negative exponent (the
exponent was cast to the integer type first, so 4 ** 0.5 gave 1)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck

from .test_fuzz15_onnx_load import graph
from .test_onnx_load_ops import check, load, run_ort

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import helper  # noqa: E402


@pytest.mark.parametrize("p, axis", [(1, -1), (2, -1), (2, 0)])
def test_lp_normalization_of_a_zero_slice_is_zero(p, axis):
    x = np.array([[0.0, 0.0, 0.0], [3.0, -4.0, 1.0]], np.float32)
    if axis == 0:
        x = np.ascontiguousarray(x.T)
    loaded = check("LpNormalization", {"x": x}, attrs={"p": p, "axis": axis}, grad=False)
    got = loaded(x).numpy()
    assert np.isfinite(got).all() and (got[x == 0] == 0).all()
    # the gradient through the zero slice is finite too, and the others' is the usual one
    loaded.double()
    t = cr.tensor(x.astype(np.float64), requires_grad=True)
    loaded(t).sum().backward()
    assert np.isfinite(t.grad.numpy()).all()
    gradcheck(lambda a: loaded(a), (cr.tensor(x.astype(np.float64) + 0.25, requires_grad=True),))


@pytest.mark.parametrize("base", [np.int64, np.int32])
@pytest.mark.parametrize("exponent", [np.float32, np.float64, np.int64, np.int32])
def test_pow_of_an_integer_base(base, exponent):
    a = np.array([4, 9, 0, 2, 3, -3, 1, -2, 7], base)
    b = (np.array([0.5, 0.5, 0.5, -1, 2.7, 3, -3, 3, 1.5]) if np.dtype(exponent).kind == "f"
         else np.array([2, 0, 3, -1, -2, 1, -3, 3, 4])).astype(exponent)
    m = graph([helper.make_node("Pow", ["a", "b"], ["y"])], {"a": a, "b": b})
    (want,) = run_ort(m, {"a": a, "b": b})
    got = load(m)(a, b).numpy()
    assert got.dtype == want.dtype == base
    np.testing.assert_array_equal(got, want)
