"""special.gammainc, gammaincc and zeta: values against PyTorch and SciPy (float64, wide ranges),
against mpmath where both of those lose digits, the edges, gradients (finite differences and
PyTorch's, with respect to x and q only, as PyTorch), dtypes and errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import special

pytestmark = pytest.mark.kernel_free


def _grid_inc(rng):
    a = np.concatenate([10 ** rng.uniform(-3, 3, 400), [0.5, 1.0, 2.0, 10.0, 100.0]])
    x = np.concatenate([a[:200] * 10 ** rng.uniform(-1, 1, 200), 10 ** rng.uniform(-3, 3, 200),
                        [0.5, 1.0, 2.0, 10.0, 100.0]])
    return a, x


def _grid_zeta(rng):
    s = np.concatenate([1 + 10 ** rng.uniform(-6, 2.5, 400), [2.0, 3.0, 4.0, 50.0, 3.0, 4.0]])
    q = np.concatenate([10 ** rng.uniform(-3, 6, 400), [1.0, 0.5, 3.0, 10.0, -1.5, -2.5]])
    return s, q


CASES = {"gammainc": _grid_inc, "gammaincc": _grid_inc, "zeta": _grid_zeta}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(CASES))
def test_values_match_torch_and_scipy(rng, name):
    torch = pytest.importorskip("torch")
    sc = pytest.importorskip("scipy.special")
    a, x = CASES[name](rng)
    ours = getattr(special, name)(cr.tensor(a), cr.tensor(x)).numpy()
    theirs = getattr(torch.special, name)(torch.tensor(a), torch.tensor(x)).numpy()
    scipy_values = getattr(sc, name)(a, x)
    keep = np.abs(scipy_values) > 1e-100  # deep in the tails all three differ in the last digits
    np.testing.assert_allclose(ours[keep], scipy_values[keep], rtol=2e-12)
    # PyTorch's asymptotic series for a > 20 errs by up to 2e-9 relative where x is near a
    # (ours and SciPy's agree with mpmath there to 1e-15; docs/pytorch.md)
    torch_off = (a >= 20) & (name != "zeta")
    np.testing.assert_allclose(ours[keep & ~torch_off], theirs[keep & ~torch_off], rtol=2e-12)
    np.testing.assert_allclose(ours[keep & torch_off], theirs[keep & torch_off], rtol=5e-9)
    assert (ours[~keep] < 1e-99).all()


def test_far_tails_and_large_a_against_mpmath():
    """Where PyTorch or SciPy lose digits (their relative errors here reach 1e-11 to 2e-10;
    docs/pytorch.md): large a, and values near the underflow; and near x = a, where PyTorch's
    asymptotic series errs by up to 2e-9."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    a = np.array([897977.2096947161, 3873.073697639477, 56.283449032685134, 2962.035335425602,
                  21.83470680713222, 100.0, 100.0])
    x = np.array([889178.6781466466, 6178.223679627396, 0.0010561435632752334, 1562.0800007172636,
                  27.200192791436347, 100.0, 100.0])
    upper = np.array([False, True, False, False, True, False, True])
    for ai, xi, up in zip(a, x, upper, strict=True):
        fn = special.gammaincc if up else special.gammainc
        want = float(mp.gammainc(ai, xi, mp.inf, regularized=True) if up
                     else mp.gammainc(ai, 0, xi, regularized=True))
        got = fn(cr.tensor([ai], dtype=cr.float64), cr.tensor([xi], dtype=cr.float64)).numpy()[0]
        assert abs(got - want) <= 2e-12 * abs(want), (ai, xi, got, want)


