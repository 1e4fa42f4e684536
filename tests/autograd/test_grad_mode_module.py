"""PyTorch's module path torch.autograd.grad_mode (``from torch.autograd.grad_mode import
no_grad``): chainrule.autograd.grad_mode holds the same grad-mode context managers."""

import pytest

import chainrule as cr


@pytest.mark.torch
def test_grad_mode_names_are_torchs_context_managers():
    torch = pytest.importorskip("torch")
    from chainrule.autograd import grad_mode

    for name in grad_mode.__all__:
        assert name in torch.autograd.grad_mode.__all__
        assert getattr(grad_mode, name) is getattr(cr, name)
    assert cr.autograd.grad_mode is grad_mode


def test_grad_mode_no_grad_stops_recording():
    from chainrule.autograd.grad_mode import enable_grad, no_grad, set_grad_enabled

    x = cr.ones(2, requires_grad=True)
    with no_grad():
        assert not (x * 2).requires_grad
        with enable_grad():
            assert (x * 2).requires_grad
    with set_grad_enabled(False):
        assert not (x * 2).requires_grad
