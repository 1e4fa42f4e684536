"""gradcheck and gradgradcheck: they pass on correct ops and point at the culprit on wrong ones."""

import re
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import Function, Tensor
from chainrule.autograd.gradcheck import GradcheckError
from chainrule.ops import sum_to


def leaf(rng, shape, dtype=np.float64):
    return cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)


class MulWrongAt(Function):
    """a * b whose gradient for b is off by 0.5 at one element (``self.where``)."""

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        ga = g * b
        error = np.zeros(b.shape)
        error[self.where] = 0.5
        gb = g * a + Tensor(error)
        return ga, gb


class SquareViaData(Function):
    """x ** 2 whose backward reads ``.data``: right numerically, invisible to a 2nd derivative."""

    def forward(self, x):
        return x * x

    def backward(self, g):
        return g * Tensor(2 * self.inputs[0]._data)


class Square(Function):
    def forward(self, x):
        return x * x

    def backward(self, g):
        return g * 2.0 * self.inputs[0]


def test_passes_on_correct_ops(rng):
    a, b = leaf(rng, (2, 3)), leaf(rng, (3,))
    assert cr.gradcheck(lambda a, b: (a * b).exp() / (b * b + 1.0), [a, b]) is True
    assert cr.gradgradcheck(lambda a, b: (a * b).exp() / (b * b + 1.0), [a, b]) is True


def test_accepts_a_single_tensor_and_several_outputs(rng):
    x = leaf(rng, (4,))
    assert cr.gradcheck(lambda x: (x.exp(), x * x), x)
    assert cr.gradgradcheck(lambda x: (x.exp(), x * x), x)


def test_checks_only_inputs_that_require_grad(rng):
    a = leaf(rng, (3,))
    b = cr.tensor(rng.standard_normal(3))
    assert cr.gradcheck(lambda a, b: a * b, [a, b])


def test_failure_names_the_input_the_worst_element_and_both_values(rng):
    a, b = leaf(rng, (2, 3)), leaf(rng, (2, 3))
    with pytest.raises(GradcheckError) as info:
        cr.gradcheck(lambda a, b: MulWrongAt.apply(a, b, where=(1, 2)), [a, b])
    msg = str(info.value)
    assert "input 1 (shape (2, 3))" in msg
    assert "element (1, 2)" in msg
    found = re.search(r"numerical (\S+), analytical (\S+),", msg)
    assert found, msg
    numerical, analytical = float(found.group(1)), float(found.group(2))
    # The scalar checked is sum(u * f) with u drawn from the seeded generator gradcheck uses;
    # the message says so (the values are not f's own derivatives).
    assert "sum(u * fn(...)) with seeded random weights u" in msg
    u = np.random.default_rng(0).standard_normal((2, 3))
    exact = u[1, 2] * a.numpy()[1, 2]
    assert numerical == pytest.approx(exact, rel=1e-5)
    assert analytical == pytest.approx(exact + 0.5, rel=1e-5)


def test_failure_can_return_false_instead_of_raising(rng):
    a, b = leaf(rng, (2,)), leaf(rng, (2,))
    fn = lambda a, b: MulWrongAt.apply(a, b, where=(0,))  # noqa: E731
    assert cr.gradcheck(fn, [a, b], raise_exception=False) is False


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)
    assert sys.modules["chainrule.autograd.gradcheck"].GradcheckError is GradcheckError


def test_torch_autograd_gradcheck_is_the_function():
    # torch.autograd.gradcheck(fn, inputs) is how ported programs call it; the name was the module
    a = cr.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: (t * t).sum(), (a,)) is True
    assert cr.autograd.gradgradcheck(lambda t: (t * t * t).sum(), (a,)) is True
    assert cr.autograd.gradcheck is cr.gradcheck and cr.autograd.gradgradcheck is cr.gradgradcheck


