"""A write that carries a gradient into a view made outside the graph, of a constant tensor
(makemore's manual backward pass: ``dC = torch.zeros_like(C)``, then ``dC[ix] += demb[k, j]``
with gradients recorded), and ``t[range(n), y] -= 1`` on a tensor in the graph: recorded through
the constant, with PyTorch's values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def _run(lib, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    emb = lib.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    idx = lib.tensor([[0, 2], [2, 1], [0, 0]])
    w = lib.tensor(rng.standard_normal((5, 4)))
    demb = emb * 2
    dC = lib.zeros(5, 4, dtype=lib.float64)  # noqa: N806
    for k in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            ix = idx[k, j]
            dC[ix] += demb[k, j]
    row = dC.t()[1]  # a view of a view, then a method's in-place change
    row.mul_(emb[0, 0, :1].exp())
    out = [dC.requires_grad, dC.is_leaf, dC.detach().numpy().copy()]
    (dC * w).sum().backward()
    out.append(emb.grad.numpy().copy())
    logits = emb.reshape(3, 8) * 1.5
    probs = logits.softmax(1) + 0  # softmax's backward reads its output: write a copy
    probs[range(3), lib.tensor([1, 7, 0])] -= 1
    probs /= 3
    (probs * probs).sum().backward()
    out.append(emb.grad.numpy().copy())
    return out


@pytest.mark.torch
def test_writes_into_views_of_a_constant_and_range_indices_match_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = _run(cr), _run(torch)
    assert ours[:2] == theirs[:2] == [True, False]
    for a, b in zip(ours[2:], theirs[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_a_view_of_a_constant_without_a_gradient_stays_unrecorded():
    buf = cr.zeros(2, 3)
    buf[0] += cr.ones(3)
    buf.t()[2].mul_(2.0)
    assert not buf.requires_grad and buf.is_leaf
    np.testing.assert_array_equal(buf.numpy(), [[1, 1, 2], [0, 0, 0]])


def test_a_view_of_a_leaf_that_requires_grad_is_still_refused():
    leaf = cr.zeros(2, 3, requires_grad=True)
    with cr.no_grad():
        view = leaf[0]
    with pytest.raises(RuntimeError, match="add_: the tensor of shape"):
        view.add_(cr.ones(3, requires_grad=True))
