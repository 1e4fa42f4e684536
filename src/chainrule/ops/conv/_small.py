"""A lean forward for small unrecorded convolutions: ``_conv``'s arithmetic without its set-up."""

from __future__ import annotations

from ...kernels import gemm
from ._gemm import _bias_relu
from ._layout import _HOST, _batch_last, _memory_order

_SMALL_BYTES = 2**17


def _small_conv(x, w, b, out_size, geom, relu):
    """``_conv``'s output for an unrecorded convolution on small host arrays, or None.

    A batch of one is bookkeeping more than arithmetic, so this does ``_conv``'s NumPy operations,
    in the same order and with the same results, without its helpers' set-up (array-module
    look-ups, recycled-buffer bookkeeping, block planning), a sizeable share of a call at batch 1
    (LeNet-5's: docs/performance.md, "Convolution kernels"). Columns that are the input's own
    memory (its C5, whose kernel covers the whole 5 x 5 image, or a 1 x 1 kernel) are not copied.
    Small: columns and output under 128 KiB (where the set-up is a large share of the call).
    """
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = out_size
    positions, inner = ho * wo * n, c * kh * kw
    if (type(x) is not _HOST.ndarray or geom.groups != 1
            or max(inner, o) * positions * x.itemsize >= _SMALL_BYTES):
        return None
    (pt, pb), (pl, pr) = geom.padding
    memory = _memory_order(x)
    if pt or pb or pl or pr:
        padded = _HOST.zeros((c, h + pt + pb, wd + pl + pr, n), x.dtype)
        padded[:, pt:pt + h, pl:pl + wd] = memory
        memory = padded
    elif not memory.flags.c_contiguous:  # batch-last, or any batch of one, always is
        return None
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    s = memory.strides
    shape = (c, kh, kw, ho, wo, n)
    view = _HOST.ndarray(shape, x.dtype, buffer=memory,
                         strides=(s[0], s[1] * dh, s[2] * dw, s[1] * sh, s[2] * sw, s[3]))
    if view.flags.c_contiguous:
        cols = view.reshape(inner, positions)  # the windows are the input itself: no copy
    else:
        cols = _HOST.empty((inner, positions), x.dtype)
        cols.reshape(shape)[...] = view
    wm = w.reshape(o, inner)
    y = wm @ cols if inner > 1 else gemm.matmul(wm, cols)
    if relu:
        _bias_relu(y, b, False)
    elif b is not None:
        y += b[:, None]
    return _batch_last(y.reshape(o, ho, wo, n))