def test_inputs_are_restored_after_the_check(rng):
    a = leaf(rng, (3, 2))
    big = leaf(rng, (700,))
    before_a, before_big = a.numpy().copy(), big.numpy().copy()
    cr.gradcheck(lambda a: a.exp(), a)
    cr.gradcheck(lambda x: x * x, big)
    np.testing.assert_array_equal(a.numpy(), before_a)
    np.testing.assert_array_equal(big.numpy(), before_big)


def test_warns_on_float32_input(rng):
    x = leaf(rng, (3,), dtype=np.float32)
    with pytest.warns(UserWarning, match="input 0 has dtype float32.*float64"):
        cr.gradcheck(lambda x: x * 2.0, x, eps=1e-2, raise_exception=False)


def test_no_input_requires_grad_is_a_value_error():
    with pytest.raises(ValueError, match="no input requires grad"):
        cr.gradcheck(lambda x: x * 2.0, cr.tensor(np.ones(2)))
    with pytest.raises(ValueError, match="no input requires grad"):
        cr.gradgradcheck(lambda x: x * 2.0, cr.tensor(np.ones(2)))


def test_fn_must_return_tensors(rng):
    with pytest.raises(TypeError, match="output 1 is float"):
        cr.gradcheck(lambda x: (x * 2.0, 1.0), leaf(rng, (2,)))


def test_random_direction_mode_for_a_large_input(rng):
    x = leaf(rng, (30, 30))
    calls = []

    def fn(x):
        calls.append(1)
        return x.exp() * x

    assert cr.gradcheck(fn, x, n_directions=4)
    # one recorded evaluation, two more for PyTorch's checks of the backward pass (run again,
    # and with zero output gradients), then two per direction instead of two per element (1800)
    assert len(calls) == 1 + 2 + 2 * 4


def test_random_direction_mode_catches_a_wrong_gradient(rng):
    a, b = leaf(rng, (30, 30)), leaf(rng, (30, 30))
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(30, 30\)\) at random direction"):
        cr.gradcheck(lambda a, b: MulWrongAt.apply(a, b, where=(3, 4)), [a, b])


def test_max_elements_switches_modes(rng):
    a, b = leaf(rng, (4, 4)), leaf(rng, (4, 4))
    fn = lambda a, b: MulWrongAt.apply(a, b, where=(2, 2))  # noqa: E731
    with pytest.raises(GradcheckError, match="random direction"):
        cr.gradcheck(fn, [a, b], max_elements=8)
    with pytest.raises(GradcheckError, match=r"element \(2, 2\)"):
        cr.gradcheck(fn, [a, b], max_elements=16)


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable(rng):
    x = leaf(rng, (3,))
    assert cr.gradcheck(SquareViaData.apply, x)
    with pytest.raises(GradcheckError, match="input 0"):
        cr.gradgradcheck(SquareViaData.apply, x)


def test_gradgradcheck_passes_when_the_backward_uses_tensors(rng):
    x = leaf(rng, (3,))
    assert cr.gradgradcheck(Square.apply, x)


def test_gradgradcheck_through_a_reduction(rng):
    x = leaf(rng, (2, 3))
    assert cr.gradgradcheck(lambda x: sum_to(x * x * x, (1, 3)), x)


def test_gradgradcheck_with_a_constant_second_derivative(rng):
    # d/dx (x * c) = c does not depend on x: the second derivative is zero and must still check out
    x = leaf(rng, (3,))
    c = cr.tensor(rng.standard_normal(3))
    assert cr.gradgradcheck(lambda x: x * c, x)


@pytest.mark.parametrize("layout", ["C", "F"])
def test_gradcheck_perturbs_inputs_in_any_memory_order(rng, layout):
    """Perturbing through reshape(-1) would perturb a copy of a non-C-contiguous input."""
    base = rng.standard_normal((6, 8))
    data = base if layout == "C" else np.asfortranarray(base)
    w = cr.tensor(data, requires_grad=True)
    assert w._data.flags.f_contiguous == (layout == "F")
    assert cr.gradcheck(lambda a: (a * a * a).sum(), (w,))
    assert np.array_equal(w.numpy(), data)  # restored exactly