def test_small_a_against_mpmath():
    """Q(a, x) for a near 0 (at x < a + 1) is a small difference 1 - P: it comes from its own
    series, good to 1e-15 where 1 - P would keep P's rounding (PyTorch's errs by 1e-7 at
    a = 1e-10)."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    a = np.array([1e-10, 1e-5, 1e-3, 0.3, 0.01, 0.1, 1e-300])
    x = np.array([0.5, 0.5, 0.87, 0.2, 0.01, 0.001, 1e-300])
    got = special.gammaincc(cr.tensor(a), cr.tensor(x)).numpy()
    # Q's definition, Gamma(a, x) / Gamma(a), at 40 digits: the same float64 values as
    # regularized=True, which takes a very slow path at a = 1e-300
    want = np.array([float(mp.gammainc(ai, xi) / mp.gamma(ai))
                     for ai, xi in zip(a, x, strict=True)])
    np.testing.assert_allclose(got, want, rtol=2e-15)


@pytest.mark.torch
def test_edges_match_torch():
    torch = pytest.importorskip("torch")
    inf, nan = np.inf, np.nan
    a = np.array([0.0, 1.0, -1.0, 1.0, inf, 2.0, 0.0, inf, nan, 1.0, 3.0])
    x = np.array([1.0, 0.0, 1.0, -1.0, 1.0, inf, 0.0, inf, 1.0, nan, 1e-300])
    for name in ("gammainc", "gammaincc"):
        ours = getattr(special, name)(cr.tensor(a), cr.tensor(x)).numpy()
        theirs = getattr(torch.special, name)(torch.tensor(a), torch.tensor(x)).numpy()
        np.testing.assert_array_equal(ours, theirs)
    s = np.array([2.0, 0.5, 1.0, -1.0, 3.0, 2.0, 2.0, 2.5, nan, 2.0, inf])
    q = np.array([1.0, 1.0, 1.0, 1.0, -2.0, 0.0, -inf, -0.5, 1.0, nan, 1.0])
    ours = special.zeta(cr.tensor(s), cr.tensor(q)).numpy()
    theirs = torch.special.zeta(torch.tensor(s), torch.tensor(q)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-15)


def test_zeta_limits_where_torch_gives_nan():
    """zeta(s, inf) = 0 and zeta(inf, q) = q^-inf (PyTorch: nan for both but q = 1, 1/2)."""
    out = special.zeta(cr.tensor([2.0, 3.5, np.inf, np.inf, np.inf]),
                       cr.tensor([np.inf, np.inf, 2.0, 1.0, 0.5])).numpy()
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0, 1.0, np.inf])


def test_gradients_by_finite_differences():
    a = cr.tensor([0.5, 2.0, 7.5, 30.0], dtype=cr.float64)
    x = cr.tensor([0.3, 2.5, 6.0, 33.0], dtype=cr.float64, requires_grad=True)
    s = cr.tensor([2.0, 3.5, 1.5, 6.0], dtype=cr.float64)
    q = cr.tensor([0.7, 2.0, 5.0, 30.0], dtype=cr.float64, requires_grad=True)
    for fn, args, wrt in ((special.gammainc, (a, x), x), (special.gammaincc, (a, x), x),
                          (special.zeta, (s, q), q)):
        first = args[0]
        assert cr.gradcheck(lambda t, fn=fn, first=first: fn(first, t), [wrt])
        assert cr.gradgradcheck(lambda t, fn=fn, first=first: fn(first, t), [wrt])


@pytest.mark.torch
@pytest.mark.parametrize("name", list(CASES))
def test_gradients_match_torch(rng, name):
    torch = pytest.importorskip("torch")
    a = np.array([[0.5, 2.0, 7.5], [30.0, 1.5, 4.0]])
    x = np.array([0.3, 2.5, 6.0])  # broadcast against a: the gradient sums over the rows
    ours_x = cr.tensor(x, requires_grad=True)
    their_x = torch.tensor(x, requires_grad=True)
    g = rng.standard_normal((2, 3))
    getattr(special, name)(cr.tensor(a + (1 if name == "zeta" else 0)), ours_x).backward(
        cr.tensor(g))
    getattr(torch.special, name)(torch.tensor(a + (1 if name == "zeta" else 0)),
                                 their_x).backward(torch.tensor(g))
    np.testing.assert_allclose(ours_x.grad.numpy(), their_x.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_no_derivative_in_the_first_argument_as_torch(name):
    first = cr.tensor([2.5], dtype=cr.float64, requires_grad=True)
    out = getattr(special, name)(first, cr.tensor([1.5], dtype=cr.float64))
    with pytest.raises(NotImplementedError, match=f"{name}: the derivative with respect to "
                                                  "input .* is not implemented"):
        out.sum().backward()


def test_dtypes_and_errors():
    f32 = cr.tensor(np.array([2.0, 3.0], np.float32))
    assert special.gammainc(f32, f32).dtype == np.float32
    assert special.gammainc(f32, f32.double()).dtype == np.float64
    assert special.zeta(f32, 1.0).dtype == np.float32
    assert special.zeta(2.0, cr.tensor([1, 2])).dtype == cr.get_default_dtype()
    np.testing.assert_allclose(special.zeta(2, cr.tensor([1.0], dtype=cr.float64)).numpy(),
                               [np.pi ** 2 / 6], rtol=1e-15)
    with pytest.raises(TypeError, match="gammainc: other must be a Tensor, got float"):
        special.gammainc(f32, 2.0)
    with pytest.raises(TypeError, match="gammaincc: input must be a floating-point Tensor"):
        special.gammaincc(cr.tensor([1, 2]), cr.tensor([1, 2]))  # one float operand: promoted
    with pytest.raises(ValueError, match=r"zeta: .*\(3,\).*\(2,\)"):
        special.zeta(cr.tensor([2.0, 3.0, 4.0]), f32)
    with pytest.raises(ValueError, match=r"zeta: q = -1e\+06 would take .* not supported"):
        special.zeta(cr.tensor([2.0]), cr.tensor([-1e6 - 0.5]))
    with pytest.raises(ValueError, match="the largest is 1e\\+09.*not supported"):
        special.gammainc(cr.tensor([1e9], dtype=cr.float64), cr.tensor([1e9], dtype=cr.float64))
