"""Fuzz wave 15, ONNX loading: one-op graphs written with onnx.helper, loaded by
chainrule.onnx.load and compared with onnxruntime (opsets 11 to 20, attributes at their defaults
and at other values, negative axes and indices, broadcasting, axes as attributes before an
opset and as inputs from it), and regressions of what the fuzzing found."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.onnx import load

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import helper, numpy_helper  # noqa: E402

SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 2.5, -3.0, 1e30],
                   np.float32)


def graph(nodes, inputs, inits=None, opset=17, outs=("y",)):
    """A model of ``nodes`` whose inputs are the arrays ``inputs`` ({name: array}); the outputs'
    types and shapes are filled in from onnxruntime's results by ``compare``."""
    tensor = helper.np_dtype_to_tensor_dtype
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, tensor(a.dtype), a.shape)
                     for n, a in inputs.items()],
        [helper.make_empty_tensor_value_info(o) for o in outs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    inferred = onnx.shape_inference.infer_shapes(m).graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*inferred.value_info,
                                                             *inferred.output]}
    for out in m.graph.output:
        out.CopyFrom(helper.make_tensor_value_info(out.name, types.get(out.name) or 1, None))
    return m


def compare(m, inputs, rtol=1e-5):
    """Load ``m`` and run it on ``inputs``; compare with onnxruntime (values, dtypes, shapes)."""
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, inputs)
    for out, w in zip(m.graph.output, want):
        shape = out.type.tensor_type.shape
        shape.SetInParent()
        for d in w.shape:
            shape.dim.add().dim_value = d
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = load(m)(**{k: cr.tensor(v) for k, v in inputs.items()})
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, want):
        g = g.numpy()
        assert (g.dtype, g.shape) == (w.dtype, w.shape)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol, equal_nan=True)


# -- regressions ------------------------------------------------------------------------------

@pytest.mark.parametrize("reverse", [0, 1])
def test_exclusive_cumsum_of_infinities(reverse):
    """An exclusive CumSum was the inclusive one minus the entry: NaN after an infinity
    (inf - inf) where onnxruntime has the sum of the entries before, and rounding of a large
    entry swallowed small ones. It is now the sums shifted by one."""
    x = np.array([[np.inf, 1.0, 2.0, -np.inf], [1e30, 1.0, -1e30, 3.0]], np.float32)
    for axis in (1, -1, 0):
        m = graph([helper.make_node("CumSum", ["x", "a"], ["y"], exclusive=1, reverse=reverse)],
                  {"x": x}, {"a": np.asarray(axis, np.int64)})
        compare(m, {"x": x})


def test_exclusive_cumsum_gradient():
    x = cr.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    m = graph([helper.make_node("CumSum", ["x", "a"], ["y"], exclusive=1)],
              {"x": np.zeros((3, 4))}, {"a": np.asarray(1, np.int64)})
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", 11, (3, 4)))
    loaded = load(m)
    assert cr.autograd.gradcheck(lambda t: loaded(t), (x,))
    y = loaded(x).numpy()
    np.testing.assert_allclose(y, np.cumsum(x.numpy(), 1) - x.numpy(), atol=1e-12)


def test_sign_keeps_nan():
    """ONNX's Sign of NaN is NaN (onnxruntime's, NumPy's); the loader gave chainrule's (and
    PyTorch's) 0."""
    compare(graph([helper.make_node("Sign", ["x"], ["y"])], {"x": SPECIAL}), {"x": SPECIAL})
    ints = np.array([-3, 0, 4], np.int64)
    compare(graph([helper.make_node("Sign", ["x"], ["y"])], {"x": ints}), {"x": ints})


@pytest.mark.parametrize("bounds", [("lo", ""), ("", "hi"), ("lo", "hi"), ("", "")])
def test_clip_with_an_omitted_bound_makes_infinities_finite(bounds):
    """ONNX's Clip takes an omitted bound as the dtype's extreme: Clip(inf, min=0.3) is the
    largest float32 in onnxruntime; the loader left the infinity."""
    inits = {"lo": np.asarray(0.3, np.float32), "hi": np.asarray(0.4, np.float32)}
    m = graph([helper.make_node("Clip", ["x", *bounds], ["y"])], {"x": SPECIAL}, inits)
    compare(m, {"x": SPECIAL})


# -- ScatterElements, ScatterND, GatherND, BitShift: added in wave 15 --------------------------

