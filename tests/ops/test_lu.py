"""linalg.lu_factor/lu_factor_ex/lu/lu_solve against torch (float64, forward and backward), by
gradgradcheck, and their errors."""

import numpy as np
import pytest

import chainrule as cr

SHAPES = [(3, 3), (2, 4, 4), (5, 3), (3, 5)]


@pytest.mark.torch
@pytest.mark.parametrize("shape", SHAPES)
def test_factors_equal_pytorchs(shape):
    torch = pytest.importorskip("torch")
    a0 = np.random.default_rng(sum(shape)).standard_normal(shape)
    ours, theirs = cr.linalg.lu_factor_ex(cr.tensor(a0)), torch.linalg.lu_factor_ex(
        torch.tensor(a0))
    np.testing.assert_allclose(ours.LU.numpy(), theirs.LU.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
    np.testing.assert_array_equal(ours.info.numpy(), theirs.info.numpy())
    assert ours.pivots.dtype == cr.int32 and ours.info.dtype == cr.int32
    for x, t in zip(cr.linalg.lu(cr.tensor(a0)), torch.linalg.lu(torch.tensor(a0))):
        np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-12, atol=1e-14)
    P, L, U = cr.linalg.lu(cr.tensor(a0))  # noqa: N806
    np.testing.assert_allclose((P @ L @ U).numpy(), a0, atol=1e-14)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_gradients_equal_pytorchs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a0 = rng.standard_normal((2, 4, 4))
    a, t = cr.tensor(a0, requires_grad=True), torch.tensor(a0, requires_grad=True)
    (lu, _), (tlu, _) = cr.linalg.lu_factor(a), torch.linalg.lu_factor(t)
    w = rng.standard_normal(lu.shape)
    (lu * cr.tensor(w)).sum().backward()
    (tlu * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    a.grad, t.grad = None, None
    (_, low, up), (_, tlow, tup) = cr.linalg.lu(a), torch.linalg.lu(t)
    ((low ** 2).sum() + (up ** 3).sum()).backward()
    ((tlow ** 2).sum() + (tup ** 3).sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_matches_pytorch(left, adjoint):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a0, b0 = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 3) if left else (2, 3, 4))
    a, t = cr.tensor(a0, requires_grad=True), torch.tensor(a0, requires_grad=True)
    b, tb = cr.tensor(b0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    x = cr.linalg.lu_solve(*cr.linalg.lu_factor(a), b, left=left, adjoint=adjoint)
    u = torch.linalg.lu_solve(*torch.linalg.lu_factor(t), tb, left=left, adjoint=adjoint)
    np.testing.assert_allclose(x.numpy(), u.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = rng.standard_normal(x.shape)
    (x * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_gradgradcheck():
    rng = np.random.default_rng(3)
    a = cr.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    b = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    assert cr.gradgradcheck(lambda a: cr.linalg.lu_factor(a).LU ** 2, [a])
    assert cr.gradgradcheck(lambda a, b: cr.linalg.lu_solve(*cr.linalg.lu_factor(a), b), [a, b])


def test_singular_and_bad_input():
    singular = cr.tensor([[0.0, 1.0], [0.0, 2.0]])
    lu, pivots, info = cr.linalg.lu_factor_ex(singular)
    assert int(info) == 1  # LAPACK: the first pivot is 0
    np.testing.assert_array_equal((cr.linalg.lu(singular).P @ cr.linalg.lu(singular).L
                                   @ cr.linalg.lu(singular).U).numpy(), singular.numpy())
    with pytest.raises(ValueError, match=r"U\[0, 0\] is zero, the matrix is singular"):
        cr.linalg.lu_factor(singular)
    with pytest.raises(ValueError, match="a zero pivot at step 1"):
        cr.linalg.lu_factor_ex(singular, check_errors=True)
    with pytest.raises(ValueError, match="without pivoting is not implemented"):
        cr.linalg.lu(cr.eye(2), pivot=False)
    tall = cr.tensor(np.ones((3, 2)) + np.eye(3, 2), requires_grad=True)
    cr.linalg.lu_factor(tall).LU.sum().backward()  # (against PyTorch's: test_fuzz17_linalg_solves)
    assert tall.grad.shape == (3, 2)
    with pytest.raises(ValueError, match=r"expected LU \(\*, n, n\) and pivots \(\*, n\), got "
                                         r"shapes \(3, 3\) and \(2,\)"):
        cr.linalg.lu_solve(cr.eye(3), cr.tensor([1, 2]), cr.ones(3, 1))
