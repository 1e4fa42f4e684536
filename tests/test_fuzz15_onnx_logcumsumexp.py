"""Fuzz wave 15, ONNX export of ``logcumsumexp`` (which had no converter): NumPy's running
``logaddexp``, position by position, compared in onnxruntime with chainrule's forward on seeded
inputs of mixed scales (values far below the running max must not be lost), infinities and NaN,
at two batch sizes; and with PyTorch's values."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import chainrule as cr

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
from chainrule.onnx import UnsupportedOperatorError  # noqa: E402


def _inputs(rng, shape, dtype, special):
    x = (rng.standard_normal(shape) * rng.choice([1.0, 30.0, 1000.0], shape)).astype(dtype)
    if special:
        flat = x.reshape(-1)
        picks = rng.choice(flat.size, 4, replace=False)
        flat[picks] = [-np.inf, np.inf, np.nan, -np.inf]
        flat[picks[0] + 1 if picks[0] + 1 < flat.size else 0] = -np.inf  # -inf beside -inf
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [1, -1, 2])
@pytest.mark.parametrize("special", [False, True])
def test_logcumsumexp_exports(dtype, dim, special):
    rng = np.random.default_rng([np.dtype(dtype).itemsize, dim + 1, int(special)])

    def fn(x):
        return x.logcumsumexp(dim) * 1

    buf = io.BytesIO()
    cr.onnx.export(fn, cr.tensor(_inputs(rng, (2, 5, 6), dtype, False)), buf, input_names=["x"],
                   dynamic_axes={"x": {0: "b"}})
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for n in (2, 7):
        x = _inputs(rng, (n, 5, 6), dtype, special)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = fn(cr.tensor(x)).numpy()
        got = session.run(None, {"x": x})[0]
        assert got.dtype == want.dtype and got.shape == want.shape
        tol = 1e-6 if dtype == np.float32 else 1e-14
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
        if not special:
            t = torch.logcumsumexp(torch.tensor(x), dim).numpy()
            np.testing.assert_allclose(got, t, rtol=tol, atol=tol)


def test_far_below_the_max_is_kept():
    x = np.array([[-1000.0, 0.0, -2000.0, 3.0]], np.float32)
    buf = io.BytesIO()
    cr.onnx.export(lambda x: cr.logcumsumexp(x, 1), cr.tensor(x), buf, input_names=["x"])
    got = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    np.testing.assert_allclose(got, torch.logcumsumexp(torch.tensor(x), 1).numpy(), rtol=1e-6)
    assert got[0, 0] == -1000.0


def test_a_dynamic_scan_axis_is_refused():
    with pytest.raises(UnsupportedOperatorError, match="logcumsumexp along axis 1"):
        cr.onnx.export(lambda x: cr.logcumsumexp(x, 1), cr.tensor(np.ones((2, 4), np.float32)),
                       io.BytesIO(), input_names=["x"], dynamic_axes={"x": {1: "t"}})
