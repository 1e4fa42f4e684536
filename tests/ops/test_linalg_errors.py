"""``linalg.LinAlgError`` (a RuntimeError, as PyTorch's, and still NumPy's LinAlgError, a
ValueError) where PyTorch raises its LinAlgError; ``linalg.matmul``, PyTorch's alias of matmul."""

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
INDEFINITE = np.array([[1.0, 2.0], [2.0, 1.0]])
NAN = np.array([[np.nan, 0.0], [0.0, 1.0]])
CASES = {
    "inv": (lambda m, t: m.inv(t(SINGULAR)), "linalg.inv: .* singular"),
    "inv_ex": (lambda m, t: m.inv_ex(t(SINGULAR), check_errors=True), "singular"),
    "solve": (lambda m, t: m.solve(t(SINGULAR), t(np.ones((2, 1)))), "linalg.solve: .* singular"),
    "cholesky": (lambda m, t: m.cholesky(t(INDEFINITE)), "not positive-definite"),
    "cholesky_ex": (lambda m, t: m.cholesky_ex(t(INDEFINITE), check_errors=True),
                    "not positive-definite"),
    "matrix_power": (lambda m, t: m.matrix_power(t(SINGULAR), -1), "singular"),
    "tensorinv": (lambda m, t: m.tensorinv(t(SINGULAR), 1), "singular"),
    "svd": (lambda m, t: m.svd(t(NAN)), "linalg.svd: .* converge"),
    "svdvals": (lambda m, t: m.svdvals(t(NAN)), "converge"),
    "pinv": (lambda m, t: m.pinv(t(NAN)), "converge"),
    "matrix_rank": (lambda m, t: m.matrix_rank(t(NAN)), "converge"),
}


def _failures_raise_linalg_error_case(name):
    call, match = CASES[name]
    with pytest.raises(cr.linalg.LinAlgError, match=match) as info:
        call(cr.linalg, cr.tensor)
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value, np.linalg.LinAlgError) and isinstance(info.value, ValueError)


@pytest.mark.kernel_free
def test_failures_raise_linalg_error():
    each_case(_failures_raise_linalg_error_case, grid(("name", list(CASES))))


def _pytorch_raises_its_linalg_error_on_the_same_inputs_case(name):
    torch = pytest.importorskip("torch")
    call, _ = CASES[name]
    with pytest.raises(torch.linalg.LinAlgError):
        call(torch.linalg, torch.tensor)
    assert issubclass(torch.linalg.LinAlgError, RuntimeError)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_pytorch_raises_its_linalg_error_on_the_same_inputs():
    each_case(_pytorch_raises_its_linalg_error_on_the_same_inputs_case, grid(("name", list(CASES))))


@pytest.mark.kernel_free
def test_backward_through_a_singular_inverse_is_not_reached():
    a = cr.tensor(SINGULAR, requires_grad=True)
    with pytest.raises(cr.linalg.LinAlgError):
        cr.linalg.inv(a).sum().backward()
    assert a.grad is None


@pytest.mark.parametrize(("sa", "sb"), [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)),
                                        ((2, 1, 3, 4), (5, 4, 2)), ((4,), (4,))])
def test_matmul_is_matmul(rng, sa, sb):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    out = cr.linalg.matmul(x, y)
    np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-13, atol=1e-13)
    assert cr.gradcheck(cr.linalg.matmul, [x, y])


@pytest.mark.torch
def test_matmul_matches_torch(rng):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    g = rng.standard_normal((2, 3, 5))
    cr.linalg.matmul(x, y).backward(cr.tensor(g))
    torch.linalg.matmul(tx, ty).backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-13, atol=1e-13)
    with pytest.raises(RuntimeError, match="linalg.matmul.*out=.*automatic differentiation"):
        cr.linalg.matmul(x, y, out=cr.zeros(2, 3, 5))  # as PyTorch's: out= is not recorded
