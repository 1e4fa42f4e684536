"""chainrule.onnx.export on the library's models, and its API: names, dynamic axes, targets,
atomic writes, training flags, refusals. Converter by converter: test_onnx_export_ops.py.

Tolerances: onnxruntime and NumPy sum the products of a layer in different orders (other GEMM
and convolution blockings), so float32 outputs agree to float32 rounding accumulated over a few
hundred terms per layer: relative 1e-4 of the output's scale. float64: 1e-10.
"""

from __future__ import annotations

import importlib
import io

import numpy as np
import pytest

import chainrule as cr
from chainrule import models as M
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from chainrule.onnx import UnsupportedOperatorError, export  # noqa: E402


def run(proto, feeds):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def run1(proto, x):
    """The first output, for ``x`` fed to the only input (whatever its name)."""
    return run(proto, {proto.graph.input[0].name: x})[0]


def eager(model, *xs):
    with cr.no_grad():
        out = model(*xs)
    return (out[0] if isinstance(out, tuple) else out).numpy()  # CharTransformer: (logits, None)


def close(got, want, rtol=1e-4):
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


def _gan(kind, part):
    g = (M.DCGAN if kind == "dcgan" else M.MLPGAN)(rng=np.random.default_rng(0))
    return getattr(g, part)


MODELS = {
    "mlp": (lambda r: M.MLP((20, 16, 5), rng=r), (20,)),
    "mlp_tanh_dropout": (lambda r: M.MLP((20, 16, 5), activation="tanh", dropout=0.3, rng=r),
                         (20,)),
    "lenet5": (lambda r: M.LeNet5(rng=r), (1, 28, 28)),
    "lenet5_classic": (lambda r: M.LeNet5("classic", rng=r), (1, 28, 28)),
    "small_cnn": (lambda r: M.SmallCNN(rng=r), (1, 8, 8)),
    "madry_cnn": (lambda r: M.MadryCNN(input_size=12, rng=r), (1, 12, 12)),
    "wong_cnn": (lambda r: M.WongCNN(rng=r), (1, 28, 28)),
    "char_cnn": (lambda r: M.CharCNN(length=130, alphabet_size=8, rng=r), (8, 130)),
    "autoencoder": (lambda r: M.Autoencoder((20, 8, 4), rng=r), (20,)),
    "autoencoder_tied": (lambda r: M.Autoencoder((20, 8, 4), tied=True, rng=r), (20,)),
    "conv_autoencoder": (lambda r: M.ConvAutoencoder(rng=r), (1, 28, 28)),
    "perceptron": (lambda r: M.Perceptron(5, rng=r), (5,)),
    "char_lm": (lambda r: M.CharLM("abcdefgh ", embedding_dim=8, hidden_size=8, num_layers=2,
                                   rng=r), None),
    "text_rnn_gru_bidirectional": (lambda r: M.TextRNN(vocab_size=9, hidden_size=8, cell="gru",
                                                       bidirectional=True, rng=r), None),
    "char_transformer": (lambda r: M.CharTransformer("abcdefgh ", block=8, d_model=16,
                                                     num_layers=2, nhead=2, rng=r), None),
    "dcgan_generator": (lambda r: _gan("dcgan", "generator"), (64,)),
    "dcgan_discriminator": (lambda r: _gan("dcgan", "discriminator"), (1, 28, 28)),
    "mlpgan_generator": (lambda r: _gan("mlp", "generator"), (64,)),
    "mlpgan_discriminator": (lambda r: _gan("mlp", "discriminator"), (1, 28, 28)),
}


