"""Build the same distribution in chainrule and in PyTorch from float64 NumPy parameters."""

from __future__ import annotations

import numpy as np

import chainrule as cr


def leaves(lib, params):
    """A dict of float64 leaf tensors of ``lib`` (chainrule or torch) that require grad."""
    return {k: lib.tensor(np.array(v, dtype=np.float64), requires_grad=True)
            for k, v in params.items()}


def as_numpy(t):
    return t.detach().numpy() if not isinstance(t, cr.Tensor) else t.numpy()


def compare(ours, theirs, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(as_numpy(ours), as_numpy(theirs), rtol=rtol, atol=atol)


def compare_grads(ours_out, theirs_out, ours_leaves, theirs_leaves, rtol=1e-10, atol=1e-12):
    """Backpropagate the same cotangent through both outputs and compare the leaves' gradients."""
    g = np.cos(np.arange(ours_out.numel()) + 0.3).reshape(ours_out.shape)
    import torch

    # retain_graph: chainrule frees every node of a graph after a backward pass, the parameters'
    # broadcasting included, which later calls on the same distribution share.
    ours_grads = cr.grad(ours_out, list(ours_leaves.values()), cr.tensor(g),
                         retain_graph=True, allow_unused=True)
    theirs_grads = torch.autograd.grad(theirs_out, list(theirs_leaves.values()),
                                       torch.tensor(g), retain_graph=True, allow_unused=True)
    for name, a, b in zip(ours_leaves, ours_grads, theirs_grads):
        if b is None:
            assert a is None or not np.any(a.numpy()), name
            continue
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol, atol=atol, err_msg=name)
