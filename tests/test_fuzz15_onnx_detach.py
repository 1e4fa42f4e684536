"""Fuzz wave 15, ONNX export of ``x.detach()`` inside a model: a VQ-VAE straight-through
estimator ``z + (q - z).detach()`` and a target network's detached branch. The recorder that
``chainrule.trace`` and ``chainrule.onnx.export`` share refused a detached tensor; it now reads
it as its source (an identity in the file), while eager training keeps the stop-gradient
(compared with PyTorch's gradients)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
torch = pytest.importorskip("torch")


class VQ(nn.Module):
    """Encoder, nearest code (a vector quantizer), straight-through estimator, decoder."""

    def __init__(self, seed, dtype=np.float32):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.enc = nn.Linear(4, 3, rng=rng, dtype=dtype)
        self.dec = nn.Linear(3, 2, rng=rng, dtype=dtype)
        self.code = nn.Parameter(cr.tensor(rng.standard_normal((5, 3)).astype(dtype)))

    def forward(self, x):
        z = self.enc(x)
        d = ((z.unsqueeze(1) - self.code.unsqueeze(0)) ** 2).sum(-1)
        q = self.code[d.argmin(1)]
        commit = ((z - q.detach()) ** 2).mean() + ((z.detach() - q) ** 2).mean()
        return self.dec(z + (q - z).detach()), commit


def torch_vq(m):
    p = {k: torch.tensor(v.numpy(), requires_grad=True) for k, v in m.state_dict().items()}

    def f(x):
        z = torch.nn.functional.linear(x, p["enc.weight"], p["enc.bias"])
        d = ((z.unsqueeze(1) - p["code"].unsqueeze(0)) ** 2).sum(-1)
        q = p["code"][d.argmin(1)]
        commit = ((z - q.detach()) ** 2).mean() + ((z.detach() - q) ** 2).mean()
        y = torch.nn.functional.linear(z + (q - z).detach(), p["dec.weight"], p["dec.bias"])
        return y, commit

    return f, p


def ort_run(proto_bytes, feeds):
    session = ort.InferenceSession(proto_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


@pytest.mark.parametrize("seed", range(4))
def test_vq_straight_through_exports_and_trains_as_pytorch(seed):
    m = VQ(seed).eval()
    rng = np.random.default_rng(100 + seed)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    buf = io.BytesIO()
    cr.onnx.export(m, cr.tensor(x), buf, input_names=["x"], output_names=["y", "commit"],
                   dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    for n in (6, 3, 11):
        xs = rng.standard_normal((n, 4)).astype(np.float32)
        with cr.no_grad():
            want = m(cr.tensor(xs))
        got = ort_run(buf.getvalue(), {"x": xs})
        for g, w in zip(got, want):
            assert g.dtype == w.numpy().dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-6)
    # the trace replays the same values; eager training still stops the gradient
    traced = cr.trace(m, cr.tensor(x))
    for g, w in zip(traced(cr.tensor(x)), m(cr.tensor(x))):
        np.testing.assert_array_equal(g.numpy(), w.detach().numpy())
    m64 = VQ(seed, np.float64).train()
    x64 = rng.standard_normal((5, 4))
    y, commit = m64(cr.tensor(x64))
    ((y ** 2).sum() + commit).backward()
    f, p = torch_vq(m64)
    ty, tcommit = f(torch.tensor(x64))
    ((ty ** 2).sum() + tcommit).backward()
    for name, param in m64.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), p[name].grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)


def test_target_network_branch_and_detached_outputs():
    rng = np.random.default_rng(7)
    online = nn.Linear(3, 2, rng=rng)
    target = nn.Linear(3, 2, rng=rng)

    def td(x, r):  # a TD target: r + 0.9 * max Q_target(x), detached; the online Q values
        q = online(x)
        return q, (r + 0.9 * target(x).amax(1)).detach(), q.detach(), x.detach()

    x = rng.standard_normal((4, 3)).astype(np.float32)
    r = rng.standard_normal(4).astype(np.float32)
    buf = io.BytesIO()
    cr.onnx.export(td, (cr.tensor(x), cr.tensor(r)), buf, input_names=["x", "r"],
                   dynamic_axes={"x": {0: "b"}, "r": {0: "b"}})
    for n in (4, 9):
        xs = rng.standard_normal((n, 3)).astype(np.float32)
        rs = rng.standard_normal(n).astype(np.float32)
        with cr.no_grad():
            want = td(cr.tensor(xs), cr.tensor(rs))
        got = ort_run(buf.getvalue(), {"x": xs, "r": rs})
        assert len(got) == 4
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-6, atol=1e-6)


def test_a_detached_parameter_follows_the_parameter():
    lin = nn.Linear(3, 2, rng=np.random.default_rng(0)).eval()

    def f(x):
        return x @ lin.weight.detach().T

    x = cr.tensor(np.ones((2, 3), np.float32))
    traced = cr.trace(f, x)
    lin.weight.data = lin.weight.data * 2  # a new array: a trace reads parameters at each call
    np.testing.assert_array_equal(traced(x).numpy(), f(x).detach().numpy())


def test_an_array_shared_outside_any_op_is_still_refused():
    def f(x):
        return cr.from_numpy(x.numpy()) * 2 + x

    with pytest.raises(cr.autograd.tracing.TraceError, match="shares memory"):
        cr.onnx.export(f, cr.tensor(np.ones(3, np.float32)), io.BytesIO())
