"""The engine's side of complex gradients: complex leaves may require grad, ops must opt in
(``complex_grad``) or refuse, a complex loss needs an explicit gradient, and gradcheck perturbs
real and imaginary parts apart (so it catches a backward that forgets a conjugate)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.function import Function
from chainrule.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck


def _z(*values):
    return cr.tensor(np.array(values, dtype=np.complex128), requires_grad=True)


def test_complex_tensors_can_require_grad():
    assert _z(1 + 2j).requires_grad
    assert cr.Tensor(np.array([1j]), requires_grad=True).requires_grad
    assert cr.zeros(2, dtype=cr.complex64, requires_grad=True).requires_grad
    assert cr.tensor([1.0]).astype(cr.complex64).requires_grad_().requires_grad
    with pytest.raises(TypeError, match="floating-point and complex tensors"):
        cr.tensor([1, 2], requires_grad=True)


def test_the_convention_is_pytorchs():
    z = _z(1 + 2j, -3 + 0.5j)
    (z * z.conj()).real.sum().backward()  # |z|^2 = x^2 + y^2: gradient 2x + 2iy = 2z
    np.testing.assert_allclose(z.grad.numpy(), 2 * z.numpy())


def test_an_op_that_has_not_opted_in_refuses_complex_input():
    z = _z(1 + 2j)

    class Twice(Function):  # an op that did not opt in
        def forward(self, x):
            return 2 * x

        def backward(self, g):
            return 2 * g

    with pytest.raises(TypeError, match=r"Twice: complex gradients are not supported.*Mul"):
        Twice.apply(z)
    with pytest.raises(TypeError, match=r"erf: complex input .*is not supported, as in PyTorch"):
        cr.erf(z)  # real-only functions refuse complex input before recording (PyTorch's rule)
    with pytest.raises(TypeError, match="NanSum: complex gradients are not supported"):
        cr.nansum(z)

    class RealPart(Function):
        def forward(self, x):
            return x.real.copy()

    with pytest.raises(TypeError, match="RealPart: complex gradients"):
        RealPart.apply(z)  # a real output from a complex input is refused too
    assert Twice.apply(z.detach()).dtype == cr.complex128  # without recording: runs
    with cr.no_grad():
        assert cr.nansum(z).dtype == cr.complex128


def test_an_op_with_a_complex_output_must_have_opted_in():
    class Twice(Function):
        def forward(self, x):
            return (2 * x).astype(np.complex128)

        def backward(self, g):
            return g.real * 2

    x = cr.tensor([1.0], dtype=cr.float64, requires_grad=True)
    with pytest.raises(TypeError, match="Twice: complex gradients are not supported"):
        Twice.apply(x)
    Twice.complex_grad = True
    y = Twice.apply(x)
    y.abs().sum().backward()
    assert x.grad.tolist() == [2.0]


def test_a_complex_loss_needs_an_explicit_gradient():
    z = _z(1 + 2j)
    with pytest.raises(RuntimeError, match="only for real scalar outputs"):
        (z * 2).sum().backward()
    (z * 2).sum().backward(cr.tensor(np.array(1 + 0j)))
    assert z.grad.numpy().tolist() == [2 + 0j]


def test_custom_functions_pass_complex_tensors_as_pytorch():
    class Scale(Function):
        @staticmethod
        def forward(ctx, z):
            return z * 3

        @staticmethod
        def backward(ctx, g):
            return g * 3

    z = _z(1 + 1j)
    Scale.apply(z).abs().sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), 3 * z.numpy() / abs(z.numpy()))


def test_gradcheck_catches_a_missing_conjugate():
    class BadMul(Function):
        complex_grad = True

        def forward(self, a, b):
            return a * b

        def backward(self, g):
            a, b = self.inputs
            return g * b, g * a  # right for real tensors, wrong for complex ones

    a, b = _z(1 + 2j, 0.5 - 1j), _z(-1 + 1j, 2 + 0.3j)
    with pytest.raises(GradcheckError, match=r"element \(0,\) \((real|imaginary) part\)"):
        gradcheck(BadMul.apply, (a, b))
    assert gradcheck(lambda x, y: x * y, (a, b))


def test_gradcheck_on_large_complex_inputs_uses_random_directions():
    rng = np.random.default_rng(0)
    z = cr.tensor(rng.standard_normal(600) + 1j * rng.standard_normal(600), requires_grad=True)
    assert gradcheck(lambda t: (t * t.conj() * t).sum() * 1j, (z,))
    assert gradgradcheck(lambda t: (t * t).abs(), (_z(1 + 1j, 2 - 1j),))


def test_complex64_gradcheck_warns():
    z = cr.tensor(np.array([1 + 1j], np.complex64), requires_grad=True)
    with pytest.warns(UserWarning, match="complex128"):
        gradcheck(lambda t: t * 2, (z,), atol=1e-2, rtol=1e-2)


def test_real_paths_keep_their_dtypes_and_values():
    x = cr.tensor([1.5, -2.0], requires_grad=True)
    (x * x / (x + 3)).exp().sum().backward()
    assert x.grad.dtype == cr.float32
    xd = x.detach().numpy().astype(np.float32)
    y = xd * xd / (xd + 3)
    expected = np.exp(y) * (2 * xd / (xd + 3) - xd * xd / (xd + 3) ** 2)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)
