"""The special functions of ops/special_fns.py and chainrule.special: accuracy against SciPy (a
test-only oracle) over wide ranges, forward and backward against PyTorch (float64), gradcheck and
gradgradcheck, the poles and edges PyTorch defines, and clear errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import _gamma

pytestmark = pytest.mark.kernel_free


def _wide(rng):
    return np.concatenate([rng.uniform(-60, 60, 3000), rng.uniform(0, 4, 3000),
                           10 ** rng.uniform(-300, 300, 500), rng.uniform(-4, 0, 1000),
                           -(10 ** rng.uniform(0, 8, 300)) + 0.37])


def _rel(ours, want):
    both = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(ours), both)
    return np.abs(ours[both] - want[both]) / np.maximum(np.abs(want[both]), 1e-300)


def test_gamma_family_matches_scipy_over_wide_ranges():
    sp = pytest.importorskip("scipy.special")
    x = _wide(np.random.default_rng(0))
    # away from the roots of lgamma (1, 2 and two per unit interval below 0) and digamma, where
    # only an absolute error is meaningful (and SciPy's own relative error grows there)
    far_l, far_d = np.abs(sp.gammaln(x)) > 1e-2, np.abs(sp.digamma(x)) > 1e-2
    assert _rel(_gamma.lgamma(x), sp.gammaln(x))[far_l[np.isfinite(sp.gammaln(x))]].max() < 1e-13
    assert _rel(_gamma.digamma(x), sp.digamma(x))[far_d[np.isfinite(sp.digamma(x))]].max() < 1e-12
    np.testing.assert_allclose(_gamma.lgamma(x[~far_l]), sp.gammaln(x[~far_l]), rtol=0,
                               atol=1e-15)
    small = x[x > -100]
    for n in (1, 2, 3, 6):
        want = sp.polygamma(n, small)
        assert np.nanmax(_rel(_gamma.polygamma(n, small), want)) < 1e-12, n


def test_gamma_family_near_its_roots_matches_mpmath():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    x = np.concatenate([1 + np.linspace(-1e-3, 1e-3, 21), 2 + np.linspace(-1e-3, 1e-3, 21),
                        [1.4616321449683622, -2.4570247382208006, 1 + 1e-9, 2 - 1e-12]])
    x = x[(x != 1) & (x != 2)]
    want_l = np.array([float(mpmath.loggamma(v).real) for v in x])
    want_d = np.array([float(mpmath.digamma(v)) for v in x])
    # at a root only an absolute error means something: about 1 ulp of the O(1) terms summed
    np.testing.assert_allclose(_gamma.lgamma(x), want_l, rtol=1e-14, atol=4.5e-16)
    np.testing.assert_allclose(_gamma.digamma(x), want_d, rtol=2e-13, atol=4.5e-16)


def test_inverse_normal_functions_match_scipy():
    sp = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(1)
    u = np.concatenate([rng.uniform(-1, 1, 3000), 1 - 10 ** rng.uniform(-16, 0, 300),
                        -(10 ** rng.uniform(-300, 0, 300))])
    assert _rel(_gamma.erfinv(u), sp.erfinv(u)).max() < 1e-14
    p = np.concatenate([10 ** rng.uniform(-300, 0, 500), rng.uniform(0, 1, 1000)])
    assert _rel(_gamma.ndtri(p), sp.ndtri(p)).max() < 1e-13
    x = np.concatenate([rng.uniform(-26, 60, 3000), 10 ** rng.uniform(-300, 300, 500),
                        -(10 ** rng.uniform(-300, 1, 300)), [1.0, 8.0, 50.0]])
    assert _rel(_gamma.erfcx(x), sp.erfcx(x)).max() < 2e-15
    z = np.concatenate([-(10 ** rng.uniform(-3, 5, 500)), rng.uniform(-30, 30, 1000)])
    err = _rel(_gamma.log_ndtr(z), sp.log_ndtr(z))
    assert err[z < 8].max() < 1e-13
    # above 8, log Phi(z) = -Phi(-z) ~ e^(-z^2/2): rounding z^2 costs up to z^2 * 1.1e-16
    # relative, in ours and in SciPy's alike
    assert (err[z >= 8] < 4e-16 * z[z >= 8] ** 2).all()


# PyTorch's trigamma (polygamma(1, .), and so digamma's gradient) is a short asymptotic series
# with relative error up to about 5e-10 in float64 (trigamma(1) = pi^2/6 comes out 1.6449340676);
# ours is checked to 1e-12 against SciPy above, so against PyTorch it can only agree to this.
TRIGAMMA_RTOL = 1e-9
TRIGAMMA_CASES = {"digamma", "polygamma1", "psi", "polygamma2_method"}


def test_bessel_functions_match_scipy():
    sp = pytest.importorskip("scipy.special")
    from chainrule.ops import _bessel
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-40, 40, 4000), 10 ** rng.uniform(-300, 3, 500),
                        [0.0, 19.999, 20.0, 20.001, -20.0]])
    for ours, theirs in ((_bessel.i0e, sp.i0e), (_bessel.i1e, sp.i1e)):
        want = theirs(x)
        assert _rel(ours(x), want).max() < 3e-15
    v = np.array([-3.0, 0.0, 1.5, 700.0, 720.0, np.nan])
    np.testing.assert_allclose(cr.i0(cr.tensor(v)).numpy(), sp.i0(v), rtol=3e-15)
    np.testing.assert_allclose(cr.special.i1(cr.tensor(v)).numpy(), sp.i1(v), rtol=3e-15)
    inf = cr.tensor([np.inf, -np.inf], dtype=cr.float64)  # the limits (SciPy and PyTorch: nan)
    assert cr.i0(inf).tolist() == [np.inf, np.inf]
    assert cr.special.i1(inf).tolist() == [np.inf, -np.inf]
    assert cr.special.i0e(inf).tolist() == [0.0, 0.0]


@pytest.mark.torch
def test_poles_and_edges_match_pytorch():
    torch = pytest.importorskip("torch")
    v = np.array([0.0, -1.0, -2.0, 1.0, 2.0, np.inf, np.nan, -2.5, 0.5, 1e-300])
    for ours, theirs, rtol in [
            (cr.lgamma, torch.lgamma, 1e-13), (cr.digamma, torch.digamma, 1e-13),
            (lambda t: cr.polygamma(1, t[[0, 3, 4, 5, 6, 7, 8, 9]]),
             lambda t: torch.polygamma(1, t[[0, 3, 4, 5, 6, 7, 8, 9]]), TRIGAMMA_RTOL),
            (lambda t: cr.polygamma(2, t[[0, 1, 3, 7, 8]]),
             lambda t: torch.polygamma(2, t[[0, 1, 3, 7, 8]]), 1e-13)]:
        np.testing.assert_allclose(ours(cr.tensor(v)).numpy(), theirs(torch.tensor(v)).numpy(),
                                   rtol=rtol, atol=0)
    e = np.array([1.0, -1.0, 1.5, -2.0, 0.0, -0.0, np.nan, 0.999999])
    np.testing.assert_array_equal(cr.erfinv(cr.tensor(e)).numpy()[:7],
                                  torch.erfinv(torch.tensor(e)).numpy()[:7])
    inf = np.array([np.inf, -np.inf, np.nan, -30.0])
    np.testing.assert_array_equal(cr.special.erfcx(cr.tensor(inf)).numpy(),
                                  torch.special.erfcx(torch.tensor(inf)).numpy())
    p = np.array([0.0, 1.0, -0.5, 1.5, np.nan])
    np.testing.assert_array_equal(cr.special.ndtri(cr.tensor(p)).numpy(),
                                  torch.special.ndtri(torch.tensor(p)).numpy())
    x = np.array([0.0, 0.0, 0.0, 2.0, 1.0, 0.0])
    y = np.array([0.0, np.nan, -1.0, 3.0, -1.0, np.inf])
    for name in ("xlogy", "xlog1py"):
        ours = getattr(cr.special, name)(cr.tensor(x), cr.tensor(y))
        theirs = getattr(torch.special, name)(torch.tensor(x), torch.tensor(y))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    h = np.array([-1.5, 0.0, 2.0, -0.0])
    half = np.array([0.5])
    np.testing.assert_array_equal(cr.heaviside(cr.tensor(h), cr.tensor(half)).numpy(),
                                  torch.heaviside(torch.tensor(h), torch.tensor(half)).numpy())
    np.testing.assert_array_equal(cr.copysign(cr.tensor(h), -0.0).numpy(),
                                  torch.copysign(torch.tensor(h), -0.0).numpy())
    np.testing.assert_array_equal(cr.special.entr(cr.tensor(h)).numpy(),
                                  torch.special.entr(torch.tensor(h)).numpy())


def _pos(rng, shape):
    return rng.uniform(0.3, 4.0, shape)


def _unit(rng, shape):
    return rng.uniform(-0.9, 0.9, shape)


def _prob(rng, shape):
    return rng.uniform(0.05, 0.95, shape)


def _any(rng, shape):
    return rng.standard_normal(shape) * 2


def _big(rng, shape):
    return rng.uniform(1.2, 3.0, shape)


# name: (call on a library module `L` and its inputs, input makers)
CASES = {
    "lgamma": (lambda L, x: L.lgamma(x), [_any]),
    "lgamma_method": (lambda L, x: (x * 3).lgamma(), [_pos]),
    "digamma": (lambda L, x: L.digamma(x), [_any]),
    "polygamma1": (lambda L, x: L.polygamma(1, x), [_any]),
    "polygamma3": (lambda L, x: L.polygamma(3, x), [_pos]),
    "polygamma2_method": (lambda L, x: x.polygamma(2), [_any]),
    "mvlgamma": (lambda L, x: L.mvlgamma(x + 2, 3), [_pos]),
    "multigammaln": (lambda L, x: L.special.multigammaln(x + 1, 2), [_pos]),
    "gammaln": (lambda L, x: L.special.gammaln(x), [_pos]),
    "psi": (lambda L, x: L.special.psi(x), [_pos]),
    "erfinv": (lambda L, x: L.erfinv(x), [_unit]),
    "ndtr": (lambda L, x: L.special.ndtr(x), [_any]),
    "erfcx": (lambda L, x: L.special.erfcx(x * 4) + L.special.erfcx(x * x * 80), [_unit]),
    "ndtri": (lambda L, x: L.special.ndtri(x), [_prob]),
    "log_ndtr": (lambda L, x: L.special.log_ndtr(x * 10), [_any]),
    "logit": (lambda L, x: L.logit(x), [_prob]),
    "logit_eps": (lambda L, x: L.logit(x, 0.2), [_prob]),
    "special_logit": (lambda L, x: L.special.logit(x, eps=0.1), [_prob]),
    "xlogy": (lambda L, x, y: L.xlogy(x, y), [_any, _pos]),
    "xlogy_scalar": (lambda L, y: L.xlogy(2.5, y) + L.special.xlogy(y, 3.0), [_pos]),
    "xlog1py": (lambda L, x, y: L.special.xlog1py(x, y), [_any, _pos]),
    "sinc": (lambda L, x: L.sinc(x), [_any]),
    "asinh": (lambda L, x: L.asinh(x), [_any]),
    "acosh": (lambda L, x: L.acosh(x), [_big]),
    "atanh": (lambda L, x: L.atanh(x), [_unit]),
    "arcsinh": (lambda L, x: x.arcsinh() + L.arctanh(x / 3), [_unit]),
    "deg2rad": (lambda L, x: L.deg2rad(x) + L.rad2deg(x), [_any]),
    "copysign": (lambda L, a, b: L.copysign(a, b), [_any, _any]),
    "float_power": (lambda L, a, b: L.float_power(a, b), [_pos, _any]),
    "float_power_scalar": (lambda L, a: L.float_power(a, 2.5), [_pos]),
    "true_divide": (lambda L, a, b: L.true_divide(a, b), [_any, _pos]),
    "fix": (lambda L, a: L.fix(a * 3) * a, [_any]),
    "entr": (lambda L, a: L.special.entr(a), [_pos]),
    "i0": (lambda L, a: L.i0(a * 5) + a.i0(), [_any]),
    "i0e": (lambda L, a: L.special.i0e(a * 5), [_any]),
    "i1": (lambda L, a: L.special.i1(a * 5), [_any]),
    "i1e": (lambda L, a: L.special.i1e(a * 5), [_any]),
    "expit": (lambda L, a: L.special.expit(a), [_any]),
    "special_softmax": (lambda L, a: L.special.softmax(a, 1) + L.special.log_softmax(a, 0),
                        [_any]),
    "special_logsumexp": (lambda L, a: L.special.logsumexp(a, 1, True), [_any]),
    "special_erf": (lambda L, a: L.special.erf(a) + L.special.erfc(a) * L.special.expm1(a)
                    + L.special.exp2(a) + L.special.log1p(a * a), [_any]),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch_forward_and_backward(name):
    torch = pytest.importorskip("torch")
    fn, makers = CASES[name]
    rng = np.random.default_rng(len(name))
    arrays = [make(rng, (3, 4)) for make in makers]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, u = fn(cr, *ours), fn(torch, *theirs)
    assert y.shape == tuple(u.shape) and y.dtype == np.float64
    trigamma = name in TRIGAMMA_CASES
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), atol=1e-13,
                               rtol=TRIGAMMA_RTOL if name == "polygamma1" else 1e-12)
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        ga = np.zeros(a.shape) if a.grad is None else a.grad.numpy()  # copysign's sign input
        np.testing.assert_allclose(ga, b.grad.numpy(), atol=1e-12,
                                   rtol=TRIGAMMA_RTOL if trigamma else 1e-10)


SMOOTH = ["lgamma", "digamma", "polygamma1", "polygamma3", "mvlgamma", "erfinv", "ndtr", "erfcx",
          "ndtri", "log_ndtr", "logit", "xlogy", "xlogy_scalar", "xlog1py", "sinc", "asinh",
          "acosh", "atanh", "copysign", "float_power", "entr", "i0", "i0e", "i1", "i1e"]


@pytest.mark.parametrize("name", SMOOTH)
def test_gradcheck_and_gradgradcheck(name):
    fn, makers = CASES[name]
    rng = np.random.default_rng(7)
    xs = [cr.tensor(make(rng, (2, 3)), requires_grad=True) for make in makers]
    assert cr.gradcheck(lambda *t: fn(cr, *t), xs)
    assert cr.gradgradcheck(lambda *t: fn(cr, *t), xs)


def test_dtypes_follow_pytorch():
    x32 = cr.tensor([0.5, 2.5], dtype=cr.float32)
    for f in (cr.lgamma, cr.digamma, cr.erfinv, cr.sinc, cr.asinh, cr.special.ndtr):
        assert f(x32 * 0.5).dtype == np.float32
    ints = cr.tensor([1, 2, 3])
    assert cr.lgamma(ints).dtype == cr.get_default_dtype()
    assert cr.deg2rad(ints).dtype == cr.get_default_dtype()
    assert cr.float_power(ints, 2).dtype == np.float64
    np.testing.assert_allclose(cr.lgamma(ints).numpy(), [0.0, 0.0, np.log(2.0)], atol=1e-7)


def test_sinc_differentiates_twice_at_zero():
    x = cr.tensor([0.0, 0.5], dtype=cr.float64, requires_grad=True)
    (g,) = cr.grad(cr.sinc(x).sum(), x, create_graph=True)
    assert g.tolist()[0] == 0.0
    (h,) = cr.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy()[0], -np.pi ** 2 / 3, rtol=1e-15)  # sinc''(0)
    assert cr.gradgradcheck(cr.sinc, [cr.tensor([0.0, 1e-3, -0.7], dtype=cr.float64,
                                                requires_grad=True)])


@pytest.mark.torch
def test_digamma_at_signed_zeros_matches_pytorch():
    # psi(-0) is +inf, the limit from below (it was -inf); lgamma's gradient there too
    torch = pytest.importorskip("torch")
    a = np.array([-0.0, 0.0])
    np.testing.assert_array_equal(cr.digamma(cr.tensor(a)).numpy(),
                                  torch.digamma(torch.tensor(a)).numpy())
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    cr.lgamma(x).sum().backward()
    torch.lgamma(t).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.torch
def test_logit_outside_the_unit_interval_has_a_nan_gradient_as_pytorch():
    # without eps, x outside [0, 1] gave NaN with the finite gradient 1 / (x (1 - x))
    torch = pytest.importorskip("torch")
    a = np.array([-0.5, 0.3, 1.5, 0.9])
    for eps in (None, 0.2):
        x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, u = cr.logit(x, eps), torch.logit(t, eps)
        np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-15)
        y.sum().backward()
        u.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-15)


def test_heaviside_carries_no_gradient():
    x = cr.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    h = cr.heaviside(x, cr.tensor([0.5], dtype=x.dtype))
    assert not h.requires_grad
    assert h.tolist() == [0.0, 0.5, 1.0]


def test_bad_arguments_are_refused_clearly():
    x = cr.tensor([0.5, 1.5])
    with pytest.raises(ValueError, match="polygamma: n must be a non-negative int, got -1"):
        cr.polygamma(-1, x)
    with pytest.raises(ValueError, match="mvlgamma: p must be a positive int, got 0"):
        cr.mvlgamma(x, 0)
    with pytest.raises(ValueError, match="polygamma: order n=2 >= 2 is computed for arguments"):
        cr.polygamma(2, cr.tensor([-2e4 + 0.5], dtype=cr.float64))
    with pytest.raises(TypeError, match="heaviside: input and values must have the same dtype"):
        cr.heaviside(x, cr.tensor([1]))
    with pytest.raises(TypeError, match="xlogy: expected at least one Tensor"):
        cr.xlogy(1.0, 2.0)
    with pytest.raises(ValueError, match=r"xlogy: shapes \(2,\) and \(3,\) cannot be broadcast"):
        cr.xlogy(x, cr.ones(3))
    with pytest.raises(TypeError, match="lgamma: expected a Tensor, got list"):
        cr.lgamma([1.0])
