"""Fuzz wave 15, ONNX export: seeded random models with two inputs (floats in float32 or
float64, and integer ids in int32 or int64), several outputs (floats, ints, booleans' counts),
a dynamic batch and sometimes a dynamic sequence axis, at random opsets 13 to 21: random chains
of the ops wave 15 added or fixed (cumprod, cummax/cummin, atan2, sign, one-bound clamps, split)
among others, and embedding + recurrent / attention / convolution models. onnxruntime (ONNX's
reference implementation where onnxruntime has no float64 kernel) and chainrule.onnx.load must
equal chainrule's forward: float32 to 1e-4 of the output's scale, float64 to 1e-9."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from chainrule.onnx import export, load  # noqa: E402

OPS = [
    lambda x: cr.cumprod(x, 2), lambda x: cr.cummax(x, -1).values,
    lambda x: x + cr.cummin(x, 2).indices.to(x.dtype), lambda x: cr.atan2(x, x.flip(2)),
    lambda x: cr.sign(x) * x, lambda x: x.clamp(min=-0.3), lambda x: x.clamp(max=0.4),
    lambda x: cr.cat(x.split([1, x.shape[1] - 1], 1)[::-1], 1),
    lambda x: cr.sort(x, dim=-1, descending=True).values, lambda x: cr.topk(x, 2, dim=-1).values,
    lambda x: cr.gather(x, 2, cr.argsort(x, dim=2)), lambda x: x // 0.3,
    lambda x: x.std(dim=-1, keepdim=True) + x, lambda x: F.softmin(x, dim=1),
    lambda x: F.glu(cr.cat([x, x], -1), -1), F.mish, F.logsigmoid,
    lambda x: x[:, :1] * 2 + x, lambda x: cr.maximum(x, x.flip(1)),
    lambda x: x.abs() ** (x * 0.1), lambda x: cr.lerp(x, x.flip(2), 0.3),
    lambda x: cr.bmm(x, x.transpose(1, 2)), lambda x: F.layer_norm(x, (x.shape[-1],)),
    lambda x: x * (x * x).mean(-1, keepdim=True).rsqrt(), lambda x: x.narrow(2, 0, 2),
    lambda x: x.flip(1, 2), lambda x: x.argmax(-1, keepdim=True).to(x.dtype) + x,
    lambda x: x.repeat_interleave(2, dim=2), lambda x: x * ((x > 0) & (x < 1) | (x < -1)),
    lambda x: x + (x > 0).sum(-1, keepdim=True), lambda x: x * ((x > 0) ^ ~(x < 1)),
]


def _check(fn, proto, feeds, atol32=1e-4):
    with cr.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = fn(*[cr.tensor(v) for v in feeds.values()])
        back = load(proto)(*feeds.values())
    want = want if isinstance(want, tuple) else (want,)
    back = back if isinstance(back, tuple) else (back,)
    try:
        session = ort.InferenceSession(proto.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        got = session.run(None, feeds)
    except Exception:  # noqa: BLE001 - no float64 kernel (LSTM, Atan...): ONNX's reference
        from onnx.reference import ReferenceEvaluator

        with np.errstate(all="ignore"):
            got = ReferenceEvaluator(proto).run(None, feeds)
    for g, b, w in zip(got, back, want):
        w = w.numpy()
        tol = atol32 if w.dtype == np.float32 else 1e-9
        scale = max(1.0, float(np.abs(w).max())) if w.size else 1.0
        for out in (g, b.numpy()):
            assert (out.dtype, out.shape) == (w.dtype, w.shape)
            np.testing.assert_allclose(out, w, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("chunk", range(3))
def test_random_op_chains_with_ids_and_several_outputs(chunk):
    for seed in range(chunk * 12, chunk * 12 + 12):
        r = np.random.default_rng(5000 + seed)
        picks = [OPS[int(i)] for i in r.integers(0, len(OPS), int(r.integers(1, 4)))]

        def model(x, ids, picks=picks):
            h = x + ids.to(x.dtype).unsqueeze(-1) * 0.1
            for fn in picks:
                h = fn(h)
            return h, h.sum(-1), ids * 2 + ids // 2 - ids % 3, (h > 0).sum(1)

        dtype = r.choice([np.float32, np.float64])
        seq = bool(r.integers(2))
        s, d = int(r.integers(2, 4)), int(r.integers(3, 5))
        ids = r.integers(-4, 5, (2, s)).astype(r.choice([np.int64, np.int32]))
        axes = {0: "batch", 1: "seq"} if seq else {0: "batch"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proto = export(model, (cr.tensor(_normal(r, (2, s, d), dtype)), cr.tensor(ids)),
                           input_names=["x", "ids"], opset_version=int(r.integers(13, 22)),
                           dynamic_axes={"x": axes, "ids": axes})
        for n, length in ((3, s), (1, s + seq)):
            _check(model, proto, {"x": _normal(r, (n, length, d), dtype),
                                  "ids": r.integers(-4, 5, (n, length)).astype(ids.dtype)})


def _normal(r, shape, dtype):
    return r.standard_normal(shape).astype(dtype)


class _Text(nn.Module):
    """Embedding (ids) + a float input, a body, pooling, a head; four outputs."""

    def __init__(self, r, kind):
        super().__init__()
        self.emb = nn.Embedding(11, 6, rng=r)
        if kind == "lstm":
            self.body = nn.LSTM(6, 5, num_layers=2, batch_first=True, bidirectional=True, rng=r)
        elif kind == "gru":
            self.body = nn.GRU(6, 5, batch_first=True, rng=r)
        elif kind == "transformer":
            self.body = nn.TransformerEncoderLayer(6, 2, dim_feedforward=8, dropout=0.0,
                                                   batch_first=True, norm_first=True, rng=r)
        else:
            self.body = nn.Conv1d(6, 5, 3, padding="same", dilation=2, rng=r)
        self.kind = kind
        self.head = nn.LazyLinear(3, rng=r) if hasattr(nn, "LazyLinear") else None

    def forward(self, ids, extra):
        h = self.emb(ids) + extra
        if self.kind in ("lstm", "gru"):
            h = self.body(h)[0]
        elif self.kind == "conv":
            h = self.body(h.transpose(1, 2)).transpose(1, 2)
        else:
            h = self.body(h)
        logits = self.head(h.amax(1))
        return logits, logits.argmax(-1), F.log_softmax(logits, -1), h[:, -1]


@pytest.mark.parametrize("kind", ["lstm", "gru", "transformer", "conv"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_models_with_two_inputs_and_four_outputs(kind, dtype):
    r = np.random.default_rng(len(kind))
    model = _Text(r, kind)
    ids = r.integers(0, 11, (2, 4))
    with cr.no_grad():
        model(cr.tensor(ids), cr.tensor(_normal(r, (2, 4, 6), np.float32)))  # the lazy head
    if dtype == np.float64:
        model = model.double()
    model.eval()
    seq = {1: "seq"} if kind == "conv" else {}
    axes = {"ids": {0: "batch", **seq}, "extra": {0: "batch", **seq}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proto = export(model, (cr.tensor(ids), cr.tensor(_normal(r, (2, 4, 6), dtype))),
                       input_names=["ids", "extra"], dynamic_axes=axes,
                       opset_version=int(r.integers(13, 22)))
    for n, length in ((3, 4), (1, 6 if seq else 4)):
        _check(model, proto, {"ids": r.integers(0, 11, (n, length)),
                              "extra": _normal(r, (n, length, 6), dtype)})