def _batchnorm_stats(model, rng):
    """Non-trivial running statistics, so that a mix-up of mean, variance or affine shows."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c, dtype = m.num_features, m.weight.dtype
            with cr.no_grad():
                m.running_mean.copy_(cr.tensor(rng.standard_normal(c).astype(dtype)))
                m.running_var.copy_(cr.tensor(rng.uniform(0.5, 2.0, c).astype(dtype)))
                m.weight.copy_(cr.tensor(rng.uniform(0.5, 1.5, c).astype(dtype)))
                m.bias.copy_(cr.tensor(rng.standard_normal(c).astype(dtype)))


@pytest.mark.parametrize("variant", ["plain", "fused", "reference_mode"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_match_onnxruntime_at_two_batch_sizes(name, variant):
    """Each model as it is, nn.fuse'd (fused Conv/Linear+ReLU and ReLU+pool ops), and recorded
    in reference mode (plain kernels; there the layers' ops are the fused ones as well)."""
    with cr.reference_mode(variant == "reference_mode"):
        _check_model(name, variant == "fused")


def _check_model(name, fused):
    rng = np.random.default_rng(0)
    build, shape = MODELS[name]
    model = build(rng).eval()
    _batchnorm_stats(model, rng)
    model = nn.fuse(model) if fused else model
    def sample(n):  # text models: character ids, (n, 6), no padding; the others: float32 inputs
        if shape is None:
            return rng.integers(1, 9, (n, 6))
        return rng.standard_normal((n, *shape)).astype(np.float32)

    x = sample(2)
    proto = export(model, cr.tensor(x), input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    close(run(proto, {"x": x})[0], eager(model, cr.tensor(x)))
    x5 = sample(5)
    close(run(proto, {"x": x5})[0], eager(model, cr.tensor(x5)))
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    out = proto.graph.output[0]  # a size that changed between the recordings: named
    assert out.type.tensor_type.shape.dim[0].dim_param == f"{out.name}_dim0"


def test_batch_norm_becomes_batchnormalization_with_state_dict_names():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(),
                          nn.Flatten(), nn.Linear(12, 2), nn.BatchNorm1d(2)).eval()
    _batchnorm_stats(model, rng)
    x = rng.standard_normal((4, 2, 4, 4)).astype(np.float32)
    proto = export(model, x)
    assert [n.op_type for n in proto.graph.node].count("BatchNormalization") == 2
    inits = {t.name for t in proto.graph.initializer}
    used = set(model.state_dict()) - {"1.num_batches_tracked", "5.num_batches_tracked"}
    assert used <= inits and not inits & {"1.num_batches_tracked", "5.num_batches_tracked"}
    close(run1(proto, x), eager(model, cr.tensor(x)))


def test_float64_model_agrees_tightly():
    rng = np.random.default_rng(2)  # onnxruntime's CPU kernels have no float64 Conv
    model = M.Autoencoder((20, 8, 4), rng=rng).to(dtype=cr.float64).eval()
    x = rng.standard_normal((3, 20))
    proto = export(model, cr.tensor(x))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    close(run1(proto, x), eager(model, cr.tensor(x)), rtol=1e-10)


def test_names_and_initializers_are_the_state_dict_keys():
    model = M.LeNet5(rng=np.random.default_rng(3)).eval()
    proto = export(model, np.zeros((1, 1, 28, 28), np.float32), input_names=["images"],
                   output_names=["logits"])
    assert [i.name for i in proto.graph.input] == ["images"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    state = model.state_dict()
    assert set(state) <= set(inits)
    for key, t in state.items():
        np.testing.assert_array_equal(inits[key], t.numpy())
    onnx.checker.check_model(proto, full_check=True)


def test_default_names_follow_forward_and_list_form_dynamic_axes():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2, rng=np.random.default_rng(0))

        def forward(self, a, b):
            return self.lin(a) * b, a.sum(1)

    model = Two()
    a, b = np.ones((2, 3), np.float32), np.full((2, 2), 2.0, np.float32)
    proto = export(model, (cr.tensor(a), cr.tensor(b)), dynamic_axes={"a": [0], "b": [0]})
    assert [i.name for i in proto.graph.input] == ["a", "b"]
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "a_dynamic_axes_1"
    a3, b3 = np.arange(9, dtype=np.float32).reshape(3, 3), np.ones((3, 2), np.float32)
    y, s = run(proto, {"a": a3, "b": b3})
    close(y, eager(lambda u, v: model(u, v)[0], cr.tensor(a3), cr.tensor(b3)))
    np.testing.assert_allclose(s, a3.sum(1))


def test_path_and_file_targets_write_the_same_model(tmp_path):
    model = M.MLP((4, 3, 2), rng=np.random.default_rng(4))
    x = np.ones((1, 4), np.float32)
    buffer = io.BytesIO()
    proto = export(model, x, buffer)
    export(model, x, tmp_path / "m.onnx")
    export(model, x, str(tmp_path / "n.onnx"))
    assert buffer.getvalue() == proto.SerializeToString()
    assert (tmp_path / "m.onnx").read_bytes() == buffer.getvalue()
    assert (tmp_path / "n.onnx").read_bytes() == buffer.getvalue()
    loaded = onnx.load(str(tmp_path / "m.onnx"))
    close(run1(loaded, x), eager(model, cr.tensor(x)))
    assert [p.name for p in tmp_path.iterdir()] != [] and not any(
        p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_a_failing_export_leaves_the_target_unchanged(tmp_path, monkeypatch):
    export_module = importlib.import_module("chainrule.onnx._export")

    model = M.MLP((4, 3, 2), rng=np.random.default_rng(5))
    x = np.ones((1, 4), np.float32)
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old contents")
    # A failed conversion: nothing is written.
    def unsupported(t):
        return cr.lgamma(t)

    with pytest.raises(UnsupportedOperatorError):
        export(unsupported, x, target)
    with pytest.raises(UnsupportedOperatorError):
        export(unsupported, x, tmp_path / "new.onnx")
    assert not (tmp_path / "new.onnx").exists()

    # A failure after the temporary file is written (the rename): it is removed.
    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(export_module.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        export(model, x, target)
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_training_flags_are_restored_and_eval_is_recorded():
    rng = np.random.default_rng(6)
    model = nn.Sequential(nn.Linear(4, 4, rng=rng), nn.Dropout(0.5), nn.BatchNorm1d(4),
                          nn.Linear(4, 2, rng=rng))
    model.train()
    model[2].eval()  # a mixed state, restored exactly
    x = rng.standard_normal((3, 4)).astype(np.float32)
    proto = export(model, x)
    assert [m.training for m in model.modules()] == [True, True, True, False, True]
    assert "Dropout" not in [n.op_type for n in proto.graph.node]
    model.eval()
    close(run1(proto, x), eager(model, cr.tensor(x)))
    with pytest.raises(ValueError, match="training must be 'eval'"):
        export(model, x, training="train")
    model.train()
    with pytest.raises(UnsupportedOperatorError):  # a failed export restores the flags too
        export(_WithLgamma(model), x)
    assert all(m.training for m in model.modules())


class _WithLgamma(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return cr.lgamma(self.inner(x))


def test_export_params_false_makes_parameters_inputs():
    model = M.SmallCNN(rng=np.random.default_rng(7)).eval()
    x = np.random.default_rng(8).standard_normal((2, 1, 8, 8)).astype(np.float32)
    proto = export(model, x, export_params=False)
    assert len(proto.graph.initializer) == 0 or all(
        t.name not in model.state_dict() for t in proto.graph.initializer)
    feeds = {"x": x, **{k: v.numpy() for k, v in model.state_dict().items()}}
    names = {i.name for i in proto.graph.input}
    assert set(model.state_dict()) <= names
    close(run(proto, feeds)[0], eager(model, cr.tensor(x)))


def test_keep_initializers_as_inputs_lists_them():
    model = M.MLP((4, 3, 2), rng=np.random.default_rng(9))
    proto = export(model, np.ones((1, 4), np.float32), keep_initializers_as_inputs=True)
    assert {i.name for i in proto.graph.input} >= {"x", *model.state_dict()}


def test_unsupported_op_names_the_function_and_where_to_add_a_converter():
    with pytest.raises(UnsupportedOperatorError, match=r"Lgamma \(chainrule\.ops\.special_fns\."
                       r"Lgamma\).*_export_ops\*\.py"):
        export(lambda x: cr.lgamma(x), np.ones((2, 3), np.float32))
    assert issubclass(UnsupportedOperatorError, ValueError)


def test_refuses_value_dependent_python_and_sizes_baked_for_dynamic_axes():
    def frozen_mask(x):  # a mask computed outside any op: the recording keeps its value
        return x * cr.tensor((x.numpy() > 0).astype(np.float32))

    x = np.random.default_rng(13).standard_normal((2, 3)).astype(np.float32)
    with pytest.raises(UnsupportedOperatorError, match="constant .* changes"):
        export(frozen_mask, x)

    def branchy(x):
        return x.exp() if float(x[0, 0]) > 0 else x.tanh()

    with pytest.raises(UnsupportedOperatorError, match="runs other ops"):
        export(branchy, np.array([[3.0, -1.0, -1.0]], np.float32))

    def two_dynamic(x):  # (b, s, 4) -> (b * s, 4) -> (b, s * 4): two sizes change together
        return x.reshape(-1, 4).reshape(x.shape[0], -1) * 1.0 + x.reshape(x.shape[0], -1)

    x = np.ones((2, 3, 4), np.float32)
    # One size that changes: fine.
    proto = export(two_dynamic, x, input_names=["input"], dynamic_axes={"input": [0]})
    np.testing.assert_allclose(run(proto, {"input": np.ones((5, 3, 4), np.float32)})[0],
                               np.full((5, 12), 2.0))
    with pytest.raises(UnsupportedOperatorError, match="Reshape"):
        export(lambda t: t.reshape(t.shape[1], -1), x, input_names=["input"],
               dynamic_axes={"input": [0, 1]})
    proto = export(lambda t: t.reshape(-1), x, input_names=["input"],
                   dynamic_axes={"input": [0, 1]})  # all in one axis: -1 says it
    np.testing.assert_array_equal(run1(proto, np.ones((3, 5, 4), np.float32)), np.ones(60))


def test_bad_arguments_say_what_was_expected():
    model = M.MLP((4, 3, 2), rng=np.random.default_rng(10))
    x = np.ones((1, 4), np.float32)
    with pytest.raises(ValueError, match="opset_version must be an int from 13 to 21, got 9"):
        export(model, x, opset_version=9)
    with pytest.raises(ValueError, match="input_names must be 1 distinct"):
        export(model, x, input_names=["a", "b"])
    with pytest.raises(ValueError, match="dynamic_axes names 'z'"):
        export(model, x, dynamic_axes={"z": [0]})
    with pytest.raises(ValueError, match="has axis 3"):
        export(model, x, input_names=["input"], dynamic_axes={"input": [3]})
    with pytest.raises(ValueError, match=r"dynamic_axes\['output'\] has axis 2, but the output "
                       r"has shape \(1, 2\)"):
        export(model, x, dynamic_axes={"output": {2: "n"}})
    with pytest.raises(ValueError, match="dynamo=True is not supported"):
        export(model, x, dynamo=True)
    export(model, x, dynamo=False, do_constant_folding=True)  # PyTorch's defaults pass
    with pytest.raises(ValueError, match=r"input name\(s\) \['layers.1.bias'\] are also"):
        export(model, x, input_names=["layers.1.bias"])
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        export(model, x, bogus=1)
    with pytest.raises(TypeError, match="f must be a path"):
        export(model, x, 3)
    with pytest.raises(TypeError, match="a chainrule.trace result"):
        export(cr.trace(model.eval(), cr.tensor(x)), x)
    with pytest.raises(UnsupportedOperatorError, match="an output of the model is a constant"):
        export(lambda t: cr.tensor(t.numpy() * 2), x)  # outside any op; x: all ones
    with pytest.raises(TypeError, match=r"args\[0\] must be a Tensor or an array, got list"):
        export(model, [[1.0, 2.0, 3.0, 4.0]])


def test_missing_onnx_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError("No module named 'onnx'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[onnx\]"'):
        export(M.MLP((4, 2)), np.ones((1, 4), np.float32))


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's legacy exporter (dynamo=False)
def test_same_lenet_weights_from_torch_and_chainrule_agree_in_onnxruntime(tmp_path):
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    model = M.LeNet5(rng=np.random.default_rng(11)).eval()
    tmodel = tnn.Module()
    tmodel.features = tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5),
        tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(16, 120, 5), tnn.ReLU())
    tmodel.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(120, 84), tnn.ReLU(),
                                       tnn.Linear(84, 10))
    tmodel.forward = lambda t: tmodel.classifier(tmodel.features(t))
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    tmodel.eval()
    x = np.random.default_rng(12).standard_normal((2, 1, 28, 28)).astype(np.float32)
    torch.onnx.export(tmodel, (torch.tensor(x),), str(tmp_path / "t.onnx"), dynamo=False,
                      input_names=["input"])
    ours = run1(export(model, x), x)
    theirs = run1(onnx.load(str(tmp_path / "t.onnx")), x)
    close(ours, theirs)


def test_onnx_guide_snippets_run(run_guide, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the guide writes lenet.onnx into the working directory
    # The export block writes lenet.onnx; the load block reads it back as a Module.
    guide = run_guide("docs/onnx.md", min_blocks=2)
    assert guide["scores"].shape == (3, 10)  # exported at batch 8, run at batch 3
    with cr.no_grad():
        want = guide["net"](guide["images"]).numpy()
        close(guide["logits"].detach().numpy(), want)


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
def test_conditional_gan_follows_the_labels(arch):
    """The class codes were picked from the label values outside any op, so cr.trace (and an
    export) kept the first call's labels; they are ops of the labels Tensor now."""
    rng = np.random.default_rng(14)
    gan = M.ConditionalGAN(arch=arch, rng=rng).eval()
    z = rng.standard_normal((2, 64)).astype(np.float32)
    images = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    labels, other = np.array([3, 7]), np.array([0, 1, 2, 9, 5, 5])
    for part, x in ((gan.generator, z), (gan.discriminator, images)):
        traced = cr.trace(part, cr.tensor(x), cr.tensor(labels))
        np.testing.assert_array_equal(traced(cr.tensor(x), cr.tensor(other[:2])).numpy(),
                                      eager(part, cr.tensor(x), cr.tensor(other[:2])))
        proto = export(part, (x, labels), input_names=["x", "labels"],
                       dynamic_axes={"x": [0], "labels": [0]})
        x6 = np.concatenate([x] * 3)
        got = run(proto, {"x": x6, "labels": other})[0]
        close(got, eager(part, cr.tensor(x6), cr.tensor(other)))


def test_kwargs_tensors_become_inputs_and_verbose_prints_the_graph(capsys):
    def fn(x, *, scale, offset=None, mode="add"):
        y = x * scale
        return y + offset if mode == "add" else y - offset

    x, offset = np.ones((2, 3), np.float32), np.full((2, 3), 0.5, np.float32)
    proto = export(fn, (cr.tensor(x),), kwargs={"offset": cr.tensor(offset), "scale": 3.0,
                                                "mode": "sub"}, verbose=True)
    assert [i.name for i in proto.graph.input] == ["x", "offset"]
    np.testing.assert_allclose(run(proto, {"x": 2 * x, "offset": offset})[0], 6 * x - offset)
    assert "chainrule" in capsys.readouterr().out.splitlines()[0]  # the graph's name
