"""Regressions found by differential fuzzing against PyTorch (helper fuzz7): top-level names."""

import warnings

import numpy as np
import pytest

import chainrule as cr


def _div_case(m):
    x = m.tensor([1.5, 0.0, -0.5, -0.0, 7.5, -3.0], dtype=m.float64, requires_grad=True)
    y = m.tensor([0.0, -0.0, -0.0, 2.0, -2.0, 0.0], dtype=m.float64, requires_grad=True)
    return x, y


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_rounded_division_by_zero_keeps_its_infinities_and_gradient_zero(mode):
    x, y = _div_case(cr)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = cr.divide(x, y, rounding_mode=mode)
        a, b = x.detach().numpy(), y.detach().numpy()
        expected = np.trunc(a / b) if mode == "trunc" else np.floor_divide(a, b)
    q.sum().backward()
    np.testing.assert_array_equal(q.detach().numpy(), expected)  # inf, -inf and nan where y is 0
    np.testing.assert_array_equal(np.signbit(q.detach().numpy()), np.signbit(expected))
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(6))  # not 0 / 0
    np.testing.assert_array_equal(y.grad.numpy(), np.zeros(6))


def test_rounded_division_gradcheck_is_zero_away_from_steps():
    x = cr.tensor([1.3, -2.7, 0.4], dtype=cr.float64, requires_grad=True)
    y = cr.tensor([0.7, 0.8, -1.1], dtype=cr.float64, requires_grad=True)
    for mode in ("trunc", "floor"):
        assert cr.gradcheck(lambda a, b, mode=mode: cr.divide(a, b, rounding_mode=mode), (x, y))


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_rounded_division_by_zero_matches_pytorch(mode):
    torch = pytest.importorskip("torch")
    got = []
    for m in (torch, cr):
        x, y = _div_case(m)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = m.div(x, y[:1] if m is cr else y[:1], rounding_mode=mode)  # broadcast divisor
            q.sum().backward()
        got.append((q.detach().numpy(), x.grad.numpy(), y.grad.numpy()))
    for a, b in zip(*got):
        np.testing.assert_array_equal(b, a)
        np.testing.assert_array_equal(np.signbit(b), np.signbit(a))


def test_cov_of_one_row_is_0d_and_zero_weights_are_refused():
    x = cr.tensor([[1.0, 2.0, 4.0]], dtype=cr.float64)
    c = cr.cov(x)
    assert c.shape == ()
    assert c.item() == pytest.approx(np.cov([1.0, 2.0, 4.0]), rel=1e-15)
    assert cr.corrcoef(x).shape == ()
    with pytest.raises(ValueError, match="weights sum to 0"):
        cr.cov(x, fweights=cr.tensor([0, 0, 0]))
    with pytest.raises(ValueError, match="weights sum to 0"):
        cr.cov(cr.zeros((2, 0), dtype=cr.float64), aweights=cr.zeros(0, dtype=cr.float64))


