"""Fuzz wave 15, ONNX loading: one-op graphs written with onnx.helper, loaded by
chainrule.onnx.load and compared with onnxruntime (opsets 11 to 20, attributes at their defaults
and at other values, negative axes and indices, broadcasting, axes as attributes before an
opset and as inputs from it), and regressions of what the fuzzing found."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.onnx import load

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import helper, numpy_helper  # noqa: E402

SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 2.5, -3.0, 1e30],
                   np.float32)


def graph(nodes, inputs, inits=None, opset=17, outs=("y",)):
    """A model of ``nodes`` whose inputs are the arrays ``inputs`` ({name: array}); the outputs'
    types and shapes are filled in from onnxruntime's results by ``compare``."""
    tensor = helper.np_dtype_to_tensor_dtype
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, tensor(a.dtype), a.shape)
                     for n, a in inputs.items()],
        [helper.make_empty_tensor_value_info(o) for o in outs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    inferred = onnx.shape_inference.infer_shapes(m).graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*inferred.value_info,
                                                             *inferred.output]}
    for out in m.graph.output:
        out.CopyFrom(helper.make_tensor_value_info(out.name, types.get(out.name) or 1, None))
    return m


def compare(m, inputs, rtol=1e-5):
    """Load ``m`` and run it on ``inputs``; compare with onnxruntime (values, dtypes, shapes)."""
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, inputs)
    for out, w in zip(m.graph.output, want):
        shape = out.type.tensor_type.shape
        shape.SetInParent()
        for d in w.shape:
            shape.dim.add().dim_value = d
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = load(m)(**{k: cr.tensor(v) for k, v in inputs.items()})
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, want):
        g = g.numpy()
        assert (g.dtype, g.shape) == (w.dtype, w.shape)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol, equal_nan=True)


# -- regressions ------------------------------------------------------------------------------

@pytest.mark.parametrize("reverse", [0, 1])
def test_exclusive_cumsum_of_infinities(reverse):
    """An exclusive CumSum was the inclusive one minus the entry: NaN after an infinity
    (inf - inf) where onnxruntime has the sum of the entries before, and rounding of a large
    entry swallowed small ones. It is now the sums shifted by one."""
    x = np.array([[np.inf, 1.0, 2.0, -np.inf], [1e30, 1.0, -1e30, 3.0]], np.float32)
    for axis in (1, -1, 0):
        m = graph([helper.make_node("CumSum", ["x", "a"], ["y"], exclusive=1, reverse=reverse)],
                  {"x": x}, {"a": np.asarray(axis, np.int64)})
        compare(m, {"x": x})


def test_exclusive_cumsum_gradient():
    x = cr.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    m = graph([helper.make_node("CumSum", ["x", "a"], ["y"], exclusive=1)],
              {"x": np.zeros((3, 4))}, {"a": np.asarray(1, np.int64)})
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", 11, (3, 4)))
    loaded = load(m)
    assert cr.autograd.gradcheck(lambda t: loaded(t), (x,))
    y = loaded(x).numpy()
    np.testing.assert_allclose(y, np.cumsum(x.numpy(), 1) - x.numpy(), atol=1e-12)


def test_sign_keeps_nan():
    """ONNX's Sign of NaN is NaN (onnxruntime's, NumPy's); the loader gave chainrule's (and
    PyTorch's) 0."""
    compare(graph([helper.make_node("Sign", ["x"], ["y"])], {"x": SPECIAL}), {"x": SPECIAL})
    ints = np.array([-3, 0, 4], np.int64)
    compare(graph([helper.make_node("Sign", ["x"], ["y"])], {"x": ints}), {"x": ints})


@pytest.mark.parametrize("bounds", [("lo", ""), ("", "hi"), ("lo", "hi"), ("", "")])
def test_clip_with_an_omitted_bound_makes_infinities_finite(bounds):
    """ONNX's Clip takes an omitted bound as the dtype's extreme: Clip(inf, min=0.3) is the
    largest float32 in onnxruntime; the loader left the infinity."""
    inits = {"lo": np.asarray(0.3, np.float32), "hi": np.asarray(0.4, np.float32)}
    m = graph([helper.make_node("Clip", ["x", *bounds], ["y"])], {"x": SPECIAL}, inits)
    compare(m, {"x": SPECIAL})
