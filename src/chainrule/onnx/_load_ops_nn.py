"""ONNX's layer operators: convolutions, pooling and normalizations.

Where the ONNX attributes fit PyTorch's (symmetric padding no larger than half the kernel), the
chainrule op is called as it is; otherwise the padding is made explicit (zeros for convolutions,
-inf for max pooling) and the op runs unpadded, so asymmetric and ``auto_pad`` paddings give
ONNX's result.
"""

from __future__ import annotations

import math

from .. import ops
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._load_ops import op

__all__: list[str] = []

_CONV = {1: ops.conv1d, 2: ops.conv2d, 3: ops.conv3d}
_CONV_T = {1: ops.conv_transpose1d, 2: ops.conv_transpose2d, 3: ops.conv_transpose3d}
_MAX = {1: ops.max_pool1d, 2: ops.max_pool2d, 3: ops.max_pool3d}
_AVG = {1: ops.avg_pool1d, 2: ops.avg_pool2d, 3: ops.avg_pool3d}


def _spatial(attrs, key, n, default):
    value = attrs.get(key)
    return tuple(value) if value else (default,) * n


def _pads(attrs, x, kernel, strides, dilations, who):
    """(begin, end) pads per spatial axis from ``pads`` or ``auto_pad``."""
    n = len(kernel)
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pairs = []
        for size, k, s, d in zip(x.shape[2:], kernel, strides, dilations, strict=True):
            total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            pairs.append((small, large) if auto == "SAME_UPPER" else (large, small))
        return pairs
    if auto == "VALID":
        return [(0, 0)] * n
    if auto != "NOTSET":
        raise ValueError(f"{who}: auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got "
                         f"{auto!r}")
    pads = attrs.get("pads") or (0,) * (2 * n)
    return list(zip(pads[:n], pads[n:], strict=True))


def _check_rank(x, who):
    if x.ndim - 2 not in (1, 2, 3):
        raise ValueError(f"{who}: input must have 1 to 3 spatial axes (N, C, ...), got shape "
                         f"{tuple(x.shape)}")


def _pad_explicit(x, pairs, value):
    if all(b == a == 0 for b, a in pairs):
        return x
    return ops.pad(x, [(0, 0), (0, 0), *pairs], value=value)


def _kernel(attrs, weight, who):
    kernel = tuple(weight.shape[2:])
    given = attrs.get("kernel_shape")
    if given and tuple(given) != kernel:
        raise ValueError(f"{who}: kernel_shape {tuple(given)} does not match the weight's shape "
                         f"{tuple(weight.shape)}")
    return kernel


@op("Conv")
def _conv(ctx, attrs, x, w, b=None):
    _check_rank(x, "Conv")
    kernel = _kernel(attrs, w, "Conv")
    n = len(kernel)
    strides, dilations = _spatial(attrs, "strides", n, 1), _spatial(attrs, "dilations", n, 1)
    pairs = _pads(attrs, x, kernel, strides, dilations, "Conv")
    if all(bp == ap for bp, ap in pairs):
        padding = tuple(bp for bp, _ in pairs)
    else:
        x, padding = _pad_explicit(x, pairs, 0.0), 0
    return _CONV[n](x, w, b, strides, padding, dilations, attrs.get("group", 1))


def _transpose_pads(attrs, x, kernel, strides, dilations, extra):
    n = len(kernel)
    shape, auto = attrs.get("output_shape"), attrs.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER") and not shape:
        shape = [size * s for size, s in zip(x.shape[2:], strides, strict=True)]
    if not shape:
        if auto not in ("NOTSET", "VALID"):
            raise ValueError(f"ConvTranspose: unknown auto_pad {auto!r}")
        pads = (0,) * (2 * n) if auto == "VALID" else (attrs.get("pads") or (0,) * (2 * n))
        return list(zip(pads[:n], pads[n:], strict=True))
    shape = tuple(shape)[-n:]
    pairs = []
    for size, k, s, d, o, out in zip(x.shape[2:], kernel, strides, dilations, extra, shape,
                                     strict=True):
        total = s * (size - 1) + o + (k - 1) * d + 1 - out
        half = total // 2
        pairs.append((half, total - half) if auto == "SAME_UPPER" else (total - half, half))
    return pairs


