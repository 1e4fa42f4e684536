"""linalg.eig and linalg.eigvals: complex results, values against PyTorch (up to the order of the
eigenvalues and the phases of the eigenvectors), gradients of phase-free losses against PyTorch
and finite differences, and the refusals (phase-dependent loss, repeated eigenvalues, bad input).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck
from chainrule.ops.decomp import Solve


def _matrices(rng, shape, complex_=False):
    a = rng.standard_normal(shape)
    return a + 1j * rng.standard_normal(shape) if complex_ else a


def _by_value(values, vectors):
    """Eigenvalues sorted by (real, imaginary) part and |V|^2 with its columns in that order:
    what does not depend on LAPACK's order or on the eigenvectors' phases."""
    values = np.round(values, 10)
    order = np.lexsort((values.imag, values.real), axis=-1)
    take = np.take_along_axis
    return take(values, order, -1), take(np.abs(vectors) ** 2, order[..., None, :], -1)


def _loss(lib, values, vectors, w):
    """Independent of the eigenvectors' phases and of the eigenvalues' order."""
    rows = (lib.abs(vectors) ** 2 * w[..., :, None]).sum(-2)  # one number per eigenvector
    return ((rows * values.real).sum() + (values * values).real.sum()
            + (values.imag ** 2).sum() * 0.5)


@pytest.mark.kernel_free
@pytest.mark.parametrize("dtype,complex_", [("float32", False), ("float64", False),
                                            ("complex64", True), ("complex128", True)])
def test_values_dtypes_and_decomposition_match_torch(rng, dtype, complex_):
    torch = pytest.importorskip("torch")
    a = _matrices(rng, (3, 4, 4), complex_).astype(dtype)
    values, vectors = cr.linalg.eig(cr.tensor(a))
    tvalues, tvectors = torch.linalg.eig(torch.tensor(a))
    assert values.dtype == str(tvalues.dtype).removeprefix("torch.")
    assert vectors.dtype == values.dtype and vectors.shape == (3, 4, 4)
    tol = 1e-4 if dtype in ("float32", "complex64") else 1e-10
    v, lam = vectors.numpy().astype("complex128"), values.numpy().astype("complex128")
    np.testing.assert_allclose(a @ v, v * lam[:, None, :], atol=tol * 10)
    np.testing.assert_allclose(np.linalg.norm(v, axis=-2), 1, rtol=tol)
    ours = _by_value(lam, v)
    theirs = _by_value(tvalues.numpy().astype("complex128"), tvectors.numpy().astype("complex128"))
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o, t, atol=tol)
    only = cr.linalg.eigvals(cr.tensor(a))
    assert only.dtype == values.dtype
    np.testing.assert_allclose(_by_value(only.numpy(), v)[0], ours[0], atol=tol)


@pytest.mark.kernel_free
@pytest.mark.parametrize("complex_", [False, True])
def test_gradients_of_phase_free_losses_match_torch(rng, complex_):
    torch = pytest.importorskip("torch")
    a = _matrices(rng, (2, 5, 5), complex_)
    w = rng.standard_normal((2, 5))
    x = cr.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    _loss(cr, *cr.linalg.eig(x), cr.tensor(w)).backward()
    _loss(torch, *torch.linalg.eig(tx), torch.tensor(w)).backward()
    assert x.grad.dtype == ("complex128" if complex_ else "float64")
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-10)
    y = cr.tensor(a, requires_grad=True)
    ty = torch.tensor(a, requires_grad=True)
    (cr.linalg.eigvals(y) ** 3).real.sum().backward()
    (torch.linalg.eigvals(ty) ** 3).real.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.kernel_free
@pytest.mark.parametrize("complex_", [False, True])
def test_gradcheck(rng, complex_):
    a = cr.tensor(_matrices(rng, (2, 4, 4), complex_), requires_grad=True)
    w = cr.tensor(rng.standard_normal((2, 4)))
    assert gradcheck(lambda a: _loss(cr, *cr.linalg.eig(a), w), [a])
    assert gradcheck(lambda a: (cr.linalg.eigvals(a) ** 2).imag.sum()
                     + cr.linalg.eigvals(a).abs().sum(), [a])


def test_real_eigenvalues_of_a_real_matrix_and_eigenvalues_at_a_repeated_value(rng):
    torch = pytest.importorskip("torch")
    s = rng.standard_normal((4, 4))
    a = s @ np.diag([1.0, 2.0, 3.0, 4.0]) @ np.linalg.inv(s)  # real, distinct eigenvalues
    values, vectors = cr.linalg.eig(cr.tensor(a))
    assert values.dtype == "complex128"
    np.testing.assert_allclose(np.sort(values.numpy().real), [1, 2, 3, 4], rtol=1e-10)
    np.testing.assert_array_equal(values.numpy().imag, 0)
    eye = cr.tensor(np.eye(3), requires_grad=True)
    teye = torch.tensor(np.eye(3), requires_grad=True)
    (cr.linalg.eigvals(eye) * cr.tensor([1.0, 2.0, 3.0])).real.sum().backward()
    (torch.linalg.eigvals(teye) * torch.tensor([1.0, 2.0, 3.0])).real.sum().backward()
    np.testing.assert_allclose(eye.grad.numpy(), teye.grad.numpy(), atol=1e-12)


@pytest.mark.skipif(not Solve.complex_grad, reason="needs linalg.solve's complex gradient")
def test_gradgradcheck(rng):
    a = cr.tensor(_matrices(rng, (3, 3), True), requires_grad=True)
    b = cr.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    w = cr.tensor(rng.standard_normal(3))
    for x in (a, b):
        assert gradgradcheck(lambda x: _loss(cr, *cr.linalg.eig(x), w), [x])


def test_undefined_gradients_are_refused(rng):
    rotation = np.array([[1.0, -2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])  # 1 +- 2i, 3
    a = cr.tensor(rotation + 0.1 * rng.standard_normal((3, 3)), requires_grad=True)
    _, vectors = cr.linalg.eig(a)
    with pytest.raises(ValueError, match="depends on the phases of the eigenvectors"):
        vectors.real.sum().backward()
    eye = cr.tensor(np.eye(3), requires_grad=True)
    _, vectors = cr.linalg.eig(eye)
    with pytest.raises(ValueError, match="not defined for repeated eigenvalues"):
        (vectors.abs() ** 2 * cr.tensor(rng.standard_normal((3, 3)))).sum().backward()


@pytest.mark.kernel_free
def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"linalg.eig: A must be square matrices \(\*, n, n\), "
                                         r"got shape \(2, 3\)"):
        cr.linalg.eig(cr.zeros(2, 3))
    with pytest.raises(TypeError, match="linalg.eigvals: A must be float32, float64, complex64 "
                                        "or complex128, got dtype int64"):
        cr.linalg.eigvals(cr.tensor(np.eye(2, dtype="int64")))
    with pytest.raises(TypeError, match="A must be a Tensor, got list"):
        cr.linalg.eig([[1.0]])
