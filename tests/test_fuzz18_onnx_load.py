"""Wave 18 of the ONNX loader against onnxruntime: attribute edge cases of Cast (the narrow
float and integer targets are refused, not evaluated with other rounding); ReduceLogSum."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.autograd.gradcheck import gradcheck  # noqa: E402
from chainrule.onnx import OnnxLoadError, load  # noqa: E402

VALUES = np.asarray([0.3, 1.7, -2.5, 100.3, 1e10, -np.inf], np.float32)


def _cast_there_and_back(to, opset=21, **attrs):
    nodes = [
        helper.make_node("Cast", ["x"], ["t"], to=to, **attrs),
        helper.make_node("Cast", ["t"], ["y"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", 1, [6])],
        [helper.make_tensor_value_info("y", 1, [6])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    return model


@pytest.mark.parametrize(
    "to, name",
    [
        (TensorProto.FLOAT8E4M3FN, "float8_e4m3fn"),
        (TensorProto.FLOAT8E5M2, "float8_e5m2"),
        (TensorProto.INT4, "int4"),
    ],
)
def test_cast_to_a_narrow_type_is_refused(to, name):
    # These casts quantize in onnxruntime (float8 saturates by default: inf -> 448); chainrule
    # computed float8_e5m2 as float32 (no rounding at all), float8_e4m3fn without saturation
    # (NaN for inf) and int4 by truncation, all silently different numbers.
    model = (
        _cast_there_and_back(to, saturate=1)
        if name.startswith("float8")
        else _cast_there_and_back(to)
    )
    ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    with pytest.raises(OnnxLoadError, match=f"Cast to {name} \\(x1\\)"):
        load(model)


@pytest.mark.parametrize("to", [TensorProto.BFLOAT16, TensorProto.INT8, TensorProto.UINT8])
def test_cast_to_the_kept_types_matches_onnxruntime(to):
    x = VALUES[:4] if to != TensorProto.BFLOAT16 else VALUES
    model = _cast_there_and_back(to)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = len(x)
    model.graph.output[0].type.tensor_type.shape.dim[0].dim_value = len(x)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": x})[0]
    np.testing.assert_array_equal(load(model)(x).numpy(), want)


@pytest.mark.parametrize(
    "opset, axes, noop", [(13, [1], 0), (13, None, 0), (18, [-1, 0], 0), (18, [], 1)]
)
def test_reduce_log_sum_matches_onnxruntime(opset, axes, noop):
    # ReduceLogSum was refused as unsupported; it is log(ReduceSum), and its noop is log(x)
    x = np.abs(np.random.default_rng(1).standard_normal((3, 4))).astype(np.float32) + 0.1
    attrs, inputs, inits = {"keepdims": 0}, ["x"], []
    if opset >= 18:
        attrs["noop_with_empty_axes"] = noop
        inputs.append("axes")
        inits.append(numpy_helper.from_array(np.asarray(axes, np.int64), "axes"))
    elif axes is not None:
        attrs["axes"] = axes
    node = helper.make_node("ReduceLogSum", inputs, ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", 1, [3, 4])],
        [helper.make_tensor_value_info("y", 1, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": x})[0]
    model.graph.output[0].type.tensor_type.shape.SetInParent()
    for d in want.shape:
        model.graph.output[0].type.tensor_type.shape.dim.add().dim_value = d
    loaded = load(model)
    np.testing.assert_allclose(loaded(x).numpy(), want, rtol=1e-6, atol=1e-6)
    loaded.double()
    gradcheck(loaded, (cr.tensor(x.astype(np.float64), requires_grad=True),))