@op("ConvTranspose")
def _conv_transpose(ctx, attrs, x, w, b=None):
    _check_rank(x, "ConvTranspose")
    kernel = _kernel(attrs, w, "ConvTranspose")
    n = len(kernel)
    strides, dilations = _spatial(attrs, "strides", n, 1), _spatial(attrs, "dilations", n, 1)
    extra = _spatial(attrs, "output_padding", n, 0)
    pairs = _transpose_pads(attrs, x, kernel, strides, dilations, extra)
    group = attrs.get("group", 1)
    fits = all(o < max(s, d) for o, s, d in zip(extra, strides, dilations, strict=True))
    if fits and all(bp == ap >= 0 for bp, ap in pairs):
        return _CONV_T[n](x, w, b, strides, tuple(bp for bp, _ in pairs), extra, group, dilations)
    # The full transposed convolution, then ONNX's window of it: begin pads cut from the start,
    # the end padded with zeros (output_padding) or cut (end pads).
    y = _CONV_T[n](x, w, None, strides, 0, 0, group, dilations)
    index, grow = [slice(None), slice(None)], [(0, 0), (0, 0)]
    for axis, ((pb, pe), o) in enumerate(zip(pairs, extra, strict=True)):
        full = y.shape[2 + axis]
        out = full + o - pb - pe
        grow.append((max(-pb, 0), max(pb + out - full, 0)))
        start = max(pb, 0)
        index.append(slice(start, start + out))
    if any(g != (0, 0) for g in grow):
        y = ops.pad(y, grow)
    y = y[tuple(index)]
    return y if b is None else y + ops.reshape(b, (1, -1) + (1,) * n)


