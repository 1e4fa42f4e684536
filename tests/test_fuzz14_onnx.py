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
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from chainrule.onnx import export, load  # noqa: E402


def run(proto, feeds):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def close(got, want, rtol=1e-4, what=""):
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=what)


def round_trip(model, xs, rng, dynamic=(0,), rtol=1e-4):
    """Export ``model`` on ``xs`` (float32 arrays) with the axes ``dynamic`` of every input
    dynamic, then compare onnxruntime and the loaded model with the eager model on fresh inputs
    of other sizes along those axes."""
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
