"""Fuzz wave 15, ONNX export: ops exported by chainrule.onnx.export and run by onnxruntime on
inputs holding NaN, infinities, signed zeros and large values, compared with chainrule's own
forward (and with the file loaded back by chainrule.onnx.load); regressions of what the fuzzing
found."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from chainrule.onnx import UnsupportedOperatorError, export, load  # noqa: E402

SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1e30, -1e30,
                    3.0, -3.0, 1e-30, 0.9999], np.float32)


def run(proto, feeds):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def same(got, want, rtol=1e-5):
    """Equal dtypes and shapes, NaN and infinities in the same places, the rest close."""
    assert (got.dtype, got.shape) == (want.dtype, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True)


def export_and_compare(fn, examples, fresh, opset=17, rtol=1e-5):
    """Export ``fn`` on ``examples``; onnxruntime and the loaded file on ``fresh`` must give
    chainrule's outputs."""
    names = [f"x{i}" for i in range(len(examples))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proto = export(fn, tuple(cr.tensor(x) for x in examples), input_names=names,
                       opset_version=opset)
        with cr.no_grad():
            want = fn(*[cr.tensor(x) for x in fresh])
            back = load(proto)(*[cr.tensor(x) for x in fresh])
    want = want if isinstance(want, tuple) else (want,)
    back = back if isinstance(back, tuple) else (back,)
    for got, b, w in zip(run(proto, dict(zip(names, fresh))), back, want):
        same(got, w.numpy(), rtol)
        same(b.numpy(), w.numpy(), rtol)
    return proto


# -- regressions ------------------------------------------------------------------------------

@pytest.mark.parametrize("opset", [13, 17, 20])
def test_sign_of_nan_is_zero_in_the_file(opset):
    """cr.sign (as torch.sign) is 0 at NaN; the file had ONNX's Sign alone, NaN there. And an
    example holding NaN made the export refuse sign (its check compared with NumPy's sign)."""
    x = np.random.default_rng(0).standard_normal(16).astype(np.float32)
    export_and_compare(lambda t: cr.sign(t) * 2, [x], [SPECIAL], opset)
    export_and_compare(lambda t: cr.sign(t), [SPECIAL], [x], opset)


@pytest.mark.parametrize("fn", [lambda t: cr.clamp(t, min=0.3), lambda t: cr.clamp(t, max=-0.2),
                                lambda t: t.clamp(-1.0, 2.0), lambda t: t.clamp_min(0.0) * 3],
                         ids=["min", "max", "both", "clamp_min"])
def test_clamp_with_one_bound_keeps_infinities(fn):
    """clamp(x, min=a) was ONNX's Clip with its max omitted, which onnxruntime (as the ONNX
    specification says) takes as float32's largest value: inf became 3.4e38. One bound is now
    Max or Min."""
    x = np.random.default_rng(1).standard_normal(16).astype(np.float32)
    export_and_compare(fn, [x], [SPECIAL])


# -- atan2, cumprod, cummax/cummin: converters added in wave 15 --------------------------------

_EDGES = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1e-30, -1e30, 2.0], np.float32)


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_atan2_every_quadrant_zero_sign_and_infinity(opset):
    """atan2 had no converter. Every pair of the edge values (signed zeros, infinities, NaN)
    gives NumPy's (and PyTorch's) angle."""
    y, x = np.meshgrid(_EDGES, _EDGES)
    export_and_compare(lambda a, b: cr.atan2(a, b), [y + 1, x], [y, x], opset)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3, 7)).astype(np.float32)
    export_and_compare(lambda a, b: cr.atan2(a, b) * 2, [a, b], [b * 1e3, a])


