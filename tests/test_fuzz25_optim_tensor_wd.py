"""``weight_decay`` as a one-element float Tensor, as PyTorch's optimizers take it (SGD's
signature says ``float | Tensor``); it was refused with a TypeError (wave 25, modoptim)."""

import copy

import numpy as np
import pytest

import chainrule as cr


def _run(lib, name, kw):
    p = lib.nn.Parameter(lib.tensor(np.array([1.0, 2.0, -0.5])))
    decay = lib.tensor(0.25, dtype=lib.float64)
    opt = getattr(lib.optim, name)([p], lr=0.1, weight_decay=decay, **kw)
    for t in range(2):
        p.grad = lib.tensor(np.array([0.5, -0.5, 0.25]) * (t + 1))
        opt.step()
    resumed = getattr(lib.optim, name)([p], lr=0.1)
    resumed.load_state_dict(copy.deepcopy(opt.state_dict()))
    p.grad = lib.tensor(np.array([0.1, 0.2, 0.3]))
    resumed.step()
    return p.detach().numpy().copy(), resumed.param_groups[0]["weight_decay"]


@pytest.mark.parametrize("name,kw", [("SGD", {"momentum": 0.9}), ("AdamW", {"amsgrad": True}),
                                     ("RMSprop", {"centered": True})])
def test_tensor_weight_decay_steps_as_torch(name, kw):
    torch = pytest.importorskip("torch")
    want, _ = _run(torch, name, kw)
    got, wd = _run(cr, name, kw)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert isinstance(wd, cr.Tensor) and wd.item() == 0.25  # the group keeps the Tensor


def test_tensor_weight_decay_of_several_elements_refused():
    p = cr.nn.Parameter(cr.ones(2))
    with pytest.raises(ValueError, match=r"weight_decay as a Tensor must have one float element"):
        cr.optim.SGD([p], weight_decay=cr.tensor([0.1, 0.2]))
