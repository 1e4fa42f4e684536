"""Logarithms and the math.py functions give PyTorch's inf and nan at their poles and outside
their domains silently (no NumPy RuntimeWarning, which pytest's warnings-as-errors turns into a
failure): word_language_model's causal mask is log(tril(ones))."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

CALLS = ["log", "log2", "log10", "log1p", "rsqrt", "atanh", "acos", "asin", "tan"]


@pytest.mark.parametrize("name", CALLS)
def test_poles_and_outside_the_domain_give_pytorchs_values_without_a_warning(name):
    x = np.array([0.0, -1.0, 1.0, -2.0, 2.0, np.inf, -np.inf, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = getattr(cr, name)(cr.tensor(x)).numpy()
    theirs = getattr(torch, name)(torch.tensor(x)).numpy()
    # the poles and the outside of the domain: the same inf, -inf and nan, exactly
    np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(theirs))
    np.testing.assert_array_equal(ours[~np.isfinite(ours)], theirs[~np.isfinite(theirs)])
    # inside the domain, to the last unit: PyTorch's vectorized log1p(2) rounds to the nearest
    # double with AVX2 (1.0986122886681098) and NumPy's one unit below, as PyTorch's own scalar
    # path (ATEN_CPU_CAPABILITY=default) does; which one PyTorch gives depends on the CPU
    np.testing.assert_allclose(ours[np.isfinite(ours)], theirs[np.isfinite(theirs)],
                               rtol=2.5e-16, atol=0)


def test_the_log_of_a_lower_triangle_is_an_additive_causal_mask():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mask = cr.log(cr.tril(cr.ones(3, 3)))
    assert mask.numpy().tolist() == [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]]


def test_floating_point_warnings_stay_on_outside_the_ops():
    cr.log(cr.zeros(2))
    with pytest.warns(RuntimeWarning):
        np.log(np.zeros(2))
