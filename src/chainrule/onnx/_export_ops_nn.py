"""Converters of layers' ops for ``chainrule.onnx.export``: products, convolutions, pooling,
normalization, softmax and reductions (the registry and the builder: ``_export_ops``).

chainrule runs a 1-D convolution or pool as a 2-D one on inputs one row high (reshapes around it
are recorded as ops of their own), so these converters write 2-D ONNX nodes.
"""

from __future__ import annotations

from ..backend import numpy as np
from ..ops.adaptive_pool import _IndexGather, _Separable
from ..ops.conv import ConvNd, ConvReLUNd, ConvTransposeNd, ConvTransposeReLUNd
from ..ops.linalg import Linear, LinearReLU, MatMul
from ..ops.normalization import LayerNorm
from ..ops.pool import _AvgPool, _ExtremumPool, _MaxPoolReLU
from ..ops.reduce import Extreme, LogSumExp, Mean, Sum
from ..ops.softmax import LogSoftmax, Softmax
from ._export_ops import UnsupportedOperatorError, converts
from ._export_ops_pool_index import floor_axes

__all__ = ["conv_transpose3d"]


def _relu_after(convert):
    """The converter of a fused op: the plain op's nodes, then a Relu."""

    def fused(g, s):
        return [g.op("Relu", convert(g, s))]

    return fused


@converts(Linear)
def _linear(g, s):
    """x @ w.T + b: a Gemm for a batch of rows, else MatMul with the transposed weight, Add."""
    x, w = s.inputs[:2]
    bias = s.inputs[2:3]
    if len(s.in_shapes[0]) == 2:
        return [g.op("Gemm", [x, w, *bias], transB=1)]
    y = g.op("MatMul", [x, g.op("Transpose", [w], perm=[1, 0])])
    return [g.op("Add", [y, bias[0]])] if bias else [y]


converts(LinearReLU)(_relu_after(_linear))


@converts(MatMul)
def _matmul(g, s):  # batch_last only chooses the memory layout of the product
    return [g.op("MatMul", s.inputs[:2])]


def _conv_attrs(s, geom):
    (top, bottom), (left, right) = geom.padding
    return {"strides": list(geom.stride), "dilations": list(geom.dilation),
            "pads": [top, left, bottom, right], "group": geom.groups,
            "kernel_shape": list(s.in_shapes[1][2:])}


@converts(ConvNd, dynamic=("out_size",))  # ONNX works the output size out itself
def _conv(g, s):
    return [g.op("Conv", s.inputs, **_conv_attrs(s, s["geom"]))]


converts(ConvReLUNd, dynamic=("out_size",))(_relu_after(_conv))


def _output_padding(s, in_shape, size):
    """ONNX's output_padding that gives a transposed convolution chainrule's output ``size``."""
    geom, kernel = s["geom"], s.in_shapes[1][2:]
    extra = []
    for n, out, k, st, d, (before, after) in zip(in_shape[2:], size, kernel, geom.stride,
                                                 geom.dilation, geom.padding):
        extra.append(out - ((n - 1) * st + d * (k - 1) + 1 - before - after))
    return extra


