"""Fuzz wave 14, ONNX loading: random one-op graphs written with onnx.helper (opsets 13 to 20,
attributes at non-default values, broadcasting, float16 and int32/int64 initializers) loaded by
chainrule.onnx.load and compared with onnxruntime; where onnxruntime departs from the ONNX
specification (pooling's SAME padding with dilations, a ConvTranspose's SAME padding with a
kernel of one) ONNX's reference implementation decides. Malformed files raise OnnxLoadError."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.onnx import OnnxLoadError, load

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

F = TensorProto.FLOAT
X_SHAPE = (2, 3, 4, 5)


def _init(array, name):
    return numpy_helper.from_array(np.asarray(array), name)


def _i64(values, name):
    return _init(np.asarray(values, np.int64), name)


def model_of(nodes, inits, opset, out_shape=None):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, ["N", *X_SHAPE[1:]])],
                          [helper.make_tensor_value_info("y", F, out_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _outcome(m, x):
    """onnxruntime's output (the graph's output then declared with its shape), or None where
    onnxruntime refuses the graph."""
    try:
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        want = sess.run(None, {"x": x})[0]
    except Exception:  # noqa: BLE001 - an invalid random case (onnxruntime's own errors)
        return None
    out = m.graph.output[0].type.tensor_type.shape
    out.SetInParent()
    for d in want.shape:
        out.dim.add().dim_value = d
    return want


def _close(got, want):
    if got.shape != want.shape or got.dtype != want.dtype:
        return False
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    return np.allclose(got, want, rtol=1e-4, atol=1e-4 * scale, equal_nan=True)


def check(m, x):
    want = _outcome(m, x)
    if want is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = load(m)(cr.tensor(x)).numpy()
    if _close(got, want):
        return
    from onnx.reference import ReferenceEvaluator  # onnxruntime departs from the spec?
    ref = ReferenceEvaluator(m).run(None, {"x": x})[0]
    assert _close(got, ref), f"chainrule {got.shape}, onnxruntime {want.shape}, ONNX's " \
        f"reference {ref.shape}: {[n.op_type for n in m.graph.node]}"


def _layer(r, opset):
    k, s, d, g = (int(r.integers(1, 4)), int(r.integers(1, 3)), int(r.integers(1, 3)),
                  int(r.choice([1, 3])))
    kw = {"strides": [s, s], "dilations": [d, d]}
    mode = int(r.integers(3))
    if mode == 0:
        kw["pads"] = [int(v) for v in r.integers(0, 2, 4)]
    elif mode == 1:
        kw["auto_pad"] = str(r.choice(["SAME_UPPER", "SAME_LOWER", "VALID"]))
    kind = int(r.integers(4))
    if kind == 0:
        w = r.standard_normal((6, 3 // g, k, k)).astype(np.float32)
        return [helper.make_node("Conv", ["x", "W", "b"], ["y"], group=g, **kw)], [
            _init(w, "W"), _init(r.standard_normal(6).astype(np.float32), "b")]
    if kind == 1:
        w = r.standard_normal((3, 6 // g, k, k)).astype(np.float32)
        if mode == 2 and r.integers(2):
            kw["output_padding"] = [int(v) for v in r.integers(0, s, 2)]
        elif mode == 2:
            kw["output_shape"] = [int(v) for v in 3 * s + (k - 1) * d + 1 + r.integers(0, s, 2)]
        return [helper.make_node("ConvTranspose", ["x", "W"], ["y"], group=g, **kw)], [
            _init(w, "W")]
    kw["kernel_shape"] = [k, k]
    if r.integers(2):
        kw["ceil_mode"] = 1
    if kind == 2:
        return [helper.make_node("MaxPool", ["x"], ["y"], **kw)], []
    kw.pop("dilations")
    if "pads" in kw:
        kw["pads"] = [min(p, k // 2) for p in kw["pads"]]
    return [helper.make_node("AveragePool", ["x"], ["y"], count_include_pad=int(r.integers(2)),
                             **kw)], []


def _norm_or_activation(r, opset):
    k = int(r.integers(5))
    eps = float(r.uniform(1e-5, 0.1))
    if k == 0:
        stats = [r.standard_normal(3).astype(np.float32) for _ in range(4)]
        stats[3] = np.abs(stats[3]) + 0.5
        return [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"],
                                 epsilon=eps, momentum=0.7)], [
            _init(a, n) for a, n in zip(stats, "sbmv")]
    if k == 1:
        return [helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], epsilon=eps)], [
            _init(r.standard_normal(3).astype(np.float32), n) for n in "sb"]
    if k == 2 and opset >= 17:
        axis = int(r.integers(-3, 4))
        shape = X_SHAPE[axis:]
        return [helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=axis,
                                 epsilon=eps)], [
            _init(r.standard_normal(shape).astype(np.float32), n) for n in "sb"]
    u = lambda lo, hi: float(r.uniform(lo, hi))  # noqa: E731
    acts = [("Elu", {"alpha": u(0.1, 2)}), ("Celu", {"alpha": u(0.1, 2)}),
            ("Selu", {"alpha": u(0.5, 2), "gamma": u(0.5, 2)}), ("LeakyRelu", {"alpha": u(-1, 1)}),
            ("HardSigmoid", {"alpha": u(0.1, 0.5), "beta": u(0.2, 0.8)}),
            ("ThresholdedRelu", {"alpha": u(-1, 1)}), ("Softplus", {}), ("Softsign", {}),
            ("HardSwish", {}), ("Mish", {}), ("Softmax", {"axis": int(r.integers(-4, 4))}),
            ("LogSoftmax", {"axis": int(r.integers(-4, 4))}),
            ("Hardmax", {"axis": int(r.integers(-4, 4))})]
    if opset >= 20:
        acts.append(("Gelu", {"approximate": str(r.choice(["none", "tanh"]))}))
    name, kw = acts[int(r.integers(len(acts)))]
    return [helper.make_node(name, ["x"], ["y"], **kw)], []


def _broadcast(r, opset):
    shape = [n if r.integers(2) else 1 for n in X_SHAPE][int(r.integers(0, 4)):]
    b = r.standard_normal(shape).astype(np.float16 if r.integers(2) else np.float32)
    op_type = str(r.choice(["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum",
                            "PRelu"]))
    nodes, x = [], "x"
    if b.dtype == np.float16:  # a float16 initializer, widened by a Cast
        nodes.append(helper.make_node("Cast", ["B16"], ["B"], to=F))
    if op_type == "Pow":
        nodes.append(helper.make_node("Abs", ["x"], ["xa"]))
        x = "xa"
    nodes.append(helper.make_node(op_type, [x, "B"], ["y"]))
    return nodes, [_init(b, "B16" if b.dtype == np.float16 else "B")]


def _shape_op(r, opset):
    k = int(r.integers(6))
    if k == 0:
        return [helper.make_node("Transpose", ["x"], ["y"],
                                 perm=[int(v) for v in r.permutation(4)])], []
    if k == 1:
        targets = [[0, -1], [2, 0, 20], [-1, 5], [0, 3, 0, 5]]
        return [helper.make_node("Reshape", ["x", "s"], ["y"])], [
            _i64(targets[int(r.integers(len(targets)))], "s")]
    if k == 2:
        settings = ([int(r.integers(-5, 5)) for _ in range(2)],
                    [int(r.choice([-1, 100, 3, -100, 2])) for _ in range(2)],
                    [int(v) for v in r.choice(4, 2, replace=False)],
                    [int(r.choice([1, 2, -1, -2])) for _ in range(2)])
        return [helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])], [
            _i64(v, n) for v, n in zip(settings, ("st", "en", "ax", "sp"))]
    if k == 3:
        index = r.integers(-4, 4, (2, 3)).astype(np.int64 if r.integers(2) else np.int32)
        return [helper.make_node("Gather", ["x", "i"], ["y"], axis=int(r.choice([2, -2, 3])))], [
            _init(index, "i")]
    if k == 4:
        return [helper.make_node("Tile", ["x", "rp"], ["y"])], [_i64(r.integers(1, 3, 4), "rp")]
    return [helper.make_node("Flatten", ["x"], ["y"], axis=int(r.integers(-4, 5)))], []


_REDUCE = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
           "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare"]


def _reduction(r, opset):
    op_type = str(r.choice(_REDUCE + ["ArgMax", "ArgMin"]))
    keep = int(r.integers(2))
    axes = sorted({int(v) for v in r.integers(-4, 4, int(r.integers(1, 3)))})
    if op_type.startswith("Arg"):
        return [helper.make_node(op_type, ["x"], ["i"], axis=axes[0], keepdims=keep,
                                 select_last_index=int(r.integers(2))),
                helper.make_node("Cast", ["i"], ["y"], to=F)], []
    if op_type == "ReduceSum" or opset >= 18:
        if r.integers(3):
            return [helper.make_node(op_type, ["x", "ax"], ["y"], keepdims=keep)], [
                _i64(axes, "ax")]
        return [helper.make_node(op_type, ["x"], ["y"], keepdims=keep,
                                 noop_with_empty_axes=int(r.integers(2)))], []
    return [helper.make_node(op_type, ["x"], ["y"], axes=axes, keepdims=keep)], []


def _other(r, opset):
    k = int(r.integers(5))
    if k == 0:
        low, high = sorted(r.standard_normal(2).astype(np.float32))
        return [helper.make_node("Clip", ["x", "lo" if r.integers(2) else "", "hi"], ["y"])], [
            _init(low, "lo"), _init(high, "hi")]
    if k == 1:
        return [helper.make_node("CumSum", ["x", "a"], ["y"], exclusive=int(r.integers(2)),
                                 reverse=int(r.integers(2)))], [_i64(int(r.integers(-4, 4)), "a")]
    if k == 2:
        mode = str(r.choice(["constant", "reflect", "edge", "wrap"]))
        return [helper.make_node("Pad", ["x", "p", "v"], ["y"], mode=mode)], [
            _i64(r.integers(0, 2, 8), "p"), _init(np.float32(0.5), "v")]
    if k == 3 and opset >= 14:
        return [helper.make_node("Trilu", ["x", "k"], ["y"], upper=int(r.integers(2)))], [
            _i64(int(r.integers(-2, 3)), "k")]
    equation = str(r.choice(["abcd,abed->abce", "abcd,abcd->ab", "...d,...d->..."]))
    return [helper.make_node("Einsum", ["x", "x"], ["y"], equation=equation)], []


BUILDERS = [_layer, _norm_or_activation, _broadcast, _shape_op, _reduction, _other]


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__.strip("_"))
def test_random_graphs_load_as_onnxruntime_runs_them(builder):
    r = np.random.default_rng(sorted(b.__name__ for b in BUILDERS).index(builder.__name__))
    for _ in range(40):
        opset = int(r.choice([13, 14, 15, 16, 17, 18, 19, 20]))
        nodes, inits = builder(r, opset)
        check(model_of(nodes, inits, opset), r.standard_normal(X_SHAPE).astype(np.float32))


# -- regressions ------------------------------------------------------------------------------

@pytest.mark.parametrize("op_type", _REDUCE)
def test_a_reduction_over_no_axes_keeps_its_elementwise_part(op_type):
    """noop_with_empty_axes=1 without axes returned x itself; onnxruntime and ONNX's reference
    give the reduction's elementwise part (|x| for ReduceL1/ReduceL2, x**2 for ReduceSumSquare)."""
    x = np.random.default_rng(5).standard_normal(X_SHAPE).astype(np.float32)
    m = model_of([helper.make_node(op_type, ["x"], ["y"], noop_with_empty_axes=1)], [], 18)
    want = _outcome(m, x)
    np.testing.assert_allclose(load(m)(cr.tensor(x)).numpy(), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("opset,axis", [(13, -1), (13, 1), (11, 1), (11, -2)])
def test_hardmax(opset, axis):
    """Hardmax was refused (no evaluator); a one-hot of the first maximum, ties included."""
    x = np.random.default_rng(6).integers(0, 3, X_SHAPE).astype(np.float32)  # many ties
    m = model_of([helper.make_node("Hardmax", ["x"], ["y"], axis=axis)], [], opset)
    want = _outcome(m, x)
    np.testing.assert_array_equal(load(m)(cr.tensor(x)).numpy(), want)


@pytest.mark.parametrize("op_type", ["MaxPool", "AveragePool"])
def test_a_window_larger_than_the_padded_input_gives_an_empty_output(op_type):
    """It raised chainrule's pooling error; ONNX's output size is 0 there (onnxruntime's too):
    the window (5 elements along axis 2) is one longer than the input (4)."""
    x = np.ones(X_SHAPE, np.float32)
    kw = {"dilations": [2, 1]} if op_type == "MaxPool" else {}
    m = model_of([helper.make_node(op_type, ["x"], ["y"], kernel_shape=[3 if kw else 5, 3],
                                   auto_pad="VALID", **kw)], [], 18)
    want = _outcome(m, x)
    assert want.shape == (2, 3, 0, 3)
    assert load(m)(cr.tensor(x)).shape == want.shape


def _relu_model():
    return model_of([helper.make_node("Relu", ["x"], ["y"])], [], 17, X_SHAPE)


@pytest.mark.parametrize("mangle,match", [
    (lambda b: b[: len(b) // 2], "corrupt or truncated"),
    (lambda b: bytes(range(256)) * 2, "corrupt or truncated"),
    (lambda b: b"", "not a valid ONNX model"),
])
def test_malformed_bytes_raise_onnx_load_error(mangle, match):
    with pytest.raises(OnnxLoadError, match=match):
        load(mangle(_relu_model().SerializeToString()))


def test_invalid_graphs_raise_onnx_load_error_naming_the_problem():
    undefined = model_of([helper.make_node("Add", ["x", "z"], ["y"])], [], 17, X_SHAPE)
    with pytest.raises(OnnxLoadError, match="'z'"):
        load(undefined)
    short = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    short.raw_data = short.raw_data[:-4]
    with pytest.raises(OnnxLoadError, match="raw_data size"):
        load(model_of([helper.make_node("Add", ["x", "w"], ["y"])], [short], 17, X_SHAPE))
    custom = model_of([helper.make_node("Foo", ["x"], ["y"], domain="com.acme")], [], 17, X_SHAPE)
    custom.opset_import.append(helper.make_opsetid("com.acme", 1))
    with pytest.raises(OnnxLoadError, match="com.acme:Foo"):
        load(custom)
    with pytest.raises(OnnxLoadError, match="opset 23"):
        load(model_of([helper.make_node("Relu", ["x"], ["y"])], [], 23, X_SHAPE))


@pytest.mark.parametrize("shape", [(2, 3, 1), (2, 3, 1, 1)])
def test_instance_normalization_of_one_spatial_element(shape):
    """It called chainrule's instance_norm, which refuses one spatial element as PyTorch's
    F.instance_norm does; ONNX's normalized value is 0 there (the output is the bias), and
    PyTorch's exporter writes GroupNorm as InstanceNormalization on (N, groups, -1), so a
    GroupNorm over one value per group failed to run after loading."""
    n = helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], epsilon=0.01)
    g = helper.make_graph([n], "g", [helper.make_tensor_value_info("x", F, shape)],
                          [helper.make_tensor_value_info("y", F, shape)],
                          [_init(np.float32([1, 2, 3]), "s"), _init(np.float32([0.5, -1, 2]), "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    loaded = load(m)
    xc = cr.tensor(x, requires_grad=True)
    y = loaded(xc)
    np.testing.assert_array_equal(y.numpy(), sess.run(None, {"x": x})[0])
    y.sum().backward()
    np.testing.assert_array_equal(xc.grad.numpy(), np.zeros(shape, np.float32))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pytorch_rnn_with_relu_loads(bidirectional, batch_first):
    """PyTorch's nn.RNN(nonlinearity="relu") exports RNN nodes with activations=["Relu"...],
    which the loader refused (default activations only)."""
    import io

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    rnn = torch.nn.RNN(4, 3, num_layers=2, nonlinearity="relu", batch_first=batch_first,
                       bidirectional=bidirectional).double()
    model = torch.nn.Sequential(rnn)
    f = io.BytesIO()
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), f, dynamo=False, opset_version=17, input_names=["x"],
                          dynamic_axes={"x": {0: "a", 1: "b"}})
    loaded = load(f.getvalue())
    for shape in ((2, 5, 4), (3, 2, 4)):
        xt = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
        xc = cr.tensor(xt.detach().numpy(), requires_grad=True)
        want, got = model(xt)[0], loaded(xc)[0]
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-10)
        want.sum().backward()
        got.sum().backward()
        np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_rnn_activations_the_loader_cannot_evaluate_are_listed():
    w, r = np.ones((1, 3, 4), np.float32), np.ones((1, 3, 3), np.float32)
    n = helper.make_node("RNN", ["x", "W", "R"], ["y"], hidden_size=3, activations=["Affine"],
                         activation_alpha=[0.5], activation_beta=[0.1])
    g = helper.make_graph([n], "g", [helper.make_tensor_value_info("x", F, [2, 1, 4])],
                          [helper.make_tensor_value_info("y", F, [2, 1, 1, 3])],
                          [_init(w, "W"), _init(r, "R")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    with pytest.raises(OnnxLoadError, match=r"RNN activations=\['Affine'\]"):
        load(m)


@pytest.mark.parametrize("axis,largest,k", [(-1, 1, 3), (1, 0, 2), (0, 1, 2), (3, 0, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_top_k(axis, largest, k, dtype):
    """TopK was refused (no evaluator); values and indices, ties in index order."""
    x = np.random.default_rng(12).integers(0, 4, X_SHAPE).astype(dtype)  # many ties
    elem = F if dtype == np.float32 else TensorProto.INT64
    n = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=axis, largest=largest)
    g = helper.make_graph([n], "g", [helper.make_tensor_value_info("x", elem, X_SHAPE)],
                          [helper.make_tensor_value_info("v", elem, None),
                           helper.make_tensor_value_info("i", TensorProto.INT64, None)],
                          [_i64([k], "k")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    want = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})
    for out, w in zip(m.graph.output, want):
        out.type.tensor_type.shape.SetInParent()
        for d in w.shape:
            out.type.tensor_type.shape.dim.add().dim_value = d
    got = load(m)(cr.tensor(x))
    for c, w in zip(got, want):
        assert c.numpy().dtype == w.dtype
        np.testing.assert_array_equal(c.numpy(), w)
