"""Fuzz wave 15, ONNX export of ``max_pool1d``/``max_pool2d(..., return_indices=True)``: the
indices (PyTorch's flat per-plane convention) come from ONNX MaxPool's second output (flat over
the whole tensor) modulo the plane size; compared on seeded inputs full of ties with PyTorch's
indices, chainrule's, and the values, at other batch sizes and spatial sizes."""

from __future__ import annotations

import io

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
from chainrule.onnx import UnsupportedOperatorError  # noqa: E402

CASES = [
    (2, dict(kernel_size=2)),
    (2, dict(kernel_size=3, stride=2, padding=1)),
    (2, dict(kernel_size=(2, 3), stride=(1, 2))),
    (2, dict(kernel_size=3, stride=2, ceil_mode=True)),
    (2, dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    (1, dict(kernel_size=3, stride=2, padding=1)),
    (1, dict(kernel_size=2, ceil_mode=True)),
    (1, dict(kernel_size=2, stride=1)),
    (2, dict(kernel_size=3, dilation=2)),
    (2, dict(kernel_size=2, dilation=2, padding=1, stride=2)),
    (2, dict(kernel_size=3, dilation=2, stride=2, ceil_mode=True)),
    (1, dict(kernel_size=3, dilation=2, padding=1)),
]


def _export(fn, x, dynamic):
    buf = io.BytesIO()
    cr.onnx.export(fn, cr.tensor(x), buf, input_names=["x"], dynamic_axes={"x": dynamic})
    return ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])


# a dynamic spatial axis too, where the values export with one (ceil_mode's padding of the
# values is recorded at the example's size, which the export refuses: docs/onnx.md)
RUNS = [(nd, kw, False) for nd, kw in CASES] + [
    (nd, kw, True) for nd, kw in CASES if not kw.get("ceil_mode") and "dilation" not in kw]


@pytest.mark.parametrize("nd, kw, spatial", RUNS)
def test_max_pool_indices_match_pytorch_in_onnxruntime(nd, kw, spatial):
    rng = np.random.default_rng(RUNS.index((nd, kw, spatial)))
    # (a dynamic length of 9 with kernel 3, stride 2, padding 1 is refused: at 9 and 19 floor
    # and ceil_mode give the same sizes, so the export cannot tell which the file must follow)
    shape = (2, 3, 7, 8) if nd == 2 else (2, 3, 10 if spatial else 9)
    pool = getattr(F, f"max_pool{nd}d")
    tpool = getattr(torch.nn.functional, f"max_pool{nd}d")

    def fn(x):
        return pool(x, return_indices=True, **kw)

    dynamic = {0: "b", nd + 1: "w"} if spatial else {0: "b"}
    session = _export(fn, rng.integers(0, 3, shape).astype(np.float32), dynamic)
    other = (5,) + shape[1:-1] + (shape[-1] + (3 if spatial else 0),)
    for sh in (shape, other):
        x = rng.integers(0, 3, sh).astype(np.float32)  # many ties: the first maximum wins
        values, idx = session.run(None, {"x": x})
        want_v, want_i = tpool(torch.tensor(x), return_indices=True, **kw)
        got_v, got_i = fn(cr.tensor(x))
        assert idx.dtype == np.int64 and idx.shape == tuple(want_i.shape)
        np.testing.assert_array_equal(idx, want_i.numpy())
        np.testing.assert_array_equal(got_i.numpy(), want_i.numpy())
        np.testing.assert_array_equal(values, want_v.numpy())


def test_max_pool_layer_with_indices_feeding_unpool_values():
    """nn.MaxPool2d(return_indices=True) inside a model whose output uses the indices."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = nn.MaxPool2d(2, return_indices=True)

        def forward(self, x):
            y, i = self.pool(x)
            return y * 2, i + 1, x.unsqueeze(0)[0].mean()  # indices in arithmetic too

    rng = np.random.default_rng(5)
    net = Net().eval()
    session = _export(net, rng.standard_normal((2, 4, 6, 6)).astype(np.float32), {0: "b"})
    x = rng.standard_normal((3, 4, 6, 6)).astype(np.float32)
    got = session.run(None, {"x": x})
    want = net(cr.tensor(x))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.detach().numpy(), rtol=1e-6)


def test_adaptive_max_pool_indices_tiling_export_else_refused():
    def fn(x):
        return F.adaptive_max_pool2d(x, (3, 2), return_indices=True)

    rng = np.random.default_rng(3)
    session = _export(fn, rng.integers(0, 3, (1, 2, 6, 8)).astype(np.float32), {0: "b"})
    x = rng.integers(0, 3, (4, 2, 6, 8)).astype(np.float32)
    want = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), (3, 2), return_indices=True)
    for got, w in zip(session.run(None, {"x": x}), want):
        np.testing.assert_array_equal(got, w.numpy())
    with pytest.raises(UnsupportedOperatorError, match="do not tile|tile the input"):
        cr.onnx.export(fn, cr.tensor(np.ones((1, 2, 7, 7), np.float32)), io.BytesIO())


@pytest.mark.parametrize("dilation", [1, 2])
def test_trace_recomputes_the_indices(dilation):
    """A trace replayed the example's indices for every input (a silent wrong result)."""
    def fn(x):
        return F.max_pool2d(x, 2, dilation=dilation, return_indices=True)[1]

    rng = np.random.default_rng(9)
    x = cr.tensor(rng.standard_normal((1, 2, 5, 5)))
    traced = cr.trace(fn, x)
    y = cr.tensor(rng.standard_normal((1, 2, 5, 5)))
    np.testing.assert_array_equal(traced(y).numpy(), fn(y).numpy())


def test_max_pool3d_indices():
    def fn(x):
        return F.max_pool3d(x, 2, stride=2, padding=1, return_indices=True)

    rng = np.random.default_rng(11)
    session = _export(fn, rng.integers(0, 3, (1, 2, 5, 5, 6)).astype(np.float32), {0: "b"})
    x = rng.integers(0, 3, (3, 2, 5, 5, 6)).astype(np.float32)
    want = torch.nn.functional.max_pool3d(torch.tensor(x), 2, stride=2, padding=1,
                                          return_indices=True)
    for got, w in zip(session.run(None, {"x": x}), want):
        np.testing.assert_array_equal(got, w.numpy())
