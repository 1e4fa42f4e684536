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
from chainrule.onnx import export, load  # noqa: E402

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
