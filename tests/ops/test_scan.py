"""cumprod, cummax, cummin and logcumsumexp (ops/scan.py): forward and backward against PyTorch
(float64), gradcheck and gradgradcheck, zeros in cumprod, ties and NaN in cummax/cummin, stability
of logcumsumexp, edge shapes and clear errors."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

CASES = {
    "cumprod": lambda L, x: L.cumprod(x, 1),
    "cumprod_dim0": lambda L, x: x.cumprod(dim=0),
    "cumprod_neg": lambda L, x: L.cumprod(x, -1),
    "cummax": lambda L, x: L.cummax(x, 1).values,
    "cummin": lambda L, x: x.cummin(0)[0],
    "logcumsumexp": lambda L, x: L.logcumsumexp(x, 1),
    "logcumsumexp_neg": lambda L, x: x.logcumsumexp(-2),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch_forward_and_backward(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(len(name))
    a = rng.standard_normal((3, 5))
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, u = CASES[name](cr, x), CASES[name](torch, t)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-12, atol=1e-13)
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_and_gradgradcheck(name):
    rng = np.random.default_rng(3)
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert cr.gradcheck(lambda t: CASES[name](cr, t), [x])
    assert cr.gradgradcheck(lambda t: CASES[name](cr, t), [x])


@pytest.mark.torch
def test_cumprod_gradient_is_exact_with_zeros():
    torch = pytest.importorskip("torch")
    a = np.array([[0.0, 2.0, 3.0, 0.5], [1.5, 0.0, 0.0, 5.0], [1.0, 2.0, 3.0, 0.0]])
    w = np.arange(12.0).reshape(3, 4) - 5
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (cr.cumprod(x, 1) * cr.tensor(w)).sum().backward()
    (torch.cumprod(t, 1) * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    z = cr.tensor(a, requires_grad=True)  # second order through the zeros, by finite differences
    assert cr.gradgradcheck(lambda v: cr.cumprod(v, 1), [z])


@pytest.mark.torch
def test_cummax_cummin_break_ties_and_nan_as_pytorch():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 3.0, 3.0, 2.0, np.nan, 5.0, np.nan, 1.0],
                  [2.0, 1.0, 1.0, 0.0, 0.0, -1.0, 4.0, 4.0]])
    for name in ("cummax", "cummin"):
        for dim in (0, 1):
            ours = getattr(cr, name)(cr.tensor(a), dim)
            theirs = getattr(torch, name)(torch.tensor(a), dim)
            np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
            np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
            assert ours.indices.dtype == np.int64
    ints = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    ours, theirs = cr.cummin(cr.tensor(ints), 0), torch.cummin(torch.tensor(ints), 0)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


def test_cummax_gradient_goes_to_the_source_even_when_indices_are_dropped():
    x = cr.tensor([1.0, 3.0, 2.0, 3.0, 0.0], dtype=cr.float64, requires_grad=True)
    cr.cummax(x, 0).values.sum().backward()  # values 1, 3, 3, 3(the later), 3
    assert x.grad.tolist() == [1.0, 2.0, 0.0, 2.0, 0.0]


@pytest.mark.torch
def test_logcumsumexp_is_stable_far_apart():
    torch = pytest.importorskip("torch")
    a = np.array([-1000.0, 0.0, 1000.0, 3.0, -np.inf, 1000.0])
    w = np.array([1.0, -2.0, 3.0, 0.5, 2.0, -1.0])
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, u = cr.logcumsumexp(x, 0), torch.logcumsumexp(t, 0)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-15)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-300)
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.torch
def test_edge_shapes_and_dtypes():
    torch = pytest.importorskip("torch")
    for shape, dim in [((0, 3), 0), ((2, 0), 1), ((), 0), ((4,), -1)]:
        a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) + 0.5
        for name in ("cumprod", "logcumsumexp"):
            ours, theirs = getattr(cr, name)(cr.tensor(a), dim), getattr(torch, name)(
                torch.tensor(a), dim)
            assert ours.shape == tuple(theirs.shape)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-14)
        for name in ("cummax", "cummin"):
            ours, theirs = getattr(cr, name)(cr.tensor(a), dim), getattr(torch, name)(
                torch.tensor(a), dim)
            np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
            np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    ints = cr.tensor([[1, 2], [3, 4]])
    assert cr.cumprod(ints, 0).dtype == np.int64
    assert cr.cumprod(ints, 1, dtype=cr.float64).tolist() == [[1.0, 2.0], [3.0, 12.0]]


def test_bad_arguments_are_refused_clearly():
    x = cr.ones(2, 3)
    with pytest.raises(TypeError, match="cumprod: dim is required"):
        cr.cumprod(x)
    with pytest.raises(ValueError, match="cummax: axis 2 is out of range for a 2-D tensor"):
        cr.cummax(x, 2)
    with pytest.raises(TypeError, match="logcumsumexp: expected a floating-point or complex"):
        cr.logcumsumexp(cr.tensor([1, 2]), 0)
    with pytest.raises(TypeError, match="cummin: expected a Tensor, got list"):
        cr.cummin([1.0, 2.0], 0)
