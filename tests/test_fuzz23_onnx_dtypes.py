"""Wave 23, ONNX export of bool and mixed-dtype arithmetic and comparisons.

ONNX's Add/Mul/Max/Min take no bool, its comparisons take one dtype and its ordered ones no
bool. The exporter wrote ``Add`` of two bool tensors, ``Greater`` of an int64 and a float32
tensor and refused ``int_tensor > 2.5``: the first two failed inside ``onnx.checker`` with its
own InferenceError (no word of which chainrule op). Bool arithmetic is now Or/And, comparisons
are written in the dtype chainrule (PyTorch) compares in, and any node onnx.checker rejects is
an UnsupportedOperatorError naming the chainrule op it was written for.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import chainrule as cr  # noqa: E402
from chainrule.onnx import UnsupportedOperatorError, export  # noqa: E402

_RNG = np.random.default_rng(23)
_B = _RNG.random((3, 4)) > 0.5
_B2 = _RNG.random((3, 4)) > 0.5
_I = _RNG.integers(-3, 4, (3, 4))
_I32 = _RNG.integers(-3, 4, (3, 4)).astype(np.int32)
_F = (_RNG.integers(-6, 7, (3, 4)) / 2).astype(np.float32)  # halves: ties with the ints

# id -> (function of (library, *tensors), inputs)
CASES = {
    "bool_add": (lambda m, x, y: x + y, [_B, _B2]),
    "bool_mul": (lambda m, x, y: x * y, [_B, _B2]),
    "bool_maximum": (lambda m, x, y: m.maximum(x, y), [_B, _B2]),
    "bool_minimum": (lambda m, x, y: m.minimum(x, y), [_B, _B2]),
    "bool_greater": (lambda m, x, y: x > y, [_B, _B2]),
    "bool_le_int": (lambda m, x: x <= 0, [_B]),
    "bool_eq_int_tensor": (lambda m, x, y: x == y, [_B, _I]),
    "int_gt_float_tensor": (lambda m, x, y: x > y, [_I, _F]),
    "float_le_int_tensor": (lambda m, x, y: x <= y, [_F, _I]),
    "int32_eq_int64": (lambda m, x, y: x == y, [_I32, _I]),
    "int_gt_python_float": (lambda m, x: x > 0.5, [_I]),
    "int_ne_python_float": (lambda m, x: x != 1.0, [_I]),
    "half_eq_float": (lambda m, x, y: x == y, [_F.astype(np.float16), _F]),
}


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("name", sorted(CASES))
def test_bool_and_mixed_dtype_ops_export_as_pytorch_computes_them(name, opset):
    fn, arrays = CASES[name]
    want = fn(torch, *[torch.from_numpy(a) for a in arrays]).numpy()
    xs = [cr.tensor(a) for a in arrays]
    eager = fn(cr, *xs).numpy()
    assert eager.dtype == want.dtype
    np.testing.assert_array_equal(eager, want)
    proto = export(lambda *ts: fn(cr, *ts), tuple(xs), opset_version=opset)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {i.name: a for i, a in zip(session.get_inputs(), arrays)})[0]
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "fn, arrays, op",
    [
        (lambda x: -x, [np.arange(6, dtype=np.uint8)], "Neg"),
        (lambda x, y: x @ y, [_B, _B2.T.copy()], "MatMul"),
        (lambda x: x.amax(1), [_B], "Extreme"),
    ],
)
def test_a_node_onnx_rejects_is_refused_naming_the_chainrule_op(fn, arrays, op):
    xs = [cr.tensor(a) for a in arrays]
    fn(*xs)  # chainrule computes it
    with pytest.raises(
        UnsupportedOperatorError,
        match=rf"chainrule's op {op} is not valid ONNX"
        r".*onnx\.checker.*cast the tensor",
    ):
        export(fn, tuple(xs))


def test_numpy_integers_for_opset_and_dynamic_axes_as_pytorch():
    """opset_version=np.int64(17) (PyTorch's exporter takes it) and NumPy axes in dynamic_axes
    were refused as not ints; NumPy integers are taken, bools still refused."""
    x = cr.tensor(_F)
    proto = export(
        lambda t: t * 2,
        (x,),
        opset_version=np.int64(17),
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {np.int64(0): "b"}, "y": [np.int32(0)]},
    )
    assert proto.opset_import[0].version == 17
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "b"
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x5 = np.ones((5, 4), np.float32)
    np.testing.assert_array_equal(session.run(None, {"x": x5})[0], x5 * 2)
    for bad in (True, np.bool_(True), 17.0):
        with pytest.raises(ValueError, match="opset_version must be an int"):
            export(lambda t: t * 2, (x,), opset_version=bad)
