"""chainrule.onnx.load: reading files (paths, bytes, file objects, external data), refusing
corrupt or unsupported ones clearly, parameter names, modes and dtypes of the loaded Module."""

import copy
import io
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck
from chainrule.onnx import OnnxLoadError, OnnxModule, load

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

F = TensorProto.FLOAT
R = np.random.default_rng(0)


def mlp_model(opset=13, names=("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"),
              batch="batch"):
    """x (batch, 4) -> Gemm -> Tanh -> Gemm (transB) -> Softmax: a model by hand."""
    w1, b1, w2, b2 = names
    nodes = [helper.make_node("Gemm", ["x", w1, b1], ["h"], transB=1),
             helper.make_node("Tanh", ["h"], ["t"]),
             helper.make_node("Gemm", ["t", w2, b2], ["z"], transB=1),
             helper.make_node("Softmax", ["z"], ["y"], axis=1)]
    inits = [numpy_helper.from_array(R.standard_normal(s).astype(np.float32), n)
             for n, s in zip(names, [(8, 4), (8,), (3, 8), (3,)])]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", F, [batch, 4])],
                              [helper.make_tensor_value_info("y", F, [batch, 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_paths_bytes_file_objects_and_protos_load_the_same(tmp_path):
    model = mlp_model()
    path = tmp_path / "mlp.onnx"
    onnx.save(model, path)
    x = R.standard_normal((5, 4)).astype(np.float32)
    want = load(model)(x).numpy()
    for source in (str(path), path, path.read_bytes(), io.BytesIO(path.read_bytes())):
        np.testing.assert_array_equal(load(source)(x).numpy(), want)
    with open(path, "rb") as fh:
        np.testing.assert_array_equal(load(fh)(x).numpy(), want)
    with pytest.raises(TypeError, match="binary mode"), open(path, encoding="latin-1") as fh:
        load(fh)
    with pytest.raises(TypeError, match="got int"):
        load(3)


def test_state_dict_keys_are_the_onnx_names_and_load_back():
    loaded = load(mlp_model())
    assert list(loaded.state_dict()) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert isinstance(loaded, OnnxModule) and isinstance(loaded.fc1.weight, cr.nn.Parameter)
    state = {k: np.zeros(v.shape, np.float32) for k, v in loaded.state_dict().items()}
    loaded.load_state_dict(state)
    np.testing.assert_allclose(loaded(np.ones((2, 4), np.float32)).numpy(), 1 / 3)
    assert loaded.initializer_keys["fc1.weight"] == "fc1.weight"


def test_names_that_cannot_be_paths_are_stored_with_underscores():
    names = ("a", "a.b", "c..d", "e.training")  # a leaf that is also a prefix, an empty part...
    loaded = load(mlp_model(names=names))
    keys = loaded.initializer_keys
    assert keys["a"] == "a" and keys["a.b"] == "a_b" and keys["c..d"] == "c__d"
    assert keys["e.training"] == "e_training"
    assert set(loaded.state_dict()) == set(keys.values())
    assert [name for name, _ in loaded.named_modules()] == [""]  # no scope left empty
    keys = load(mlp_model(names=("training", "b", "c", "d"))).initializer_keys
    assert keys["training"] == "training_"
    assert loaded.training is False  # the attribute itself is untouched
    loaded(np.ones((2, 4), np.float32))


def test_a_failing_node_is_named():
    nodes = [helper.make_node("Reshape", ["x", "s"], ["y"], name="to_rows_of_3")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, ["n", 4])],
                              [helper.make_tensor_value_info("y", F, [None, 3])],
                              [numpy_helper.from_array(np.asarray([-1, 3]), "s")])
    loaded = load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    assert loaded(np.ones((3, 4), np.float32)).shape == (4, 3)
    with pytest.raises(ValueError) as info:
        loaded(np.ones((2, 4), np.float32))  # 8 entries do not make rows of 3
    if hasattr(info.value, "add_note"):
        assert "in node 0 (Reshape 'to_rows_of_3')" in "".join(info.value.__notes__)


def test_repr_and_graph_summary():
    loaded = load(mlp_model())
    assert repr(loaded) == ("OnnxModule(opset=13, inputs=['x'], outputs=['y'], 4 nodes: Gemm x2, "
                            "Tanh, Softmax; 4 parameters, 67 weights)")
    summary = loaded.graph_summary()
    assert "input  x: float32 (batch, 4)" in summary
    assert "   0 Gemm(x, fc1.weight, fc1.bias) -> h" in summary


def test_corrupt_and_truncated_files_raise_a_clear_value_error(tmp_path):
    data = mlp_model().SerializeToString()
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07\x12\xff\xff\xff not protobuf at all")
    with pytest.raises(OnnxLoadError, match=r"bad\.onnx' is not a valid ONNX file"):
        load(bad)
    assert issubclass(OnnxLoadError, ValueError)
    short = tmp_path / "short.onnx"
    for cut in (len(data) // 3, len(data) // 2, len(data) - 7):
        short.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=r"short\.onnx' is not a valid ONNX"):
            load(short)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.onnx")


def test_invalid_graph_is_refused_by_the_checker():
    model = mlp_model()
    model.graph.node[1].input[0] = "nowhere"
    with pytest.raises(OnnxLoadError, match="the ONNX checker says"):
        load(model)


def test_every_unsupported_op_is_listed_with_counts_and_the_opset():
    model = mlp_model()
    nodes = list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes[:1] + [
        helper.make_node("MeanVarianceNormalization", ["h"], ["h1"]),
        helper.make_node("MeanVarianceNormalization", ["h1"], ["h2"]),
        helper.make_node("Det", ["h2"], ["h3"]),
        helper.make_node("Resize", ["h3", "", "sc"], ["t"], mode="cubic")] + nodes[2:])
    model.graph.initializer.append(numpy_helper.from_array(np.ones(2, np.float32), "sc"))
    with pytest.raises(OnnxLoadError) as info:
        load(model.SerializeToString())
    message = str(info.value)
    assert "(opset 13)" in message
    assert "MeanVarianceNormalization (x2)" in message and "Det (x1)" in message
    assert "Resize mode='cubic' (x1)" in message


