"""chainrule.linalg against torch.linalg: values, gradients (float64), second derivatives by
gradgradcheck, batches, and clear errors."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _spd(rng, shape):
    m = rng.standard_normal(shape)
    return m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])


CASES = {
    "inv": (lambda L, a: L.linalg.inv(a), lambda r: r.standard_normal((2, 3, 3)) + 3 * np.eye(3)),
    "det": (lambda L, a: L.linalg.det(a), lambda r: r.standard_normal((2, 3, 3))),
    "slogdet": (lambda L, a: L.linalg.slogdet(a)[1], lambda r: r.standard_normal((3, 3))),
    "solve_matrix": (lambda L, a: L.linalg.solve(a, a[..., :2] * 2 + 1),
                     lambda r: r.standard_normal((2, 3, 3)) + 3 * np.eye(3)),
    "solve_vector": (lambda L, a: L.linalg.solve(a, a[:, 0] + 1),
                     lambda r: r.standard_normal((3, 3)) + 3 * np.eye(3)),
    "solve_batched_vectors": (lambda L, a: L.linalg.solve(a, a[..., 0] + 1),
                              lambda r: r.standard_normal((2, 3, 3)) + 3 * np.eye(3)),
    "solve_broadcast": (lambda L, a: L.linalg.solve(a[:1], a[1] * 2 + 1),  # (1,3,3), (3,3)
                        lambda r: r.standard_normal((2, 3, 3)) + 3 * np.eye(3)),
    "solve_one_vector_many_matrices": (lambda L, a: L.linalg.solve(a, a[0, 0] + 1),
                                       lambda r: r.standard_normal((2, 3, 3)) + 3 * np.eye(3)),
    "solve_left_false": (lambda L, a: L.linalg.solve(a, a[..., :2, :] - 1, left=False),
                         lambda r: r.standard_normal((2, 3, 3)) + 3 * np.eye(3)),
    "cholesky": (lambda L, a: L.linalg.cholesky(a @ a.transpose(-1, -2) + 3 * L.eye(
        3, dtype=L.float64)), lambda r: r.standard_normal((2, 3, 3))),
    "cholesky_upper": (lambda L, a: L.linalg.cholesky(a @ a.transpose(-1, -2) + 3 * L.eye(
        3, dtype=L.float64), upper=True), lambda r: r.standard_normal((3, 3))),
    "eigh_values": (lambda L, a: L.linalg.eigh(a + a.transpose(-1, -2))[0],
                    lambda r: r.standard_normal((2, 4, 4))),
    "eigh_vectors": (lambda L, a: L.linalg.eigh(a + a.transpose(-1, -2))[1].abs(),
                     lambda r: r.standard_normal((4, 4))),
    "eigvalsh_upper": (lambda L, a: L.linalg.eigvalsh(a, UPLO="U"),
                       lambda r: r.standard_normal((4, 4))),
    "matrix_power": (lambda L, a: L.linalg.matrix_power(a, 3) + L.linalg.matrix_power(a, -2),
                     lambda r: r.standard_normal((3, 3)) + 3 * np.eye(3)),
    "norms": (lambda L, a: L.linalg.vector_norm(a, 3, dim=1) + L.linalg.matrix_norm(a)
              + L.linalg.norm(a), lambda r: r.standard_normal((3, 3))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    fn, make = CASES[name]
    rng = np.random.default_rng(len(name))
    a0 = make(rng)
    a, t = cr.tensor(a0, requires_grad=True), torch.tensor(a0, requires_grad=True)
    y, u = fn(cr, a), fn(torch, t)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-9, atol=1e-10)
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name", ["inv", "det", "solve_matrix", "solve_vector", "cholesky",
                                  "eigh_values", "eigh_vectors"])
def test_gradgradcheck(name):
    fn, make = CASES[name]
    a = cr.tensor(make(np.random.default_rng(3)), requires_grad=True)
    assert cr.gradcheck(lambda a: fn(cr, a), [a])
    assert cr.gradgradcheck(lambda a: fn(cr, a), [a])


@pytest.mark.kernel_free
def test_top_level_names_and_methods():
    a0 = _spd(np.random.default_rng(4), (3, 3))
    a, t = cr.tensor(a0), torch.tensor(a0)
    np.testing.assert_allclose(cr.det(a).numpy(), torch.det(t).numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.inverse().numpy(), t.inverse().numpy(), rtol=1e-12)
    sign, logabs = cr.slogdet(a)
    assert float(sign) == 1.0
    np.testing.assert_array_equal(cr.slogdet(a).logabsdet.numpy(), logabs.numpy())
    np.testing.assert_allclose(logabs.numpy(), torch.slogdet(t).logabsdet.numpy(), rtol=1e-12)
    np.testing.assert_allclose(cr.linalg.matrix_power(a, 0).numpy(), np.eye(3))


@pytest.mark.kernel_free
def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match=r"expected square matrices \(\*, n, n\), got shape"):
        cr.linalg.inv(cr.ones(2, 3))
    with pytest.raises(ValueError, match="not positive-definite"):
        cr.linalg.cholesky(-cr.eye(2))
    with pytest.raises(ValueError, match=r"B of shape \(2,\) does not fit A of shape \(3, 3\)"):
        cr.linalg.solve(cr.eye(3), cr.ones(2))
    with pytest.raises(ValueError, match=r"batch shapes of A \(2, 3, 3\) and B \(4, 3, 1\)"):
        cr.linalg.solve(cr.ones(2, 3, 3), cr.ones(4, 3, 1))
    with pytest.raises(ValueError, match=r"B of shape \(3,\) does not fit A of shape \(3, 3\) "
                                         r"for X A = B \(left=False\)"):
        cr.linalg.solve(cr.eye(3), cr.ones(3), left=False)
    with pytest.raises(ValueError, match="UPLO must be 'L' or 'U'"):
        cr.linalg.eigh(cr.eye(2), UPLO="X")


def test_eigh_gradient_with_repeated_eigenvalues():
    """Eigenvectors of a repeated eigenvalue are not unique, so no gradient flows through them:
    a clear error (PyTorch divides by the zero gap: inf/NaN). The eigenvalues' own gradient is
    defined and is v v^T per eigenvalue, summing to the identity here."""
    a = cr.tensor(np.diag([2.0, 2.0, 5.0]), requires_grad=True)
    w, v = cr.linalg.eigh(a)
    with pytest.raises(ValueError, match="eigh: the gradient through the eigenvectors is not "
                                         "defined for repeated eigenvalues"):
        (v * v).sum(axis=0).mul(w).sum().backward()
    a = cr.tensor(np.diag([2.0, 2.0, 5.0]), requires_grad=True)
    w, _ = cr.linalg.eigh(a)
    w.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.eye(3), atol=1e-15)
