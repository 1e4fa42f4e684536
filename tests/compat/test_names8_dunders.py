"""Tensor operators PyTorch has that chainrule lacked (ops/tensor_dunders.py): ``in``, ``+t``,
shifts both ways, the in-place ``&= |= ^= <<= >>= %= //= **=`` (truly in place, recorded),
``reversed``, ``del t[i]``, and the False device probes. Against PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck

I = np.array([[3, 12, 7], [5, 1, 9]], dtype=np.int32)
F = np.array([[2.5, -1.25, 7.0], [0.5, 3.0, -4.5]])


@pytest.mark.torch
def test_contains_pos_shifts_and_reversed_match_torch():
    torch = pytest.importorskip("torch")
    x, tx = cr.tensor(I), torch.tensor(I)
    for v in (12, 4, 9.0, cr.tensor([5, 1, 9], dtype=cr.int32)):
        tv = torch.tensor(v.numpy()) if isinstance(v, cr.Tensor) else v
        assert (v in x) == (tv in tx)
    assert cr.tensor([7, 8, 0]) not in x
    with pytest.raises(RuntimeError, match=r"shape \(2,\) does not broadcast with .* \(2, 3\)"):
        cr.tensor([7, 8]) in x  # noqa: B015
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar.*list"):
        [1] in x  # noqa: B015
    assert +x is x and +cr.tensor(F) is not None
    with pytest.raises(TypeError, match="`\\+` operator, on a bool tensor"):
        +cr.tensor([True])
    for ours, theirs in ((x << 2, tx << 2), (x >> 1, tx >> 1), (3 << x % 4, 3 << tx % 4),
                         (64 >> x % 5, 64 >> tx % 5)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    # a 0-d int64 tensor does not widen the tensor (PyTorch's promotion, NumPy's would)
    np.testing.assert_array_equal((x << cr.tensor(1)).numpy(), (tx << torch.tensor(1)).numpy())
    assert str((x << cr.tensor(1)).dtype) == str((tx << torch.tensor(1)).dtype).removeprefix(
        "torch.")
    np.testing.assert_array_equal(reversed(x).numpy(), reversed(tx).numpy())
    assert reversed(cr.tensor(2.0)).item() == 2.0
    with pytest.raises(TypeError, match="does not support deleting items"):
        del x[0]
    assert not (x.is_xla or x.is_vulkan or x.is_maia or x.is_mtia or x.is_distributed())
    np.testing.assert_allclose(cr.tensor(F).__div__(2).numpy(), F / 2)
    np.testing.assert_allclose(cr.tensor(F).__rdiv__(2).numpy(), 2 / F)


@pytest.mark.torch
def test_in_place_operators_change_the_tensor_as_torch():
    torch = pytest.importorskip("torch")
    for op in ("&=", "|=", "^=", "<<=", ">>="):
        a, ta = cr.tensor(I), torch.tensor(I)
        alias, talias = a, ta
        other = cr.tensor(I[::-1] % 3)
        exec(f"a {op} other", {}, {"a": a, "other": other})  # noqa: S102
        exec(f"a {op} other", {}, {"a": ta, "other": torch.tensor(I[::-1] % 3)})  # noqa: S102
        np.testing.assert_array_equal(alias.numpy(), talias.numpy())
    for op in ("%=", "//=", "**="):
        a, ta = cr.tensor(F), torch.tensor(F)
        alias, talias = a, ta
        exec(f"a {op} 2", {}, {"a": a})  # noqa: S102
        exec(f"a {op} 2", {}, {"a": ta})  # noqa: S102
        np.testing.assert_allclose(alias.numpy(), talias.numpy(), rtol=1e-15)


@pytest.mark.torch
def test_recorded_in_place_mod_and_pow_gradients_match_torch():
    torch = pytest.importorskip("torch")
    x, tx = cr.tensor(F, requires_grad=True), torch.tensor(F, requires_grad=True)
    for t in (x, tx):
        y = t * 1.5
        y %= 2.0
        y **= 3
        y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-13)

    def fn(t):
        y = t * 1.0
        y **= 2
        return y

    assert gradcheck(fn, (cr.tensor(F, requires_grad=True),))
    leaf = cr.tensor(F, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf **= 2


@pytest.mark.torch
def test_deprecated_resize_resize_as_and_volatile_match_torch():
    torch = pytest.importorskip("torch")
    x, tx = cr.tensor(F, requires_grad=True), torch.tensor(F, requires_grad=True)
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        y = x.resize(3, 2)
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        ty = tx.resize(3, 2)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    (y * cr.tensor(F.reshape(3, 2))).sum().backward()
    (ty * torch.tensor(F.reshape(3, 2))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
        assert x.resize_as(cr.ones(6)).shape == (6,)
    with pytest.warns(UserWarning), pytest.raises(
            RuntimeError, match=r"requested resize to 4 \(4 elements in total\), but the given "
                                r"tensor has a size of 2x3 \(6 elements\)"):
        x.resize(4)
    with pytest.warns(UserWarning, match="volatile was removed"):
        assert x.volatile is False