@converts(ConvTransposeNd, dynamic=("size",))
def _conv_transpose(g, s):
    extra = _output_padding(s, s.in_shapes[0], s["size"])
    if s.alt is not None and _output_padding(s, s.alt_in_shapes[0], s.alt["size"]) != extra:
        raise s.refuse(f"its output_padding changes with the dynamic axes (output size "
                       f"{s['size']} for input {s.in_shapes[0]}, {s.alt['size']} for input "
                       f"{s.alt_in_shapes[0]})")
    if any(e < 0 for e in extra):
        raise s.refuse(f"output size {s['size']} is smaller than the input {s.in_shapes[0]} gives")
    attrs = _conv_attrs(s, s["geom"])
    if all(e < st for e, st in zip(extra, s["geom"].stride)):
        return [g.op("ConvTranspose", s.inputs, output_padding=extra, **attrs)]
    # PyTorch takes an output_padding below max(stride, dilation); onnxruntime only one below
    # the stride. The rest is written as less cropping at the end, then as zeros past the full
    # output (where only the bias lands), added before the bias.
    nd, pads, tail = len(extra), list(attrs.pop("pads")), []
    for i, st in enumerate(s["geom"].stride):
        less = min(extra[i], pads[nd + i]) if extra[i] >= st else 0
        pads[nd + i] -= less
        extra[i] -= less
        tail.append(extra[i] if extra[i] >= st else 0)
        extra[i] -= tail[-1]
    y = g.op("ConvTranspose", s.inputs[:2], output_padding=extra, pads=pads, **attrs)
    if any(tail):
        y = g.op("Pad", [y, g.ints([0] * (nd + 4) + tail)])
    if len(s.inputs) > 2:
        y = g.op("Add", [y, g.op("Reshape", [s.inputs[2], g.ints([-1] + [1] * nd)])])
    return [y]


converts(ConvTransposeReLUNd, dynamic=("size",))(_relu_after(_conv_transpose))


def conv_transpose3d(g, x, m, tensor_value, shapes):
    """An ``nn.ConvTranspose3d`` layer (chainrule runs it as 2-D ones and a scatter-add along the
    depth): one ONNX ConvTranspose. Its output padding comes from the recorded shapes (so an
    ``output_size`` given to the call is followed) and must agree between both recordings; what
    reaches the stride (which onnxruntime refuses) is less end cropping, then Pad, then the bias
    Add, as for the 2-D layer."""
    (in_shape, out_shape), (alt_in, alt_out) = shapes
    kernel, stride, dilation = m.kernel_size, m.stride, m.dilation
    padding = [int(p) for p in m.padding]

    def extra(i, o):
        return [o[2 + a] - ((i[2 + a] - 1) * stride[a] - 2 * padding[a]
                            + dilation[a] * (kernel[a] - 1) + 1) for a in range(3)]

    if len(in_shape) != 5 or extra(in_shape, out_shape) != extra(alt_in, alt_out):
        raise UnsupportedOperatorError(
            f"export: cannot write ConvTranspose3d to ONNX: an unbatched input {in_shape} or an "
            "output padding that changes with the dynamic axes")
    extra_pad, pads, tail = extra(in_shape, out_shape), padding + padding, []
    for a in range(3):
        if extra_pad[a] >= stride[a]:
            less = min(extra_pad[a], pads[3 + a])
            pads[3 + a] -= less
            extra_pad[a] -= less
        tail.append(extra_pad[a] if extra_pad[a] >= stride[a] else 0)
        extra_pad[a] -= tail[-1]
    y = g.op("ConvTranspose", [x, tensor_value(m.weight)], strides=list(stride),
             dilations=list(dilation), pads=pads, group=m.groups, kernel_shape=list(kernel),
             output_padding=extra_pad)
    if any(tail):
        y = g.op("Pad", [y, g.ints([0] * 7 + tail)])
    if m.bias is not None:
        y = g.op("Add", [y, g.op("Reshape", [tensor_value(m.bias), g.ints([-1, 1, 1, 1])])])
    return y


def _pool_attrs(s):
    """kernel, strides and pads of a pool; its recorded input size may change (dynamic axes)."""
    geom = s["geom"]
    if s.alt is not None:
        other = s.alt["geom"]
        if (geom.kernel, geom.stride, geom.padding) != (other.kernel, other.stride,
                                                        other.padding):
            raise s.refuse("its window changes with the dynamic axes")
    pads = list(geom.padding) * 2
    return {"kernel_shape": list(geom.kernel), "strides": list(geom.stride), "pads": pads}


