"""Shortcuts of the char-CNN's step give exactly what the general paths give.

A convolution whose input is not batch-last (the data itself) copies it to batch-last once before
im2col (``kernels.im2col.batch_last_input``) and keeps that copy for the filter gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import F
from chainrule.kernels import im2col
from chainrule.ops import _windows


def _conv_grads(fn, x, w, b, g, x_grad):
    xt = cr.tensor(x, requires_grad=x_grad)
    wt, bt = cr.tensor(w, requires_grad=True), cr.tensor(b, requires_grad=True)
    y = fn(xt, wt, bt)
    y.backward(cr.tensor(g))
    out = [y.numpy().tobytes(), wt.grad.numpy().tobytes(), bt.grad.numpy().tobytes()]
    return out + ([xt.grad.numpy().tobytes()] if x_grad else [])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op,shape,wshape,padding", [
    (F.conv1d, (32, 20, 300), (16, 20, 7), 0),        # the char-CNN's first layer, smaller
    (F.conv1d_relu, (32, 20, 300), (16, 20, 5), 0),
    (F.conv1d, (32, 20, 300), (16, 20, 7), 2),        # padded: pad makes the batch-last copy
    (F.conv2d_relu, (16, 6, 24, 24), (8, 6, 3, 3), 0),
])
@pytest.mark.parametrize("x_grad", [False, True])
def test_a_batch_last_copy_of_the_input_changes_nothing(monkeypatch, rng, dtype, op, shape,
                                                         wshape, padding, x_grad):
    x = rng.standard_normal(shape).astype(dtype)  # (N, C, ...) in memory: not batch-last
    w = (rng.standard_normal(wshape) / np.sqrt(np.prod(wshape[1:]))).astype(dtype)
    b = rng.standard_normal(wshape[0]).astype(dtype)
    with cr.no_grad():
        out_shape = op(cr.tensor(x), cr.tensor(w), padding=padding).shape
    g = rng.standard_normal(out_shape).astype(dtype)

    def run():
        return _conv_grads(lambda *a: op(*a, padding=padding), x, w, b, g, x_grad)

    copied = run()
    monkeypatch.setattr(im2col, "_DENSE_FROM", float("inf"))
    assert copied == run()


@pytest.mark.fast_kernels
def test_the_batch_last_copy_is_made_only_where_im2col_would_read_single_floats(rng):
    geom = _windows.conv_setup("conv1d", 1, (32, 20, 300), np.dtype(np.float32), (16, 20, 7),
                               np.dtype(np.float32), None, 1, 0, 1, 1)[0]
    x = rng.standard_normal((32, 20, 1, 300)).astype(np.float32)
    dense = im2col.batch_last_input(x, (1, 7), geom)
    assert dense is not x and np.array_equal(dense, x) and dense.strides[0] == 4
    assert im2col.batch_last_input(dense, (1, 7), geom) is dense  # already batch-last
    assert im2col.batch_last_input(x, (1, 1), geom) is x  # 1 x 1: im2col is one copy anyway
    one = x[:1]
    assert im2col.batch_last_input(one, (1, 7), geom) is one  # one sample: nothing to gain
    small = x[:, :2, :, :100]
    assert im2col.batch_last_input(small, (1, 7), geom) is small  # under 128 KiB
