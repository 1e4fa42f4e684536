"""scatter_reduce / Tensor.scatter_reduce / scatter_reduce_ (ops/scatter_reduce.py): forward and
backward against PyTorch (float64) for every reduce with and without include_self, ties, zeros
and positions no index reaches; gradcheck; the in-place form; clear errors."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

REDUCES = ["sum", "prod", "mean", "amax", "amin"]


def _inputs(seed, ties):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 5))
    src = rng.standard_normal((4, 6))
    index = rng.integers(0, 4, size=(3, 4))  # column 4 of x is never reached along dim 1
    if ties:  # equal values and zeros: the tie-splitting and zero rules
        x = np.round(x)
        src = np.round(src)
    return x, index, src


@pytest.mark.torch
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCES)
def test_matches_pytorch_forward_and_backward(reduce, include_self, ties):
    torch = pytest.importorskip("torch")
    x, index, src = _inputs(len(reduce) + 7 * ties, ties)
    for dim in (1, 0):
        idx = index[:, :3] if dim == 0 else index  # along dim 0 the index holds rows 0..2
        idx = idx % 3 if dim == 0 else idx
        # PyTorch's backward refuses a src larger than the index, so src has the index's shape
        # here (test_larger_src_matches_pytorch_forward and the gradcheck cover the rest)
        s = src[: idx.shape[0], : idx.shape[1]]
        ours = [cr.tensor(a, requires_grad=True) for a in (x, s)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, s)]
        y = cr.scatter_reduce(ours[0], dim, cr.tensor(idx), ours[1], reduce,
                              include_self=include_self)
        u = torch.scatter_reduce(theirs[0], dim, torch.tensor(idx), theirs[1], reduce,
                                 include_self=include_self)
        np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-14, atol=1e-15)
        w = np.random.default_rng(1).standard_normal(y.shape)
        (y * cr.tensor(w)).sum().backward()
        (u * torch.tensor(w)).sum().backward()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-13, atol=1e-14)


@pytest.mark.torch
@pytest.mark.parametrize("reduce", REDUCES)
def test_larger_src_matches_pytorch_forward(reduce):
    torch = pytest.importorskip("torch")
    x, index, src = _inputs(9, ties=True)
    for inc in (True, False):
        y = cr.tensor(x).scatter_reduce(1, cr.tensor(index), cr.tensor(src), reduce,
                                        include_self=inc)
        u = torch.tensor(x).scatter_reduce(1, torch.tensor(index), torch.tensor(src), reduce,
                                           include_self=inc)
        np.testing.assert_allclose(y.numpy(), u.numpy(), rtol=1e-15, atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("reduce", REDUCES)
def test_integer_tensors_match_pytorch(reduce):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, src = rng.integers(-9, 9, (2, 5)), rng.integers(-9, 9, (2, 7))
    idx = rng.integers(0, 4, (2, 7))
    for inc in (True, False):
        y = cr.tensor(x).scatter_reduce(1, cr.tensor(idx), cr.tensor(src), reduce,
                                        include_self=inc)
        u = torch.tensor(x).scatter_reduce(1, torch.tensor(idx), torch.tensor(src), reduce,
                                           include_self=inc)
        np.testing.assert_array_equal(y.numpy(), u.numpy())
        assert y.dtype == cr.int64


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCES)
def test_gradcheck(reduce, include_self):
    x, index, src = _inputs(5, ties=False)  # distinct nonzero values: a smooth point
    xs = [cr.tensor(x, requires_grad=True), cr.tensor(src, requires_grad=True)]

    def f(a, s):
        return cr.scatter_reduce(a, 1, cr.tensor(index), s, reduce, include_self=include_self)

    assert cr.gradcheck(f, xs)
    if reduce in ("sum", "mean", "prod"):
        assert cr.gradgradcheck(f, xs)


@pytest.mark.torch
def test_in_place_form_matches_pytorch_and_keeps_the_checks():
    torch = pytest.importorskip("torch")
    x, index, src = _inputs(2, ties=False)
    a = cr.tensor(x)
    out = a.scatter_reduce_(1, cr.tensor(index), cr.tensor(src), "amax", include_self=False)
    assert out is a
    t = torch.tensor(x).scatter_reduce_(1, torch.tensor(index), torch.tensor(src), "amax",
                                        include_self=False)
    np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=0, atol=0)
    leaf = cr.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="scatter_reduce_"):
        leaf.scatter_reduce_(1, cr.tensor(index), cr.tensor(src), "sum")


def test_errors_name_the_argument():
    x, index, src = _inputs(0, ties=False)
    a, i, s = cr.tensor(x), cr.tensor(index), cr.tensor(src)
    with pytest.raises(ValueError, match="reduce must be one of .*got 'max'"):
        cr.scatter_reduce(a, 1, i, s, "max")
    with pytest.raises(TypeError, match="src must have input's dtype float64, got float32"):
        cr.scatter_reduce(a, 1, i, s.float(), "sum")
    with pytest.raises(TypeError, match="src must be a Tensor, got float"):
        cr.scatter_reduce(a, 1, i, 2.0, "sum")
    with pytest.raises(ValueError, match=r"index of shape \(3, 4\) is larger than src"):
        cr.scatter_reduce(a, 1, i, s[:, :2], "sum")
    with pytest.raises(IndexError, match="index out of range"):
        cr.scatter_reduce(a, 1, cr.tensor(index + 5), s, "sum")
    with pytest.raises(TypeError, match="index must hold integers"):
        cr.scatter_reduce(a, 1, cr.tensor(index * 1.0), s, "sum")
