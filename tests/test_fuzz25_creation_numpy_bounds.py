"""Fuzz wave 25: ``clamp``/``clip``/``clamp_min``/``clamp_max`` with NumPy scalar bounds.

Before this wave a NumPy scalar bound reached NumPy's ``clip`` as a typed scalar, so
``clamp(float32 x, np.float64(1.5))`` was float64 and a float16 ``x`` float64 too (PyTorch reads
the bound as the Python number, keeping ``x``'s dtype). A bound from ``np.percentile`` or
``np.quantile`` is a NumPy float64, so the clamped activations silently doubled in size.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("make", [
    lambda t, x: t.clamp(x, np.float64(1.5)), lambda t, x: t.clamp(x, max=np.float64(1.5)),
    lambda t, x: x.clamp_min(np.float64(1.5)), lambda t, x: t.clamp_max(x, np.float32(1.5)),
    lambda t, x: t.clip(x, np.float64(0.5), np.float64(2.5)),
    lambda t, x: x.clone().clamp_(np.int64(1), np.int64(2)),
])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int64"])
def test_numpy_scalar_bounds_keep_torch_dtype(make, dtype):
    ours = make(cr, cr.arange(4).to(getattr(cr, dtype)))
    theirs = make(torch, torch.arange(4).to(getattr(torch, dtype)))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_gradient_through_numpy_bounds():
    x = cr.tensor([0.5, 2.0, 3.0], dtype="float64", requires_grad=True)
    (g,) = cr.grad(cr.clamp(x, np.float64(1.0), np.float64(2.5)).sum(), x)
    assert g.tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_numpy_scalar_logit_eps_and_round_decimals(dtype):
    # logit's eps goes through clamp (was float64); round's decimals=np.int64 made its scale
    # a NumPy float64, so the result was float64 too
    x = [0.25, 1e-9]
    ours = cr.logit(cr.tensor(x, dtype=getattr(cr, dtype)), eps=np.float64(1e-3))
    theirs = torch.logit(torch.tensor(x, dtype=getattr(torch, dtype)), eps=np.float64(1e-3))
    assert str(ours.dtype) == dtype and np.allclose(ours.numpy(), theirs.numpy(), rtol=1e-3)
    y = [1.2345, 123.45]
    ours = cr.round(cr.tensor(y, dtype=getattr(cr, dtype)), decimals=np.int64(1))
    theirs = torch.round(torch.tensor(y, dtype=getattr(torch, dtype)), decimals=np.int64(1))
    assert str(ours.dtype) == dtype and ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_clip_grad_value_with_a_numpy_bound_keeps_the_gradient_dtype(dtype):
    # was: the NumPy float64 bound reached NumPy's clip, so the gradients became float64
    grads = []
    for t in (cr, torch):
        p = t.zeros(3, dtype=getattr(t, dtype), requires_grad=True)
        p.grad = t.tensor([-3.0, 0.5, 2.0], dtype=getattr(t, dtype))
        t.nn.utils.clip_grad_value_([p], np.float64(1.0))
        grads.append((str(p.grad.dtype).removeprefix("torch."), p.grad.tolist()))
    assert grads[0] == grads[1] == (dtype, [-1.0, 0.5, 1.0])