def test_other_domains_and_opsets_are_refused():
    model = mlp_model()
    model.graph.node[1].domain = "com.microsoft"
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(OnnxLoadError, match=r"com\.microsoft:Tanh \(x1\)"):
        load(model)
    with pytest.raises(OnnxLoadError, match="opset 9 .* opsets 11 to 22"):
        load(mlp_model(opset=9))


def test_optional_outputs_that_are_used_are_refused():
    nodes = [helper.make_node("MaxPool", ["x"], ["y", "idx"], kernel_shape=[2, 2])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", F, [1, 1, 3, 3]),
                               helper.make_tensor_value_info("idx", TensorProto.INT64,
                                                             [1, 1, 3, 3])])
    with pytest.raises(OnnxLoadError, match="MaxPool with its Indices output in use"):
        load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    nodes = [helper.make_node("Dropout", ["x"], ["y", "mask"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, [4])],
                              [helper.make_tensor_value_info("y", F, [4]),
                               helper.make_tensor_value_info("mask", TensorProto.BOOL, [4])])
    with pytest.raises(OnnxLoadError, match="Dropout with its mask output in use"):
        load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


def test_external_data_loads_from_the_folder_and_needs_a_path(tmp_path):
    model = mlp_model()
    inline = model.SerializeToString()
    onnx.save(model, tmp_path / "ext.onnx", save_as_external_data=True,
              all_tensors_to_one_file=True, location="ext.data", size_threshold=0)
    x = R.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(load(tmp_path / "ext.onnx")(x).numpy(), load(inline)(x).numpy())
    with pytest.raises(OnnxLoadError, match="external data files; pass the model's path"):
        load((tmp_path / "ext.onnx").read_bytes())
    (tmp_path / "ext.data").unlink()
    with pytest.raises(OnnxLoadError, match="cannot read the external data"):
        load(tmp_path / "ext.onnx")


def test_missing_onnx_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[onnx\]"'):
        load(b"")


def test_gradcheck_and_gradgradcheck_through_a_loaded_graph():
    loaded = load(mlp_model()).double()
    x = cr.tensor(R.standard_normal((3, 4)), requires_grad=True)
    assert loaded(x).dtype == np.float64
    assert gradcheck(loaded, (x,))
    assert gradgradcheck(loaded, (x,))


def test_double_makes_constants_and_casts_float64():
    nodes = [helper.make_node("Constant", [], ["c"], value_float=0.1),
             helper.make_node("Mul", ["x", "c"], ["m"]),
             helper.make_node("Cast", ["m"], ["y"], to=F)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, [2])],
                              [helper.make_tensor_value_info("y", F, [2])])
    loaded = load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    assert loaded(np.ones(2, np.float32)).dtype == np.float32
    loaded.to(cr.float64)
    y = loaded(np.ones(2))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.numpy(), np.float32(0.1))  # the file's float32 constant


