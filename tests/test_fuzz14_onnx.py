"""Fuzz wave 14, ONNX interchange: random small models exported by chainrule.onnx.export, run
by onnxruntime at two batch sizes (a dynamic axis 0) and loaded back by chainrule.onnx.load,
both compared with chainrule's own forward; and regressions of what the fuzzing found.

Tolerances as in test_onnx_export.py: onnxruntime sums a layer's products in other orders, so
float32 outputs agree to relative 1e-4 of the output's scale.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from chainrule.onnx import UnsupportedOperatorError, export, load  # noqa: E402


def run(proto, feeds):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def close(got, want, rtol=1e-4, what=""):
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=what)


def round_trip(model, xs, rng, dynamic=(0,), rtol=1e-4, special=False):
    """Export ``model`` on ``xs`` (float32 arrays) with the axes ``dynamic`` of every input
    dynamic, then compare onnxruntime and the loaded model with the eager model on fresh inputs
    of other sizes along those axes (``special``: holding NaN and infinities too)."""
    names = [f"x{i}" for i in range(len(xs))]
    axes = {n: {a: f"{n}_{a}" for a in dynamic} for n in names}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proto = export(model, tuple(cr.tensor(x) for x in xs), input_names=names,
                       dynamic_axes=axes)
    loaded = load(proto)
    for grow in (0, 1, 3):
        fresh = []
        for x in xs:
            shape = [n + grow if a in dynamic else n for a, n in enumerate(x.shape)]
            fresh.append(rng.standard_normal(shape).astype(x.dtype))
            if special:
                fresh[-1].flat[[0, -1, 1]] = [np.nan, np.inf, -np.inf][:fresh[-1].size]
        with cr.no_grad():
            want = model(*[cr.tensor(x) for x in fresh]).numpy()
            back = loaded(*[cr.tensor(x) for x in fresh]).numpy()
        got = run(proto, dict(zip(names, fresh)))[0]
        close(got, want, rtol, "onnxruntime")
        close(back, want, rtol, "chainrule.onnx.load")
    return proto


# -- regressions ------------------------------------------------------------------------------

@pytest.mark.parametrize("stride,dilation,padding,output_padding", [
    (1, 2, 0, 1), (1, 2, 1, 1), (2, 3, 1, 2), (1, 3, 0, 2), (2, 3, 0, 2), ((1, 2), (2, 3), 1, 1)])
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose_output_padding_at_least_the_stride(stride, dilation, padding,
                                                           output_padding, bias):
    """PyTorch takes an output_padding below max(stride, dilation); the exported ConvTranspose
    carried it as output_padding, which onnxruntime refuses once it reaches the stride (the
    file could not be run). It is now written as less cropping, zeros and the bias."""
    rng = np.random.default_rng(0)
    model = nn.ConvTranspose2d(4, 6, 3, stride=stride, padding=padding, dilation=dilation,
                               output_padding=output_padding, groups=2, bias=bias, rng=rng).eval()
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    proto = round_trip(model, [x], rng, dynamic=(0, 2, 3))
    onnx.checker.check_model(proto, full_check=True)


@pytest.mark.parametrize("layer", [nn.Softshrink(0.3), nn.Hardshrink(0.4), nn.CELU(0.7),
                                   nn.Threshold(0.1, -2.0)], ids=repr)
def test_shrink_threshold_celu_export_with_dynamic_axes(layer):
    """These compared x's raw array (an untracked mask), which the exporter sees as a constant
    made outside any op: the export was refused. The comparisons are now recorded."""
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(5, 7, rng=rng), layer)
    round_trip(model, [rng.standard_normal((3, 5)).astype(np.float32)], rng)


def test_softshrink_keeps_nan_as_pytorch():
    """softshrink(NaN) was 0 (neither comparison held); PyTorch's is NaN."""
    torch = pytest.importorskip("torch")
    x = np.array([np.nan, -np.inf, np.inf, -0.5, -0.2, 0.0, 0.2, 0.5, 0.7, -2.0], np.float32)
    for lambd in (0.0, 0.5):
        got = F.softshrink(cr.tensor(x), lambd).numpy()
        want = torch.nn.functional.softshrink(torch.tensor(x), lambd).numpy()
        np.testing.assert_array_equal(got, want)


def test_masked_fill_with_a_computed_mask_exports():
    """masked_fill wrapped its mask's array in a new Tensor, so a mask computed from the input
    (x < 0, the usual attention mask) reached the recording as a foreign array: the export
    failed (TraceError)."""
    rng = np.random.default_rng(2)
    round_trip(lambda x: x.masked_fill(x < 0, 0.25) + x[:, :1].masked_fill(x[:, :1] > 1, -2.0),
               [rng.standard_normal((2, 3, 4)).astype(np.float32)], rng)