def test_atan2_matches_pytorch_in_float64_and_broadcasts():
    """onnxruntime has no float64 Atan: ONNX's reference implementation runs the file."""
    torch = pytest.importorskip("torch")
    from onnx.reference import ReferenceEvaluator

    rng = np.random.default_rng(3)
    y, x = rng.standard_normal((4, 5)), rng.standard_normal((1, 5))
    proto = export(lambda a, b: cr.atan2(a, b), (cr.tensor(y), cr.tensor(x)),
                   input_names=["y", "x"])
    y, x = y * 3 - 1, np.concatenate([x[:, :3], [[0.0, -0.0]]], 1)
    want = torch.atan2(torch.tensor(y), torch.tensor(x)).numpy()
    with np.errstate(divide="ignore", invalid="ignore"):  # the formula's 1 / 0 finds -0
        got = ReferenceEvaluator(proto).run(None, {"y": y, "x": x})[0]
        back = load(proto)(y, x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(back, want, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumprod_exports(dtype, dim):
    """cumprod had no converter (ONNX has only CumSum): the running products are written one
    Mul per position, in NumPy's order, so they round as chainrule's."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((3, 6)) * 2).astype(dtype)
    fresh = (rng.standard_normal((3, 6)) * 2).astype(dtype)
    if dtype == np.float32:
        fresh.flat[[1, 7, 13]] = [np.inf, 0.0, np.nan]
    proto = export_and_compare(lambda t: cr.cumprod(t, dim), [x], [fresh], rtol=0)
    torch = pytest.importorskip("torch")
    want = torch.cumprod(torch.tensor(fresh), dim).numpy()
    np.testing.assert_array_equal(run(proto, {"x0": fresh})[0], want.astype(dtype))


@pytest.mark.parametrize("fn", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_cummax_cummin_values_and_indices_as_pytorch(fn, dtype):
    """cummax/cummin were refused. Values and indices (ties: the later position; from a NaN
    on, the NaN and each later NaN's position) agree with PyTorch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, (4, 7)).astype(dtype)
    fresh = rng.integers(0, 3, (4, 7)).astype(dtype)
    if dtype == np.float32:
        fresh[1, 2] = fresh[1, 5] = fresh[2, 0] = np.nan
        fresh[3, 3] = -np.inf
    for dim in (1, 0, -1):
        proto = export_and_compare(lambda t: getattr(cr, fn)(t, dim), [x], [fresh], rtol=0)
        values, indices = getattr(torch, fn)(torch.tensor(fresh), dim)
        got = run(proto, {"x0": fresh})
        np.testing.assert_array_equal(got[0], values.numpy())
        np.testing.assert_array_equal(got[1], indices.numpy())


def test_running_ops_along_a_dynamic_axis_are_refused():
    x = np.ones((2, 3), np.float32)
    for fn in (lambda t: cr.cumprod(t, 0), lambda t: cr.cummax(t, 0).values):
        with pytest.raises(UnsupportedOperatorError, match="along axis 0, whose size changes"):
            export(fn, x, input_names=["t"], dynamic_axes={"t": {0: "batch"}})
    round_trip = export(lambda t: cr.cumprod(t, 1), x, input_names=["t"],
                        dynamic_axes={"t": {0: "batch"}})
    fresh = np.random.default_rng(6).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(run(round_trip, {"t": fresh})[0], np.cumprod(fresh, 1))


# -- F.fold / nn.Fold: ScatterND with reduction="add" (opset 16) --------------------------------

@pytest.mark.parametrize("settings", [
    {"output_size": (4, 5), "kernel_size": 2},
    {"output_size": (5, 6), "kernel_size": (2, 3), "stride": 2, "padding": 1,
     "dilation": (1, 2)},
    {"output_size": 6, "kernel_size": 3, "stride": 3},
])
@pytest.mark.parametrize("opset", [16, 18, 21])
def test_fold_exports_with_a_dynamic_batch(settings, opset):
    """nn.Fold (F.fold) was refused: its overlapping windows are summed by a scatter-add, now
    ONNX's ScatterND(reduction="add") into zeros shaped from the input."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    size = settings["output_size"]
    size = (size, size) if isinstance(size, int) else size
    unfold = {k: v for k, v in settings.items() if k != "output_size"}
    cols = cr.nn.functional.unfold(cr.tensor(rng.standard_normal((2, 3, *size))), **unfold)
    model = cr.nn.Fold(**settings)
    x = cols.numpy().astype(np.float32)
    proto = export(model, x, input_names=["x"], output_names=["y"], opset_version=opset,
                   dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    for n in (1, 4):
        fresh = rng.standard_normal((n, *x.shape[1:])).astype(np.float32)
        want = torch.nn.Fold(**settings)(torch.tensor(fresh)).numpy()
        np.testing.assert_allclose(run(proto, {"x": fresh})[0], want, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(load(proto)(fresh).numpy(), want, rtol=1e-6, atol=1e-6)


def test_unbatched_fold_in_float64_and_the_opset_it_needs():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((12, 6))
    fn = lambda t: cr.nn.functional.fold(t, (3, 4), 2)  # noqa: E731
    export_and_compare(fn, [x], [rng.standard_normal((12, 6))], opset=16, rtol=1e-12)
    with pytest.raises(UnsupportedOperatorError, match="F.fold/nn.Fold.*from opset 16; got "
                       "opset_version=15"):
        export(fn, x, opset_version=15)


def test_split_along_a_dynamic_axis_keeps_the_last_piece_open():
    """x.split([1, n - 1]) along a dynamic axis was written as Split with the example's sizes
    (1, 2): onnxruntime failed on any other length. The cuts agree between the recordings, so
    the pieces are now Slices, the last one to the end of the axis."""
    rng = np.random.default_rng(14)

    def model(x):
        head, tail = x.split([1, x.shape[1] - 1], 1)
        first, *rest = x.unbind(2)
        return cr.cat([tail, head], 1) * 2, first + rest[0]

    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    proto = export(model, x, input_names=["x"], dynamic_axes={"x": {0: "b", 1: "s"}})
    for shape in ((2, 3, 4), (1, 6, 4), (3, 2, 4)):
        fresh = rng.standard_normal(shape).astype(np.float32)
        want = model(cr.tensor(fresh))
        for got, back, w in zip(run(proto, {"x": fresh}), load(proto)(fresh), want):
            same(got, w.numpy())
            same(back.numpy(), w.numpy())


# -- EmbeddingBag of a 2-D input ---------------------------------------------------------------

@pytest.mark.parametrize("mode,weighted", [("sum", False), ("sum", True), ("mean", False),
                                           ("max", False)])
@pytest.mark.parametrize("opset", [13, 18])
def test_embedding_bag_of_a_2d_input_exports(mode, weighted, opset):
    """EmbeddingBag was refused: its op looked the ids up through an array read from the input
    (a constant to the recording). For a 2-D input (bags of one length, no padding_idx) the
    lookup now indexes by the input itself, written as Gather + ReduceSum/ReduceMax per bag,
    with per_sample_weights as a second input; compared with PyTorch at other batch sizes."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(16)
    model = cr.nn.EmbeddingBag(10, 3, mode=mode, rng=rng)
    ref = torch.nn.EmbeddingBag(10, 3, mode=mode)
    ref.weight.data = torch.tensor(model.weight.numpy())
    ids = rng.integers(0, 10, (2, 4))
    weights = rng.standard_normal((2, 4)).astype(np.float32)
    fn = (lambda i, w: model(i, per_sample_weights=w)) if weighted else model
    names = ["ids", "w"] if weighted else ["ids"]
    proto = export(fn, (cr.tensor(ids), cr.tensor(weights))[:len(names)], input_names=names,
                   dynamic_axes={n: {0: "batch"} for n in names}, opset_version=opset)
    for batch in (1, 5):
        feeds = {"ids": rng.integers(0, 10, (batch, 4)),
                 "w": rng.standard_normal((batch, 4)).astype(np.float32)}
        feeds = {k: feeds[k] for k in names}
        want = ref(torch.tensor(feeds["ids"]), per_sample_weights=torch.tensor(feeds["w"])
                   if weighted else None).detach().numpy()
        np.testing.assert_allclose(run(proto, feeds)[0], want, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(load(proto)(*feeds.values()).numpy(), want, rtol=1e-6,
                                   atol=1e-6)


def test_embedding_bag_with_fixed_offsets_or_padding_exports():
    """These were refused; they export since the bags are recorded ops (test_fuzz15_onnx_bags)."""
    model = cr.nn.EmbeddingBag(10, 3, mode="sum", rng=np.random.default_rng(17))
    ids, offsets = np.array([1, 2, 4, 5, 4, 3]), np.array([0, 2, 2])
    fn = lambda i: model(i, cr.tensor(offsets))  # noqa: E731 - offsets fixed in the model
    proto = export(fn, cr.tensor(ids), input_names=["ids"])
    other = np.array([9, 0, 3, 3, 1, 7])
    np.testing.assert_allclose(run(proto, {"ids": other})[0], fn(cr.tensor(other)).numpy(),
                               rtol=1e-6)
    padded = cr.nn.EmbeddingBag(10, 3, mode="sum", padding_idx=0)
    two_d = np.array([[1, 0, 2], [0, 3, 4]])
    proto = export(padded, cr.tensor(two_d), input_names=["ids"])
    np.testing.assert_allclose(run(proto, {"ids": two_d[::-1].copy()})[0],
                               padded(cr.tensor(two_d[::-1].copy())).detach().numpy(), rtol=1e-6)


# -- nn.ConvTranspose3d: one ConvTranspose node -------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_conv_transpose3d_layer_exports(seed):
    """nn.ConvTranspose3d was refused (chainrule runs it as 2-D ones and a scatter-add along the
    depth); the layer is now recognized and written as ONNX's 3-D ConvTranspose, an output
    padding at or above the stride as less cropping and Pad (onnxruntime refuses it), with a
    dynamic batch and width. Compared with PyTorch's layer."""
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(100 + seed)
    stride, dilation = tuple(r.integers(1, 3, 3)), tuple(r.integers(1, 3, 3))
    settings = dict(stride=stride, dilation=dilation, padding=tuple(r.integers(0, 2, 3)),
                    output_padding=tuple(int(r.integers(0, max(a, b)))
                                         for a, b in zip(stride, dilation)),
                    groups=int(r.choice([1, 2])), bias=bool(seed % 2))
    settings = {k: tuple(int(v) for v in x) if isinstance(x, tuple) else x
                for k, x in settings.items()}
    model = cr.nn.ConvTranspose3d(2, 4, (2, 3, 2), rng=r, **settings)
    ref = torch.nn.ConvTranspose3d(2, 4, (2, 3, 2), **settings)
    ref.weight.data = torch.tensor(model.weight.numpy())
    if model.bias is not None:
        ref.bias.data = torch.tensor(model.bias.numpy())
    x = r.standard_normal((2, 2, 3, 2, 3)).astype(np.float32)
    proto = export(cr.nn.Sequential(model, cr.nn.ReLU()), x, input_names=["x"],
                   dynamic_axes={"x": {0: "batch", 4: "width"}}, opset_version=17)
    assert [n.op_type for n in proto.graph.node].count("ConvTranspose") == 1
    for shape in ((1, 2, 3, 2, 3), (3, 2, 3, 2, 5)):
        fresh = r.standard_normal(shape).astype(np.float32)
        want = ref(torch.tensor(fresh)).relu().detach().numpy()
        np.testing.assert_allclose(run(proto, {"x": fresh})[0], want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(load(proto)(fresh).numpy(), want, rtol=1e-5, atol=1e-5)


def test_conv_transpose3d_with_output_size_and_the_refusals():
    rng = np.random.default_rng(18)
    model = cr.nn.ConvTranspose3d(2, 3, 3, stride=2, rng=rng)
    x = rng.standard_normal((1, 2, 2, 3, 2)).astype(np.float32)

    class Sized(cr.nn.Module):  # the layer must be found among the model's modules
        def __init__(self):
            super().__init__()
            self.up = model

        def forward(self, t):
            return self.up(t, output_size=(6, 8, 5))

    export_and_compare(Sized(), [x], [rng.standard_normal(x.shape).astype(np.float32)])
    with pytest.raises(UnsupportedOperatorError, match="ConvTranspose3d.*unbatched"):
        export(model, x[0])
    with pytest.raises(UnsupportedOperatorError, match="conv_transpose3d"):
        export(lambda t: cr.nn.functional.conv_transpose3d(t, model.weight), x)


@pytest.mark.parametrize("opset", [13, 18, 21])
def test_mask_logic_exports(opset):
    """&, |, ^ and ~ of masks (and logical_and/or/xor) had no converter: a model combining
    attention or validity masks could not be exported. They are And/Or/Xor/Not; of integers,
    ONNX's Bitwise* ops from opset 18 (refused below it), which the loader now evaluates."""
    rng = np.random.default_rng(19)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    fresh = rng.standard_normal((3, 4)).astype(np.float32)
    export_and_compare(lambda a: a * ((a > 0) & (a < 1) | ~(a > -1) ^ (a > 0.5))
                       + cr.logical_and(a > 0, a < 1) + cr.logical_xor(a > 0, a < 0.5),
                       [x], [fresh], opset)
    ints = rng.integers(-9, 9, (3, 4))
    fn = lambda a: (a & 6) | (a ^ a.flip(0)) | ~a  # noqa: E731
    if opset < 18:
        with pytest.raises(UnsupportedOperatorError, match="BitwiseAnd .*needs opset 18"):
            export(fn, ints, opset_version=opset)
    else:
        export_and_compare(fn, [ints], [rng.integers(-9, 9, (3, 4)).astype(ints.dtype)], opset)


@pytest.mark.parametrize("name", ["smooth_l1", "huber", "kl_div", "kl_div_zeros"])
def test_losses_with_masks_export(name):
    """huber_loss/smooth_l1_loss and kl_div chose their branch by a mask computed from the raw
    arrays (|d| < delta, target != 0): a constant made outside any op, so the export refused
    them. The masks are now recorded comparisons."""
    F = cr.nn.functional
    fn = {"smooth_l1": lambda a: F.smooth_l1_loss(a, a.flip(1) * 2, reduction="none"),
          "huber": lambda a: F.huber_loss(a, a.flip(1), delta=0.7),
          "kl_div": lambda a: F.kl_div(F.log_softmax(a, -1), F.softmax(a.flip(1), -1),
                                       reduction="batchmean"),
          "kl_div_zeros": lambda a: F.kl_div(a, cr.relu(a.flip(1)), reduction="none")}[name]
    rng = np.random.default_rng(20)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    export_and_compare(fn, [x], [rng.standard_normal((3, 4)).astype(np.float32)], rtol=1e-6)


@pytest.mark.parametrize("p", [2.0, 3.0, float("inf")])
def test_lp_pool_exports(p):
    """LPPool compared its window sums with 0 through a detached copy, which the recorder
    refuses (memory shared with the computation, not made by an op): no LPPool model could be
    exported. The comparison is now recorded."""
    rng = np.random.default_rng(21)
    x = np.abs(rng.standard_normal((1, 2, 4, 4))).astype(np.float32)
    x[0, 0, :2, :2] = 0  # a window of zeros: 0, as PyTorch's
    export_and_compare(cr.nn.LPPool2d(p, 2), [x], [x[:, ::-1].copy()], rtol=1e-5)
    y = np.abs(rng.standard_normal((2, 3, 7))).astype(np.float32)
    export_and_compare(cr.nn.LPPool1d(p, 3, stride=2, ceil_mode=True), [y], [y * 2], rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_one_hot_exports_with_num_classes(dtype):
    """F.one_hot had no converter; with num_classes given it is ONNX's OneHot. num_classes=-1
    (the count read from the values) is refused: the file would keep the example's count."""
    rng = np.random.default_rng(22)
    ids = rng.integers(0, 5, (2, 3)).astype(dtype)
    fn = lambda i: cr.nn.functional.one_hot(i, 6) * 2  # noqa: E731
    export_and_compare(fn, [ids], [rng.integers(0, 6, (2, 3)).astype(dtype)])
    with pytest.raises(UnsupportedOperatorError, match="num_classes=-1"):
        export(lambda i: cr.nn.functional.one_hot(i), ids)
