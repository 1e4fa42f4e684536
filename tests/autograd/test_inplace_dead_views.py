"""A recorded write (one whose value requires grad) into a tensor is refused while another live
tensor shares its memory (a write into the view itself goes through the tensor, as PyTorch's); a
view that is gone no longer counts (autograd/views.py). Before, any
view ever made forbade it for good, so the DeepAR port's loop, ``x = batch[t].clone()`` each step
and a later ``batch[t, zero_index, 0] = mu[zero_index]``, was refused."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import chainrule as cr


def _value():
    w = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    return w, w * 2


def test_a_write_after_the_views_died_is_recorded_and_differentiates():
    base = cr.zeros(4, 3, dtype=cr.float64)
    base[1].clone()  # a view made and dropped at once
    view = base[0]
    del view
    w, y = _value()
    base[2] = y
    (base * cr.arange(12, dtype=cr.float64).reshape(4, 3)).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [12.0, 14.0, 16.0])


def test_a_live_view_or_a_live_view_of_a_view_still_refuses():
    base = cr.zeros(4, 3, dtype=cr.float64)
    outer = base[0:2]
    inner = outer[0]
    del outer
    gc.collect()
    _, y = _value()
    with pytest.raises(RuntimeError, match="shares its memory"):
        base[2] = y
    del inner
    base[2] = y  # now none is left


def test_a_write_into_a_live_view_of_a_view_goes_through_their_owner():
    # recorded into base at the view's positions (views.owner_of), as PyTorch records it; the
    # view between them may be gone. Before, such writes were refused
    base = cr.zeros(4, 3, dtype=cr.float64)
    outer = base[1:3]
    inner = outer[1]
    del outer
    gc.collect()
    w, y = _value()
    inner[0] = y[0]
    inner[1:] += y[1:]
    assert base.requires_grad and inner.requires_grad
    (base * cr.arange(12, dtype=cr.float64).reshape(4, 3)).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [12.0, 14.0, 16.0])


def test_the_weak_references_are_pruned():
    base = cr.zeros(4, 3)
    for i in range(200):
        base[i % 4].sum()
    assert len(base._views) <= 32


@pytest.mark.torch
def test_the_deepar_pattern_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    data, w0 = rng.standard_normal((5, 4, 2)), rng.standard_normal((2, 4))
    data[3, 1, 0] = 0.0
    grads = []
    for lib in (cr, torch):
        w = lib.tensor(w0, requires_grad=True)
        batch = lib.tensor(data).clone()
        loss, mu = 0, None
        for t in range(5):
            zero_index = batch[t, :, 0] == 0
            if t > 0 and zero_index.any():
                batch[t, zero_index, 0] = mu[zero_index]
            x = batch[t].clone()
            mu = (x @ w).sum(1)
            loss = loss + (mu ** 2).mean()
        loss.backward()
        grads.append((loss.item(), w.grad.numpy()))
    assert abs(grads[0][0] - grads[1][0]) < 1e-12
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12)
