"""Fuzz wave 15, ONNX loading: seeded random one-op graphs across opsets 11 to 20 for the ops
whose form changed between opsets (reduction and Squeeze/Unsqueeze axes as attributes before
opset 13/18 and inputs from it, Split's sizes as an attribute, an input or ``num_outputs``,
Softmax's 2-D view before 13, Pad's ``axes`` from 18 and ``wrap`` from 19) and for attributes at
their defaults and other values (negative axes, negative indices of Gather and GatherElements,
negative Slice steps, broadcasting of int and float arithmetic, every Resize coordinate and
rounding mode); chainrule.onnx.load must give onnxruntime's values, dtypes and shapes."""

from __future__ import annotations

import numpy as np
import pytest

from .test_fuzz15_onnx_load import compare, graph

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import helper  # noqa: E402

node = helper.make_node


def _x(r, shape, dtype=np.float32):
    if np.dtype(dtype).kind == "f":
        return r.standard_normal(shape).astype(dtype)
    return r.integers(-5, 6, shape).astype(dtype)


def _broadcast(r, shape):
    return tuple(1 if r.random() < 0.4 else d for d in shape[int(r.integers(0, len(shape) + 1)):])


def _binary(r, shape, opset):
    op = str(r.choice(["Add", "Sub", "Mul", "Div", "Max", "Min", "Mod", "Equal", "Less", "Pow",
                       "Sum", "Mean"]))
    dtype = np.float32 if op in ("Pow", "Mean", "Sum") else r.choice([np.float32, np.int64,
                                                                      np.int32])
    a, b = _x(r, shape, dtype), _x(r, _broadcast(r, shape), dtype)
    if op in ("Div", "Mod") and np.dtype(dtype).kind == "i":
        b[b == 0] = 3
    if op == "Pow":
        a = np.abs(a) + 0.1
    attrs = {"fmod": 1} if op == "Mod" and (np.dtype(dtype).kind == "f" or r.random() < .5) else {}
    return [node(op, ["a", "b"], ["y"], **attrs)], {"a": a, "b": b}, {}


