"""Adam, AdamW and SGD take PyTorch's implementation choices (fused=, foreach=, capturable=,
differentiable=False), as modern programs write them (nanoGPT passes fused=True where it can):
the same updates as PyTorch's; differentiable=True is refused."""

import numpy as np
import pytest

import chainrule as cr


def _run(L, make):
    w = L.nn.Parameter(L.tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3)))
    opt = make(L, [w])
    for _ in range(3):
        opt.zero_grad()
        (w.sin() * L.arange(6.0, dtype=L.float64).view(2, 3)).sum().backward()
        opt.step()
    return w.detach().numpy(), sorted(opt.param_groups[0])


@pytest.mark.torch
@pytest.mark.parametrize("make", [
    lambda L, p: L.optim.Adam(p, lr=0.1, foreach=False, capturable=False, fused=False),
    lambda L, p: L.optim.AdamW(p, lr=0.1, fused=True),
    lambda L, p: L.optim.SGD(p, lr=0.1, momentum=0.9, foreach=None, differentiable=False,
                             fused=False),
])
def test_flags_give_pytorchs_updates(make):
    torch = pytest.importorskip("torch")
    ours, keys = _run(cr, make)
    theirs, torch_keys = _run(torch, make)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert set(keys) <= set(torch_keys)


def test_flag_refusals():
    w = [cr.nn.Parameter(cr.ones(2))]
    with pytest.raises(NotImplementedError, match="Adam: differentiable=True"):
        cr.optim.Adam(w, differentiable=True)
    with pytest.raises(TypeError, match="SGD: fused must be True or False, got 'yes'"):
        cr.optim.SGD(w, fused="yes")
    with pytest.raises(TypeError, match="AdamW: capturable must be True or False, got None"):
        cr.optim.AdamW(w, capturable=None)
