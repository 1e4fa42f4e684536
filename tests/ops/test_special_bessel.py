"""special's Bessel and Airy functions: values against SciPy, PyTorch and mpmath (float64, from
1e-300 to 1e15, zeros, negative arguments, the infinities), no gradient (as PyTorch), dtypes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import special

pytestmark = pytest.mark.kernel_free

SCIPY = {"bessel_j0": "j0", "bessel_j1": "j1", "bessel_y0": "y0", "bessel_y1": "y1",
         "modified_bessel_i0": "i0", "modified_bessel_i1": "i1", "modified_bessel_k0": "k0",
         "modified_bessel_k1": "k1", "scaled_modified_bessel_k0": "k0e",
         "scaled_modified_bessel_k1": "k1e", "spherical_bessel_j0": None, "airy_ai": None}
NAMES = list(SCIPY)


def _points(name):
    x = np.concatenate([np.linspace(0, 40, 2001)[1:], 10 ** np.linspace(-300, -1, 40),
                        10 ** np.linspace(1.6, 3, 150)])
    if name in ("bessel_j0", "bessel_j1", "modified_bessel_i0", "modified_bessel_i1",
                "spherical_bessel_j0"):
        x = np.concatenate([x, -x])
    if name == "airy_ai":
        x = np.concatenate([np.linspace(-40, 40, 4001), -(10 ** np.linspace(1.6, 2.5, 60)),
                            10 ** np.linspace(1.6, 2.2, 30)])
    if name.startswith("modified_bessel_i"):
        x = x[np.abs(x) < 700]  # beyond, I overflows
    return x


def _scipy_values(sc, name, x):
    if name == "spherical_bessel_j0":
        return sc.spherical_jn(0, x)
    if name == "airy_ai":
        return sc.airy(x)[0]
    return getattr(sc, SCIPY[name])(x)


@pytest.mark.parametrize("name", NAMES)
def test_values_match_scipy(name):
    """To 1e-12 relative, or 1e-14 absolute near a zero of the function (where both lose the
    relative digits of the argument's rounding)."""
    sc = pytest.importorskip("scipy.special")
    x = _points(name)
    ours = getattr(special, name)(cr.tensor(x)).numpy()
    want = _scipy_values(sc, name, x)
    scale = np.abs(want)
    if name == "airy_ai":  # Ai's phase z = 2/3 |x|^1.5 carries |x|^1.5 ulps of x's rounding
        scale = scale * (1 + np.abs(np.minimum(x, 0)) ** 1.5 / 100)
    np.testing.assert_array_less(np.abs(ours - want), 1e-12 * scale + 1e-14)


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
def test_values_match_torch(name):
    """PyTorch 2.13's J and Y err by up to 1e-6 for x in [2, 25], its Ai by up to 3e-6 for x in
    [-6, -2] (SciPy and mpmath agree with these to 1e-15 there, docs/pytorch.md); elsewhere
    they agree to 1e-12."""
    torch = pytest.importorskip("torch")
    x = _points(name)
    ours = getattr(special, name)(cr.tensor(x)).numpy()
    theirs = getattr(torch.special, name)(torch.tensor(x)).numpy()
    rough = (np.abs(x) >= 2) & (np.abs(x) <= 25) & name.startswith("bessel")
    rough |= (x >= -6) & (x <= -2) & (name == "airy_ai")  # PyTorch's Ai: up to 3e-6 there
    scale = np.abs(theirs) * (1 + (np.abs(np.minimum(x, 0)) ** 1.5 / 100 if name == "airy_ai"
                                   else 0))
    np.testing.assert_array_less(np.abs(ours - theirs)[~rough], (1e-12 * scale + 1e-14)[~rough])
    np.testing.assert_array_less(np.abs(ours - theirs)[rough], 3e-6)


def test_large_arguments_against_mpmath():
    """Hankel's expansion with cos x and sin x reduced exactly: float64-accurate where SciPy's
    and PyTorch's x - 3pi/4 loses x's digits (1e-7 relative at 1e8, all of them at 1e15)."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    for x in (30.0, 1e3, 123456.7, 1e8 + 0.3, 1e15):
        for name, exact in (("bessel_j0", mp.besselj(0, x)), ("bessel_j1", mp.besselj(1, x)),
                            ("bessel_y0", mp.bessely(0, x)), ("bessel_y1", mp.bessely(1, x))):
            got = getattr(special, name)(cr.tensor([x], dtype=cr.float64)).numpy()[0]
            assert abs(got - float(exact)) <= 1e-15 * abs(float(exact)), (name, x)
    for x in (-12.0, -20.0, -123.4, 1.9, 2.1, 30.0):
        got = special.airy_ai(cr.tensor([x], dtype=cr.float64)).numpy()[0]
        exact = float(mp.airyai(x))
        # the phase 2/3 |x|^1.5 carries about |x|^1.5 ulps of x's rounding
        assert abs(got - exact) <= (2e-14 + 2e-16 * abs(x) ** 1.5) * abs(exact), x


@pytest.mark.torch
def test_edges():
    """0, negative arguments and NaN as PyTorch; the infinities give the limits (0; I: inf), where
    PyTorch's J, Y and Ai give NaN."""
    torch = pytest.importorskip("torch")
    x = np.array([0.0, -0.0, -1.0, np.nan])
    for name in NAMES:
        ours = getattr(special, name)(cr.tensor(x)).numpy()
        theirs = getattr(torch.special, name)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-15)
    limits = {"modified_bessel_i0": (np.inf, np.inf), "modified_bessel_i1": (np.inf, -np.inf),
              "modified_bessel_k0": (0.0, np.nan), "modified_bessel_k1": (0.0, np.nan),
              "scaled_modified_bessel_k0": (0.0, np.nan),
              "scaled_modified_bessel_k1": (0.0, np.nan), "bessel_y0": (0.0, np.nan),
              "bessel_y1": (0.0, np.nan)}
    for name in NAMES:
        got = getattr(special, name)(cr.tensor([np.inf, -np.inf])).numpy()
        np.testing.assert_array_equal(got, limits.get(name, (0.0, 0.0)), err_msg=name)


@pytest.mark.parametrize("name", NAMES)
def test_no_gradient_and_dtypes(name):
    fn = getattr(special, name)
    x = cr.tensor(np.array([0.5, 1.5], np.float32), requires_grad=True)
    out = fn(x)
    assert out.dtype == np.float32 and not out.requires_grad
    np.testing.assert_allclose(out.numpy(), fn(x.double()).numpy(), rtol=1e-6)
    assert fn(cr.tensor([1, 2])).dtype == cr.get_default_dtype()
    with pytest.raises(TypeError, match=f"{name}: input must be a Tensor, got float"):
        fn(0.5)
    written = cr.zeros(2)  # out= writes, as PyTorch's (no gradient flows here: allowed)
    assert fn(x, out=written) is written
    np.testing.assert_array_equal(written.numpy(), out.numpy())
