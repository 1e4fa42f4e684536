"""special's orthogonal polynomials: values against PyTorch and SciPy (float64, degrees -3 to
200, truncated and non-finite degrees, |x| up to 1e3 and the exact values at the ends), dtypes,
no gradient (as PyTorch), errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import special

from .._case_loop import each_case, grid

pytestmark = pytest.mark.kernel_free

NAMES = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
         "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
         "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
         "laguerre_polynomial_l", "legendre_polynomial_p"]
XS = np.concatenate([np.linspace(-3, 3, 61), [-1.0, 1.0, 0.0, 0.5, 1e-8, -0.9999999, 0.99999999,
                                             1e3, -1e3, np.inf, -np.inf]])
NS = np.array([-3, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 25, 60, 200, 2.5, -0.5, np.nan,
               np.inf, -np.inf, 1e300])


def _grid():
    x, n = np.meshgrid(XS, NS)
    return x.ravel(), n.ravel()


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
def test_values_match_torch(name):
    torch = pytest.importorskip("torch")
    x, n = _grid()
    ours = getattr(special, name)(cr.tensor(x), cr.tensor(n)).numpy()
    theirs = getattr(torch.special, name)(torch.tensor(x), torch.tensor(n)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    ours = getattr(special, name)(cr.tensor(x[:61]), 3).numpy()
    np.testing.assert_allclose(ours, getattr(torch.special, name)(torch.tensor(x[:61]), 3),
                               rtol=1e-12, atol=1e-12)


_SCIPY = {
    "chebyshev_polynomial_t": ("eval_chebyt", lambda x: x),
    "chebyshev_polynomial_u": ("eval_chebyu", lambda x: x),
    "shifted_chebyshev_polynomial_t": ("eval_sh_chebyt", lambda x: x),
    "shifted_chebyshev_polynomial_u": ("eval_sh_chebyu", lambda x: x),
    "hermite_polynomial_h": ("eval_hermite", lambda x: x),
    "hermite_polynomial_he": ("eval_hermitenorm", lambda x: x),
    "laguerre_polynomial_l": ("eval_laguerre", lambda x: x),
    "legendre_polynomial_p": ("eval_legendre", lambda x: x),
}


@pytest.mark.parametrize("name", NAMES)
def test_values_match_scipy_and_the_definitions(name):
    """SciPy where it has the polynomial; V and W (which SciPy lacks) by their trigonometric
    definitions at |x| < 1, V_n(cos t) = cos((n + 1/2) t) / cos(t / 2) and W_n(cos t) =
    sin((n + 1/2) t) / sin(t / 2)."""
    sc = pytest.importorskip("scipy.special")
    x = np.linspace(-0.99, 0.99, 45) if name[-1] in "vw" else np.linspace(-2.5, 2.5, 51)
    shifted = name.startswith("shifted")
    for n in range(0, 31):
        ours = getattr(special, name)(cr.tensor((x + 1) / 2 if shifted else x), n).numpy()
        if name in _SCIPY:
            want = getattr(sc, _SCIPY[name][0])(n, (x + 1) / 2 if shifted else x)
        else:
            t = np.arccos(x)
            want = (np.cos((n + 0.5) * t) / np.cos(t / 2) if name[-1] == "v"
                    else np.sin((n + 0.5) * t) / np.sin(t / 2))
        scale = np.maximum(1.0, np.abs(want))
        np.testing.assert_allclose(ours / scale, want / scale, rtol=0, atol=5e-13 * (n + 1),
                                   err_msg=f"{name} n={n}")


def _degrees_as_pytorch_reads_them_case(name):
    """Truncated to an integer; negative, NaN or infinite degrees give 0."""
    fn = getattr(special, name)
    x = cr.tensor(np.array([-0.7, 0.2, 0.9, 1.7]))
    np.testing.assert_array_equal(fn(x, 2.9).numpy(), fn(x, 2).numpy())
    np.testing.assert_array_equal(fn(x, -2.9).numpy(), 0.0)
    for n in (-1, np.nan, np.inf, -np.inf):
        np.testing.assert_array_equal(fn(x, cr.tensor(np.full(4, n))).numpy(), 0.0)
    np.testing.assert_array_equal(fn(x, 0).numpy(), 1.0)


def test_degrees_as_pytorch_reads_them():
    each_case(_degrees_as_pytorch_reads_them_case, grid(("name", NAMES)))


def _nan_input_gives_nan_case(name):
    """PyTorch 2.13's CPU kernels return finite numbers for some NaN inputs (docs/pytorch.md);
    the polynomial of NaN is NaN here, for every degree but 0 (1, as PyTorch)."""
    out = getattr(special, name)(cr.tensor(np.full(6, np.nan)), cr.tensor([0, 1, 2, 5, 9, 12]))
    assert out.numpy()[0] == 1.0 and np.isnan(out.numpy()[1:]).all()


def test_nan_input_gives_nan():
    each_case(_nan_input_gives_nan_case, grid(("name", NAMES)))


def _dtypes_and_no_gradient_case(name):
    fn = getattr(special, name)
    x32 = cr.tensor(np.array([0.3, -0.4], np.float32), requires_grad=True)
    out = fn(x32, cr.tensor([3, 4]))
    assert out.dtype == np.float32 and not out.requires_grad
    assert fn(x32, cr.tensor([3.0, 4.0], dtype=cr.float64)).dtype == np.float64
    assert fn(cr.tensor([1, 2]), 3).dtype == cr.get_default_dtype()
    assert fn(0.5, cr.tensor([3, 4])).dtype == cr.get_default_dtype()
    np.testing.assert_allclose(out.numpy(), fn(cr.tensor([0.3, -0.4], dtype=cr.float64),
                                                cr.tensor([3, 4])).numpy(), rtol=1e-6)


def test_dtypes_and_no_gradient():
    each_case(_dtypes_and_no_gradient_case, grid(("name", NAMES)))


def test_large_degrees():
    """Chebyshev degrees past 6 or 8 at |x| < 1 take the trigonometric form (no steps); a
    recurrence whose values all turn NaN stops there; one that would run past 1e5 steps is
    refused."""
    t = special.chebyshev_polynomial_t(cr.tensor([0.3, 2.0], dtype=cr.float64), 10**9).numpy()
    assert t[0] == np.cos(10**9 * np.arccos(0.3)) and np.isnan(t[1])
    assert np.isnan(special.hermite_polynomial_h(cr.tensor([0.3, 2.0]), 10**9).numpy()).all()
    with pytest.raises(ValueError, match="legendre_polynomial_p: degree n = 10000000 needs "
                                         "10000000 steps .* above 100000 are not supported"):
        special.legendre_polynomial_p(cr.tensor([0.3]), 10**7)


def test_errors():
    fn = special.chebyshev_polynomial_t
    with pytest.raises(TypeError, match="expected at least one Tensor among input and n"):
        fn(0.5, 3)
    with pytest.raises(TypeError, match="n must be a Tensor or a number, got str"):
        fn(cr.tensor([0.5]), "3")
    with pytest.raises(ValueError, match=r"input of shape \(3,\) and n of shape \(2,\) do not"):
        fn(cr.tensor([0.1, 0.2, 0.3]), cr.tensor([1, 2]))
    written = cr.zeros(1)  # out= writes, as PyTorch's
    assert fn(cr.tensor([0.5]), 2, out=written) is written
    np.testing.assert_array_equal(written.numpy(), fn(cr.tensor([0.5]), 2).numpy())
