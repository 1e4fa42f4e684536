"""Every optimizer takes PyTorch's implementation choices (fused=, foreach=, capturable=,
differentiable=False) where PyTorch's does, as programs write them (nanoGPT passes fused=True
where it can, Pytorch-UNet RMSprop(foreach=True)): the same updates as PyTorch's;
differentiable=True is refused."""

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
    lambda L, p: L.optim.RMSprop(p, lr=0.01, momentum=0.9, foreach=True, capturable=False,
                                 differentiable=False),
    lambda L, p: L.optim.RMSprop(p, 0.01, 0.99, 1e-8, 0, 0.5, False, False, True),  # positional
    lambda L, p: L.optim.Adadelta(p, 1.0, 0.9, 1e-6, 0, True, capturable=False),
    lambda L, p: L.optim.Adagrad(p, 0.1, 0, 0, 0, 1e-10, True, fused=None),
    lambda L, p: L.optim.Adamax(p, lr=0.1, foreach=True, differentiable=False, capturable=False),
    lambda L, p: L.optim.ASGD(p, 0.1, 1e-4, 0.75, 1e6, 0, True, False, False, False),
    lambda L, p: L.optim.NAdam(p, lr=0.1, foreach=True, capturable=False),
    lambda L, p: L.optim.RAdam(p, lr=0.1, foreach=False, differentiable=False),
    lambda L, p: L.optim.Rprop(p, lr=0.1, capturable=False, foreach=True),
    lambda L, p: L.optim.Adam(p, lr=0.1, weight_decay=0.3, decoupled_weight_decay=True),
    lambda L, p: L.optim.Adam(p, lr=0.1, weight_decay=0.3, decoupled_weight_decay=False),
])
def test_flags_give_pytorchs_updates(make):
    torch = pytest.importorskip("torch")
    # NAdam's and ASGD's scalar state is float32 in both libraries (the default dtype's)
    ours, keys = _run(cr, make)
    theirs, torch_keys = _run(torch, make)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert set(keys) <= set(torch_keys)


@pytest.mark.kernel_free
def test_flag_refusals():
    w = [cr.nn.Parameter(cr.ones(2))]
    with pytest.raises(NotImplementedError, match="Adam: differentiable=True"):
        cr.optim.Adam(w, differentiable=True)
    with pytest.raises(TypeError, match="SGD: fused must be True or False, got 'yes'"):
        cr.optim.SGD(w, fused="yes")
    with pytest.raises(TypeError, match="AdamW: capturable must be True or False, got None"):
        cr.optim.AdamW(w, capturable=None)
    with pytest.raises(NotImplementedError, match="RMSprop: differentiable=True"):
        cr.optim.RMSprop(w, differentiable=True)
    with pytest.raises(TypeError, match="Rprop: foreach must be True or False, got 1"):
        cr.optim.Rprop(w, foreach=1)
    with pytest.raises(TypeError, match="Adam: decoupled_weight_decay must be True or False"):
        cr.optim.Adam(w, decoupled_weight_decay="yes")


def test_adam_with_decoupled_weight_decay_steps_as_adamw():
    def run(make):
        w = cr.nn.Parameter(cr.tensor([1.0, -2.0], dtype=cr.float64))
        opt = make([w])
        for _ in range(3):
            opt.zero_grad()
            (w ** 2).sum().backward()
            opt.step()
        return w.detach().numpy()

    np.testing.assert_array_equal(
        run(lambda p: cr.optim.Adam(p, lr=0.1, weight_decay=0.2, decoupled_weight_decay=True)),
        run(lambda p: cr.optim.AdamW(p, lr=0.1, weight_decay=0.2)))
    assert cr.optim.Adam([cr.nn.Parameter(cr.ones(1))])._decoupled is False