@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0])
def test_normalize_exports(p):
    """F.normalize's p-norm compared its sums with 0 through their raw arrays: a constant made
    outside any op, refused by the export (so every normalize)."""
    rng = np.random.default_rng(3)
    round_trip(lambda x: F.normalize(x, p=p, dim=-1) + F.normalize(x, dim=1),
               [rng.standard_normal((2, 3, 4)).astype(np.float32)], rng)


_F = (np.float32,)
MATH = {  # name -> (function of x, extra settings of round_trip); the ops had no converter
    "rsqrt": lambda x: (x * x + 0.1).rsqrt(),
    "expm1_log1p": lambda x: x.expm1() + x.abs().log1p(),
    "log2_log10_exp2": lambda x: (x.abs() + 0.1).log2() + (x.abs() + 0.1).log10() + x.exp2(),
    "erf_erfc": lambda x: cr.erf(x) + cr.special.erfc(x),
    "inverse_trig": lambda x: (x.tanh() * 0.9).asin() + (x.tanh() * 0.9).acos() + x.tan(),
    "hyperbolic": lambda x: x.sinh() + x.cosh() + x.asinh() + (x.abs() + 1.1).acosh()
    + (x.tanh() * 0.9).atanh(),
    "reciprocal": lambda x: (x + 5.0).reciprocal(),
    "steps": lambda x: (x * 3).floor() + (x * 3).ceil() + (x * 3).trunc() + (x * 3).round(),
    "round_decimals": lambda x: (x * 30).round(decimals=1) + (x * 30).round(decimals=-1),
    "remainder_fmod": lambda x: x.remainder(0.3) + x.fmod(-0.4) + (x * 5).remainder(x - 3),
    "norm_prod": lambda x: x.norm(dim=1, keepdim=True) + x.prod(dim=-1, keepdim=True)
    + cr.linalg.vector_norm(x, dim=(1, 2)).reshape(-1, 1, 1),
    "einsum": lambda x: cr.einsum("nab,nac->nbc", x, x.tanh()),
    "roll": lambda x: x.roll(1, dims=2) + x.roll((-1, 2), dims=(1, 2)) + x.roll(5, dims=1),
    "roll_flat": lambda x: x + x[0].roll(3) + x.roll(0, dims=1),
    "clone": lambda x: x.clone() * 2,
    "cosine_similarity": lambda x: F.cosine_similarity(x, x.flip(1), dim=2),
    "nan_to_num": lambda x: x.nan_to_num() + x.nan_to_num(0.5, 2.0, -3.0),
}


