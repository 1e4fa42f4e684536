"""``Tensor.grad_dtype`` (PyTorch 2.13): the dtype of a leaf's ``.grad``, the gradients cast to it
as they arrive (before the leaf's hooks), None for any assigned dtype; leaves only; the errors
PyTorch raises. Every case runs in both libraries."""

import copy

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _dt(lib, name):
    return getattr(lib, name)


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_gradients_arrive_in_grad_dtype(lib):
    x = lib.zeros(3, requires_grad=True)
    assert x.grad_dtype == x.dtype == _dt(lib, "float32")
    x.grad_dtype = _dt(lib, "float64")
    seen = []
    x.register_hook(lambda g: seen.append(g.dtype))
    w = lib.tensor([1.0, 2.0, 3.0])
    (x * w).sum().backward()
    (x * w).sum().backward()
    assert seen == [_dt(lib, "float64")] * 2 and x.grad.dtype == _dt(lib, "float64")
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    y = lib.zeros(3, requires_grad=True)
    y.grad_dtype = _dt(lib, "float64")
    assert lib.autograd.grad((y * 2).sum(), y)[0].dtype == _dt(lib, "float64")
    assert copy.deepcopy(y).grad_dtype == y.detach().grad_dtype == _dt(lib, "float32")
    with pytest.raises(RuntimeError, match="Cannot set grad_dtype to .* there is already a "
                                           "gradient with dtype"):
        x.grad_dtype = _dt(lib, "float32")
    x.grad = None
    x.grad_dtype = _dt(lib, "float32")
    (x * w).sum().backward()
    assert x.grad.dtype == _dt(lib, "float32") and seen[-1] == _dt(lib, "float32")


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_none_allows_any_assigned_dtype_and_only_leaves_have_it(lib):
    v = lib.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="attempting to assign a gradient with dtype"):
        v.grad = lib.zeros(3, dtype=_dt(lib, "float64"))
    v.grad_dtype = None
    assert v.grad_dtype is None
    v.grad = lib.zeros(3, dtype=_dt(lib, "float64"))
    (v * 2).sum().backward()
    assert v.grad.dtype == _dt(lib, "float64") and v.grad.tolist() == [2.0, 2.0, 2.0]
    z = lib.zeros(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="grad_dtype can only be accessed on leaf tensors"):
        z.grad_dtype  # noqa: B018
    with pytest.raises(RuntimeError, match="grad_dtype can only be set on leaf tensors"):
        z.grad_dtype = _dt(lib, "float64")
    with pytest.raises(RuntimeError, match="grad_dtype must be a .* or None, but got str"):
        v.grad_dtype = "float64"
    assert lib.zeros(2, dtype=_dt(lib, "float64")).grad_dtype == _dt(lib, "float64")


def test_a_parameter_and_other_hooks_keep_working():
    layer = cr.nn.Linear(2, 2)
    handle = layer.weight.register_hook(lambda g: g * 2)
    layer.weight.grad_dtype = cr.float64  # set after a hook: the cast still comes first
    layer(cr.ones(1, 2)).sum().backward()
    assert layer.weight.grad.dtype == cr.float64
    np.testing.assert_array_equal(layer.weight.grad.numpy(), np.full((2, 2), 2.0))
    handle.remove()  # the other hook's handle still removes it from the same dict
    layer.weight.grad = None
    layer(cr.ones(1, 2)).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy(), np.ones((2, 2)))