def _reduction(r, shape, opset):
    op = str(r.choice(["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                       "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp"]))
    nd = len(shape)
    axes = sorted({int(a) % nd: int(a) for a in r.integers(-nd, nd, int(r.integers(0, nd + 1)))}
                  .values())
    attrs, inits, ins = {"keepdims": int(r.integers(2))}, {}, ["x"]
    if opset < (13 if op == "ReduceSum" else 18):
        if axes:
            attrs["axes"] = axes
    else:
        if r.random() < 0.3:
            attrs["noop_with_empty_axes"] = int(r.integers(2))
        if axes or r.random() < 0.5:
            inits["axes"], ins = np.asarray(axes, np.int64), ["x", "axes"]
    return [node(op, ins, ["y"], **attrs)], {"x": _x(r, shape)}, inits


def _split(r, shape, opset):
    nd, n = len(shape), int(r.integers(1, 4))
    axis = int(r.integers(-nd, nd))
    attrs, inits, ins = {"axis": axis}, {}, ["x"]
    if r.random() < 0.5 or opset < 18:
        cuts = np.sort(r.integers(0, shape[axis] + 1, n - 1))
        sizes = np.diff([0, *cuts, shape[axis]]).tolist()
        if opset < 13:
            attrs["split"] = sizes
        else:
            inits["s"], ins = np.asarray(sizes, np.int64), ["x", "s"]
    else:
        attrs["num_outputs"] = n
        if -(-shape[axis] // n) * (n - 1) >= shape[axis]:  # no empty last piece
            attrs["num_outputs"] = n = 1
    return [node("Split", ins, [f"y{i}" for i in range(n)], **attrs)], {"x": _x(r, shape)}, \
        inits, tuple(f"y{i}" for i in range(n))


def _squeeze(r, shape, opset):
    nd = len(shape)
    if r.random() < 0.5:
        axes = [a for a in range(-nd, 0) if shape[a] == 1 and r.random() < 0.6]
        op = "Squeeze"
    else:
        axes, op = [int(r.integers(-nd - 1, nd + 1))], "Unsqueeze"
    if opset < 13:
        return [node(op, ["x"], ["y"], **({"axes": axes} if axes else {}))], {"x": _x(r, shape)}, {}
    if not axes:
        return [node(op, ["x"], ["y"])], {"x": _x(r, shape)}, {}
    return [node(op, ["x", "a"], ["y"])], {"x": _x(r, shape)}, {"a": np.asarray(axes, np.int64)}


def _softmax(r, shape, opset):
    op = str(r.choice(["Softmax", "LogSoftmax", "Hardmax"]))
    attrs = {} if r.random() < 0.3 else {"axis": int(r.integers(-len(shape), len(shape)))}
    return [node(op, ["x"], ["y"], **attrs)], {"x": _x(r, shape)}, {}


def _indexing(r, shape, opset):
    nd = len(shape)
    axis = int(r.integers(-nd, nd))
    dim = shape[axis]
    kind = int(r.integers(3))
    if kind == 0:
        idx = r.integers(-dim, dim, tuple(r.integers(1, 3, r.integers(0, 3))))
        return [node("Gather", ["x", "i"], ["y"], axis=axis)], \
            {"x": _x(r, shape, r.choice([np.float32, np.int64]))}, {"i": idx}
    if kind == 1:
        ishape = list(shape)
        ishape[axis] = int(r.integers(1, 4))
        return [node("GatherElements", ["x", "i"], ["y"], axis=axis)], {"x": _x(r, shape)}, \
            {"i": r.integers(-dim, dim, ishape)}
    axes = [int(a) - nd * int(r.integers(2)) for a in
            r.choice(np.arange(nd), int(r.integers(1, nd + 1)), replace=False)]
    ends = [int(r.choice([r.integers(-6, 6), 2**62, -2**62])) for _ in axes]
    inits = {"s": np.asarray(r.integers(-6, 6, len(axes))), "e": np.asarray(ends),
             "a": np.asarray(axes), "p": np.asarray(r.choice([1, 2, -1, -2, 3], len(axes)))}
    return [node("Slice", ["x", "s", "e", "a", "p"], ["y"])], {"x": _x(r, shape)}, inits


def _pad(r, shape, opset):
    nd = len(shape)
    mode = str(r.choice(["constant", "reflect", "edge"] + (["wrap"] if opset >= 19 else [])))
    axes = None
    if opset >= 18 and r.random() < 0.5:
        axes = [int(a) for a in r.choice(np.arange(-nd, 0), int(r.integers(1, nd + 1)),
                                         replace=False)]
    low = -1 if mode == "constant" else 0
    top = {"constant": lambda d: 3, "reflect": lambda d: d - 1, "edge": lambda d: 3,
           "wrap": lambda d: d}[mode]
    pads = [int(r.integers(low, top(shape[a]) + 1)) for a in (axes or range(nd)) for _ in "ab"]
    pads = pads[::2] + pads[1::2]
    inits = {"p": np.asarray(pads, np.int64), "v": np.asarray(1.5, np.float32)}
    ins = ["x", "p", "v"]
    if axes is not None:
        inits["a"], ins = np.asarray(axes, np.int64), ins + ["a"]
    return [node("Pad", ins, ["y"], mode=mode)], {"x": _x(r, shape)}, inits


def _resize(r, shape, opset):
    x = _x(r, (1, 2, int(r.integers(1, 5)), int(r.integers(1, 5))))
    modes = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
             "tf_half_pixel_for_nn"] + (["half_pixel_symmetric"] if opset >= 19 else [])
    attrs = {"mode": str(r.choice(["nearest", "linear"])),
             "coordinate_transformation_mode": str(r.choice(modes)),
             "nearest_mode": str(r.choice(["round_prefer_floor", "round_prefer_ceil", "floor",
                                           "ceil"]))}
    inits = {"roi": np.zeros(0, np.float32)}
    if r.random() < 0.5:
        inits["sc"] = np.asarray([1, 1, r.choice([0.5, 1.5, 2, 3, 0.7]),
                                  r.choice([0.5, 1.5, 2, 0.6])], np.float32)
        ins = ["x", "roi", "sc"]
    else:
        inits["sz"] = np.asarray([1, 2, r.integers(1, 8), r.integers(1, 8)], np.int64)
        ins = ["x", "", "", "sz"] if opset >= 13 else ["x", "roi", "sc", "sz"]
        inits["sc"] = np.zeros(0, np.float32)
    if opset >= 18 and r.random() < 0.3:
        attrs["axes"] = [2, 3] if r.random() < 0.5 else [-2, -1]
        key = "sz" if "sz" in ins else "sc"
        inits[key] = inits[key][2:]
    return [node("Resize", ins, ["y"], **attrs)], {"x": x}, inits


BUILDERS = [_binary, _reduction, _split, _squeeze, _softmax, _indexing, _pad, _resize]


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__.strip("_"))
def test_random_graphs_load_as_onnxruntime_runs_them(builder):
    r = np.random.default_rng(len(builder.__name__))
    for _ in range(15):
        opset = int(r.choice([11, 12, 13, 14, 16, 17, 18, 19, 20]))
        shape = tuple(int(d) for d in r.integers(1, 5, r.integers(1, 5)))
        made = builder(r, shape, opset)
        nodes, inputs, inits = made[:3]
        outs = made[3] if len(made) > 3 else ("y",)
        m = graph(nodes, inputs, inits, opset, outs)
        try:
            ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - a combination onnxruntime refuses (not a test case)
            continue
        compare(m, inputs, rtol=1e-4)
