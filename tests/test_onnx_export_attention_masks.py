"""Exporting attention whose mask is an input: the file must read each call's mask (ONNX's Not
for a boolean mask's inversion, ReduceMax = -inf for a query that may attend to no key), not the
example call's, and give that query the output 0, as chainrule and PyTorch do."""

from __future__ import annotations

import io

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from chainrule.onnx import export  # noqa: E402


def _run(fn, example, other, names):
    buf = io.BytesIO()
    export(fn, tuple(cr.tensor(a) for a in example), buf, input_names=names,
           dynamic_axes={n: {0: "batch"} for n in names})
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip(names, other, strict=True)))[0]


def test_key_padding_mask_of_each_call():
    cr.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    example = np.zeros((2, 5), dtype=bool)  # no key hidden in the example call
    other = np.array([[False, False, True, True, True], [True, True, True, True, True]])

    def fn(x, pad):
        return mha(x, x, x, key_padding_mask=pad, need_weights=False)[0]

    got = _run(fn, (x, example), (x, other), ["x", "pad"])
    with cr.no_grad():
        want = fn(cr.tensor(x), cr.tensor(other)).numpy()
    assert np.isfinite(want).all() and not np.allclose(got, _run(fn, (x, example), (x, example),
                                                                ["x", "pad"]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_boolean_attn_mask_hiding_every_key_of_a_query():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((2, 3, 4)).astype(np.float32) for _ in range(3))
    example = np.ones((3, 3), dtype=bool)
    other = np.array([[True, False, False], [False, False, False], [True, True, True]])

    def fn(q, k, v, allowed):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)

    names = ["q", "k", "v", "allowed"]
    buf = io.BytesIO()
    export(fn, tuple(cr.tensor(a) for a in (q, k, v, example)), buf, input_names=names)
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    got = session.run(None, dict(zip(names, (q, k, v, other), strict=True)))[0]
    with cr.no_grad():
        want = fn(*(cr.tensor(a) for a in (q, k, v, other))).numpy()
    np.testing.assert_array_equal(got[:, 1], np.zeros((2, 4), np.float32))  # the query with no key
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
