"""Fuzz wave 24: a gradient cast to its input's dtype must not lose values silently, checked
against PyTorch 2.13. A custom Function's backward returning a complex gradient for a real input
had its imaginary part dropped, and an integer tensor given ``requires_grad = True`` by
assignment (PyTorch refuses the assignment) received its float gradient truncated (2.5 became
2); both are RuntimeErrors now, as is ``.data`` set to an integer tensor on a tensor that
requires grad (PyTorch's RuntimeError; it was taken). The casts PyTorch makes too still happen."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

X = np.random.default_rng(24).standard_normal((2, 3))


def _scaled(lib, grad_dtype, factor):
    """A custom Function y = 2x whose backward returns ``factor * g`` in ``grad_dtype``."""

    class Scaled(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            if g.is_complex() and not grad_dtype.startswith("complex"):
                g = g.real  # a real gradient for a complex input
            return g.to(getattr(lib, grad_dtype)) * factor

    return Scaled


@pytest.mark.parametrize("grad_dtype", ["complex128", "complex64"])
def test_custom_function_complex_grad_for_real_input_is_refused(grad_dtype):
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=True)
        y = _scaled(lib, grad_dtype, 1 + 1j).apply(x)
        with pytest.raises(RuntimeError):
            y.sum().backward()
    x = cr.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="Scaled.backward returned a complex gradient"):
        _scaled(cr, grad_dtype, 1 + 1j).apply(x).sum().backward()


@pytest.mark.parametrize(
    "values,grad_dtype", [(X, "float32"), (X * (1 + 2j), "complex64"), (X * (1 + 2j), "float64")]
)
def test_custom_function_grads_that_cast_are_cast(values, grad_dtype):
    grads = []
    for lib in (torch, cr):
        x = lib.tensor(values, requires_grad=True)
        y = _scaled(lib, grad_dtype, 3).apply(x)
        y.backward(lib.ones_like(y))
        grads.append(x.grad)
    assert str(grads[1].dtype).split(".")[-1] == str(grads[0].dtype).split(".")[-1]
    np.testing.assert_allclose(grads[1].numpy(), grads[0].numpy(), rtol=1e-6)


def test_builtin_real_times_complex_still_takes_the_real_part():
    grads = []
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=True)
        z = lib.tensor(X * (1 - 1j))
        (x * z).abs().sum().backward()
        grads.append(x.grad)
    assert str(grads[1].dtype) == "float64"
    np.testing.assert_allclose(grads[1].numpy(), grads[0].numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_tensor_given_requires_grad_by_assignment(dtype):
    with pytest.raises(RuntimeError):  # PyTorch refuses the assignment itself
        torch.tensor([1, 2], dtype=getattr(torch, dtype)).requires_grad = True
    x = cr.tensor([1, 2], dtype=getattr(cr, dtype))
    x.requires_grad = True  # a plain attribute in chainrule: refused where a gradient arrives
    with pytest.raises(RuntimeError, match=f"reached an input of dtype {dtype} that requires"):
        (x * 2.5).sum().backward()
    assert x.grad is None


@pytest.mark.parametrize("requires_grad", [True, False])
def test_integer_data_assigned_to_a_tensor(requires_grad):
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=requires_grad)
        if requires_grad:
            with pytest.raises(RuntimeError, match="must be floating point or complex dtype"):
                x.data = lib.zeros(2, dtype=lib.int64)
            assert x.dtype == lib.float64
        else:
            x.data = lib.zeros(2, dtype=lib.int64)
            assert x.dtype == lib.int64


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_grad_dtype_of_an_integer_dtype_is_refused(dtype):
    t = torch.tensor(X, dtype=torch.float32, requires_grad=True)
    t.grad_dtype = getattr(torch, dtype)
    with pytest.raises(RuntimeError):  # PyTorch's backward fails (an internal assert)
        (t * 2.5).sum().backward()
    x = cr.tensor(X, dtype=cr.float32, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad_dtype must be a floating-point or complex"):
        x.grad_dtype = getattr(cr, dtype)
    (x * 2.5).sum().backward()
    assert x.grad.dtype == cr.float32
