"""addcmul, addcdiv, ldexp, logaddexp2, frexp, gcd/lcm, nextafter, isin, isposinf..., vander, ger
and the complex-number names on real tensors, against PyTorch (values, dtypes, gradients), with
float64 gradient checks and the errors for bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid
from .torch_signature import check_signature

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

NAMES = ["addcmul", "addcdiv", "ldexp", "logaddexp2", "frexp", "gcd", "lcm", "nextafter",
         "isposinf", "isneginf", "isreal", "isin", "angle", "conj", "conj_physical",
         "resolve_conj", "resolve_neg", "real", "imag", "is_conj", "is_neg", "is_nonzero",
         "is_same_size", "is_signed", "ger", "vander"]


def _signatures_follow_pytorch_case(name):
    undocumented = {"is_neg": "is_neg(input)", "is_same_size": "is_same_size(input, other)",
                    "is_signed": "is_signed(input)"}  # PyTorch's docstrings do not say
    check_signature(name, getattr(cr, name), undocumented.get(name, getattr(torch, name)))


def test_signatures_follow_pytorch():
    each_case(_signatures_follow_pytorch_case, grid(("name", NAMES)))


def _pair(rng, *shapes, shift=0.0):
    arrays = [rng.standard_normal(s) + shift for s in shapes]
    return ([cr.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _same(rng, ours, theirs, xs, txs):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-13, atol=1e-14)
    g = rng.standard_normal(ours.shape)
    ours.backward(cr.tensor(g))
    theirs.backward(torch.tensor(g))
    for x, tx in zip(xs, txs, strict=True):
        assert (x.grad is None) == (tx.grad is None)
        if x.grad is not None:
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-13)


CALLS = {
    "addcmul": lambda m, a, b, c: m.addcmul(a, b, c, value=-0.5),
    "addcmul-method": lambda m, a, b, c: a.addcmul(b, c),
    "addcdiv": lambda m, a, b, c: m.addcdiv(a, b, c, value=2.0),
    "addcdiv-method": lambda m, a, b, c: a.addcdiv(b, c),
    "ldexp": lambda m, a, b, c: m.ldexp(a, b) + a.ldexp(c),
    "logaddexp2": lambda m, a, b, c: m.logaddexp2(a * 300, b) + a.logaddexp2(c),
    "frexp": lambda m, a, b, c: m.frexp(a * 40).mantissa * a.frexp()[0],
    "angle": lambda m, a, b, c: m.angle(a) * b + a.angle() + b,
    "ger": lambda m, a, b, c: m.ger(b, a) + b.ger(a * 2),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_differentiable_ones_match_pytorch(rng, name):
    (a, b, c), (ta, tb, tc) = _pair(rng, (3,), (3,), (2, 3), shift=0.5)
    _same(rng, CALLS[name](cr, a, b, c), CALLS[name](torch, ta, tb, tc), [a, b, c], [ta, tb, tc])


@pytest.mark.parametrize("name", ["addcmul", "addcdiv", "ldexp", "logaddexp2", "frexp",
                                  "vander", "angle"])
def test_gradchecks(rng, name):
    (a, b, c), _ = _pair(rng, (3,), (3,), (2, 3), shift=0.5)
    f = CALLS[name]
    assert cr.gradcheck(lambda x, y, z: f(cr, x, y, z), (a, b, c))
    if name not in ("frexp", "angle"):  # piecewise in the exponent: second order is f's
        assert cr.gradgradcheck(lambda x, y, z: f(cr, x, y, z), (a, b, c))


CALLS["vander"] = lambda m, a, b, c: m.vander(a) + m.vander(b, 4, increasing=True)[:, :3]


@pytest.mark.parametrize("n, increasing", [(None, False), (4, True), (2, False), (5, False)])
def test_vander_matches_pytorch_and_its_gradient_is_exact_at_zero(rng, n, increasing):
    """torch.vander's own backward fails in PyTorch 2.13 (an in-place error), so its gradient
    oracle is torch.linalg.vander, the same matrix with increasing powers."""
    a = np.array([0.0, 2.0, -1.5])
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours = cr.vander(x, n, increasing)
    np.testing.assert_allclose(ours.numpy(), torch.vander(tx.detach(), n, increasing).numpy())
    theirs = torch.linalg.vander(tx, N=n)
    theirs = theirs if increasing else theirs.flip(-1)
    _same(rng, ours, theirs, [x], [tx])


def test_integer_inputs_and_dtypes_match_pytorch(rng):
    i, j = rng.integers(-30, 30, (4, 5)), rng.integers(-6, 7, (5,))
    ci, cj, ti, tj = cr.tensor(i), cr.tensor(j), torch.tensor(i), torch.tensor(j)
    pairs = [
        (cr.gcd(ci, cj), torch.gcd(ti, tj)), (cr.lcm(ci, cj), torch.lcm(ti, tj)),
        (ci.gcd(cj), ti.gcd(tj)), (cr.ldexp(ci, cj), torch.ldexp(ti, tj)),
        (cr.addcmul(ci, ci, cj, value=2), torch.addcmul(ti, ti, tj, value=2)),
        (cr.angle(ci), torch.angle(ti)), (cr.vander(cj), torch.vander(tj)),
        (cr.vander(cj, 0), torch.vander(tj, 0)), (cr.isneginf(ci), torch.isneginf(ti)),
        (cr.isreal(ci), torch.isreal(ti)), (cr.isin(ci, cj), torch.isin(ti, tj)),
        (cr.isin(ci, 3), torch.isin(ti, 3)), (cr.isin(3, cj), torch.isin(3, tj)),
        (cr.isin(ci, cj, invert=True), torch.isin(ti, tj, invert=True)),
    ]
    for ours, theirs in pairs:
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours, theirs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-7)


def test_float_predicates_and_frexp_match_pytorch():
    a = np.array([0.0, -0.0, 1.5, -3.0, np.inf, -np.inf, np.nan, 1e-310, 7.0])
    ca, ta = cr.tensor(a), torch.tensor(a)
    for name in ("isposinf", "isneginf", "isreal", "angle"):
        np.testing.assert_array_equal(getattr(cr, name)(ca).numpy(),
                                      getattr(torch, name)(ta).numpy())
    m, e = cr.frexp(ca)
    tm, te = torch.frexp(ta)
    assert e.dtype == np.int32 and not e.requires_grad
    np.testing.assert_array_equal(m.numpy(), tm.numpy())
    np.testing.assert_array_equal(e.numpy(), te.numpy())
    for other in (np.array([1.0]), np.array([-np.inf])):
        np.testing.assert_array_equal(cr.nextafter(ca, cr.tensor(other)).numpy(),
                                      torch.nextafter(ta, torch.tensor(other)).numpy())
    np.testing.assert_array_equal(cr.isin(ca, cr.tensor([1.5, np.nan])).numpy(),
                                  torch.isin(ta, torch.tensor([1.5, np.nan])).numpy())


def test_real_tensors_complex_names():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    tx = torch.tensor([1.0, -2.0], requires_grad=True)
    for name in ("conj", "conj_physical", "resolve_conj", "resolve_neg", "real"):
        assert getattr(cr, name)(x) is x and (getattr(torch, name)(tx) is tx)
    assert x.real is x and x.conj() is x
    for name in ("is_conj", "is_neg"):
        assert getattr(cr, name)(x) is getattr(torch, name)(tx) is False
    with pytest.raises(TypeError, match="imag is not implemented for tensors with non-complex"):
        cr.imag(x)
    with pytest.raises(TypeError, match="imag is not implemented"):
        _ = x.imag


def test_introspection_predicates_match_pytorch():
    for data, dtype in (([0.0], "float32"), ([2], "int64"), ([1], "uint8"), ([True], "bool"),
                        ([[0.0]], "float64"), ([-1], "int8")):
        x, tx = cr.tensor(data, dtype=dtype), torch.tensor(data, dtype=getattr(torch, dtype))
        assert cr.is_nonzero(x) == torch.is_nonzero(tx)
        assert cr.is_signed(x) == torch.is_signed(tx) == x.is_signed()
    a, b = cr.zeros(2, 3), cr.zeros(3, 2)
    assert cr.is_same_size(a, a) and not a.is_same_size(b)
    with pytest.raises(ValueError, match=r"is_nonzero: input must have exactly one element, "
                                         r"got shape \(2,\)"):
        cr.is_nonzero(cr.tensor([1.0, 2.0]))


def test_bad_inputs_get_clear_errors():
    f, i = cr.tensor([1.0, 2.0]), cr.tensor([1, 2])
    with pytest.raises(TypeError, match="addcdiv: integer division is not supported"):
        cr.addcdiv(i, i, i)
    with pytest.raises(TypeError, match="gcd: other must be an integer tensor, got float"):
        cr.gcd(i, f)
    with pytest.raises(TypeError, match="frexp: input must be floating point, got dtype int64"):
        cr.frexp(i)
    with pytest.raises(TypeError, match="logaddexp2: input and other must promote to floating"):
        cr.logaddexp2(i, i)  # an integer beside a float promotes, as PyTorch
    with pytest.raises(TypeError, match="isin: elements or test_elements must be a Tensor"):
        cr.isin(1, [1, 2])
    with pytest.raises(ValueError, match=r"vander: x must be 1-D, got shape \(1, 2\)"):
        cr.vander(f[None])
    with pytest.raises(ValueError, match="ger: vec2 must be 1-D"):
        cr.ger(f, f[None])
    with pytest.raises(TypeError, match="addcmul: tensor1 must be a Tensor, got list"):
        cr.addcmul(f, [1.0], f)
    assert math.isclose(cr.logaddexp2(cr.tensor(1000.0), cr.tensor(1000.0)).item(), 1001.0)
