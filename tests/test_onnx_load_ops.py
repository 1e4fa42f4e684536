"""chainrule.onnx.load against onnxruntime, one operator at a time: graphs built with
onnx.helper for each op and its attribute variants (opset-specific semantics included); the
differentiable ones also pass a float64 gradcheck through the loaded graph."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck
from chainrule.onnx import load

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

R = np.random.default_rng(0)
F, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
_TYPES = {np.dtype(np.float32): F, np.dtype(np.int64): I64, np.dtype(bool): BOOL}


def f32(*shape, low=None):
    x = R.standard_normal(shape).astype(np.float32)
    return np.abs(x) + low if low is not None else x


def i64(*values):
    if len(values) == 1 and isinstance(values[0], list):
        values = values[0]
    return np.asarray(values, dtype=np.int64)


def model_of(op_type, feeds, consts=(), attrs=None, opset=17, out_types=(F,), nodes=None):
    """A one-node model: ``feeds`` (name -> array) are graph inputs, ``consts`` (name -> array or
    None for an absent optional input) initializers, in the node's input order."""
    names = [*feeds, *dict(consts)]
    values = dict(consts)
    outs = [f"y{i}" for i in range(len(out_types))]
    node = helper.make_node(op_type, [n if values.get(n, 0) is not None else "" for n in names],
                            outs, **(attrs or {}))
    graph = helper.make_graph(
        nodes or [node], "g",
        [helper.make_tensor_value_info(n, _TYPES[a.dtype], a.shape) for n, a in feeds.items()],
        [helper.make_tensor_value_info(o, t, None) for o, t in zip(outs, out_types)],
        [numpy_helper.from_array(a, n) for n, a in values.items() if a is not None])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10 if opset >= 21 else 8
    return m


def run_ort(m, feeds):
    """onnxruntime's outputs; the graph's outputs are then declared with their shapes."""
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, feeds)
    for out, w in zip(m.graph.output, want):
        out.type.tensor_type.shape.SetInParent()
        for d in w.shape:
            out.type.tensor_type.shape.dim.add().dim_value = d
    return want


def check(op_type, feeds, consts=(), attrs=None, opset=17, out_types=(F,), grad=True, tol=1e-5):
    m = model_of(op_type, feeds, consts, attrs, opset, out_types)
    want = run_ort(m, feeds)
    loaded = load(m)
    got = loaded(**feeds)
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, want, strict=True):
        assert g.numpy().dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g.numpy(), w, rtol=tol, atol=tol)
    float_feeds = [n for n, a in feeds.items() if a.dtype.kind == "f"]
    if grad and float_feeds:
        loaded.double()
        xs = {n: cr.tensor(a.astype(np.float64), requires_grad=True) if n in float_feeds
              else cr.tensor(a) for n, a in feeds.items()}
        gradcheck(lambda *t: loaded(**dict(zip(xs, t))), tuple(xs.values()))
    return loaded


X4 = f32(2, 2, 7, 6)


