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


@pytest.mark.parametrize("attrs", [
    {"kernel_shape": [3], "dilations": [2], "pads": [2, 2]},
    {"kernel_shape": [3, 2], "dilations": [2, 3], "pads": [2, 1, 2, 1], "strides": [1, 2]},
])
def test_dilated_max_pool_padded_by_more_than_half_its_kernel(attrs):
    """A pad above half of kernel_shape (within half the dilated window, which ONNX allows)
    was handed to PyTorch's pooling, which refuses it: 'max_pool1d: padding (2,) must be at
    most half the kernel size (3,)' for a valid model. It is padded with -inf first now."""
    x = np.random.default_rng(0).standard_normal((1, 2, 9, 7)[:2 + len(attrs["kernel_shape"])])
    check("MaxPool", {"x": x.astype(np.float32)}, attrs=attrs)


def test_dilated_max_pool_same_upper_follows_the_onnx_reference():
    # onnxruntime 1.32 pads a dilated SAME pool as if undilated (4 outputs where ONNX's rule,
    # ceil(9 / 2), gives 5); the ONNX reference implementation follows the rule, as chainrule
    from onnx.reference import ReferenceEvaluator

    x = np.arange(9, dtype=np.float32).reshape(1, 1, 9)
    m = graph([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3], strides=[2],
                                dilations=[2], auto_pad="SAME_UPPER")], {"x": x})
    (want,) = ReferenceEvaluator(m).run(None, {"x": x})
    m.graph.output[0].type.tensor_type.shape.SetInParent()
    got = load(m)(x).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got.ravel(), [2.0, 4.0, 6.0, 8.0, 8.0])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("name", ["ReduceMean", "ReduceSumSquare", "ReduceL1", "ReduceL2",
                                  "ReduceLogSumExp", "ReduceLogSum"])
def test_integer_reductions(name, dtype):
    """These were refused ('ReduceMean: integer input is not supported, got dtype int64')
    where onnxruntime computes them: in floating point, truncated toward zero."""
    x = np.array([[1, -2, 4, 3], [-7, 5, -2, -9], [6, 2, 30, 1]], dtype)
    if name == "ReduceLogSum":
        x = np.abs(x)
    for axes, keep in [([1], 0), ([0, -1], 1)]:
        m = graph([helper.make_node(name, ["x", "a"], ["y"], keepdims=keep)], {"x": x},
                  {"a": np.array(axes, np.int64)}, opset=18)
        (want,) = run_ort(m, {"x": x})
        got = load(m)(x).numpy()
        assert got.dtype == want.dtype == dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["ReduceLogSum", "ReduceL2", "ReduceSumSquare", "ReduceMean"])
def test_integer_reduction_over_no_axes(name):
    # noop_with_empty_axes: ReduceLogSum of int64 gave float32 log(x) (onnxruntime: int64)
    x = np.array([[1, 2, 30], [4, 5, 7]], np.int64)
    m = graph([helper.make_node(name, ["x", "a"], ["y"], noop_with_empty_axes=1)], {"x": x},
              {"a": np.array([], np.int64)}, opset=18)
    (want,) = run_ort(m, {"x": x})
    got = load(m)(x).numpy()
    assert got.dtype == want.dtype == np.int64
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
@pytest.mark.parametrize("name", ["ReduceMax", "ReduceMin", "ReduceMean", "ReduceLogSumExp"])
def test_reductions_over_no_values(name, dtype):
    """ONNX's -inf / +inf (an integer type's extremes) for a max / min over an empty axis and
    onnxruntime's 0 for a mean: they failed inside chainrule's ops ('max: cannot reduce over an
    axis of size 0', NumPy's 'zero-size array to reduction operation maximum' for integers)."""
    x = np.zeros((0, 3), dtype)
    for axes, keep in [([0], 0), ([0, 1], 1)]:
        m = graph([helper.make_node(name, ["x", "a"], ["y"], keepdims=keep)], {"x": x},
                  {"a": np.array(axes, np.int64)}, opset=18)
        (want,) = run_ort(m, {"x": x})
        got = load(m)(x).numpy()
        assert got.dtype == want.dtype == dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