def _pool_geometry(attrs, x, who):
    _check_rank(x, who)
    kernel = tuple(attrs["kernel_shape"])
    n = len(kernel)
    strides, dilations = _spatial(attrs, "strides", n, 1), _spatial(attrs, "dilations", n, 1)
    pairs = _pads(attrs, x, kernel, strides, dilations, who)
    ceil = bool(attrs.get("ceil_mode", 0))
    outs = []
    for size, k, s, d, (pb, pe) in zip(x.shape[2:], kernel, strides, dilations, pairs,
                                       strict=True):
        span = size + pb + pe - ((k - 1) * d + 1)
        out = (-(-span // s) if ceil else span // s) + 1
        if ceil and (out - 1) * s >= size + pb:  # no window may start in the end padding
            out -= 1
        outs.append(out)
    return kernel, strides, dilations, pairs, ceil, outs


def _empty(x, outs):
    """The output when the window is one element larger than the padded input: ONNX's output
    size is 0 along that axis (onnxruntime's too), an empty result; else None."""
    if all(o > 0 for o in outs) or any(o < 0 for o in outs):
        return None
    xp = get_array_module(x._data)
    return Tensor(xp.zeros((*x.shape[:2], *outs), dtype=x._data.dtype))


def _native(kernel, pairs):
    """Whether PyTorch's pooling computes it: symmetric padding at most half the kernel size
    (``kernel_shape``, not the dilated window: PyTorch's rule)."""
    return all(pb == pe and 2 * pb <= k for (pb, pe), k in zip(pairs, kernel, strict=True))


def _grown(x, kernel, strides, dilations, pairs, outs):
    """Per axis (begin, end) padding after which an unpadded floor-mode pool gives ``outs``."""
    grown = []
    for size, k, s, d, (pb, pe), out in zip(x.shape[2:], kernel, strides, dilations, pairs, outs,
                                            strict=True):
        needed = (out - 1) * s + (k - 1) * d + 1
        grown.append((pb, pe + max(needed - (size + pb + pe), 0)))
    return grown


def _crop(y, outs):
    return y[(slice(None), slice(None)) + tuple(slice(0, o) for o in outs)]


def _max_pool_check(attrs, n_inputs, used, opset):
    return "MaxPool with its Indices output in use" if 1 in used else None


@op("MaxPool", check=_max_pool_check)
def _max_pool(ctx, attrs, x):
    kernel, strides, dilations, pairs, ceil, outs = _pool_geometry(attrs, x, "MaxPool")
    if (empty := _empty(x, outs)) is not None:
        return empty
    pool = _MAX[len(kernel)]
    if _native(kernel, pairs):
        y = pool(x, kernel, strides, tuple(p for p, _ in pairs), dilations, ceil)
        if list(y.shape[2:]) == outs:
            return y
    padded = _pad_explicit(x, _grown(x, kernel, strides, dilations, pairs, outs), -math.inf)
    return _crop(pool(padded, kernel, strides, 0, dilations), outs)


def _avg_pool_check(attrs, n_inputs, used, opset):
    if any(d != 1 for d in attrs.get("dilations") or ()):
        return "AveragePool with dilations"
    return None


@op("AveragePool", check=_avg_pool_check)
def _avg_pool(ctx, attrs, x):
    kernel, strides, dilations, pairs, ceil, outs = _pool_geometry(attrs, x, "AveragePool")
    if (empty := _empty(x, outs)) is not None:
        return empty
    include = bool(attrs.get("count_include_pad", 0))
    pool = _AVG[len(kernel)]
    if _native(kernel, pairs):
        y = pool(x, kernel, strides, tuple(p for p, _ in pairs), ceil, include)
        if list(y.shape[2:]) == outs:
            return y
    # Sums over the windows, divided by how many positions each window counts: input ones, and
    # with count_include_pad the pads too (never the extra end that ceil_mode adds).
    grown = _grown(x, kernel, strides, dilations, pairs, outs)
    xp = get_array_module(x._data)
    mask = xp.ones((1, 1, *x.shape[2:]), dtype=x._data.dtype)
    if include:
        mask = xp.pad(mask, [(0, 0), (0, 0), *pairs], constant_values=1.0)
        grown_mask = [(0, ge - pe) for (_, ge), (_, pe) in zip(grown, pairs, strict=True)]
    else:
        grown_mask = grown
    mask = xp.pad(mask, [(0, 0), (0, 0), *grown_mask])
    size = math.prod(kernel)
    sums = pool(_pad_explicit(x, grown, 0.0), kernel, strides, 0) * size
    counts = _crop(pool(Tensor(mask), kernel, strides, 0), outs) * size
    return _crop(sums, outs) / counts


def _global(fn):
    return lambda ctx, attrs, x: fn(x, tuple(range(2, x.ndim)))


op("GlobalAveragePool")(_global(lambda x, axes: ops.mean(x, axis=axes, keepdims=True)))
op("GlobalMaxPool")(_global(lambda x, axes: ops.amax(x, axes, True)))


def _batch_norm_check(attrs, n_inputs, used, opset):
    return "BatchNormalization with its running-statistics outputs in use" if used - {0} else None


@op("BatchNormalization", stat=(3, 4), check=_batch_norm_check)
def _batch_norm(ctx, attrs, x, scale, bias, mean, var):
    # ONNX's momentum weights the old running value (PyTorch's weights the new batch value).
    momentum = 1.0 - attrs.get("momentum", 0.9)
    return ops.batch_norm(x, mean, var, scale, bias, training=ctx.training, momentum=momentum,
                          eps=attrs.get("epsilon", 1e-5))


def _layer_norm_check(attrs, n_inputs, used, opset):
    return "LayerNormalization with its Mean/InvStdDev outputs in use" if used - {0} else None


@op("LayerNormalization", check=_layer_norm_check)
def _layer_norm(ctx, attrs, x, scale, bias=None):
    axis = attrs.get("axis", -1)
    shape = tuple(x.shape[axis % x.ndim:])
    eps = attrs.get("epsilon", 1e-5)
    if tuple(scale.shape) == shape and (bias is None or tuple(bias.shape) == shape):
        return ops.layer_norm(x, shape, scale, bias, eps)
    y = ops.layer_norm(x, shape, None, None, eps) * scale
    return y if bias is None else y + bias


@op("InstanceNormalization")
def _instance_norm(ctx, attrs, x, scale, bias):
    if x.ndim > 2 and math.prod(x.shape[2:]) == 1:  # PyTorch's op refuses; ONNX's value: 0
        shape = (1, -1) + (1,) * (x.ndim - 2)  # (PyTorch exports GroupNorm on (N, G, 1) so)
        return (x - x) * ops.reshape(scale, shape) + ops.reshape(bias, shape)
    return ops.instance_norm(x, weight=scale, bias=bias, eps=attrs.get("epsilon", 1e-5))
