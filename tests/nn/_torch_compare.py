"""Shared check for the tests of PyTorch's extra nn functions: the same call on chainrule and
PyTorch tensors gives the same values and gradients (float64)."""

import numpy as np


def compare(ours_fn, theirs_fn, arrays, rng, *, grad=None, tol=1e-10):
    """Run both functions on float64 copies of ``arrays`` (those in ``grad``, default all, require
    grad); compare the outputs and the gradients of a random weighted sum."""
    import torch

    import chainrule as cr

    grad = range(len(arrays)) if grad is None else grad
    ours = [cr.tensor(a, requires_grad=i in grad) if a.dtype.kind == "f" else cr.tensor(a)
            for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i in grad) if a.dtype.kind == "f" else torch.tensor(a)
              for i, a in enumerate(arrays)]
    y, t = ours_fn(*ours), theirs_fn(*theirs)
    assert y.shape == tuple(t.shape), (y.shape, tuple(t.shape))
    np.testing.assert_allclose(y.numpy(), t.detach().numpy(), rtol=tol, atol=tol)
    if not grad:
        return y
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (t * torch.tensor(w)).sum().backward()
    for i in grad:
        np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(), rtol=tol,
                                   atol=tol, err_msg=f"gradient of argument {i}")
    return y