def _distinct(rng, dim, shape, axis):
    """Indices along ``axis`` without repeats in any line (a plain scatter of repeated
    positions keeps an unspecified one)."""
    lines = np.moveaxis(np.zeros(shape, np.int64), axis, -1)
    for pos in np.ndindex(lines.shape[:-1]):
        lines[pos] = rng.permutation(dim)[:shape[axis]]
    return np.moveaxis(lines, -1, axis)


@pytest.mark.parametrize("reduction,opset", [("none", 11), ("none", 18), ("add", 16),
                                             ("mul", 16), ("max", 18), ("min", 18)])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_scatter_elements(reduction, opset, axis, dtype):
    """ScatterElements was not in the loader's table (PyTorch exports scatter, scatter_add and
    scatter_reduce as it); negative indices count from the end."""
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((3, 4, 5)) * 3).astype(dtype)
    shape = [2, 3, 4]
    dim = x.shape[axis]
    idx = (_distinct(rng, dim, shape, axis % 3) if reduction == "none"
           else rng.integers(0, dim, shape))
    idx = np.where(rng.random(shape) < 0.5, idx - dim, idx)
    u = (rng.standard_normal(shape) * 3).astype(dtype)
    attrs = {} if reduction == "none" else {"reduction": reduction}
    m = graph([helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=axis, **attrs)],
              {"x": x, "u": u}, {"i": idx}, opset)
    compare(m, {"x": x, "u": u})


@pytest.mark.parametrize("reduction", ["none", "add"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_scatter_nd_and_gather_nd(reduction, k):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 4, 2)).astype(np.float32)
    flat = rng.permutation(int(np.prod(x.shape[:k])))[:4]
    if reduction == "add":
        flat[1] = flat[0]  # a repeated position adds up
    idx = np.stack(np.unravel_index(flat, x.shape[:k]), -1).reshape(2, 2, k)
    idx = np.where(rng.random(idx.shape) < 0.5, idx - np.array(x.shape[:k]), idx)
    u = rng.standard_normal((2, 2, *x.shape[k:])).astype(np.float32)
    attrs = {} if reduction == "none" else {"reduction": reduction}
    m = graph([helper.make_node("ScatterND", ["x", "i", "u"], ["y"], **attrs)],
              {"x": x, "u": u}, {"i": idx}, 16)
    compare(m, {"x": x, "u": u})
    m = graph([helper.make_node("GatherND", ["x", "i"], ["y"])], {"x": x}, {"i": idx}, 13)
    compare(m, {"x": x})


def _float64(nodes, inputs, inits, opset, out_shape):
    m = graph(nodes, inputs, inits, opset)
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", 11, out_shape))
    return load(m)


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_elements_gradients(reduction):
    """Float64 gradients of the data and the updates: finite differences and PyTorch's
    scatter/scatter_add/scatter_reduce (include_self, as ONNX's reductions)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x, u = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    idx = np.array([[0, 2, 1, 2], [1, 0, 2, 0]]) if reduction == "none" else \
        rng.integers(-3, 3, (2, 4))
    attrs = {} if reduction == "none" else {"reduction": reduction}
    loaded = _float64([helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], **attrs)],
                      {"x": x, "u": u}, {"i": idx}, 18, (3, 4))
    xs = cr.tensor(x, requires_grad=True), cr.tensor(u, requires_grad=True)
    assert cr.autograd.gradcheck(lambda a, b: loaded(a, b), xs)
    tx, tu = (torch.tensor(a, requires_grad=True) for a in (x, u))
    ti = torch.tensor(idx % 3)
    names = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}
    want = (tx.scatter(0, ti, tu) if reduction == "none"
            else tx.scatter_reduce(0, ti, tu, names[reduction]))
    w = torch.tensor(rng.standard_normal((3, 4)))
    (want * w).sum().backward()
    got = loaded(*xs)
    (got * cr.tensor(w.numpy())).sum().backward()
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xs[0].grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(xs[1].grad.numpy(), tu.grad.numpy(), rtol=1e-12)


def test_scatter_nd_and_gather_nd_gradients():
    rng = np.random.default_rng(10)
    x, u = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    idx = np.array([[2], [-3]])
    for reduction in ("none", "add"):
        attrs = {} if reduction == "none" else {"reduction": reduction}
        loaded = _float64([helper.make_node("ScatterND", ["x", "i", "u"], ["y"], **attrs)],
                          {"x": x, "u": u}, {"i": idx}, 16, (3, 4))
        assert cr.autograd.gradcheck(lambda a, b: loaded(a, b), (
            cr.tensor(x, requires_grad=True), cr.tensor(u, requires_grad=True)))
    loaded = _float64([helper.make_node("GatherND", ["x", "i"], ["y"])], {"x": x},
                      {"i": np.array([[0, 1], [-1, 2], [0, 1]])}, 13, (3,))
    assert cr.autograd.gradcheck(lambda a: loaded(a), (cr.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_bit_shift(direction, dtype):
    """BitShift (unsigned integers, broadcasting) was not in the loader's table."""
    rng = np.random.default_rng(11)
    a = rng.integers(0, 200, (3, 4)).astype(dtype)
    b = rng.integers(0, 8, (4,)).astype(dtype)
    m = graph([helper.make_node("BitShift", ["a", "b"], ["y"], direction=direction)],
              {"a": a, "b": b})
    compare(m, {"a": a, "b": b})


