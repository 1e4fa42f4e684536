"""Wave 21: the Frechet distance's building blocks refuse what is not a covariance or not real.

``trace_sqrt_product`` symmetrized and clipped its inputs silently (a negative definite S2 gave 0
where scipy's root of S1 S2 is imaginary), decomposed float32 matrices in float32, and complex
features, moments or images lost their imaginary parts with only a ComplexWarning.
"""

import numpy as np
import pytest

from chainrule.generative import (
    feature_moments,
    frechet_distance,
    frechet_distance_from_moments,
    mse_per_image,
    psnr,
    trace_sqrt_product,
)


def _covariances(rng, d=5, rank=2):
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, rank))
    return a @ a.T, b @ b.T


def test_trace_sqrt_product_of_a_non_covariance_raises(rng):
    s1, s2 = _covariances(rng)
    negative = -s2 - np.eye(5)
    assert np.linalg.eigvals(s1 @ negative).real.max() < 0  # the root is imaginary
    with pytest.raises(ValueError, match="s2 must be positive semi-definite"):
        trace_sqrt_product(s1, negative)
    with pytest.raises(ValueError, match="s1 must be a symmetric"):
        trace_sqrt_product(s1 + np.triu(np.ones((5, 5)), 1), s2)
    with pytest.raises(ValueError, match="s2 contains nan"):
        trace_sqrt_product(s1, s2 * np.nan)
    with pytest.raises(ValueError, match=r"square matrices .* got \(5, 5\) and \(4, 4\)"):
        trace_sqrt_product(s1, np.eye(4))
    with pytest.raises(TypeError, match="s1 must hold real numbers, got dtype complex128"):
        trace_sqrt_product(s1 + 0j, s2)


def test_trace_sqrt_product_is_float64_whatever_comes_in(rng):
    s1, s2 = (s.astype(np.float32) for s in _covariances(rng, rank=5))
    want = trace_sqrt_product(s1.astype(np.float64), s2.astype(np.float64))
    assert trace_sqrt_product(s1, s2) == want
    assert trace_sqrt_product(s1.tolist(), s2.tolist()) == want
    # against the eigenvalues of S1 S2 themselves (real and >= 0 for covariances)
    lam = np.linalg.eigvals(s1.astype(np.float64) @ s2.astype(np.float64))
    assert want == pytest.approx(np.sqrt(lam.real).sum(), rel=1e-10)


@pytest.mark.parametrize(
    "call",
    [
        lambda a: frechet_distance(a + 1j, a),
        lambda a: feature_moments(a * 1j),
        lambda a: frechet_distance_from_moments(a[0] + 0j, np.eye(3), a[1], np.eye(3)),
        lambda a: psnr(a, a + 0.1j),
        lambda a: mse_per_image(a.astype(np.complex64), a),
    ],
)
def test_complex_inputs_raise_instead_of_dropping_the_imaginary_part(rng, call):
    a = rng.normal(size=(6, 3))
    with pytest.raises(TypeError, match="must hold real numbers, got dtype complex"):
        call(a)


def test_psnr_refuses_a_data_range_smaller_than_the_clean_images_span(rng):
    clean = rng.integers(0, 256, (3, 1, 4, 4)).astype(np.uint8)
    noisy = np.clip(clean + rng.normal(0, 5, clean.shape), 0, 255)
    with pytest.raises(ValueError, match=r"clean images span 2\d\d, more than data_range=1"):
        psnr(clean, noisy)  # the default range 1 gave about -8 dB instead of about 34
    mse = ((clean - noisy) ** 2).reshape(3, -1).mean(1)
    want = np.mean(10 * np.log10(255.0**2 / mse))
    assert psnr(clean, noisy, data_range=255) == pytest.approx(want, rel=1e-12)
    assert psnr(clean / 255, noisy / 255) == pytest.approx(want, rel=1e-12)
