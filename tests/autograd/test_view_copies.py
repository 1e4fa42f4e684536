"""``view`` where NumPy must copy: the copy refuses in-place changes that PyTorch's view would
have carried into the viewed tensor (they would silently miss it here)."""

import numpy as np
import pytest

import chainrule as cr


def _batch_last_conv_output():
    conv = cr.nn.Conv2d(1, 2, 3)
    return conv, cr.randn(2, 1, 5, 5)


@pytest.mark.parametrize("write", [
    lambda v: v.zero_(),
    lambda v: v.add_(1.0),
    lambda v: v.__setitem__(0, 5.0),
    lambda v: v[:3].fill_(2.0),          # a view of the copy shares its count
    lambda v: v.detach().mul_(2.0),      # so does a detached alias
])
def test_in_place_change_of_a_copied_view_raises(write):
    conv, x = _batch_last_conv_output()
    with cr.no_grad():
        y = conv(x)
        before = y.numpy().copy()
        v = y.view(-1)                   # merges the batch axis of a batch-last output: a copy
        assert not np.shares_memory(v.numpy(), y.numpy())
        with pytest.raises(RuntimeError, match=r"x.view\(36,\).*copy.*reshape"):
            write(v)
        np.testing.assert_array_equal(y.numpy(), before)


def test_recorded_in_place_change_of_a_copied_view_raises():
    conv, x = _batch_last_conv_output()
    v = conv(x).view(-1)
    with pytest.raises(RuntimeError, match="view"):
        v.relu_()


def test_transposed_view_and_view_as_copies_refuse_writes():
    t = cr.randn(3, 4).t()
    v = t.view(12)
    np.testing.assert_array_equal(v.numpy(), t.numpy().reshape(12))
    with pytest.raises(RuntimeError, match=r"x.view\(12,\) \(x of shape \(4, 3\)\)"):
        v[0] = 1.0
    w = t.view_as(cr.zeros(2, 6))
    with pytest.raises(RuntimeError, match="in-place change"):
        w.zero_()


def test_true_views_and_meant_copies_still_change_in_place():
    conv, x = _batch_last_conv_output()
    with cr.no_grad():
        y = conv(x)
        y.view(2, -1).zero_()            # the batch axis kept apart: a real view
        assert float(y.abs().sum()) == 0.0
    z = cr.randn(3, 4)
    z.view(12)[0] = 7.0                  # row-major memory: a real view
    assert float(z[0, 0]) == 7.0
    c = cr.randn(3, 4).t().contiguous().view(12)
    c.zero_()                            # the copy was asked for
    assert float(c.abs().sum()) == 0.0
    r = cr.randn(3, 4).t().reshape(12)
    r.add_(1.0)                          # reshape may copy, as PyTorch's: no refusal
    g = cr.randn(3, 4, requires_grad=True)
    out = (g.t().view(12) * 2).sum()     # reading the copy is fine, gradients flow
    out.backward()
    np.testing.assert_array_equal(g.grad.numpy(), np.full((3, 4), 2.0, np.float32))


def test_unfold_windows_are_a_view_both_ways():
    x = cr.arange(10.0)
    u = x.unfold(0, 2, 2)
    np.testing.assert_array_equal(u.numpy(), np.arange(10.0, dtype=np.float32).reshape(5, 2))
    u[1].zero_()                          # the windows are x's memory, as PyTorch's strided view
    x.add_(1.0)                           # and a change of x shows in them
    assert x.tolist()[:5] == [1.0, 2.0, 1.0, 1.0, 5.0] and u[1].tolist() == [1.0, 1.0]
    assert u._version == x._version == 2
    with pytest.raises(RuntimeError, match=r"one memory location.*unfold.*clone"):
        x.unfold(0, 3, 1).zero_()         # overlapping windows: one element would be written twice
    w = x.unfold(0, 3, 1).clone()
    w.zero_()                             # a copy that was asked for
    assert float(w.abs().sum()) == 0.0 and float(x[0]) == 1.0
    g = cr.arange(6.0, dtype=cr.float64).requires_grad_()
    (g.unfold(0, 3, 1) * 1.0).sum().backward()   # overlapping windows: reading is fine
    np.testing.assert_array_equal(g.grad.numpy(), [1.0, 2.0, 3.0, 3.0, 2.0, 1.0])


@pytest.mark.torch
def test_recorded_write_through_unfold_windows_matches_pytorch():
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(3).standard_normal((3, 7))
    got = []
    for lib in (torch, cr):
        x = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
        w = lib.tensor(1.5, dtype=lib.float64, requires_grad=True)
        y = x * 1
        u = y.unfold(1, 2, 3)             # windows (0, 1) and (3, 4) of each row
        u[:, 1].mul_(w)
        (y ** 2).sum().backward()
        got.append((y.detach().numpy(), u.detach().numpy(), x.grad.numpy(), w.grad.numpy()))
    for a, b in zip(*got):
        np.testing.assert_allclose(b, a, rtol=1e-14)


def test_a_change_of_the_viewed_tensor_shows_in_the_copy():
    # the copy was left with the values of when it was made (a documented limit, now lifted)
    conv, x = _batch_last_conv_output()
    with cr.no_grad():
        y = conv(x)
        v = y.view(-1)                   # a copy: the batch axis merged
        row = v[:4]                      # its view shows it too
        y[0].zero_()                     # through a view of y
        y.detach().add_(1.0)             # through an alias of y
        np.testing.assert_array_equal(v.numpy(), y.numpy().reshape(-1))
        np.testing.assert_array_equal(row.numpy(), [1.0] * 4)
        assert v._version == y._version == 2
    t = cr.randn(3, 4)
    w = t.t().view(12)                   # a transposed source
    t[0, 1] = 5.0
    assert float(w[3]) == 5.0


@pytest.mark.torch
def test_recorded_change_of_the_viewed_tensor_reaches_the_copys_gradient():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x0, w0 = rng.standard_normal((2, 1, 5, 5)), rng.standard_normal((2, 1, 3, 3))
    got = []
    for lib in (torch, cr):
        x = lib.tensor(x0, requires_grad=True)
        y = lib.nn.functional.conv2d(x, lib.tensor(w0))
        v = y.view(-1)
        before = (v * 2.0).sum()         # read before the writes: the earlier values' graph
        y.mul_(3.0)
        y[1].exp_()
        (before + (v * lib.tensor(np.arange(36.0))).sum()).backward()
        got.append((v.detach().numpy(), x.grad.numpy()))
    for a, b in zip(*got):
        np.testing.assert_allclose(b, a, rtol=1e-12)