def test_scatter_out_of_range_and_unknown_settings_are_errors():
    x = np.zeros((3, 4), np.float32)
    m = graph([helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=1)],
              {"x": x, "u": np.ones((1, 1), np.float32)}, {"i": np.array([[4]])}, 13)
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", 1, (3, 4)))
    with pytest.raises(IndexError, match="ScatterElements: an index is out of range"):
        load(m)(x, np.ones((1, 1), np.float32))
    m = graph([helper.make_node("ScatterND", ["x", "i", "u"], ["y"], reduction="mul")],
              {"x": x, "u": np.ones((1, 4), np.float32)}, {"i": np.array([[1]])}, 16)
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", 1, (3, 4)))
    with pytest.raises(ValueError, match="ScatterND reduction='mul'"):
        load(m)


# -- DepthToSpace, SpaceToDepth, OneHot: added in wave 15 --------------------------------------

@pytest.mark.parametrize("mode", ["DCR", "CRD"])
@pytest.mark.parametrize("block", [1, 2, 3])
def test_depth_to_space_and_back(mode, block):
    """DepthToSpace (PyTorch exports pixel_shuffle as it) and SpaceToDepth (pixel_unshuffle)
    were missing from the loader's table."""
    rng = np.random.default_rng(15)
    x = rng.standard_normal((2, 2 * block * block, 3, 2)).astype(np.float32)
    compare(graph([helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=block, mode=mode)],
                  {"x": x}), {"x": x})
    x = rng.standard_normal((2, 3, 2 * block, block)).astype(np.float32)
    compare(graph([helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=block)], {"x": x}),
            {"x": x})
    x64 = rng.standard_normal((1, 2 * block * block, 2, 3))
    loaded = _float64([helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=block,
                                        mode=mode)], {"x": x64}, {}, 13,
                      (1, 2, 2 * block, 3 * block))
    assert cr.autograd.gradcheck(lambda t: loaded(t) ** 2, (cr.tensor(x64, requires_grad=True),))


@pytest.mark.parametrize("axis", [-1, 0, 1, -2])
@pytest.mark.parametrize("values", [np.array([0.5, 2.0], np.float32), np.array([0, 3])])
def test_one_hot(axis, values):
    """OneHot (PyTorch's F.one_hot) was missing; negative indices count from the end and
    indices outside [-depth, depth) give a row of the off value, as onnxruntime's."""
    idx = np.array([[0, 3, -1], [-4, 5, 2]], np.int64)
    m = graph([helper.make_node("OneHot", ["i", "d", "v"], ["y"], axis=axis)], {"i": idx},
              {"d": np.asarray(4, np.int64), "v": values}, 13)
    compare(m, {"i": idx})


def test_pixel_shuffle_and_one_hot_exported_by_pytorch():
    torch = pytest.importorskip("torch")
    import io

    class Net(torch.nn.Module):
        def forward(self, x, ids):
            y = torch.nn.functional.pixel_shuffle(x, 2)
            return torch.nn.functional.pixel_unshuffle(y * 2, 2), \
                torch.nn.functional.one_hot(ids, 5).float() * 3

    x, ids = torch.randn(2, 8, 3, 2), torch.tensor([[0, 4], [2, 1]])
    for opset in (11, 17):
        f = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter's
            torch.onnx.export(Net(), (x, ids), f, opset_version=opset, dynamo=False)
        got = load(f.getvalue())(x.numpy(), ids.numpy())
        for g, w in zip(got, Net()(x, ids)):
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)
