"""Fuzz wave 25: dtype promotion of the binary ops against PyTorch, where a complex operand
or a 0-d tensor of another kind decides the dtype.

Before this wave:

* ``float_power`` cast a complex input or exponent to float64, dropping its imaginary part
  silently (``float_power(tensor([1+2j]), 2)`` was 1.0, PyTorch's -3+4j in complex128), and
  refused a complex number as exponent.
* ``ldexp`` cast a complex input to the default float dtype (imaginary part dropped), and an
  integer input to float32 before promoting with a floating ``other``, so ``ldexp(int8, float16
  tensor)`` was float32 (PyTorch's float16) and ``ldexp(int, float64 0-d)`` float32 (float64).
* ``logaddexp2`` of float16 tensors computed in float16 steps, up to 2 units off in one value
  in six; PyTorch computes in float32 and rounds once.
* ``%``/``remainder`` of floats gave a zero result the divisor's sign (NumPy's rule: ``3 % -1``
  was -0.0); PyTorch's zero has the dividend's sign.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _same(ours, theirs):
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("case", [
    lambda t: t.float_power(t.tensor([1 + 2j, -0.5 + 1j]), 2),
    lambda t: t.float_power(t.tensor([1.5, 2.0]), t.tensor(1j)),
    lambda t: t.float_power(2, t.tensor([1 + 2j])),
    lambda t: t.float_power(t.tensor([2.0, 3.0]), 1j),
    lambda t: t.tensor([2.0, 3.0]).float_power(t.tensor([1 + 1j])),
    lambda t: t.float_power(t.tensor([2, 3]), 2),
])
def test_float_power_keeps_complex(case):
    _same(case(cr), case(torch))


def test_float_power_complex_gradient():
    grads = []
    for t in (cr, torch):
        x = t.tensor([1.5 + 0.5j, -2 + 1j], dtype=t.complex128, requires_grad=True)
        y = t.tensor([1.2, 0.7], dtype=t.float64, requires_grad=True)
        loss = (t.float_power(x, y).abs() ** 2).sum() + t.float_power(y, x).real.sum()
        grads.append(t.autograd.grad(loss, [x, y]))
    for ours, theirs in zip(*grads):
        _same(ours, theirs)


@pytest.mark.parametrize("a, b", [
    ("int8", "float16"), ("int64", "float16"), ("bool", "float64"), ("uint8", "float64"),
    ("complex64", "int64"), ("complex64", "float32"), ("float16", "int32"), ("int32", "int64"),
])
@pytest.mark.parametrize("dims", [(1, 0), (0, 1), (0, 0), (1, 1)])
@pytest.mark.filterwarnings("ignore:An output with one or more elements was resized")
def test_ldexp_dtype(a, b, dims):
    def make(t, dtype, nd):
        value = [1, 3] if dtype != "bool" else [True, False]
        return t.tensor(value if nd else value[0], dtype=getattr(t, dtype))
    ours = cr.ldexp(make(cr, a, dims[0]), make(cr, b, dims[1]))
    theirs = torch.ldexp(make(torch, a, dims[0]), make(torch, b, dims[1]))
    _same(ours, theirs)


def test_ldexp_complex_gradcheck():
    y = cr.tensor([1.2, 0.7], dtype="float64", requires_grad=True)
    x = cr.tensor([1.5, -2.0], dtype="float64", requires_grad=True)
    assert cr.gradcheck(lambda a, e: (cr.ldexp(a * (1 + 2j), e).abs() ** 2).sum(), (x, y))
    z = cr.ldexp(cr.tensor([1 + 2j]), cr.tensor([1]))
    assert z.dtype == "complex64" and z.tolist() == [2 + 4j]


@pytest.mark.parametrize("other", ["tensor", "0d"])
def test_logaddexp2_float16_rounds_once(other):
    # was: computed in float16 steps, up to 2 units off in one value in six
    a = np.linspace(-20, 20, 81).astype(np.float16)
    values = {"tensor": lambda t: t.tensor(np.full_like(a, 1.3)),
              "0d": lambda t: t.tensor(1.3)}[other]
    ours = cr.logaddexp2(cr.tensor(a), values(cr))
    theirs = torch.logaddexp2(torch.tensor(a), values(torch))
    assert ours.dtype == "float16"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("divisor", [1.0, -1.0, 2.0, -2.0, float("inf"), -float("inf")])
def test_remainder_zero_takes_the_dividends_sign(dtype, divisor):
    # was: NumPy's zero with the divisor's sign (3 % -1 was -0.0, PyTorch's 0.0)
    a = [3.0, -3.0, 0.0, -0.0, 2.5, -2.5, 1e-30, -1e-30, 7.0]
    ours = (cr.tensor(a, dtype=getattr(cr, dtype)) % divisor).numpy()
    theirs = (torch.tensor(a, dtype=getattr(torch, dtype)) % divisor).numpy()
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))
    assert (-2 % cr.tensor([2.0], dtype=getattr(cr, dtype))).numpy()[0] == 0
    assert np.signbit((-2 % cr.tensor([2.0], dtype=getattr(cr, dtype))).numpy()[0])
