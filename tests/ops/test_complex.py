"""Complex tensors: every op that opted in to complex gradients, checked in complex128 by
gradcheck and gradgradcheck (real and imaginary parts perturbed apart) and against PyTorch's
values and gradients (its convention: z.grad = dL/dx + i dL/dy)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck

from ._kernel_cases import once_unless

torch = pytest.importorskip("torch")


def _c(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _r(rng, shape):
    return rng.standard_normal(shape)


def _pos(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


# name: (call on a library module `L` and its inputs, (maker, shape) per input)
CASES = {
    "add": (lambda L, a, b: a + b, [(_c, (3, 4)), (_c, (4,))]),
    "add_real": (lambda L, a, b: a + b, [(_c, (3, 4)), (_r, (4,))]),
    "sub": (lambda L, a, b: a - b, [(_r, (3,)), (_c, (3,))]),
    "neg": (lambda L, a: -a, [(_c, (3,))]),
    "mul": (lambda L, a, b: a * b, [(_c, (3, 4)), (_c, (4,))]),
    "mul_real": (lambda L, a, b: a * b, [(_c, (3, 4)), (_r, (3, 1))]),
    "mul_scalar": (lambda L, a: a * (2 - 1j) + 1.5j, [(_c, (3,))]),
    "div": (lambda L, a, b: a / b, [(_c, (3,)), (_c, (3,))]),
    "div_real": (lambda L, a, b: a / b, [(_r, (3,)), (_c, (3,))]),
    "sum_mean": (lambda L, a: a.sum(0) * a.mean(), [(_c, (3, 2))]),
    "sum_dim": (lambda L, a: L.sum(a, 1, keepdim=True), [(_c, (3, 2))]),
    "reshape": (lambda L, a: a.reshape(2, 3).view(6).flatten(), [(_c, (3, 2))]),
    "index": (lambda L, a: a[[0, 0, 2]][:, 1:], [(_c, (3, 3))]),
    "cat_stack": (lambda L, a, b: L.cat([a, b]) * L.stack([a, b]).sum(0).sum(),
                  [(_c, (3,)), (_c, (3,))]),
    "permute": (lambda L, a: a.permute(2, 0, 1).transpose(0, 1) * a.sum(), [(_c, (2, 3, 2))]),
    "squeeze": (lambda L, a: a.unsqueeze(0).squeeze(-1) * 2, [(_c, (3, 1))]),
    "matmul": (lambda L, a, b: a @ b, [(_c, (2, 3)), (_c, (3, 4))]),
    "matmul_batch": (lambda L, a, b: a @ b, [(_c, (2, 2, 3)), (_c, (3, 2))]),
    "matvec": (lambda L, a, b: a @ b, [(_c, (2, 3)), (_c, (3,))]),
    "exp": (lambda L, a: L.exp(a), [(_c, (3,))]),
    "log": (lambda L, a: L.log(a), [(_c, (3,))]),
    "sin_cos": (lambda L, a: L.sin(a) * L.cos(a), [(_c, (3,))]),
    "sqrt": (lambda L, a: L.sqrt(a), [(_c, (3,))]),
    "rsqrt_expm1_log1p": (lambda L, a: L.rsqrt(a) + L.expm1(a) * L.log1p(a), [(_c, (3,))]),
    "log2_log10_exp2": (lambda L, a: L.log2(a) - L.log10(a) * L.exp2(a), [(_c, (3,))]),
    "tan_atan": (lambda L, a: L.tan(a) * L.atan(a), [(_c, (3,))]),
    "asin_acos": (lambda L, a: L.asin(a * 0.3) + L.acos(a * 0.3) * a, [(_c, (3,))]),
    "sinh_cosh": (lambda L, a: L.sinh(a) * L.cosh(a), [(_c, (3,))]),
    "pow_int": (lambda L, a: a ** 3 + L.square(a), [(_c, (3,))]),
    "pow_real": (lambda L, a, p: a ** p, [(_c, (3,)), (_pos, (3,))]),
    "pow_complex": (lambda L, a, p: a ** p, [(_c, (3,)), (_c, (3,))]),
    "pow_scalar_base": (lambda L, a: 2.0 ** a, [(_c, (3,))]),
    "einsum": (lambda L, a, b: L.einsum("bix,iox->box", a, b), [(_c, (2, 3, 4)), (_c, (3, 2, 4))]),
    "conj": (lambda L, a: L.conj(a) * a, [(_c, (3,))]),
    "abs": (lambda L, a: L.abs(a), [(_c, (3,))]),
    "angle": (lambda L, a: L.angle(a), [(_c, (3,))]),
    "real_imag": (lambda L, a: a.real * a.imag + L.real(a) - L.imag(a), [(_c, (3,))]),
    "complex": (lambda L, a, b: L.complex(a, b) * L.complex(b, a), [(_r, (3,)), (_r, (3,))]),
    "polar": (lambda L, a, b: L.polar(a, b), [(_pos, (3,)), (_r, (3,))]),
    "view_as_real": (lambda L, a: L.view_as_real(a * a), [(_c, (2, 3))]),
    "view_as_complex": (lambda L, a: L.view_as_complex(a) * L.view_as_complex(a),
                        [(_r, (3, 2))]),
    "cast": (lambda L, a: a.to(L.complex128) * a, [(_r, (3,))]),
    "where": (lambda L, a, b: L.where(a.real > 0, a, b), [(_c, (4,)), (_c, (4,))]),
}


def _inputs(module, arrays):
    if module is cr:
        return [cr.tensor(a, requires_grad=True) for a in arrays]
    return [torch.tensor(a, requires_grad=True) for a in arrays]


# cases that call a kernel of chainrule.kernels.K: both kernel modes; the rest once
BOTH_MODES_VALUES = {
    "cat_stack", "index", "matmul", "matmul_batch", "matvec", "sum_mean",
}


@pytest.mark.parametrize(("name", "kernel_mode"), once_unless(sorted(CASES), BOTH_MODES_VALUES),
                         indirect=["kernel_mode"])
def test_values_and_gradients_match_pytorch(name):
    fn, specs = CASES[name]
    rng = np.random.default_rng(len(name))
    arrays = [make(rng, shape) for make, shape in specs]
    ours, theirs = _inputs(cr, arrays), _inputs(torch, arrays)
    y, t = fn(cr, *ours), fn(torch, *theirs)
    assert y.dtype == np.dtype(str(t.dtype).replace("torch.", ""))
    np.testing.assert_allclose(y.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)
    u = rng.standard_normal(t.shape)
    if t.is_complex():
        u = u + 1j * rng.standard_normal(t.shape)
    y.backward(cr.tensor(u))
    t.backward(torch.tensor(u))
    for a, b in zip(ours, theirs, strict=True):
        assert a.grad.dtype == a.dtype
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


# cases that call a kernel of chainrule.kernels.K: both kernel modes; the rest once
BOTH_MODES_GRADCHECK = {
    "cat_stack", "index", "matmul", "matmul_batch", "matvec", "sum_mean",
}


@pytest.mark.parametrize(("name", "kernel_mode"), once_unless(sorted(CASES), BOTH_MODES_GRADCHECK),
                         indirect=["kernel_mode"])
def test_gradcheck_and_gradgradcheck(name):
    fn, specs = CASES[name]
    rng = np.random.default_rng(len(name) + 1)
    xs = _inputs(cr, [make(rng, shape) for make, shape in specs])
    assert gradcheck(lambda *a: fn(cr, *a), xs)
    assert gradgradcheck(lambda *a: fn(cr, *a), xs)


@pytest.mark.kernel_free
def test_einsum_of_a_complex_and_a_real_operand():
    # PyTorch refuses mixed dtypes in einsum; chainrule computes it, and the real operand's
    # gradient is the real part of its complex one (checked by finite differences).
    rng = np.random.default_rng(5)
    a = cr.tensor(_c(rng, (2, 3)), requires_grad=True)
    b = cr.tensor(_r(rng, (3, 2)), requires_grad=True)
    assert gradcheck(lambda x, y: cr.einsum("ij,jk->ik", x, y), (a, b))
    assert gradgradcheck(lambda x, y: cr.einsum("ij,jk->ik", x, y), (a, b))


@pytest.mark.kernel_free
def test_abs_and_angle_gradients_are_zero_at_zero_as_pytorch():
    z = cr.tensor(np.array([0j, 3 + 4j]), requires_grad=True)
    (z.abs() + z.angle()).sum().backward()
    t = torch.tensor(np.array([0j, 3 + 4j]), requires_grad=True)
    (t.abs() + t.angle()).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), t.grad.numpy(), atol=1e-15)
    assert z.grad.numpy()[0] == 0


@pytest.mark.kernel_free
def test_real_and_imag_are_views_as_in_pytorch():
    z = cr.tensor(np.array([1 + 2j, 3 - 1j]))
    assert np.shares_memory(z.real.numpy(), z.numpy())
    assert np.shares_memory(z.imag.numpy(), z.numpy())
    assert np.shares_memory(cr.view_as_real(z).numpy(), z.numpy())
    x = cr.tensor(np.array([[1.0, 2.0]]))
    assert np.shares_memory(cr.view_as_complex(x).numpy(), x.numpy())
    np.testing.assert_array_equal(cr.view_as_complex(x).numpy(), [1 + 2j])


@pytest.mark.kernel_free
def test_complex64_stays_complex64():
    z = cr.tensor(np.array([1 + 2j], np.complex64), requires_grad=True)
    y = (z * 1j + 2.0) * cr.tensor([3.0])
    assert y.dtype == cr.complex64
    assert (cr.tensor([1.0]) * 1j).dtype == cr.complex64
    assert cr.tensor([1 + 2j]).dtype == cr.full((2,), 1j).dtype == cr.complex64  # as PyTorch
    assert cr.complex(cr.tensor([1.0]), cr.tensor([2.0])).dtype == cr.cfloat
    assert cr.complex128 == cr.cdouble == np.complex128
    y.abs().sum().backward()
    assert z.grad.dtype == cr.complex64
    assert z.is_complex() and cr.is_complex(z) and not cr.tensor([1.0]).is_complex()


@pytest.mark.kernel_free
def test_real_tensor_gradient_is_the_real_part():
    w = cr.tensor([2.0, -1.0], dtype=cr.float64, requires_grad=True)
    z = cr.tensor(np.array([1 + 2j, 3 - 1j]))
    (w * z).abs().sum().backward()
    tw = torch.tensor([2.0, -1.0], dtype=torch.float64, requires_grad=True)
    (tw * torch.tensor(np.array([1 + 2j, 3 - 1j]))).abs().sum().backward()
    assert w.grad.dtype == cr.float64
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


@pytest.mark.kernel_free
def test_isreal_and_conj_of_complex():
    z = cr.tensor(np.array([1 + 0j, 1 + 1j]))
    assert cr.isreal(z).tolist() == [True, False]
    np.testing.assert_array_equal(z.conj().numpy(), [1 - 0j, 1 - 1j])
    np.testing.assert_array_equal(cr.conj_physical(z).numpy(), [1 - 0j, 1 - 1j])


@pytest.mark.kernel_free
@pytest.mark.parametrize("call, match", [
    (lambda: cr.complex(cr.tensor([1]), cr.tensor([2.0])), "real must be a floating-point"),
    (lambda: cr.complex(cr.tensor([1.0]), cr.tensor([2.0], dtype=cr.float64)), "one dtype"),
    (lambda: cr.polar(cr.tensor([1.0]), 2.0), "angle must be a Tensor"),
    (lambda: cr.view_as_real(cr.tensor([1.0])), "must be a complex tensor"),
    (lambda: cr.view_as_complex(cr.tensor([1.0, 2.0, 3.0])), "last dimension of size 2"),
    (lambda: cr.view_as_complex(cr.tensor([[1, 2]])), "float32 or float64"),
    (lambda: cr.view_as_complex(cr.tensor(np.ones((2, 2))).T), "contiguous"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


@pytest.mark.kernel_free
def test_writes_into_a_complex_tensor_are_recorded_as_pytorch():
    # The Fourier neural operator's pattern: a zero spectrum with the kept modes written in.
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 16)), _c(rng, (3, 3, 4))

    def fno(L, x, w):
        xf = L.fft.rfft(x)
        out = L.zeros(2, 3, 9, dtype=L.complex128)
        out[:, :, :4] = L.einsum("bix,iox->box", xf[:, :, :4], w)
        view = out[:, :, 1:]
        view.mul_(1j)  # an in-place change through a view of it
        return L.fft.irfft(out, n=16)

    ours, theirs = _inputs(cr, [x, w]), _inputs(torch, [x, w])
    y, t = fno(cr, *ours), fno(torch, *theirs)
    np.testing.assert_allclose(y.numpy(), t.detach().numpy(), atol=1e-12)
    (y ** 2).sum().backward()
    (t ** 2).sum().backward()
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)


@pytest.mark.kernel_free
def test_random_complex_tensors_as_pytorch():
    z = cr.randn(20000, dtype=cr.cfloat, rng=np.random.default_rng(0))
    assert z.dtype == cr.complex64
    assert abs(float((z.abs() ** 2).mean().item()) - 1.0) < 0.05  # variance 1, 1/2 per part
    u = cr.rand(2, 3, dtype=cr.complex128, rng=np.random.default_rng(0)).numpy()
    assert u.dtype == np.complex128 and u.shape == (2, 3)
    assert (u.real >= 0).all() and (u.real < 1).all() and (u.imag >= 0).all()
    with pytest.raises(TypeError, match="floating-point or complex"):
        cr.randn(2, dtype=cr.int64)
