"""A 0-D index into a 1-D input for gather, scatter and scatter_add: one position, as PyTorch
reads it (the Transforms tutorial's one-hot target ``torch.zeros(10).scatter_(0,
torch.tensor(y), value=1)`` was refused for its index's dimensions)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck

pytestmark = pytest.mark.kernel_free


@pytest.mark.torch
def test_zero_d_index_values_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    x0 = np.linspace(-1.0, 1.0, 6)
    got = {}
    for lib in (cr, torch):
        x = lib.tensor(x0, requires_grad=True)
        v = lib.tensor(2.5, dtype=lib.float64, requires_grad=True)
        i = lib.tensor(4)
        outs = [x.gather(0, i), x.scatter(0, i, v), x.scatter_add(0, i, v),
                x.scatter(0, i, value=7.0), lib.zeros(6, dtype=lib.float64).scatter_(0, i, value=1)]
        w = lib.tensor(np.arange(1.0, 7.0))
        (outs[0] * 3 + sum((o * w).sum() for o in outs[1:4])).backward()
        got[lib] = [o.detach().numpy().copy() for o in outs] + [x.grad.numpy().copy(),
                                                                v.grad.numpy().copy()]
    assert got[cr][0].shape == () and got[cr][1].shape == (6,)
    for a, b in zip(got[cr], got[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-15)


def test_zero_d_index_gradcheck_and_other_ranks_refused():
    i = cr.tensor(2)
    assert gradcheck(lambda x, v: x.scatter(0, i, v) * x.gather(0, i),
                     (cr.tensor(np.linspace(0.5, 1.5, 4), requires_grad=True),
                      cr.tensor(0.3, dtype=cr.float64, requires_grad=True)))
    with pytest.raises(ValueError, match=r"scatter: index must have as many dimensions as the "
                                         r"input \(2\), got shape \(\)"):
        cr.zeros(3, 4).scatter(0, i, 1.0)
