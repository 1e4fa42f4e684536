"""chainrule.onnx.export converter by converter: each op (or layer) is exported, checked by
``onnx.checker``, run by onnxruntime at the example batch size and at another one (dynamic axis
0), and compared with chainrule's eager result. Tolerances as in test_onnx_export.py: float32
rounding relative to the output's scale (1e-5 here: one op each, no long sums).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from chainrule.onnx import UnsupportedOperatorError, export  # noqa: E402


def _t(*shape):
    return lambda rng: rng.standard_normal(shape).astype(np.float32)


def _pos(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape).astype(np.float32)


def _ids(rng):
    return rng.integers(0, 10, (2, 5))


# id -> (function or module factory, input makers); each input's axis 0 is dynamic.
CASES = {
    "linear_2d": (lambda: nn.Linear(6, 2), [_t(3, 6)]),
    "linear_3d": (lambda: nn.Linear(6, 2), [_t(2, 4, 6)]),
    "linear_no_bias": (lambda: nn.Linear(6, 2, bias=False), [_t(3, 6)]),
    "matmul_addmm": (lambda: _addmm(cr.randn(6, 4), cr.randn(4)), [_t(3, 6)]),
    "matmul_batched": (lambda: lambda a, b: a @ b, [_t(2, 5, 6), _t(2, 6, 3)]),
    "conv1d_same_dilated": (lambda: nn.Conv1d(3, 4, 3, padding="same", dilation=2), [_t(2, 3, 10)]),
    "conv2d_stride_dilation_groups": (
        lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), [_t(2, 4, 9, 9)]),
    "conv2d_rect_no_bias": (lambda: nn.Conv2d(3, 2, (3, 2), padding=(1, 0), bias=False),
                            [_t(2, 3, 7, 7)]),
    "conv2d_reflect_padding": (lambda: nn.Conv2d(3, 2, 3, padding=1, padding_mode="reflect"),
                               [_t(2, 3, 6, 6)]),
    "conv_transpose2d_output_padding": (
        lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        [_t(2, 4, 5, 5)]),
    "conv_transpose2d_dilation": (lambda: nn.ConvTranspose2d(3, 2, 2, stride=3, dilation=2,
                                                             bias=False), [_t(2, 3, 4, 4)]),
    "conv_transpose1d": (lambda: nn.ConvTranspose1d(3, 2, 3, stride=2), [_t(2, 3, 5)]),
    "max_pool_ceil": (lambda: lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True), [_t(2, 3, 8, 8)]),
    "max_pool_padding": (lambda: lambda x: F.max_pool2d(x, 3, 2, padding=1), [_t(2, 3, 8, 8)]),
    "max_pool1d": (lambda: nn.MaxPool1d(2), [_t(2, 3, 10)]),
    "min_pool": (lambda: lambda x: cr.ops.min_pool2d(x, 2), [_t(2, 3, 8, 8)]),
    "avg_pool_ceil_exclude_pad": (
        lambda: lambda x: F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True,
                                       count_include_pad=False), [_t(2, 3, 8, 8)]),
    "avg_pool_exclude_pad": (lambda: lambda x: F.avg_pool2d(x, 3, 2, padding=1,
                                                            count_include_pad=False),
                             [_t(2, 3, 8, 8)]),
    "avg_pool_include_pad": (lambda: lambda x: F.avg_pool2d(x, 3, 1, padding=1),
                             [_t(2, 3, 8, 8)]),
    "avg_pool1d": (lambda: nn.AvgPool1d(3, 2, padding=1), [_t(2, 3, 10)]),
    "adaptive_avg_1": (lambda: nn.AdaptiveAvgPool2d(1), [_t(2, 3, 8, 8)]),
    "adaptive_avg_uneven": (lambda: nn.AdaptiveAvgPool2d((3, 5)), [_t(2, 3, 8, 7)]),
    "adaptive_avg1d": (lambda: nn.AdaptiveAvgPool1d(4), [_t(2, 3, 10)]),
    "adaptive_max_tiled": (lambda: nn.AdaptiveMaxPool2d((4, 2)), [_t(2, 3, 8, 8)]),
    "batch_norm2d": (lambda: nn.BatchNorm2d(3), [_t(2, 3, 4, 4)]),
    "batch_norm1d_no_affine": (lambda: nn.BatchNorm1d(3, affine=False), [_t(4, 3)]),
    "layer_norm": (lambda: nn.LayerNorm((4, 6)), [_t(2, 4, 6)]),
    "layer_norm_no_affine": (lambda: nn.LayerNorm(6, elementwise_affine=False), [_t(2, 4, 6)]),
    "group_norm": (lambda: nn.GroupNorm(3, 6), [_t(2, 6, 4)]),
    "dropout_eval": (lambda: nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)), [_t(2, 3)]),
    "flatten_view": (lambda: lambda x: nn.Flatten()(x) + x.view(x.size(0), -1), [_t(2, 3, 4)]),
    "permute_transpose_squeeze": (
        lambda: lambda x: x.permute(2, 0, 1).unsqueeze(1).squeeze(1).transpose(0, 2),
        [_t(2, 3, 4)]),
    "cat_stack": (lambda: lambda x: cr.stack([cr.cat([x, x * 2], 1), -cr.cat([x, x], 1)], -1),
                  [_t(2, 3)]),
    "split_chunk": (lambda: lambda x: cr.split(x, 2, 1)[2] + cr.chunk(x, 3, 1)[0][:, :1],
                    [_t(2, 5)]),
    "slices": (lambda: lambda x: x[:, 1:5:2] + x[:, -4:-1][:, ::-1][:, :2] + x[:, ::-3],
               [_t(2, 6)]),
    "ints_none_ellipsis": (lambda: lambda x: x[:, 1] * x[..., -1][:, None, :][:, 0, :2].sum(),
                           [_t(2, 3, 4)]),
    "integer_array_index": (lambda: lambda x: x[:, [0, 2, 2]], [_t(2, 3, 4)]),
    "expand": (lambda: lambda x: x[:, :1].expand(x.shape[0], 6) + x, [_t(2, 6)]),
    "pad": (lambda: lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), [_t(2, 3, 4)]),
    "embedding": (lambda: nn.Embedding(10, 3), [_ids]),
    "arithmetic": (lambda: lambda x, y: (x + 1) * 2 - x / 3 + (1 - x) ** 2 + y ** x
                   - x / (2.0 + y) - y, [_t(2, 3), _pos(2, 3)]),
    "exp_log_sqrt_abs_neg": (lambda: lambda x: (-x).exp() + x.abs().log() + x.abs().sqrt()
                             + cr.sin(x) * cr.cos(x), [_t(2, 3)]),
    "clamp": (lambda: lambda x: cr.clamp(x, -0.5, 0.5) + cr.clamp(x, min=0.1)
              + cr.clamp(x, max=0.2), [_t(2, 3)]),
    "maximum_minimum": (lambda: lambda x, y: cr.maximum(x, 0.1 * x) + cr.minimum(x, y),
                        [_t(2, 3), _t(2, 3)]),
    "relu_leaky_elu_selu_sigmoid_tanh": (
        lambda: lambda x: F.relu(x) + F.leaky_relu(x, 0.1) + F.elu(x, 0.7) + F.selu(x)
        + F.sigmoid(x) + F.tanh(x), [_t(2, 3)]),
    "softplus_softsign_silu_hardtanh_relu6": (
        lambda: lambda x: F.softplus(x, beta=2.0, threshold=1.0) + F.softplus(x)
        + F.softsign(x) + F.silu(x) + F.hardtanh(x, -0.5, 0.7) + F.relu6(x * 4), [_t(3, 5)]),
    "gelu_erf_and_tanh": (lambda: lambda x: F.gelu(x) + F.gelu(x, approximate="tanh"),
                          [_t(2, 3)]),
    "hardsigmoid_hardswish_mish_logsigmoid": (
        lambda: lambda x: nn.Hardsigmoid()(x) + nn.Hardswish()(x) + nn.Mish()(x)
        + nn.LogSigmoid()(x), [lambda rng: 4 * rng.standard_normal((2, 9)).astype(np.float32)]),
    "prelu": (lambda: nn.PReLU(3), [_t(2, 3, 4)]),
    "softmax_log_softmax_softmin": (
        lambda: lambda x: F.softmax(x, dim=1) + F.log_softmax(x, dim=-1) + nn.Softmin(1)(x),
        [_t(2, 3)]),
    "sum_mean_max_min_amax_logsumexp": (
        lambda: lambda x: x.sum(1) + x.mean(1) + cr.amax(x, 1) + cr.amin(x, 1)
        + x.max(1).values + cr.logsumexp(x, 1) + x.mean(-1, keepdim=True).sum(1), [_t(2, 3)]),
    "var_std": (lambda: lambda x: x.var(1) + x.std(1, unbiased=True), [_t(2, 3)]),
    "comparisons_where": (lambda: lambda x: cr.where(x > 0, x, 0.0) + cr.where(x <= x * 2, 1.0, x)
                          + (x != 0.5).float() + (x == x).double().float(), [_t(2, 3)]),
    "argmax_argmin_sign": (lambda: lambda x: (x.argmax(1)[:, None] + x.argmin(1, keepdim=True))
                           * x.sign(), [_t(2, 3)]),
    "upsample_nearest": (lambda: nn.Upsample(scale_factor=2), [_t(2, 3, 4, 4)]),
    "upsample_bilinear": (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), [_t(2, 3, 4, 4)]),
    "upsample_bilinear_align_corners": (
        lambda: nn.Upsample(size=(5, 7), mode="bilinear", align_corners=True), [_t(2, 3, 4, 4)]),
    "cast": (lambda: lambda x: x.double() * 2, [_t(2, 3)]),
    "tril_triu": (lambda: lambda x: cr.tril(x, -1) + cr.triu(x * 2, 1), [_t(2, 4, 4)]),
    "flip_cumsum": (lambda: lambda x: cr.flip(x, (1, -1)) + cr.cumsum(x, 1), [_t(2, 3, 4)]),
    "lstm_batch_first": (lambda: nn.LSTM(6, 4, batch_first=True), [_t(2, 5, 6)]),
    "lstm_two_layers_bidirectional": (
        lambda: nn.LSTM(6, 4, num_layers=2, bidirectional=True), [_t(5, 2, 6)]),
    "gru_no_bias": (lambda: nn.GRU(6, 4, bias=False, batch_first=True), [_t(2, 5, 6)]),
    "multihead_attention": (lambda: _first(nn.MultiheadAttention(6, 2, batch_first=True)),
                            [_t(2, 3, 6)]),
    "transformer_encoder_layer": (
        lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
        [_t(2, 3, 8)]),
}


def _addmm(w, b):
    return lambda x: cr.addmm(b, x, w) + x @ w


def _first(attention):
    return lambda x: attention(x, x, x)[0]


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    return [out.numpy()]


def _export_and_compare(model, arrays, **options):
    names = [f"x{i}" for i in range(len(arrays))]
    proto = export(model, tuple(cr.tensor(a) for a in arrays), input_names=names,
                   dynamic_axes={n: {0: "batch"} for n in names}, **options)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for repeat in (1, 3):  # the example's batch size and another
        batch = [np.concatenate([a] * repeat) * (1 if a.dtype.kind != "f" else 0.9 ** repeat)
                 for a in arrays]
        batch = [b.astype(a.dtype) for a, b in zip(arrays, batch)]
        with cr.no_grad():
            wants = _flat(model(*[cr.tensor(b) for b in batch]))
        gots = session.run(None, dict(zip(names, batch)))
        assert len(gots) == len(wants)
        for got, want in zip(gots, wants):
            assert got.shape == want.shape and got.dtype == want.dtype
            scale = max(1.0, float(np.abs(want).max()))
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale)
    return proto


@pytest.mark.parametrize("case", sorted(CASES))
def test_converter_matches_onnxruntime(case):
    """Default mode only: reference mode records the same ops here (the models' test runs both,
    where it records the fused layers instead)."""
    cr.manual_seed(0)
    factory, makers = CASES[case]
    model = factory()
    if isinstance(model, nn.Module):
        model.eval()
        for m in model.modules():  # running statistics other than 0 and 1
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                with cr.no_grad():
                    m.running_mean.copy_(cr.tensor(np.linspace(-1, 1, m.num_features,
                                                               dtype=np.float32)))
                    m.running_var.copy_(cr.tensor(np.linspace(0.5, 2, m.num_features,
                                                              dtype=np.float32)))
    rng = np.random.default_rng(0)
    _export_and_compare(model, [make(rng) for make in makers])


def test_fused_ops_become_the_plain_op_and_relu():
    model = nn.fuse(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(8, 3), nn.ReLU()).eval())
    proto = _export_and_compare(model, [np.random.default_rng(1).standard_normal(
        (2, 1, 6, 6)).astype(np.float32)])
    assert [n.op_type for n in proto.graph.node if n.op_type != "Identity"] == [
        "Conv", "Relu", "MaxPool", "Relu", "Reshape", "Gemm", "Relu"] or [
        n.op_type for n in proto.graph.node if n.op_type != "Identity"] == [
        "Conv", "MaxPool", "Relu", "Reshape", "Gemm", "Relu"]


@pytest.mark.parametrize("opset", [13, 17, 18, 20, 21])
def test_opset_dependent_forms(opset):
    """Reductions take axes as an attribute before opset 18 (ReduceSum: 13) and as an input
    from then on; Gelu is an op from opset 20; LayerNormalization from opset 17, its formula
    before."""
    def fn(x):
        return x.mean(1) + cr.amax(x, 1) + x.sum(1) + F.gelu(x).sum(1) + cr.logsumexp(x, 1)

    x = np.random.default_rng(2).standard_normal((2, 5)).astype(np.float32)
    proto = _export_and_compare(fn, [x], opset_version=opset)
    assert proto.opset_import[0].version == opset
    assert ("Gelu" in [n.op_type for n in proto.graph.node]) == (opset >= 20)
    mean = next(n for n in proto.graph.node if n.op_type == "ReduceMean")
    assert (len(mean.input) == 2) == (opset >= 18)
    for layer in (nn.LayerNorm(5), nn.LayerNorm(5, elementwise_affine=False), nn.GroupNorm(1, 2)):
        xs = [x.reshape(2, 5) if isinstance(layer, nn.LayerNorm) else x.reshape(1, 2, 5)]
        proto = _export_and_compare(layer, xs, opset_version=opset)
        ops = [n.op_type for n in proto.graph.node]
        assert ("LayerNormalization" in ops) == (opset >= 17)


def test_dynamic_spatial_axes_where_the_graph_can_follow_them():
    cr.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.ConvTranspose2d(4, 2, 2, stride=2), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten()).eval()
    x = np.random.default_rng(3).standard_normal((2, 1, 8, 8)).astype(np.float32)
    proto = export(model, x, input_names=["x"], dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}})
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    other = np.random.default_rng(4).standard_normal((3, 1, 12, 6)).astype(np.float32)
    with cr.no_grad():
        want = model(cr.tensor(other)).numpy()
    np.testing.assert_allclose(session.run(None, {"x": other})[0], want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model, match", [
    (lambda: nn.AdaptiveAvgPool2d(3), "adaptive average pooling"),
    (lambda: nn.Upsample(scale_factor=2), "GetItem's setting index"),
], ids=["adaptive_avg", "upsample"])  # var over them exports: tests/test_fuzz25_onnx_export.py
def test_sizes_baked_along_dynamic_spatial_axes_are_refused(model, match):
    x = np.ones((1, 2, 6, 6), np.float32)
    with pytest.raises(UnsupportedOperatorError, match=match):
        export(model(), x, input_names=["x"], dynamic_axes={"x": [2, 3]})
    export(model(), x, input_names=["x"], dynamic_axes={"x": [0]})  # the batch axis is fine


def test_packed_sequences_are_refused():
    from chainrule.ops.lstm_sequence import lstm_sequence

    rng = np.random.default_rng(5)
    w_ih, w_hh, h0 = (cr.tensor(rng.standard_normal(s).astype(np.float32))
                      for s in ((8, 3), (8, 2), (4, 2)))
    mask = np.array([[True] * 4, [True, True, False, False]])  # (T, B): lengths 2, 2, 1, 1

    def packed(x):
        return lstm_sequence(x, h0, h0, w_ih, w_hh, mask=mask)[0]

    with pytest.raises(UnsupportedOperatorError, match="packed sequences"):
        export(packed, rng.standard_normal((2, 4, 3)).astype(np.float32))


def test_gru_with_a_given_state_and_a_dynamic_batch():
    cr.manual_seed(6)
    gru = nn.GRU(6, 4, bidirectional=True).eval()
    rng = np.random.default_rng(6)
    x, h = rng.standard_normal((5, 2, 6)), rng.standard_normal((2, 2, 4))
    x, h = x.astype(np.float32), h.astype(np.float32)
    proto = export(gru, (x, h), input_names=["x", "h"], output_names=["y", "h_n"],
                   dynamic_axes={"x": [0, 1], "h": [1]})
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x3, h3 = np.concatenate([x[:3]] * 3, axis=1), np.concatenate([h] * 3, axis=1) * 0.5
    with cr.no_grad():
        want_y, want_h = gru(cr.tensor(x3), cr.tensor(h3))
    got_y, got_h = session.run(None, {"x": x3, "h": h3})
    np.testing.assert_allclose(got_y, want_y.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_h, want_h.numpy(), rtol=1e-5, atol=1e-6)


def test_a_comparison_not_recognized_is_refused():
    def fn(x):  # a non-differentiable op the exporter does not know
        return x * cr.autograd.function.nondiff(lambda a: (a > 0).cumsum(1) > 1, x)

    with pytest.raises(UnsupportedOperatorError, match="non-differentiable op"):
        export(fn, np.ones((2, 3), np.float32))


def test_prelu_trace_follows_the_input():
    """nn.PReLU chose its slope with a mask computed outside any op, which cr.trace froze."""
    model = nn.PReLU().eval()
    traced = cr.trace(model, cr.tensor(np.ones((2, 3), np.float32)))
    x = cr.tensor(-np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(traced(x).numpy(), model(x).numpy())
    np.testing.assert_array_equal(traced(x).numpy(), np.full((2, 3), -0.25, np.float32))
