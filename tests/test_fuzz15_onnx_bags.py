"""Fuzz wave 15, ONNX export of ``EmbeddingBag`` with offsets (a 1-D input) and with a
``padding_idx`` (1-D or 2-D input), which were refused: while recorded, the bags are a recorded
op of the ids and offsets (``ops._bag_record``), written from the ids and offsets fed at run
time. Checked in onnxruntime against chainrule's forward and PyTorch's on seeded ids, other
lengths and bag counts, empty bags and bags of padding only."""

from __future__ import annotations

import io

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
torch = pytest.importorskip("torch")


def _torch_bag(bag, mode, pad):
    tb = torch.nn.EmbeddingBag(10, 4, mode=mode, padding_idx=pad)
    tb.weight.data = torch.tensor(bag.weight.detach().numpy())
    return tb


def _offsets(rng, length, bags):
    off = np.sort(rng.integers(0, length + 1, bags))
    off[0] = 0
    return off


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("pad", [None, 2])
def test_bags_by_offsets_export(mode, pad):
    rng = np.random.default_rng(["sum", "mean", "max"].index(mode) * 3 + (pad or 0))
    bag = nn.EmbeddingBag(10, 4, mode=mode, padding_idx=pad, rng=rng).eval()
    tb = _torch_bag(bag, mode, pad)
    buf = io.BytesIO()
    cr.onnx.export(bag, (cr.tensor(rng.integers(0, 10, 9)), cr.tensor(np.array([0, 2, 2, 5]))),
                   buf, input_names=["ids", "offsets"],
                   dynamic_axes={"ids": {0: "L"}, "offsets": {0: "B"}})
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for length, bags in ((9, 4), (15, 6), (4, 5), (1, 1)):
        ids = rng.integers(0, 4, length)  # small ids: many are the padding id
        off = _offsets(rng, length, bags)
        got = session.run(None, {"ids": ids, "offsets": off})[0]
        want = bag(cr.tensor(ids), cr.tensor(off)).detach().numpy()
        t = tb(torch.tensor(ids), torch.tensor(off)).detach().numpy()
        assert got.shape == want.shape == t.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(got, t, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_two_d_bags_with_padding_idx_export(mode):
    rng = np.random.default_rng(40 + ["sum", "mean", "max"].index(mode))
    bag = nn.EmbeddingBag(10, 4, mode=mode, padding_idx=0, rng=rng).eval()
    tb = _torch_bag(bag, mode, 0)
    buf = io.BytesIO()
    cr.onnx.export(bag, cr.tensor(rng.integers(0, 10, (3, 5))), buf, input_names=["ids"],
                   dynamic_axes={"ids": {0: "B"}})
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for bags in (3, 7):
        ids = rng.integers(0, 3, (bags, 5))
        ids[0] = 0  # a bag of padding only: zeros
        got = session.run(None, {"ids": ids})[0]
        want = bag(cr.tensor(ids)).detach().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(got, tb(torch.tensor(ids)).detach().numpy(), rtol=1e-6,
                                   atol=1e-6)


def test_per_sample_weights_with_offsets_and_a_trace():
    rng = np.random.default_rng(50)
    bag = nn.EmbeddingBag(10, 4, mode="sum", rng=rng).eval()

    def fn(ids, off, w):
        return bag(ids, off, per_sample_weights=w)

    ids, off = rng.integers(0, 10, 8), np.array([0, 3, 3, 6])
    w = rng.standard_normal(8).astype(np.float32)
    buf = io.BytesIO()
    cr.onnx.export(fn, (cr.tensor(ids), cr.tensor(off), cr.tensor(w)), buf,
                   input_names=["ids", "off", "w"],
                   dynamic_axes={"ids": {0: "L"}, "off": {0: "B"}, "w": {0: "L"}})
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    traced = cr.trace(fn, cr.tensor(ids), cr.tensor(off), cr.tensor(w))
    ids2, off2 = rng.integers(0, 10, 8), np.array([0, 1, 5, 8])  # same sizes, other bags
    w2 = rng.standard_normal(8).astype(np.float32)
    want = fn(cr.tensor(ids2), cr.tensor(off2), cr.tensor(w2)).detach().numpy()
    got = session.run(None, {"ids": ids2, "off": off2, "w": w2})[0]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(traced(cr.tensor(ids2), cr.tensor(off2), cr.tensor(w2)).numpy(),
                               want, rtol=1e-6, atol=1e-6)  # the trace follows the bags now
