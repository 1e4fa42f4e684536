"""An op's output changed through ``.data`` (or under ``no_grad``) before anything read it:
``attn.data.masked_fill_(mask, -inf)`` before a softmax, as older attention code (IBM's
pytorch-seq2seq, OpenNMT-py, NVIDIA's Tacotron 2) writes it. Where the op's backward does not
read its output (matmul, linear, einsum) PyTorch's gradient is unaffected, and chainrule's now
agrees instead of refusing; where a node read the old values, or the op reads its output, it
still refuses (PyTorch's gradient would take the changed values)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
Q, K = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 5, 4))
MASK = RNG.random((2, 3, 5)) < 0.3
MASK[..., 0] = False


def _attention(lib, q, k, lin, how):
    if how == "bmm":
        attn = lib.bmm(q, k.transpose(1, 2))
        attn.data.masked_fill_(lib.tensor(MASK), -float("inf"))
        return lib.softmax(attn.view(-1, 5), dim=1)
    if how == "linear_squeeze":
        energies = lin(lib.tanh(k + q[:, :1])).squeeze(-1)
        energies.data.masked_fill_(lib.tensor(MASK[:, 0]), -float("inf"))
        return lib.softmax(energies, dim=1)
    if how == "einsum":
        scores = lib.einsum("bqd,bkd->bqk", q, k)
        scores.data.masked_fill_(lib.tensor(MASK), -1e9)
        return lib.log_softmax(scores, -1)
    scores = lib.matmul(q, k.transpose(1, 2))
    with lib.no_grad():
        scores.masked_fill_(lib.tensor(MASK), -1e9)
    return lib.softmax(scores, -1)


@pytest.mark.parametrize("how", ["bmm", "linear_squeeze", "einsum", "no_grad"])
def test_masking_an_unread_output_through_data_gives_pytorchs_gradients(how):
    out = []
    for lib in (cr, torch):
        q = lib.tensor(Q, requires_grad=True)
        k = lib.tensor(K, requires_grad=True)
        lin = lib.nn.Linear(4, 1).double()
        with lib.no_grad():
            lin.weight.copy_(lib.tensor([[0.5, -1.0, 0.3, 0.2]]))
            lin.bias.fill_(0.1)
        a = _attention(lib, q, k, lin, how)
        w = lib.tensor(RNG.standard_normal(tuple(a.shape)) if lib is cr else out[0][0])
        (a * w).sum().backward()
        out.append((w.numpy(), a.detach().numpy(), q.grad.numpy(), k.grad.numpy(),
                    np.zeros(1) if lin.weight.grad is None else lin.weight.grad.numpy()))
    for ours, theirs in zip(out[0][1:], out[1][1:]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_a_change_a_node_read_before_or_an_op_reading_its_output_still_refuses():
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype="float64", requires_grad=True)
    y = w @ w
    z = (y * y).sum()  # Mul read y before the change: PyTorch's gradient takes the new values
    y.data.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()
    y = w.exp()  # exp's backward reads its output
    y.data.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    y = w @ w
    view = y[0]  # a view made before the change, used after it
    y.data.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (view * view).sum().backward()