@converts(_ExtremumPool, dynamic=("geom",))
def _extremum_pool(g, s):
    """Max pooling; min pooling is -maxpool(-x) (chainrule's padding never wins either way)."""
    attrs, geom = _pool_attrs(s), s["geom"]
    floor_axes(s, geom.kernel, geom.stride, geom.padding, (1,) * len(geom.kernel),
               ((s.in_shapes[0], s.out_shapes[0]), (s.alt_in_shapes[0], s.alt_out_shapes[0])))
    if s["largest"]:
        return [g.op("MaxPool", s.inputs[:1], **attrs)]
    y = g.op("MaxPool", [g.op("Neg", s.inputs[:1])], **attrs)
    return [g.op("Neg", [y])]


converts(_MaxPoolReLU, dynamic=("geom",))(_relu_after(_extremum_pool))


@converts(_IndexGather, dynamic=("flat", "shape", "pool"))
def _index_gather(g, s):
    """Max pooling with dilation (chainrule gathers each window's winner): ONNX's MaxPool with
    ``dilations``, its end padding grown where ceil_mode adds a last window. Other gathers
    (gradients of pooling recorded with create_graph) have no ONNX form here."""
    pool = s.params.get("pool")
    if pool is None:
        raise s.refuse("a gather at indices found from the input's values (other than dilated "
                       "max pooling's) has no ONNX converter")
    kernel, stride, padding, dilation, out = pool
    if s.alt is not None and s.alt["pool"][:4] != pool[:4]:
        raise s.refuse("its window changes with the dynamic axes")
    alt = s.alt["pool"] if s.alt is not None else pool
    dynamic = floor_axes(s, kernel, stride, padding, dilation,
                         ((s.in_shapes[0], (0, 0, *out)), (s.alt_in_shapes[0], (0, 0, *alt[4]))))
    ends = []
    for i, (n, k, st, p, d, o) in enumerate(zip(s.in_shapes[0][2:], *pool)):
        end = max((o - 1) * st + d * (k - 1) + 1 - n - p, 0)
        alt_end = max((alt[4][i] - 1) * st + d * (k - 1) + 1 - s.alt_in_shapes[0][2 + i] - p, 0)
        if 2 + i in dynamic:  # floor rounding at any size: PyTorch's symmetric padding
            end = alt_end = p
        if end != alt_end:
            raise s.refuse(f"its padding at the end of axis {2 + i} ({end}) changes with the "
                           "dynamic axes")
        ends.append(end)
    x = s.inputs[0]
    if any(e >= k for e, k in zip(ends, kernel)):  # onnxruntime refuses pads >= the kernel:
        # the end padding is a Pad of the lowest value instead (no window is all padding)
        low = -np.inf if s.dtype.kind == "f" else np.iinfo(s.dtype).min
        x = g.op("Pad", [x, g.ints([0] * len(s.in_shapes[0]) + [0, 0] + ends),
                         g.scalar(low, s.dtype)])
        ends = [0] * len(ends)
    return [g.op("MaxPool", [x], kernel_shape=list(kernel), strides=list(stride),
                 dilations=list(dilation), pads=list(padding) + ends)]


@converts(_AvgPool, dynamic=("geom",))
def _avg_pool(g, s):
    return [g.op("AveragePool", s.inputs[:1], count_include_pad=int(s["count_include_pad"]),
                 **_pool_attrs(s))]


def _each_global(mats) -> bool:
    """Each axis with a matrix averaged whole (one row of equal weights)."""
    return all(a is None or (a.shape[0] == 1 and bool(np.all(a == a[0, 0]))) for a in mats)


def _is_global(mats) -> bool:
    """Both axes averaged whole: one row of equal weights each."""
    return all(a is not None and a.shape[0] == 1 and bool(np.all(a == a[0, 0])) for a in mats)


