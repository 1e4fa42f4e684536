"""``cat``/``stack`` read only their inputs' shapes for the gradient, so an input changed in
place after them is no error, as in PyTorch: Tacotron 2's attention concatenates the current
and cumulative weights, then ``attention_weights_cum += attention_weights``."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free


@pytest.mark.parametrize("join", ["cat", "stack"])
def test_an_input_changed_in_place_after_the_join_gives_pytorchs_gradient(join):
    grads = []
    for lib in (cr, torch):
        w = lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64, requires_grad=True)
        cum = w * 0.5
        weights = w.exp()
        if join == "cat":
            joined = lib.cat((weights.unsqueeze(1), cum.unsqueeze(1)), dim=1)
        else:
            joined = lib.stack((weights, cum), dim=1)
        cum += weights  # after the join read it
        loss = (joined ** 2).sum() + (cum * weights).sum()
        loss.backward()
        grads.append((loss.item(), w.grad.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-13)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-13)


def test_tacotron_cumulative_attention_weights_match_pytorch():
    """A view of a buffer, joined, then the buffer changed in place, step after step: the
    join's view was stale, and chainrule refused it as if cat read its values."""
    grads = []
    for lib in (cr, torch):
        w = lib.tensor([[1.0, -2.0, 0.5]], dtype=lib.float64, requires_grad=True)
        cum = lib.zeros(1, 3, dtype=lib.float64)
        weights = lib.zeros(1, 3, dtype=lib.float64)
        loss = 0
        for step in range(3):
            joined = lib.cat((weights.unsqueeze(1), cum.unsqueeze(1)), dim=1)
            stacked = lib.stack((weights, cum), dim=1)
            weights = lib.softmax(w * (step + 1) + joined.sum(1) - stacked.prod(1), dim=1)
            cum += weights
            loss = loss + (joined ** 2).sum() + stacked.sum() ** 2
        loss.backward()
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-13)


def test_ops_that_read_a_changed_input_still_refuse():
    w = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = w * 1.0
    z = y * y  # Mul reads y
    y.data.add_(1.0)  # not recorded: no earlier values to route the gradient to
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