def test_cov_with_too_few_degrees_of_freedom_divides_by_plus_zero():
    x = cr.tensor([0.0, 0.37], dtype=cr.float64)
    w = cr.tensor([0.4, 0.9], dtype=cr.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with np.errstate(divide="ignore"):
            c = cr.cov(x, correction=2, aweights=w)
    assert c.item() == np.inf  # a negative dof is clamped to +0, as PyTorch's


@pytest.mark.torch
def test_cov_corner_cases_match_pytorch():
    torch = pytest.importorskip("torch")
    rows = np.array([[0.3, -1.2, 2.5, 0.7]])
    for kw in ({}, {"correction": 0}, {"correction": 5}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = torch.cov(torch.tensor(rows), **kw)
                c = cr.cov(cr.tensor(rows), **kw)
        assert c.shape == tuple(t.shape)
        np.testing.assert_array_equal(c.numpy(), t.numpy())
    t = torch.corrcoef(torch.tensor(rows))
    assert cr.corrcoef(cr.tensor(rows)).shape == tuple(t.shape)
    with pytest.raises(RuntimeError, match="weights sum to zero"):
        torch.cov(torch.tensor(rows), fweights=torch.tensor([0, 0, 0, 0]))
    with pytest.raises(ValueError, match="weights sum to 0"):
        cr.cov(cr.tensor(rows), fweights=cr.tensor([0, 0, 0, 0]))


def test_renorm_refuses_a_vector_as_pytorch():
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(3,\)"):
        cr.renorm(cr.tensor([3.0, 4.0, 0.0]), 2, 0, 1.0)
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        cr.renorm(cr.tensor(3.0), 2, 0, 1.0)


def test_ldexp_with_integer_exponents_does_not_overflow_on_the_way():
    x = cr.tensor([0.0, 1e-40, np.inf, -0.0, 3.0, 5.0], dtype=cr.float32)
    e = cr.tensor([200, 200, -200, 3, 200, -300])
    with np.errstate(over="ignore"):
        got = cr.ldexp(x, e)
        expected = np.ldexp(x.numpy(), e.numpy())
    assert got.dtype == cr.float32
    np.testing.assert_array_equal(got.numpy(), expected)
    assert got.numpy()[1] == np.float32(1e-40) * np.float32(2.0 ** 100) * np.float32(2.0 ** 100)


def test_ldexp_gradients():
    x = cr.tensor([[0.3, -1.2], [2.0, 0.5]], dtype=cr.float64, requires_grad=True)
    e = cr.tensor([3, -4])
    assert cr.gradcheck(lambda a: cr.ldexp(a, e), (x,))
    assert cr.gradgradcheck(lambda a: cr.ldexp(a, e) ** 2, (x,))
    v = cr.tensor([0.3], dtype=cr.float64, requires_grad=True)
    assert cr.gradcheck(lambda a: cr.ldexp(a, cr.tensor([[3], [-4]])), (v,))  # broadcast x


@pytest.mark.torch
def test_ldexp_values_match_pytorch_at_the_float32_range_ends():
    torch = pytest.importorskip("torch")
    x = np.array([0.0, 1e-40, np.inf, 1e38, 1e38, 5.0], dtype=np.float32)
    e = np.array([200, 200, -200, 1000, -1000, -300])
    t = torch.ldexp(torch.tensor(x), torch.tensor(e))
    with np.errstate(over="ignore"):
        c = cr.ldexp(cr.tensor(x), cr.tensor(e))
    assert c.dtype == cr.float32 and t.dtype == torch.float32
    np.testing.assert_array_equal(c.numpy(), t.numpy())


@pytest.mark.torch
def test_logaddexp2_of_float32_and_float64_is_computed_in_float64():
    torch = pytest.importorskip("torch")
    a = np.array([0.3, 1.7, -20.5], dtype=np.float32)
    b = np.array([0.5])
    got = []
    for m in (torch, cr):
        x, y = m.tensor(a, requires_grad=True), m.tensor(b, requires_grad=True)
        z = m.logaddexp2(x, y)
        z.sum().backward()
        got.append((z.detach().numpy(), x.grad.numpy(), y.grad.numpy()))
    for t, c in zip(*got):
        assert c.dtype == t.dtype
        np.testing.assert_allclose(c, t, rtol=1e-14 if c.dtype == np.float64 else 1e-6)


@pytest.mark.torch
def test_ldexp_gradient_at_negative_exponents_is_two_to_the_exponent_unlike_pytorch():
    torch = pytest.importorskip("torch")
    e = [-2, 2]
    t = torch.ones(2, dtype=torch.float64, requires_grad=True)
    torch.ldexp(t, torch.tensor(e)).sum().backward()
    c = cr.ones(2, dtype=cr.float64, requires_grad=True)
    cr.ldexp(c, cr.tensor(e)).sum().backward()
    assert t.grad.tolist() == [0.0, 4.0]  # docs/pytorch.md: PyTorch 2.13's is 0 at e < 0
    assert c.grad.tolist() == [0.25, 4.0]
