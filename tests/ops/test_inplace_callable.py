"""Tensor.apply_, map_ and map2_ (ops/inplace_callable.py) against PyTorch: values and dtypes
for each kind of tensor, views, broadcasting, and the refusals (grad, dtype, shape, results)."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

CASES = [
    ("float32", lambda v: v * 2 - 0.25),
    ("float64", lambda v: v ** 2),
    ("int64", lambda v: v / 2),          # truncated into the integer tensor
    ("uint8", lambda v: v - 5),          # wraps around
    ("bool", lambda v: not v),
    ("complex128", lambda v: v * (1 + 1j)),
    ("float32", lambda v: 1e40),         # too large for float32: inf
]


def _pair(torch, values, dtype):
    a = np.asarray(values).astype(dtype)
    return cr.tensor(a), torch.tensor(a)


@pytest.mark.parametrize(("dtype", "fn"), CASES)
def test_apply_matches_torch(dtype, fn):
    torch = pytest.importorskip("torch")
    ours, theirs = _pair(torch, [[1, 0, 3], [4, 5, 2]], dtype)
    assert ours.apply_(fn) is ours
    theirs.apply_(fn)
    assert ours.dtype == dtype
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_map_and_map2_broadcast_like_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _pair(torch, np.arange(6).reshape(2, 3) / 4, "float64")
    other, tother = _pair(torch, [1.5, -2.0, 3.0], "float64")
    ours.map_(other, lambda a, b: a * b + 1)
    theirs.map_(tother, lambda a, b: a * b + 1)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x, tx = _pair(torch, [[1], [2]], "float64")
    ours.map2_(other, x, lambda s, a, b: s - a * b)
    theirs.map2_(tother, tx, lambda s, a, b: s - a * b)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ints, tints = _pair(torch, [1, 2, 3], "int64")
    seen = []
    ints.map_(ints.clone(), lambda a, b: seen.append((type(a), type(b))) or a + b)
    tints.map_(tints.clone(), lambda a, b: a + b)
    assert seen[0] == (int, int)
    np.testing.assert_array_equal(ints.numpy(), tints.numpy())


def test_views_and_the_change_count():
    torch = pytest.importorskip("torch")
    base, tbase = _pair(torch, np.zeros(5), "float32")
    base[1:4].apply_(lambda v: 7.0)
    tbase[1:4].apply_(lambda v: 7.0)
    np.testing.assert_array_equal(base.numpy(), tbase.numpy())
    t = cr.arange(6.0).reshape(2, 3).t()
    tt = torch.arange(6.0).reshape(2, 3).t()
    order = []
    t.apply_(lambda v: order.append(v) or v + 1)
    tt.apply_(lambda v: v + 1)
    assert order == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]  # the elements in the view's order
    np.testing.assert_array_equal(t.numpy(), tt.numpy())
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = cr.tensor([3.0, 4.0])
    y = (w * x).sum()
    version = x._version
    x.apply_(lambda v: v + 1)
    assert x._version == version + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_refusals():
    torch = pytest.importorskip("torch")
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        tw.apply_(abs)
    y = w * 2
    for call in (lambda: w.apply_(abs), lambda: cr.zeros(2).map_(w, max),
                 lambda: y.map2_(cr.zeros(2), cr.zeros(2), max)):
        with cr.no_grad(), pytest.raises(RuntimeError, match="requires grad, and .* runs a "
                                                             "Python callable outside autograd"):
            call()
    with pytest.raises(TypeError, match="map_: tensor must have self's dtype float32, got int64"):
        cr.zeros(3).map_(cr.tensor([1, 2, 3]), max)
    with pytest.raises(TypeError):
        torch.zeros(3).map_(torch.tensor([1, 2, 3]), max)
    with pytest.raises(ValueError, match=r"map2_: y of shape \(2, 3\) cannot be broadcast to "
                                         r"self's shape \(3,\)"):
        cr.zeros(3).map2_(cr.zeros(3), cr.zeros(2, 3), max)
    with pytest.raises(TypeError, match="must return a real number for each element of this "
                                        r"float32 tensor, got NoneType for the element\(s\) "
                                        r"\(1.0,\)"):
        cr.ones(2).apply_(lambda v: None)
    with pytest.raises(TypeError, match="got complex"):
        cr.ones(2).apply_(lambda v: 1j)
    with pytest.raises(TypeError, match="apply_: callable must be callable, got int"):
        cr.ones(2).apply_(5)
    with pytest.raises(TypeError, match="apply_: self must be a Tensor, got list"):
        cr.Tensor.apply_([1.0], abs)
    t = cr.ones(3)
    with pytest.raises(ZeroDivisionError):
        t.apply_(lambda v: 1 / (v - 1))
    np.testing.assert_array_equal(t.numpy(), 1)  # nothing written when the callable fails