@pytest.mark.parametrize("name", sorted(MATH))
def test_math_converters(name):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN and infinities (nan_to_num's inputs)
        round_trip(MATH[name], [x], rng, special=name == "nan_to_num")


def test_roll_along_a_dynamic_axis_is_refused():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(UnsupportedOperatorError, match="Roll.*axis 0, whose size changes"):
        export(lambda t: t.roll(1, dims=0), x, dynamic_axes={"t": {0: "batch"}})


class _Last(nn.Module):
    """The recurrent layer's outputs and final state, joined into one output."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        y, h = self.rnn(x)
        h = h[0] if isinstance(h, tuple) else h
        return cr.cat([y.sum(1 if self.rnn.batch_first else 0), h.sum(0)], dim=1)


@pytest.mark.parametrize("make", [
    lambda r: nn.RNN(4, 3, rng=r),
    lambda r: nn.RNN(4, 3, num_layers=2, nonlinearity="relu", bidirectional=True, rng=r),
    lambda r: nn.RNN(4, 3, batch_first=True, bias=False, rng=r),
    lambda r: nn.LSTM(4, 3, proj_size=2, num_layers=2, bidirectional=True, rng=r),
    lambda r: nn.LSTM(4, 3, proj_size=1, batch_first=True, rng=r),
], ids=["rnn", "rnn_relu_2_layers_bidirectional", "rnn_batch_first", "lstm_proj_bidirectional",
        "lstm_proj_batch_first"])
def test_unrolled_recurrent_layers_export_with_a_dynamic_batch(make):
    """The Elman RNN and the LSTM with projections run as recorded steps: their zero initial
    state had the batch's size and their per-step split cut at multiples of the batch, both
    refused by the export for a dynamic batch axis (only LSTM and GRU, one node each,
    exported)."""
    rng = np.random.default_rng(8)
    model = _Last(make(rng)).eval()
    shape = (2, 5, 4) if model.rnn.batch_first else (5, 2, 4)
    x = rng.standard_normal(shape).astype(np.float32)
    round_trip(model, [x], rng, dynamic=(0 if model.rnn.batch_first else 1,))


@pytest.mark.parametrize("pool,shape", [
    (lambda: nn.MaxPool2d(3, 2, 1, dilation=2), (2, 3, 9, 8)),
    (lambda: nn.MaxPool2d(2, 1, 0, dilation=(2, 3), ceil_mode=True), (2, 2, 7, 9)),
    (lambda: nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True), (2, 2, 8, 10)),
    (lambda: nn.MaxPool1d(2, 3, 1, dilation=3, ceil_mode=True), (2, 3, 11)),
    (lambda: nn.MaxPool3d(2, 2, 1, dilation=2), (2, 1, 5, 6, 5)),
])
def test_dilated_max_pooling_exports(pool, shape):
    """Max pooling with dilation gathers each window's winner, a gather with no converter: the
    export was refused naming _IndexGather. It is written as MaxPool with dilations."""
    rng = np.random.default_rng(9)
    proto = round_trip(pool().eval(), [rng.standard_normal(shape).astype(np.float32)], rng)
    assert [n.op_type for n in proto.graph.node if n.op_type != "Identity"] == ["MaxPool"]



@pytest.mark.parametrize("fn,dtype", [
    (lambda x: x // 0.3 + x // (x.flip(0) + 0.05), np.float32),
    (lambda x: x // 0.1, np.float64),
    (lambda x: x // 3 + x // -4 + x // (x.abs() + 1), np.int64),
])
def test_floor_divide_exports_exactly(fn, dtype):
    """// (floor_divide, not differentiated) had no converter. Integers: (a - mod(a, b)) / b;
    floats: NumPy's steps from fmod, so that the quotients are NumPy's to the last bit
    (1.0 // 0.1 is 9, not floor(1.0 / 0.1) = 10)."""
    rng = np.random.default_rng(10)

    def sample(n):
        if dtype == np.int64:
            return rng.integers(-20, 20, (n, 6))
        x = rng.standard_normal((n, 6)).astype(dtype)
        x[0, :3] = [1.0, -1.0, 0.7]
        return x

    proto = export(fn, cr.tensor(sample(2)), input_names=["x"], dynamic_axes={"x": {0: "b"}})
    for n in (2, 3):
        x = sample(n)
        want = fn(cr.tensor(x)).numpy()
        for got in (run(proto, {"x": x})[0], load(proto)(cr.tensor(x)).numpy()):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fn,ints", [
    (lambda x: x.sort(dim=-1).values + x.sort(dim=1, descending=True).values, False),
    (lambda x: x.topk(2, dim=1).values * x.topk(2, dim=1, largest=False).values, False),
    (lambda x: x.sort(dim=0).values, False),  # along the dynamic axis
    (lambda x: x.argsort(dim=1) + x.argsort(dim=1, descending=True), True),  # ties
    (lambda x: x.topk(3, dim=1).indices * 10 + x.topk(3, dim=1).values, True),
])
def test_sort_topk_argsort_export(fn, ints):
    """argsort (the indices of sort and topk) and gather along an axis had no converters; they
    are TopK (ties in index order, as chainrule's stable sort) and GatherElements."""
    rng = np.random.default_rng(11)

    def sample(n):
        return rng.integers(-3, 3, (n, 6)) if ints else rng.standard_normal((n, 6)).astype(
            np.float32)

    proto = export(fn, cr.tensor(sample(2)), input_names=["x"], dynamic_axes={"x": {0: "b"}})
    for n in (2, 3, 5):
        x = sample(n)
        want = fn(cr.tensor(x)).numpy()
        for got in (run(proto, {"x": x})[0], load(proto)(cr.tensor(x)).numpy()):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("model,shape,match", [
    (lambda: nn.AdaptiveMaxPool2d((2, 3)), (1, 1, 5, 7), "adaptive max pooling whose windows"),
    (lambda: (lambda t: F.conv_transpose3d(t, cr.ones(2, 3, 2, 2, 2))), (1, 2, 2, 2, 2),
     "conv_transpose3d"),
])
def test_refusals_name_what_the_user_wrote(model, shape, match):
    """These were refused as 'no ONNX converter for the op _AdaptiveExtremum' (RunningExtreme,
    ScatterAdd, ScatterAddAlong): internal names. The message now says which layer or
    function it is."""
    with pytest.raises(UnsupportedOperatorError, match=match):
        export(model(), np.ones(shape, np.float32))
