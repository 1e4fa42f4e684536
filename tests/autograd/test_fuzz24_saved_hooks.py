"""Fuzz wave 24: ``saved_tensors_hooks`` whose pack hook changes its tensor in place, and
``del t.grad``, against PyTorch 2.13. The pack hook's change went unnoticed: it changed a value
of the forward pass under the graph (``exp``'s output was doubled after it was returned), which
PyTorch refuses at once; now a RuntimeError too. ``del t.grad`` sets it to None, as PyTorch's
(it was an AttributeError)."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

X = np.random.default_rng(24).standard_normal((2, 3))


def _custom(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    return Square.apply


FORWARDS = {  # which tensor gets packed: an input, an output, a custom Function's saved input
    "sin (input)": lambda lib, h: h.sin(),
    "exp (output)": lambda lib, h: h.exp(),
    "mul (inputs)": lambda lib, h: h * h,
    "custom": lambda lib, h: _custom(lib)(h),
}


def _run(lib, name, pack):
    x = lib.tensor(X, requires_grad=True)
    h = x * 1
    with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = FORWARDS[name](lib, h)
    y.sum().backward()
    return y, x.grad


@pytest.mark.parametrize("name", sorted(FORWARDS))
def test_pack_hook_changing_its_tensor_in_place_is_refused(name):
    def pack(t):
        t.mul_(2)
        return t

    with pytest.raises(RuntimeError):
        _run(torch, name, pack)
    with pytest.raises(RuntimeError, match="the pack hook changed its input in place"):
        _run(cr, name, pack)


@pytest.mark.parametrize("name", sorted(FORWARDS))
def test_pack_hook_changing_a_copy_is_taken(name):
    results = [_run(lib, name, lambda t: t.clone().mul_(1)) for lib in (torch, cr)]
    for got, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-12)


def test_del_grad_sets_none():
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=True)
        (x * 2).sum().backward()
        del x.grad
        assert x.grad is None
        (x * 3).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.full(X.shape, 3.0))
