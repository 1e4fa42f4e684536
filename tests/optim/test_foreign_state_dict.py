"""An optimizer's ``load_state_dict`` of another optimizer's state dict: an Adam state dict loaded
into ``SGD`` took Adam's lr and filled the missing ``momentum`` and ``dampening`` from SGD's
defaults, so the run trained on silently with other hyperparameters and no momentum buffers
(PyTorch's load takes it too, and fails at the first ``step()``: ``KeyError: 'momentum'``; noted
by the wave-23 io helper). It is refused now, naming what is missing. What a state dict of an
older PyTorch lacks (the options added since: ``foreach``, ``maximize``, Adam's
``decoupled_weight_decay``, RMSprop's ``centered``...) is still filled in from the defaults, as
PyTorch's ``__setstate__`` does."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _stepped(lib, cls, **kwargs):
    p = lib.nn.Parameter(lib.ones(3, dtype=lib.float64))
    opt = getattr(lib.optim, cls)([p], **kwargs)
    p.grad = lib.ones(3, dtype=lib.float64)
    opt.step()
    return p, opt


@pytest.mark.parametrize("saved, loader, missing", [
    ("Adam", "SGD", "'momentum', 'dampening'"),
    ("SGD", "Adam", "'betas', 'eps'"),
    ("RMSprop", "Adagrad", "'lr_decay', 'initial_accumulator_value'"),
])
def test_another_optimizers_state_dict_is_refused(saved, loader, missing):
    _, source = _stepped(cr, saved, lr=0.1)
    p, target = _stepped(cr, loader, lr=0.5)
    before = {k: v for k, v in target.param_groups[0].items() if k != "params"}
    with pytest.raises(ValueError, match=f"{loader}.load_state_dict: saved parameter group 0 has "
                                         f"no {missing}, which {loader} needs"):
        target.load_state_dict(source.state_dict())
    assert {k: v for k, v in target.param_groups[0].items() if k != "params"} == before
    p_t, torch_target = _stepped(torch, loader, lr=0.5)  # PyTorch: loaded, then a KeyError
    torch_target.load_state_dict(_stepped(torch, saved, lr=0.1)[1].state_dict())
    with pytest.raises(KeyError):
        torch_target.step()


@pytest.mark.parametrize("cls, later", [
    ("Adam", ["foreach", "maximize", "capturable", "differentiable", "fused", "amsgrad",
              "decoupled_weight_decay"]),
    ("RMSprop", ["momentum", "centered", "foreach", "maximize"]),
    ("SGD", ["nesterov", "maximize", "foreach", "differentiable", "fused"]),
])
def test_an_older_pytorch_state_dict_gets_the_later_options_filled_in(cls, later):
    results = []
    for lib in (torch, cr):
        p_saved, saved = _stepped(torch, cls, lr=0.1)
        state = saved.state_dict()
        for key in later:
            del state["param_groups"][0][key]
        p, opt = _stepped(lib, cls, lr=0.5)
        opt.load_state_dict(state)
        p.grad = lib.full((3,), 0.5, dtype=lib.float64)
        opt.step()
        results.append(p.detach().numpy() if lib is torch else p.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-14)