CASES = {
    "gemm_trans_alpha_beta": ("Gemm", {"a": f32(4, 3), "b": f32(5, 4)}, {"c": f32(5)},
                              dict(transA=1, transB=1, alpha=0.5, beta=2.0)),
    "gemm_plain": ("Gemm", {"a": f32(3, 4)}, {"b": f32(4, 5)}, {}),
    "matmul_batched": ("MatMul", {"a": f32(2, 3, 4), "b": f32(4, 5)}, {}, {}),
    "matmul_vector": ("MatMul", {"a": f32(4), "b": f32(2, 4, 3)}, {}, {}),
    "add_broadcast": ("Add", {"a": f32(2, 3), "b": f32(3)}, {}, {}),
    "sub": ("Sub", {"a": f32(2, 3), "b": f32(2, 1)}, {}, {}),
    "mul": ("Mul", {"a": f32(2, 3), "b": f32(1, 3)}, {}, {}),
    "div": ("Div", {"a": f32(2, 3), "b": f32(2, 3, low=0.5)}, {}, {}),
    "pow_tensor": ("Pow", {"a": f32(2, 3, low=0.5), "b": f32(2, 3)}, {}, {}),
    "pow_int_exponent": ("Pow", {"a": f32(2, 3)}, {"b": i64(3)}, {}),
    **{u.lower(): (u, {"x": f32(3, 4, low=0.2 if u in ("Log", "Sqrt") else None)}, {}, {})
       for u in ("Neg", "Exp", "Log", "Sqrt", "Abs", "Reciprocal", "Erf", "Relu", "Sigmoid",
                 "Tanh", "Softplus", "Softsign", "HardSwish", "Selu", "Elu", "LeakyRelu",
                 "HardSigmoid", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Tan", "Atan")},
    "thresholded_relu": ("ThresholdedRelu", {"x": f32(3, 4)}, {}, dict(alpha=0.3)),
    "leaky_relu_alpha": ("LeakyRelu", {"x": f32(3, 4)}, {}, dict(alpha=0.3)),
    "elu_alpha": ("Elu", {"x": f32(3, 4)}, {}, dict(alpha=0.5)),
    "selu_attrs": ("Selu", {"x": f32(3, 4)}, {}, dict(alpha=1.5, gamma=1.2)),
    "hard_sigmoid_attrs": ("HardSigmoid", {"x": f32(3, 4)}, {}, dict(alpha=0.3, beta=0.4)),
    "prelu": ("PRelu", {"x": f32(2, 3, 4)}, {"s": f32(3, 1)}, {}),
    "softmax_axis1_3d": ("Softmax", {"x": f32(2, 3, 4)}, {}, dict(axis=1)),
    "log_softmax_default": ("LogSoftmax", {"x": f32(2, 3, 4)}, {}, {}),
    "conv_group_dilation_asym_pads": ("Conv", {"x": f32(2, 4, 9, 8)}, {"w": f32(6, 2, 3, 2),
                                      "b": f32(6)}, dict(group=2, dilations=[2, 1],
                                                         strides=[2, 1], pads=[1, 0, 2, 1])),
    "conv_same_upper": ("Conv", {"x": f32(1, 2, 7, 6)}, {"w": f32(3, 2, 4, 3)},
                        dict(auto_pad="SAME_UPPER", strides=[2, 2])),
    "conv_same_lower": ("Conv", {"x": f32(1, 2, 7, 6)}, {"w": f32(3, 2, 4, 3)},
                        dict(auto_pad="SAME_LOWER")),
    "conv_valid_1d": ("Conv", {"x": f32(2, 3, 10)}, {"w": f32(4, 3, 3)},
                      dict(auto_pad="VALID", strides=[3])),
    "conv_3d": ("Conv", {"x": f32(1, 2, 4, 5, 4)}, {"w": f32(2, 2, 2, 3, 2)}, dict(pads=[1] * 6)),
    "conv_transpose_output_padding": ("ConvTranspose", {"x": f32(2, 3, 4, 5)},
                                      {"w": f32(3, 2, 3, 3), "b": f32(2)},
                                      dict(strides=[2, 2], pads=[1, 1, 1, 1],
                                           output_padding=[1, 1])),
    "conv_transpose_asym_pads": ("ConvTranspose", {"x": f32(1, 2, 4, 4)}, {"w": f32(2, 3, 3, 2)},
                                 dict(strides=[2, 3], pads=[0, 1, 2, 0])),
    "conv_transpose_output_shape": ("ConvTranspose", {"x": f32(1, 2, 3, 3)},
                                    {"w": f32(2, 2, 3, 3)},
                                    dict(strides=[2, 2], output_shape=[8, 7])),
    "conv_transpose_group_dilation": ("ConvTranspose", {"x": f32(1, 4, 4, 4)},
                                      {"w": f32(4, 1, 2, 2), "b": f32(2)},
                                      dict(group=2, dilations=[2, 2], strides=[1, 2])),
    "conv_transpose_same_upper_1d": ("ConvTranspose", {"x": f32(2, 2, 5)}, {"w": f32(2, 3, 4)},
                                     dict(auto_pad="SAME_UPPER", strides=[2])),
    "maxpool_ceil_pads": ("MaxPool", {"x": X4}, {},
                          dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                               ceil_mode=1)),
    "maxpool_dilations": ("MaxPool", {"x": X4}, {}, dict(kernel_shape=[2, 2], dilations=[2, 2])),
    "maxpool_asym_pads": ("MaxPool", {"x": X4}, {},
                          dict(kernel_shape=[3, 2], strides=[2, 2], pads=[0, 1, 2, 0])),
    "maxpool_same_upper_ceil_1d": ("MaxPool", {"x": f32(2, 3, 9)}, {},
                                   dict(kernel_shape=[2], strides=[2], auto_pad="SAME_UPPER")),
    "maxpool_ceil_odd": ("MaxPool", {"x": X4}, {},
                         dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)),
    "avgpool_include_pad_ceil": ("AveragePool", {"x": X4}, {},
                                 dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                      ceil_mode=1, count_include_pad=1)),
    "avgpool_exclude_pad": ("AveragePool", {"x": X4}, {},
                            dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    "avgpool_asym_include": ("AveragePool", {"x": X4}, {},
                             dict(kernel_shape=[2, 3], strides=[2, 2], pads=[1, 0, 0, 2],
                                  count_include_pad=1)),
    "avgpool_asym_exclude_ceil": ("AveragePool", {"x": X4}, {},
                                  dict(kernel_shape=[2, 3], strides=[2, 2], pads=[1, 0, 0, 2],
                                       ceil_mode=1)),
    "avgpool_same_lower": ("AveragePool", {"x": X4}, {},
                           dict(kernel_shape=[3, 2], strides=[2, 2], auto_pad="SAME_LOWER")),
    "global_avg": ("GlobalAveragePool", {"x": X4}, {}, {}),
    "global_max": ("GlobalMaxPool", {"x": X4}, {}, {}),
    "batchnorm": ("BatchNormalization", {"x": X4}, {"s": f32(2), "b": f32(2), "m": f32(2),
                                                   "v": f32(2, low=0.5)}, dict(epsilon=1e-3)),
    "layernorm_axis1": ("LayerNormalization", {"x": f32(2, 3, 4)},
                        {"s": f32(3, 4), "b": f32(3, 4)}, dict(axis=1)),
    "layernorm_broadcast_scale": ("LayerNormalization", {"x": f32(2, 3, 4)}, {"s": f32(4)}, {}),
    "instancenorm": ("InstanceNormalization", {"x": X4}, {"s": f32(2), "b": f32(2)}, {}),
    "flatten_axis2": ("Flatten", {"x": X4}, {}, dict(axis=2)),
    "flatten_axis0": ("Flatten", {"x": X4}, {}, dict(axis=0)),
    "reshape_zero_minus_one": ("Reshape", {"x": X4}, {"s": i64(0, -1, 3)}, {}),
    "transpose_perm": ("Transpose", {"x": X4}, {}, dict(perm=[0, 2, 3, 1])),
    "transpose_default": ("Transpose", {"x": f32(2, 3, 4)}, {}, {}),
    "squeeze_input": ("Squeeze", {"x": f32(2, 1, 3, 1)}, {"a": i64(-1)}, {}),
    "squeeze_all": ("Squeeze", {"x": f32(2, 1, 3, 1)}, {}, {}),
    "unsqueeze_input": ("Unsqueeze", {"x": f32(2, 3)}, {"a": i64(0, -1)}, {}),
    "concat": ("Concat", {"a": f32(2, 3), "b": f32(2, 2)}, {}, dict(axis=-1)),
    "slice_negative_steps": ("Slice", {"x": f32(5, 6, 4)},
                             {"s": i64(-1, 100), "e": i64(-100, 1), "a": i64(0, 1),
                              "st": i64(-2, -3)}, {}),
    "slice_clamped": ("Slice", {"x": f32(5, 6)}, {"s": i64(1, -4), "e": i64(2**62, -1),
                                                   "a": i64(0, -1)}, {}),
    "gather_negative_2d": ("Gather", {"x": f32(3, 5, 2)}, {"i": i64([[0, -1], [2, 3]])},
                           dict(axis=1)),
    "gather_scalar": ("Gather", {"x": f32(4, 3)}, {"i": np.asarray(2, dtype=np.int64)}, {}),
    "gather_elements": ("GatherElements", {"x": f32(3, 4)}, {"i": i64([[0, 3], [-1, 1], [2, 2]])},
                        dict(axis=1)),
    "expand": ("Expand", {"x": f32(3, 1)}, {"s": i64(2, 1, 4)}, {}),
    "tile": ("Tile", {"x": f32(2, 3)}, {"r": i64(2, 3)}, {}),
    "clip_min_max": ("Clip", {"x": f32(3, 4)}, {"lo": np.float32(-0.5), "hi": np.float32(0.7)},
                     {}),
    "clip_max_only": ("Clip", {"x": f32(3, 4)}, {"lo": None, "hi": np.float32(0.3)}, {}),
    "reduce_sum_input_axes": ("ReduceSum", {"x": X4}, {"a": i64(1, -1)}, {}),
    "reduce_sum_all_keep0": ("ReduceSum", {"x": X4}, {}, dict(keepdims=0)),
    "reduce_sum_noop": ("ReduceSum", {"x": X4}, {}, dict(noop_with_empty_axes=1)),
    "reduce_mean_attr_axes": ("ReduceMean", {"x": X4}, {}, dict(axes=[2, 3])),
    "reduce_max": ("ReduceMax", {"x": X4}, {}, dict(axes=[1], keepdims=0)),
    "reduce_min": ("ReduceMin", {"x": X4}, {}, dict(axes=[0, 2])),
    "reduce_prod": ("ReduceProd", {"x": f32(2, 3, 4)}, {}, dict(axes=[0, 2])),
    "reduce_l2": ("ReduceL2", {"x": f32(2, 3, 4)}, {}, dict(axes=[1])),
    "reduce_logsumexp": ("ReduceLogSumExp", {"x": f32(2, 3, 4)}, {}, dict(axes=[2])),
    "where": ("Where", {"c": R.standard_normal((2, 3)) > 0, "a": f32(2, 3), "b": f32(3)}, {}, {}),
    "pad_constant": ("Pad", {"x": f32(2, 3, 4)}, {"p": i64(0, 1, 2, 0, 2, 1),
                                                   "v": np.float32(1.5)}, {}),
    "pad_reflect": ("Pad", {"x": f32(2, 3, 4)}, {"p": i64(0, 2, 1, 0, 1, 3)},
                    dict(mode="reflect")),
    "pad_edge_negative": ("Pad", {"x": f32(2, 3, 4)}, {"p": i64(0, -1, 2, 0, 2, -1)},
                          dict(mode="edge")),
    "einsum": ("Einsum", {"a": f32(2, 3, 4), "b": f32(2, 4, 5)}, {},
               dict(equation="bij,bjk->bik")),
    "cumsum_exclusive_reverse": ("CumSum", {"x": f32(3, 4)}, {"a": np.asarray(1, np.int64)},
                                 dict(exclusive=1, reverse=1)),
    "dropout_eval": ("Dropout", {"x": f32(3, 4)}, {}, {}),
    "mean_variadic": ("Mean", {"a": f32(2, 3), "b": f32(3), "c": f32(2, 1)}, {}, {}),
    "max_variadic": ("Max", {"a": f32(2, 3), "b": f32(3)}, {}, {}),
    "min_variadic": ("Min", {"a": f32(2, 3), "b": f32(3)}, {}, {}),
    "sum_variadic": ("Sum", {"a": f32(2, 3), "b": f32(3), "c": f32(2, 3)}, {}, {}),
    "reduce_sum_square": ("ReduceSumSquare", {"x": f32(2, 3, 4)}, {}, dict(axes=[0, 2])),
    "reduce_l1": ("ReduceL1", {"x": f32(2, 3, 4)}, {}, dict(axes=[1], keepdims=0)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_op_matches_onnxruntime_and_gradcheck(case):
    op_type, feeds, consts, attrs = CASES[case]
    check(op_type, feeds, consts, attrs)


OPSET_CASES = {
    # Before opset 13 Softmax sees (prod(shape[:axis]), prod(shape[axis:])); from 13, one axis
    "softmax_11_coerced": (11, "Softmax", {"x": f32(2, 3, 4)}, {}, dict(axis=1)),
    "softmax_11_default": (11, "Softmax", {"x": f32(2, 3, 4)}, {}, {}),
    "log_softmax_12_coerced": (12, "LogSoftmax", {"x": f32(2, 3, 4)}, {}, dict(axis=-2)),
    "softmax_13": (13, "Softmax", {"x": f32(2, 3, 4)}, {}, dict(axis=1)),
    "squeeze_11_attr": (11, "Squeeze", {"x": f32(2, 1, 3, 1)}, {}, dict(axes=[1])),
    "unsqueeze_11_attr": (11, "Unsqueeze", {"x": f32(2, 3)}, {}, dict(axes=[1, -1])),
    "reduce_sum_11_attr": (11, "ReduceSum", {"x": X4}, {}, dict(axes=[1, 2], keepdims=0)),
    "reduce_mean_18_input": (18, "ReduceMean", {"x": X4}, {"a": i64(-1)}, {}),
    "reduce_max_18_input": (18, "ReduceMax", {"x": X4}, {"a": i64(1, 2)}, dict(keepdims=0)),
    "clip_11_inputs": (11, "Clip", {"x": f32(3, 4)}, {"lo": np.float32(-0.2)}, {}),
    "pad_11": (11, "Pad", {"x": f32(2, 3)}, {"p": i64(1, 0, 0, 2)}, dict(mode="edge")),
    "pad_18_axes": (18, "Pad", {"x": f32(2, 3, 4)}, {"p": i64(1, 2, 0, 3), "v": None,
                                                    "a": i64(2, 0)}, {}),
    "pad_19_wrap": (19, "Pad", {"x": f32(2, 3, 4)}, {"p": i64(0, 1, 2, 0, 2, 1)},
                    dict(mode="wrap")),
    "gelu_20": (20, "Gelu", {"x": f32(3, 4)}, {}, {}),
    "gelu_20_tanh": (20, "Gelu", {"x": f32(3, 4)}, {}, dict(approximate="tanh")),
    "shape_15_start_end": (15, "Shape", {"x": X4}, {}, dict(start=1, end=-1)),
    "mish_18": (18, "Mish", {"x": f32(3, 4)}, {}, {}),
    "trilu_14_lower": (14, "Trilu", {"x": f32(2, 3, 4)}, {"k": np.asarray(1, np.int64)},
                       dict(upper=0)),
    "trilu_14_upper": (14, "Trilu", {"x": f32(3, 4)}, {"k": np.asarray(-1, np.int64)}, {}),
    "celu_12": (12, "Celu", {"x": f32(3, 4)}, {}, dict(alpha=0.7)),
    "avgpool_19_dilation_1": (19, "AveragePool", {"x": X4}, {}, dict(kernel_shape=[2, 2])),
    "resize_11_roi_nearest_floor_asymmetric": (
        11, "Resize", {"x": f32(1, 2, 3, 4)},
        {"roi": np.zeros(0, np.float32), "sc": np.asarray([1, 1, 2, 1.5], np.float32)},
        dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")),
    "resize_13_nearest_half_pixel": (
        13, "Resize", {"x": f32(1, 2, 3, 4)},
        {"roi": None, "sc": np.asarray([1, 1, 2.5, 0.75], np.float32)}, {}),
    "resize_13_linear_pytorch_half_pixel": (
        13, "Resize", {"x": f32(1, 2, 3, 4)}, {"roi": None, "sc": np.asarray([1, 1, 2, 2],
                                                                             np.float32)},
        dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel")),
    "resize_13_linear_align_corners_sizes": (
        13, "Resize", {"x": f32(1, 2, 3, 4)}, {"roi": None, "sc": None, "sz": i64(1, 2, 5, 7)},
        dict(mode="linear", coordinate_transformation_mode="align_corners")),
    "resize_13_linear_half_pixel_down": (
        13, "Resize", {"x": f32(1, 2, 6, 8)}, {"roi": None, "sc": np.asarray([1, 1, 0.5, 0.75],
                                                                             np.float32)},
        dict(mode="linear")),
    "resize_18_axes_round_prefer_ceil": (
        18, "Resize", {"x": f32(1, 2, 3, 4)}, {"roi": None, "sc": np.asarray([2.5, 1.5],
                                                                             np.float32)},
        dict(axes=[2, 3], nearest_mode="round_prefer_ceil",
             coordinate_transformation_mode="half_pixel_symmetric")),
    "resize_19_tf_half_pixel_for_nn": (
        19, "Resize", {"x": f32(1, 1, 3, 4)}, {"roi": None, "sc": np.asarray([1, 1, 1.7, 2.2],
                                                                             np.float32)},
        dict(coordinate_transformation_mode="tf_half_pixel_for_nn", nearest_mode="ceil")),
}


@pytest.mark.parametrize("case", list(OPSET_CASES))
def test_opset_variants_match_onnxruntime(case):
    opset, op_type, feeds, consts, attrs = OPSET_CASES[case]
    if op_type == "Shape":
        check(op_type, feeds, consts, attrs, opset=opset, out_types=(I64,))
    else:
        check(op_type, feeds, consts, attrs, opset=opset)


def test_split_variants():
    x = f32(2, 7)
    check("Split", {"x": x}, {"s": i64(3, 4)}, dict(axis=1), opset=13, out_types=(F, F))
    check("Split", {"x": x}, {}, dict(axis=1, num_outputs=3), opset=18, out_types=(F, F, F))
    check("Split", {"x": f32(4, 3)}, {}, {}, opset=13, out_types=(F, F))
    check("Split", {"x": x}, {}, dict(axis=1, split=[2, 5]), opset=11, out_types=(F, F))


INT_CASES = {
    "div_truncates": ("Div", {"a": i64(7, -7, 7, -7, 6), "b": i64(2, 2, -2, -2, 3)}, {}, {}, I64),
    "mod": ("Mod", {"a": i64(7, -7, 7, -7), "b": i64(3, 3, -3, -3)}, {}, {}, I64),
    "equal": ("Equal", {"a": i64(1, 2, 3), "b": i64(1, 0, 3)}, {}, {}, BOOL),
    "less": ("Less", {"a": f32(5), "b": f32(5)}, {}, {}, BOOL),
    "greater": ("Greater", {"a": f32(5), "b": f32(1)}, {}, {}, BOOL),
    "not": ("Not", {"a": R.standard_normal(5) > 0}, {}, {}, BOOL),
    "less_or_equal": ("LessOrEqual", {"a": i64(1, 2, 3), "b": i64(2, 2, 2)}, {}, {}, BOOL),
    "greater_or_equal": ("GreaterOrEqual", {"a": i64(1, 2, 3), "b": i64(2, 2, 2)}, {}, {}, BOOL),
    "and": ("And", {"a": R.standard_normal(6) > 0, "b": R.standard_normal(6) > 0}, {}, {}, BOOL),
    "or": ("Or", {"a": R.standard_normal(6) > 0, "b": R.standard_normal(6) > 0}, {}, {}, BOOL),
    "xor": ("Xor", {"a": R.standard_normal(6) > 0, "b": R.standard_normal(6) > 0}, {}, {}, BOOL),
    "isnan": ("IsNaN", {"x": np.asarray([1.0, np.nan, -np.inf], np.float32)}, {}, {}, BOOL),
    "cast_like": ("CastLike", {"x": f32(3) * 4}, {"like": i64(0)}, {}, I64),
    "argmax_last_index": ("ArgMax", {"x": np.asarray([[1, 3, 3], [2, 2, 0]], np.float32)}, {},
                          dict(axis=1, select_last_index=1, keepdims=0), I64),
    "argmin": ("ArgMin", {"x": f32(3, 4)}, {}, dict(axis=0), I64),
    "cast_to_int": ("Cast", {"x": f32(3, 4) * 3}, {}, dict(to=I64), I64),
    "size": ("Size", {"x": X4}, {}, {}, I64),
    "shape": ("Shape", {"x": X4}, {}, {}, I64),
    "constant_of_shape": ("ConstantOfShape", {"s": i64(2, 3)}, {},
                          dict(value=numpy_helper.from_array(i64(4))), I64),
    "range": ("Range", {}, {"a": np.asarray(2, np.int64), "b": np.asarray(11, np.int64),
                            "c": np.asarray(3, np.int64)}, {}, I64),
    "clip_int": ("Clip", {"x": i64(-5, 0, 5)}, {"lo": np.asarray(-2, np.int64),
                                                 "hi": np.asarray(3, np.int64)}, {}, I64),
    "reduce_sum_int": ("ReduceSum", {"x": i64([1, 2], [3, 4])}, {"a": i64(0)}, {}, I64),
    "gather_int": ("Gather", {"x": i64(5, 6, 7)}, {"i": i64(-1, 0)}, {}, I64),
    "concat_int": ("Concat", {"a": i64(1, 2), "b": i64(3)}, {}, dict(axis=0), I64),
}


@pytest.mark.parametrize("case", list(INT_CASES))
def test_integer_and_boolean_ops_match_onnxruntime(case):
    op_type, feeds, consts, attrs, out = INT_CASES[case]
    check(op_type, feeds, consts, attrs, out_types=(out,))


def test_float_range_and_constant_of_shape_take_the_model_dtype():
    consts = {"a": np.asarray(0.5, np.float32), "b": np.asarray(2.0, np.float32),
              "c": np.asarray(0.25, np.float32)}
    check("Range", {}, consts, {})
    check("ConstantOfShape", {"s": i64(2, 3)}, {}, {})


def _rnn_model(kind, direction, n_dirs, hidden=3, layout=0, **attrs):
    """A one-node LSTM/GRU/RNN model, its input and initializers (from a fixed seed)."""
    r = np.random.default_rng(1)
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]

    def rand(*shape):
        return r.standard_normal(shape).astype(np.float32) * 0.5

    x = rand(3, 2, 4)
    h0 = rand(n_dirs, 2, hidden)
    consts = {"w": rand(n_dirs, gates * hidden, 4), "r": rand(n_dirs, gates * hidden, hidden),
              "b": rand(n_dirs, 2 * gates * hidden), "lens": None,
              "h0": np.transpose(h0, (1, 0, 2)).copy() if layout else h0}
    if kind == "LSTM":
        consts["c0"] = rand(n_dirs, 2, hidden)
        consts["p"] = rand(n_dirs, 3 * hidden)
        if layout:
            consts["c0"] = np.transpose(consts["c0"], (1, 0, 2)).copy()
    feeds = {"x": np.transpose(x, (1, 0, 2)).copy() if layout else x}
    attrs = dict(hidden_size=hidden, direction=direction, layout=layout, **attrs)
    return feeds, consts, attrs, (F, F, F) if kind == "LSTM" else (F, F)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_ops_match_onnxruntime(kind):
    extra = {"linear_before_reset": 1} if kind == "GRU" else {}
    for direction, n_dirs in (("forward", 1), ("reverse", 1), ("bidirectional", 2)):
        feeds, consts, attrs, outs = _rnn_model(kind, direction, n_dirs, **extra)
        check(kind, feeds, consts, attrs, opset=14, out_types=outs, grad=n_dirs == 2)
    if kind == "GRU":
        feeds, consts, attrs, outs = _rnn_model(kind, "forward", 1)
        check(kind, feeds, consts, attrs, opset=14, out_types=outs, grad=False)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_batch_first_layout_is_the_transposed_computation(kind):
    # (onnxruntime does not run layout=1: the oracle is layout=0 on the transposed input)
    def loaded(layout):
        feeds, consts, attrs, outs = _rnn_model(kind, "bidirectional", 2, layout=layout)
        m = model_of(kind, feeds, consts, attrs, opset=14, out_types=outs)
        for out, rank in zip(m.graph.output, (4, 3, 3)):  # dynamic axes of the right ranks
            for i in range(rank):
                out.type.tensor_type.shape.dim.add().dim_param = f"d{i}"
        return load(m), feeds

    seq_first, _ = loaded(0)
    batch_first, feeds = loaded(1)
    want = seq_first(np.transpose(feeds["x"], (1, 0, 2)))
    got = batch_first(feeds["x"])
    np.testing.assert_allclose(got[0].numpy(), np.transpose(want[0].numpy(), (2, 0, 1, 3)),
                               rtol=1e-6, atol=1e-6)
    for g, w in zip(got[1:], want[1:]):
        np.testing.assert_allclose(g.numpy(), np.transpose(w.numpy(), (1, 0, 2)), rtol=1e-6,
                                   atol=1e-6)


def test_where_broadcasts_the_condition_beyond_both_values():
    # PyTorch's masked_fill exports as Where(mask, constant, x) with the mask the largest
    check("Where", {"c": R.standard_normal((2, 3)) > 0, "b": f32(3)},
          {"a": np.float32(-1.5)}, {})


SECOND_ORDER = ["conv_group_dilation_asym_pads", "conv_transpose_asym_pads",
                "avgpool_asym_exclude_ceil", "maxpool_asym_pads", "layernorm_broadcast_scale",
                "softmax_axis1_3d", "gemm_trans_alpha_beta", "selu_attrs", "softplus"]


@pytest.mark.parametrize("case", SECOND_ORDER)
def test_second_derivatives_through_loaded_graphs(case):
    op_type, feeds, consts, attrs = CASES[case]
    m = model_of(op_type, feeds, consts, attrs)
    run_ort(m, feeds)
    loaded = load(m).double()
    xs = [cr.tensor(a.astype(np.float64), requires_grad=True) for a in feeds.values()]
    assert gradgradcheck(lambda *t: loaded(*t), tuple(xs))