@converts(_Separable, dynamic=("mats",))
def _adaptive_avg(g, s):
    """Adaptive average pooling: GlobalAveragePool for an output of size 1, else products with
    chainrule's averaging matrices (the same weights, so any output size is exact)."""
    mats = s["mats"]
    if _is_global(mats) and (s.alt is None or _is_global(s.alt["mats"])):
        return [g.op("GlobalAveragePool", s.inputs[:1])]
    if _each_global(mats) and (s.alt is None or _each_global(s.alt["mats"])):
        # a 1-D pool to size 1 (no matrix for H), or (1, None): a mean, at any size
        axes = [axis for axis, a in zip((-2, -1), mats) if a is not None]
        return [g.reduce("ReduceMean", s.inputs[0], axes, True)]
    if s.alt is not None and any(
            (a is None) != (b is None) or (a is not None and not np.array_equal(a, b))
            for a, b in zip(mats, s.alt["mats"])):
        raise s.refuse("adaptive average pooling to a size other than 1 averages windows that "
                       "change with the dynamic spatial axes")
    a_h, a_w = (None if a is None else a.astype(s.dtype) for a in mats)  # float16's: float32
    y = g.op("MatMul", [s.inputs[0], g.const(np.ascontiguousarray(a_w.T), "adaptive_w")])
    if a_h is None:
        return [y]
    return [g.op("MatMul", [g.const(a_h, "adaptive_h"), y])]


@converts(LayerNorm, dynamic=("normalized_shape",))
def _layer_norm(g, s):
    k = len(s["normalized_shape"])
    x = s.inputs[0]
    alt = s["normalized_shape"] if s.alt is None else s.alt["normalized_shape"]
    changes = tuple(alt) != tuple(s["normalized_shape"])
    if changes and (len(alt) != k or s["has_weight"] or s["has_bias"]):
        raise s.refuse(f"its normalized_shape {tuple(s['normalized_shape'])} changes to "
                       f"{tuple(alt)} with the dynamic axes, with a weight or bias of that shape")
    if g.opset < 17 or changes:  # ONNX's LayerNormalization needs a scale of that fixed shape
        return [_layer_norm_formula(g, s, x, list(range(-k, 0)))]
    weight = s.inputs[1] if s["has_weight"] else g.const(
        np.ones(s["normalized_shape"], dtype=s.dtype), "layer_norm_ones")
    bias = [s.inputs[-1]] if s["has_bias"] else []
    return [g.op("LayerNormalization", [x, weight, *bias], axis=-k,
                 epsilon=float(s["eps"]))]


def _layer_norm_formula(g, s, x, axes):
    centred = g.op("Sub", [x, g.reduce("ReduceMean", x, axes, True)])
    var = g.reduce("ReduceMean", g.op("Mul", [centred, centred]), axes, True)
    y = g.op("Div", [centred, g.op("Sqrt", [g.op("Add", [var, g.scalar(s["eps"], s.dtype)])])])
    if s["has_weight"]:
        y = g.op("Mul", [y, s.inputs[1]])
    return g.op("Add", [y, s.inputs[-1]]) if s["has_bias"] else y


@converts(Softmax)
def _softmax(g, s):
    return [g.op("Softmax", s.inputs[:1], axis=int(s["axis"]))]


@converts(LogSoftmax)
def _log_softmax(g, s):
    return [g.op("LogSoftmax", s.inputs[:1], axis=int(s["axis"]))]


def _axes(s):
    axes = s["axes"]
    ndim = len(s.in_shapes[0])
    if axes is None:
        return list(range(ndim))
    return [a % ndim for a in (axes if isinstance(axes, (tuple, list)) else (axes,))]


def _reduction(op_type):
    def convert(g, s):
        axes = _axes(s)
        if not axes:  # reducing no axis: the input itself
            return [g.op("Identity", s.inputs[:1])]
        return [g.reduce(op_type, s.inputs[0], axes, s["keepdims"])]
    return convert


converts(Sum)(_reduction("ReduceSum"))
converts(Mean)(_reduction("ReduceMean"))
converts(LogSumExp)(_reduction("ReduceLogSumExp"))


@converts(Extreme)
def _extreme(g, s):
    return _reduction("ReduceMax" if s["largest"] else "ReduceMin")(g, s)
