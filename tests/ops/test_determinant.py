"""linalg.det's gradient, adj(A)^T, at singular matrices (rank n-1 and n-2, batched) and near
them; slogdet/logdet there; checked against cofactors from minors, finite differences and
PyTorch (autograd through the Leibniz formula, and linalg.det where PyTorch's gradient holds)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr


def _cofactors(a):
    """adj(A)^T from the minors' determinants, matrix by matrix: the oracle."""
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[-1]
    out = np.empty_like(a)
    for i, j in itertools.product(range(n), range(n)):
        minor = np.delete(np.delete(a, i, axis=-2), j, axis=-1)
        out[..., i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return out


def _of_rank(rng, shape, rank):
    """Random matrices (*, n, n) of the given rank, as products of thin factors."""
    n = shape[-1]
    left = rng.standard_normal(shape[:-1] + (rank,))
    right = rng.standard_normal(shape[:-2] + (rank, n))
    return left @ right


def _grad(a):
    x = cr.tensor(a, requires_grad=True)
    cr.linalg.det(x).sum().backward()
    return x.grad.numpy()


@pytest.mark.kernel_free
@pytest.mark.parametrize("n", [2, 3, 5])
def test_rank_n_minus_1_gives_the_cofactors(n, rng):
    a = _of_rank(rng, (4, n, n), n - 1)
    assert np.abs(np.linalg.det(a)).max() < 1e-12
    expected = _cofactors(a)
    assert np.abs(expected).max() > 0.1  # adj(A) of rank n - 1 is not 0
    np.testing.assert_allclose(_grad(a), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cr.linalg.det(cr.tensor(a)).numpy(), np.linalg.det(a), atol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.parametrize("n", [3, 4])
def test_rank_n_minus_2_and_zero_give_zero(n, rng):
    a = np.concatenate([_of_rank(rng, (2, n, n), n - 2), np.zeros((1, n, n))])
    np.testing.assert_allclose(_grad(a), np.zeros_like(a), atol=1e-12)
    np.testing.assert_allclose(_cofactors(a), 0, atol=1e-12)


def test_exactly_singular_and_mixed_batches(rng):
    a = np.stack([[[1.0, 2, 3], [4, 5, 6], [7, 8, 9]], np.diag([1.0, 2, 0]),
                  rng.standard_normal((3, 3)), np.diag([3.0, 0, 0])])
    np.testing.assert_allclose(_grad(a), _cofactors(a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_grad(np.array([[1.0, 2.0], [2.0, 4.0]])),
                               [[4.0, -2.0], [-2.0, 1.0]], rtol=1e-12, atol=1e-12)


@pytest.mark.kernel_free
def test_near_singular_stays_accurate(rng):
    """A singular matrix moved by 1e-9: det(A) A^-T would lose about 9 digits; the SVD keeps
    them."""
    a = _of_rank(rng, (3, 4, 4), 3) + 1e-9 * rng.standard_normal((3, 4, 4))
    expected = _cofactors(a)
    np.testing.assert_allclose(_grad(a), expected, rtol=1e-9, atol=1e-11 * np.abs(expected).max())


@pytest.mark.kernel_free
def test_float32(rng):
    a = _of_rank(rng, (2, 3, 3), 2).astype(np.float32)
    x = cr.tensor(a, requires_grad=True)
    d = cr.linalg.det(x)
    assert d.dtype == np.float32
    d.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), _cofactors(a), rtol=1e-4, atol=1e-4)


@pytest.mark.kernel_free
def test_finite_differences_at_singular_matrices(rng):
    for rank in (2, 1):
        a = cr.tensor(_of_rank(rng, (2, 3, 3), rank), requires_grad=True)
        assert cr.gradcheck(cr.linalg.det, (a,))
    # second order goes through the SVD, which needs distinct singular values
    b = cr.tensor(np.stack([np.diag([1.0, 2.0, 0.0]), _of_rank(rng, (3, 3), 2)]),
                  requires_grad=True)
    assert cr.gradgradcheck(cr.linalg.det, (b,))
    c = cr.tensor(rng.standard_normal((2, 3, 3)), requires_grad=True)  # the inverse route
    assert cr.gradgradcheck(lambda m: cr.det(m) * m.det(), (c,))


@pytest.mark.torch
def test_matches_torch_autograd_through_the_leibniz_formula(rng):
    """PyTorch's gradient of det written as sum over permutations (a polynomial, so its autograd
    is exact): equal to ours at rank 2, 1 and 3 of 3x3. PyTorch's own linalg.det returns 0 at
    the exactly singular rank-2 matrix (docs/pytorch.md, What differs on purpose)."""
    torch = pytest.importorskip("torch")

    def leibniz(m):
        total = 0
        for perm in itertools.permutations(range(3)):
            sign = np.linalg.det(np.eye(3)[list(perm)])
            total = total + sign * m[..., 0, perm[0]] * m[..., 1, perm[1]] * m[..., 2, perm[2]]
        return total

    a = np.stack([_of_rank(rng, (3, 3), 2), _of_rank(rng, (3, 3), 1),
                  rng.standard_normal((3, 3)), [[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]])
    t = torch.tensor(a, requires_grad=True)
    leibniz(t).sum().backward()
    np.testing.assert_allclose(_grad(a), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    exact = torch.tensor(a[3], requires_grad=True)
    torch.linalg.det(exact).backward()
    assert not exact.grad.any() and np.abs(_grad(a[3])).max() == pytest.approx(12.0)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_matches_torch_linalg_det_where_its_gradient_is_defined(rng):
    torch = pytest.importorskip("torch")
    a = np.concatenate([rng.standard_normal((2, 4, 4)), _of_rank(rng, (2, 4, 4), 2)])
    t = torch.tensor(a, requires_grad=True)
    torch.linalg.det(t).sum().backward()
    x = cr.tensor(a, requires_grad=True)
    cr.linalg.det(x).sum().backward()
    np.testing.assert_allclose(cr.linalg.det(x).numpy(), torch.linalg.det(t).detach().numpy(),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_slogdet_and_logdet_at_singular_matrices(rng):
    torch = pytest.importorskip("torch")
    a = np.stack([_of_rank(rng, (3, 3), 3), np.diag([1.0, 2.0, 0.0]), -np.eye(3)])
    sign, logabs = cr.linalg.slogdet(cr.tensor(a))
    tsign, tlogabs = torch.linalg.slogdet(torch.tensor(a))
    np.testing.assert_array_equal(sign.numpy(), tsign.numpy())
    np.testing.assert_allclose(logabs.numpy(), tlogabs.numpy(), rtol=1e-12)
    np.testing.assert_allclose(cr.logdet(cr.tensor(a)).numpy(), torch.logdet(torch.tensor(a)),
                               rtol=1e-12)
    x = cr.tensor(a, requires_grad=True)
    with pytest.raises(ValueError, match=r"slogdet: the gradient of log\|det\| is not defined at "
                                         r"a singular matrix .* 1 of the 3 matrices"):
        cr.linalg.slogdet(x)[1].sum().backward()
    x = cr.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    cr.linalg.slogdet(x)[1][[0, 2]].sum().backward()  # the singular one unused: its gradient 0
    torch.linalg.slogdet(t)[1][[0, 2]].sum().backward()  # (PyTorch's: NaN, 0 times inf)
    np.testing.assert_allclose(x.grad.numpy()[[0, 2]], t.grad.numpy()[[0, 2]], rtol=1e-12,
                               atol=1e-14)
    assert not x.grad.numpy()[1].any()
