"""``logcumsumexp`` of a complex tensor (PyTorch supports it; chainrule refused complex dtypes):
values as PyTorch's, its branch of the imaginary part and its special values included, gradients
by finite differences (first and second order) and against PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.kernel_free]

INF, NAN = float("inf"), float("nan")
SPECIAL = [
    [1 + 1j, 2 - 0.5j, 0.3 + 2j],
    [1000 + 1j, 1000 + 4j, -1000 + 2j],  # no overflow; Im not wrapped to (-pi, pi]
    [1 + 0j, 1 + 3.14159265358979j, 2 - 1j],  # near-cancellation
    [complex(-INF, 1), 2 + 0j], [complex(-INF, 0), complex(-INF, 3)],
    [complex(INF, 1), complex(INF, 2)], [complex(NAN, 0), 1 + 0j], [1 + 4j],
    [-1 + 0j, 1e-300 + 0j], [5 + 1j, -3 + 2j, 0.5 - 7j, 40 + 0.1j],
]


def _complex(rng, shape, dtype=np.complex128):
    return (rng.normal(size=shape) * 2 + 1j * rng.normal(size=shape) * 2).astype(dtype)


def _values_are_pytorchs_special_values_included_case(values):
    a = np.array(values, np.complex128)
    ours = cr.logcumsumexp(cr.tensor(a), 0).numpy()
    theirs = torch.logcumsumexp(torch.tensor(a), 0).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-13, equal_nan=True)


def test_values_are_pytorchs_special_values_included():
    each_case(_values_are_pytorchs_special_values_included_case, grid(("values", SPECIAL)))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_forward_and_gradient_match_pytorch(rng, dtype, dim):
    a, g = _complex(rng, (4, 5, 3), dtype), _complex(rng, (4, 5, 3), dtype)
    x, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = cr.logcumsumexp(x, dim), torch.logcumsumexp(xt, dim)
    assert y.dtype == x.dtype
    tol = 1e-5 if dtype == np.complex64 else 1e-12
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    y.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.resolve_conj().numpy(), rtol=tol * 10,
                               atol=tol * 10)
    assert x.logcumsumexp(dim).numpy().tolist() == y.numpy().tolist()  # the method form


def test_gradient_of_a_real_loss_matches_pytorch_with_large_entries(rng):
    a = _complex(rng, (6,))
    a[2] += 700.0  # exp would overflow: the gradient is taken in log space
    x, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    cr.logcumsumexp(x, 0).abs().sum().backward()
    torch.logcumsumexp(xt, 0).abs().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.resolve_conj().numpy(), rtol=1e-10,
                               atol=1e-12)


def test_gradcheck_and_gradgradcheck(rng):
    a = _complex(rng, (3, 4))
    x = cr.tensor(a, requires_grad=True)
    w = cr.tensor(_complex(rng, (3, 4)))
    assert gradcheck(lambda t: (cr.logcumsumexp(t, 1) * w).real.sum(), [x])
    assert gradcheck(lambda t: cr.logcumsumexp(t, 0).abs().sum(), [x])
    assert gradgradcheck(lambda t: (cr.logcumsumexp(t, 1) * w).imag.sum(), [x])


def test_real_inputs_and_other_dtypes_are_unchanged():
    x = cr.tensor([0.5, -1.0, 2.0], dtype=cr.float64)
    np.testing.assert_allclose(cr.logcumsumexp(x, 0).numpy(),
                               torch.logcumsumexp(torch.tensor(x.numpy()), 0).numpy(), rtol=1e-15)
    with pytest.raises(TypeError, match="expected a floating-point or complex tensor, got dtype "
                                        "int64"):
        cr.logcumsumexp(cr.tensor([1, 2]), 0)
    z = cr.tensor(2 + 1j)
    assert cr.logcumsumexp(z, 0).item() == 2 + 1j  # 0-d: the value itself
