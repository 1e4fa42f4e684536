"""Wave 23, chainrule.onnx.load against onnxruntime on integer dtypes.

ONNX's CumSum returns its input's dtype; the loader summed through chainrule's cumsum, which
sums integers in int64 as PyTorch does, so an int32 CumSum returned int64 (onnxruntime: int32).
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import helper, numpy_helper  # noqa: E402

import chainrule as cr  # noqa: E402


def _model(nodes, feeds, inits, opset=17):
    def info(k, v):
        return helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)

    graph = helper.make_graph(
        nodes,
        "g",
        [info(k, v) for k, v in feeds.items()],
        [info("y", next(iter(feeds.values())))],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("exclusive, reverse", [(0, 0), (1, 1)])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_cumsum_keeps_the_integer_dtype(dtype, exclusive, reverse):
    x = np.array([[2**30, 2**30, 5], [-3, 4, 1]], dtype)  # int32 wraps past 2**31, as ONNX's
    node = helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)
    model = _model([node], {"x": x}, {"axis": np.array(-1, np.int32)})
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"x": x})[0]
    got = cr.onnx.load(model)(cr.tensor(x)).numpy()
    assert got.dtype == want.dtype == dtype
    np.testing.assert_array_equal(got, want)