def test_dropout_follows_train_and_eval():
    nodes = [helper.make_node("Dropout", ["x", "r"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, [400])],
                              [helper.make_tensor_value_info("y", F, [400])],
                              [numpy_helper.from_array(np.asarray(0.5, np.float32), "r")])
    loaded = load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    x = np.ones(400, np.float32)
    assert not loaded.training
    np.testing.assert_array_equal(loaded(x).numpy(), x)
    y = loaded.train()(x).numpy()
    assert set(np.unique(y)) == {0.0, 2.0} and 120 < (y == 0).sum() < 280
    assert list(loaded.state_dict()) == []  # the ratio is a setting, not a weight


def test_several_outputs_and_keyword_inputs():
    nodes = [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Mul", ["a", "b"], ["p"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, F, [2]) for n in "ab"],
                              [helper.make_tensor_value_info(n, F, [2]) for n in "sp"])
    loaded = load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    a, b = np.asarray([1, 2], np.float32), np.asarray([3, 4], np.float32)
    s, p = loaded(a, b=b)
    assert s.tolist() == [4, 6] and p.tolist() == [3, 8]
    with pytest.raises(TypeError, match="'a' given twice"):
        loaded(a, a=a)
    with pytest.raises(TypeError, match="takes 2 inputs"):
        loaded(a, b, a)


def test_initializers_listed_as_inputs_are_weights_not_inputs():
    model = mlp_model()
    model.graph.input.extend([helper.make_tensor_value_info(t.name, F, t.dims)
                              for t in model.graph.initializer])
    loaded = load(model)
    assert loaded.input_names == ["x"] and len(list(loaded.parameters())) == 4


def test_a_deep_copy_evaluates_with_its_own_weights():
    loaded = load(mlp_model())
    twin = copy.deepcopy(loaded)  # as EMA and SWA averaging make them
    x = np.ones((2, 4), np.float32)
    before = loaded(x).numpy()
    with cr.no_grad():
        twin.fc2.bias.add_(cr.tensor(np.asarray([-5.0, 0.0, 0.0], np.float32)))
    np.testing.assert_array_equal(loaded(x).numpy(), before)
    p = before[:, 0]  # the twin's first logit is 5 lower: its softmax share shrinks by e^-5
    np.testing.assert_allclose(twin(x).numpy()[:, 0], p * np.exp(-5) / (p * np.exp(-5) + 1 - p),
                               rtol=1e-5)


def _masked_model():
    """y = Where(Trilu(ones) == 0, -inf... , x * scale) + w; a step of x @ v as a second output."""
    nodes = [helper.make_node("Trilu", ["ones"], ["tri"], upper=0),
             helper.make_node("Equal", ["tri", "zero"], ["masked"]),
             helper.make_node("Mul", ["x", "scale"], ["xs"]),
             helper.make_node("Where", ["masked", "fill", "xs"], ["m"]),
             helper.make_node("Add", ["m", "w"], ["y"]),
             helper.make_node("MatMul", ["x", "v"], ["z"]),
             helper.make_node("Greater", ["z", "zero"], ["step"])]
    arrays = {"ones": np.ones((3, 3), np.float32), "zero": np.asarray(0.0, np.float32),
              "scale": np.asarray(0.5, np.float32), "fill": np.asarray(-9.0, np.float32),
              "w": np.ones(3, np.float32), "v": np.ones((3, 1), np.float32)}
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, [3, 3])],
                              [helper.make_tensor_value_info("y", F, [3, 3]),
                               helper.make_tensor_value_info("step", TensorProto.BOOL, [3, 1])],
                              [numpy_helper.from_array(a, n) for n, a in arrays.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])


def test_weights_are_what_the_outputs_gradient_reaches():
    loaded = load(_masked_model())
    # the comparison's zero is a setting; the mask's ones and "v" feed data inputs off every
    # path of the gradient (through a comparison): kept in the state dict, not trained
    assert [n for n, _ in loaded.named_parameters()] == ["scale", "fill", "w"]
    assert set(loaded.state_dict()) == {"scale", "fill", "w", "v", "ones"}
    x = R.standard_normal((3, 3)).astype(np.float32)
    y, step = loaded(x)
    want = np.where(np.tril(np.ones((3, 3))) == 0, -9.0, 0.5 * x) + 1
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-6)
    np.testing.assert_array_equal(step.numpy(), x.sum(1, keepdims=True) > 0)


def test_trainable_names_the_parameters():
    loaded = load(_masked_model(), trainable=["w", "v"])
    assert [n for n, _ in loaded.named_parameters()] == ["w", "v"]
    assert set(loaded.state_dict()) == {"w", "v"}  # the others are constants now
    with pytest.raises(ValueError, match=r"trainable names \['nope'\] are not float init"):
        load(_masked_model(), trainable=["w", "nope"])
    with pytest.raises(TypeError, match="collection of initializer names"):
        load(_masked_model(), trainable="w")
